"""First-time set-up, run ON the device (by `doorstep provision`): key, secret, genesis.

The private key and the code secret are made here from the device's RNG and never leave
it; only the public key and device id are returned to the host.
"""

import os
from binascii import hexlify
from hashlib import sha256

from doorstep import ed25519
from doorstep.app import BOOT_FILE, KEY_FILE, UNKNOWN_POSTURE
from doorstep.codes import SECRET_FILE
from doorstep.ledger import Ledger
from doorstep.records import Recorder, device_id

FW_FILES = ("boot.py", "main.py")


def _package_files(fw_root, rel):
    """The .py/.mpy files of package folder rel (and its subpackages, e.g. board/), sorted."""
    out = []
    try:
        names = sorted(os.listdir((fw_root + "/" + rel) if fw_root else rel))
    except OSError:  # not a folder
        return out
    for n in names:
        p = rel + "/" + n
        if n.endswith((".py", ".mpy")):
            out.append(p)
        elif "." not in n:
            out += _package_files(fw_root, p)
    return out


def firmware_hash(fw_root=""):
    """SHA-256 over the firmware files (path, NUL, content, in name order), as hex.

    fw_root: the folder holding boot.py, main.py and doorstep/ ("" on the device: its root).
    """
    h = sha256()
    for n in list(FW_FILES) + _package_files(fw_root, "doorstep"):
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


async def public_info_async(storage):
    """public_info() for the booting app: the key derivation yields to the event loop."""
    if not storage.exists(KEY_FILE):
        return None
    pub = await ed25519.public_key_async(storage.read(KEY_FILE))
    return hexlify(pub).decode(), device_id(pub)


def provision(storage, rng, t, tq, fw, admin_key=None, posture=None):
    """Make the key and secret if missing and write the genesis record. Idempotent.

    t, tq: the time to stamp genesis with (the host's UTC clock at provisioning: "host").
    admin_key: 32 bytes from the provisioning PC for remote administration (seal.py); it
    replaces any earlier one, and the command counter starts again, so a lost PC is
    replaced by provisioning again over the cable. posture: the board's reading for genesis
    (doorstep.board.posture; "unknown" when not given)."""
    if not storage.exists(KEY_FILE):
        seed = rng(32)
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise ValueError("the random source did not give 32 bytes")
        storage.write_atomic(SECRET_FILE, rng(32))
        storage.write_atomic(KEY_FILE, seed)
    if admin_key is not None:
        from doorstep.remote import STATE_FILE
        from doorstep.seal import ADMIN_FILE

        if not isinstance(admin_key, bytes) or len(admin_key) != 32:
            raise ValueError("the admin key must be 32 bytes")
        storage.write_atomic(ADMIN_FILE, admin_key)
        storage.write_json(STATE_FILE, {"n": 0})
    seed = storage.read(KEY_FILE)
    pub = ed25519.public_key(seed)
    ledger = Ledger(storage)
    if ledger.next_seq == 0:
        if not storage.exists(BOOT_FILE):
            storage.write_json(BOOT_FILE, {"boot": 0, "clean": True})
        rec = Recorder(storage, ledger, seed, pub, 0)
        rec.write_now({"ev": "genesis", "pub": hexlify(pub).decode(), "fw": fw, "posture": posture or UNKNOWN_POSTURE}, t, tq, 0)
    return hexlify(pub).decode(), device_id(pub)


def default_rng(n):
    """os.urandom: the ESP32 hardware RNG (see docs/record-format.md on its caveat)."""
    return os.urandom(n)
