"""What the homeowner's PC asks of the device: run ON the device, over the REPL or in the
simulator, by `doorstep provision / codes / courier / pull`.

Every function returns plain JSON-able data. None returns a code, a hash of one, a secret
or a key: the device only ever tells the host labels, windows, the public key and its log.
Each change to the codes is itself a signed record. On a production device each helper first
signs a `service` record naming itself (doorstep/service.py), before it touches key.bin,
secret.bin or the codes: a console session on a locked-down doorbell is never silent.
"""

import json

from doorstep import codes as C
from doorstep import config as cfgmod
from doorstep import ed25519
from doorstep import provision as P
from doorstep.app import KEY_FILE, boot_count
from doorstep.board.clock import set_board_clock
from doorstep.ledger import Ledger
from doorstep.prune import PULLED_FILE
from doorstep.records import Recorder


def _record(storage, event, t, tq="host"):
    """Sign and append a record for a change made from the host, in the current boot.

    Its ms repeats the last record's (the app is stopped while the host talks to the
    device), so time since boot never goes back within the boot. If the PC's clock is
    behind the device's last record, a time_set record says so first: the log's time may
    go back only there."""
    seed = storage.read(KEY_FILE)
    led = Ledger(storage)
    boot = boot_count(storage, led)[0]
    last = led.last if isinstance(led.last, dict) else {}
    same = last.get("boot") == boot
    ms = last.get("ms") if same and isinstance(last.get("ms"), int) else 0
    rec = Recorder(storage, led, seed, ed25519.public_key(seed), boot)
    lt = last.get("t")
    if same and tq == "host" and last.get("tq") == "host" and isinstance(lt, int) and isinstance(t, int) and t < lt:
        rec.write_now({"ev": "time_set", "old": lt, "new": t, "source": "host"}, t, "host", ms)
    return rec.write_now(event, t, tq, ms)


def _production(storage):
    """config.json's production flag; a damaged file counts as production (so it is recorded)."""
    from doorstep.board import profiles

    try:
        cfg = storage.read_json(cfgmod.CONFIG_FILE, {}) if storage.exists(cfgmod.CONFIG_FILE) else {}
        return profiles.production(cfg)
    except Exception:  # noqa: BLE001
        return True


def _audit(storage, call, t=None):
    """In production, the `service` record of this helper's run (who ran it cannot be known)."""
    if storage.exists(KEY_FILE) and Ledger(storage).next_seq > 0 and _production(storage):
        _record(storage, {"ev": "service", "mode": "console", "call": call}, t, "host" if t is not None else "none")


def info(storage):
    """Public key, device id, log head and boot counter (None for an unprovisioned device)."""
    _audit(storage, "info")
    return _info(storage)


def _info(storage):
    pi = P.public_info(storage)
    if pi is None:
        return None
    led = Ledger(storage)
    return {"pub": pi[0], "dev": pi[1], "next_seq": led.next_seq, "head": led.head, "boot": boot_count(storage, led)[0],
            "admin": storage.exists("admin.bin")}


def provision(storage, rng, t, config, fw="", merge=False, admin_key=None):
    """Key, secret, genesis record (stamped with the host's UTC time), configuration, clock,
    and the admin key for remote administration (hex, made by the PC; replaces the old one).

    fw: the firmware hash for genesis; "" to hash the files on this device. merge: keep the
    settings config does not name (Wi-Fi stays when only MQTT is added); else replace them.
    config None: keep the configuration as it is (a device provisioned again for a new PC).
    """
    from binascii import unhexlify

    from doorstep.board.posture import here

    _audit(storage, "provision", t)
    key = unhexlify(admin_key) if admin_key else None
    if config is None:
        posture = here(_production(storage))
        pub, dev = P.provision(storage, rng, t, "host", fw or P.firmware_hash(), key, posture)
        cfg, _ = cfgmod.load(storage)
        return {"pub": pub, "dev": dev, "heartbeat_min": cfg["heartbeat_min"], "clock_set": set_board_clock(t, "host")}
    if merge and isinstance(config, dict):
        old = storage.read_json(cfgmod.CONFIG_FILE, None) if storage.exists(cfgmod.CONFIG_FILE) else None
        if isinstance(old, dict):
            old.update(config)
            config = old
    cfg = cfgmod.check(config)  # refuse a bad configuration before anything is written
    _check_board(config)
    posture = here(config.get("production") is True)
    pub, dev = P.provision(storage, rng, t, "host", fw or P.firmware_hash(), key, posture)
    storage.write_json(cfgmod.CONFIG_FILE, config)
    return {"pub": pub, "dev": dev, "heartbeat_min": cfg["heartbeat_min"], "clock_set": set_board_clock(t, "host")}


def _check_board(config):
    """The board settings (pins, Wi-Fi, production, MQTT) are checked now, by the same code that
    reads them at boot: a pin used twice is refused here, not by a doorbell that will not start."""
    from doorstep.board import profiles

    hw = None
    if config.get("board") is not None:
        hw = profiles.resolve(config["board"], config.get("layout", "3x4"))
    profiles.wifi(config)
    profiles.production(config, hw)
    profiles.ntp_host(config)
    if config.get("mqtt") is not None:
        from doorstep import broker

        broker.settings(config["mqtt"], "0" * 16)


def add_code(storage, t, code, label, t_from=None, t_until=None):
    _audit(storage, "add_code", t)
    book = C.CodeBook(storage)
    d = book.add(code, label, t_from, t_until)
    code = None
    _record(storage, {"ev": "code_added", "label": label, "from": t_from, "until": t_until}, t)
    return d


def add_courier(storage, t, label, secret_hex):
    from binascii import unhexlify

    _audit(storage, "add_courier", t)
    d = C.CodeBook(storage).add_courier(label, unhexlify(secret_hex))
    _record(storage, {"ev": "code_added", "label": label, "courier": True}, t)
    return d


def revoke(storage, t, label):
    _audit(storage, "revoke", t)
    d = C.CodeBook(storage).revoke(label)
    _record(storage, {"ev": "code_revoked", "label": label}, t)
    return d


def list_codes(storage):
    _audit(storage, "list_codes")
    return C.CodeBook(storage).list()


def manifest(storage):
    """Files the host may pull (records, photos, quarantine) with their sizes, and the head."""
    _audit(storage, "manifest")
    out = {}
    for d in ("records", "photos", "quarantine"):
        out[d] = [[n, storage.size(d + "/" + n)] for n in storage.listdir(d) if not n.endswith(".tmp")]
    out["info"] = _info(storage)
    return out


def mark_pulled(storage, seq, head, ledger=None):
    """The host holds the log up to seq (hash head): segments up to it may be pruned later.

    Refused unless head is this device's record seq: a wrong claim must not free records
    the homeowner does not hold. ledger: the running app's (remote.py), else read here
    (over the console: recorded in production).
    """
    if ledger is None:
        _audit(storage, "mark_pulled")
    if not isinstance(seq, int) or isinstance(seq, bool) or (ledger or Ledger(storage)).hash_of(seq) != head:
        raise ValueError("the pulled copy does not match this device's record %s: nothing was marked as pulled" % seq)
    storage.write_json(PULLED_FILE, {"seq": seq, "hash": head})
    return {"seq": seq}


def reply(obj):
    """How results cross the REPL: one marked line of JSON for the host to find."""
    print("@@doorstep " + json.dumps(obj))


from doorstep.handover_admin import add_handover, list_handover, reset_handover, revoke_handover  # noqa: E402,F401
