"""Signed Doorstep logs of any size, made on the host, for the verifier's bench and tests.

The firmware signs about one record a second on an ESP32, so a log of 300,000 records
(years of a busy door) cannot be made with it in a test. These records follow
docs/record-format.md exactly (genesis, boots, rings, heartbeats; canonical JSON, chained,
Ed25519-signed), but are signed with `cryptography` from a given seed: the verifier cannot
tell them from a device's, which is the point.
"""

import hashlib
import json
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

T0 = 1782378000  # 2026-06-25T09:00:00Z
SEED = bytes(range(32))


def canonical(rec):
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


class LogWriter:
    """Appends signed records to records/NNNNNNNN.jsonl under root, as the device's ledger does."""

    def __init__(self, root, seed=SEED, t0=T0, per_segment=1000):
        self.root, self.per_segment = root, per_segment
        self.key = Ed25519PrivateKey.from_private_bytes(seed)
        self.pub = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.dev = hashlib.sha256(self.pub).hexdigest()[:16]
        self.seq, self.prev, self.boot, self.t, self.ms = 0, "0" * 64, 0, t0, 0
        self.file = None
        os.makedirs(os.path.join(root, "records"), exist_ok=True)

    def sign(self, rec):
        """The record's line: its canonical JSON with the signature over the rest."""
        rec["sig"] = self.key.sign(canonical(rec)).hex()
        return canonical(rec)

    def add(self, ev, **fields):
        rec = {"v": 1, "dev": self.dev, "seq": self.seq, "boot": self.boot, "t": self.t, "tq": "host", "ms": self.ms,
               "ev": ev, "prev": self.prev}
        rec.update(fields)
        line = self.sign(rec)
        if self.seq % self.per_segment == 0:
            self.close()
            self.file = open(os.path.join(self.root, "records", "%08d.jsonl" % self.seq), "ab")
        self.file.write(line + b"\n")
        self.prev = hashlib.sha256(line).hexdigest()
        self.seq += 1
        return rec

    def tick(self, seconds):
        self.t += seconds
        self.ms += seconds * 1000

    def close(self):
        if self.file:
            self.file.close()
            self.file = None


def write_log(root, n, pad=0, seed=SEED, t0=T0):
    """A log of n records (genesis, boot, then rings with an hourly heartbeat). pad adds a
    field of that many characters to each ring (records that big stress memory, not time).
    Returns the LogWriter (its .pub, .seq, .prev are the key and head)."""
    w = LogWriter(root, seed, t0)
    w.add("genesis", pub=w.pub.hex(), fw="0" * 64)
    w.boot = 1
    w.add("boot", reason="power_on", clean=True)
    since, counts = None, {}
    while w.seq < n:
        w.tick(60)
        if w.seq % 60 == 0:
            hb = w.add("heartbeat", counts=counts, since=since, free=1 << 20)
            since, counts = hb["seq"], {}
        else:
            w.add("ring", **({"note": "x" * pad} if pad else {}))
            counts["ring"] = counts.get("ring", 0) + 1
    w.close()
    return w
