"""First-time set-up, run ON the device (by `doorstep provision`): key, secret, genesis.

The private key and the code secret are made here from the device's RNG and never leave
it; only the public key and device id are returned to the host.
"""

import os
from binascii import hexlify
from hashlib import sha256

from doorstep import ed25519
from doorstep.app import BOOT_FILE, KEY_FILE
from doorstep.codes import SECRET_FILE
from doorstep.ledger import Ledger
from doorstep.records import Recorder, device_id

FW_FILES = ("boot.py", "main.py")


def firmware_hash(fw_root=""):
    """SHA-256 over the firmware files (path, NUL, content, in name order), as hex."""
    h = sha256()
    names = list(FW_FILES)
    pkg = (fw_root + "/doorstep") if fw_root else "doorstep"
    try:
        names += sorted("doorstep/" + n for n in os.listdir(pkg) if n.endswith((".py", ".mpy")))
    except OSError:
        pass
    for n in names:
        try:
            with open((fw_root + "/" + n) if fw_root else n, "rb") as f:
                data = f.read()
        except OSError:
            continue
        h.update(n.encode() + b"\0" + data)
    return hexlify(h.digest()).decode()


def public_info(storage):
    """(public key hex, device id) of a provisioned device, or None."""
    if not storage.exists(KEY_FILE):
        return None
    pub = ed25519.public_key(storage.read(KEY_FILE))
    return hexlify(pub).decode(), device_id(pub)


def provision(storage, rng, t, tq, fw):
    """Make the key and secret if missing and write the genesis record. Idempotent.

    t, tq: the time to stamp genesis with (the host's UTC clock at provisioning: "host")."""
    if not storage.exists(KEY_FILE):
        seed = rng(32)
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise ValueError("the random source did not give 32 bytes")
        storage.write_atomic(SECRET_FILE, rng(32))
        storage.write_atomic(KEY_FILE, seed)
    seed = storage.read(KEY_FILE)
    pub = ed25519.public_key(seed)
    ledger = Ledger(storage)
    if ledger.next_seq == 0:
        if not storage.exists(BOOT_FILE):
            storage.write_json(BOOT_FILE, {"boot": 0, "clean": True})
        rec = Recorder(storage, ledger, seed, pub, 0)
        rec.write_now({"ev": "genesis", "pub": hexlify(pub).decode(), "fw": fw}, t, tq, 0)
    return hexlify(pub).decode(), device_id(pub)


def default_rng(n):
    """os.urandom: the ESP32 hardware RNG (see docs/record-format.md on its caveat)."""
    return os.urandom(n)
