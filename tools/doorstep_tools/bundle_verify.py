#!/usr/bin/env python3
"""Re-verify a Doorstep evidence bundle yourself, without the Doorstep software.

    python3 verify_bundle.py [FOLDER]          check everything (FOLDER: where the bundle was unzipped)
    python3 verify_bundle.py --extract SEQ     write msg.bin and sig.bin of record SEQ for OpenSSL

Needs Python 3 and the `cryptography` package (pip install cryptography), nothing else.
It checks, with the public key in pub.hex:
  - every record's Ed25519 signature over its canonical JSON (the line without "sig"),
  - that each line is that canonical JSON (sorted keys, no spaces, ASCII),
  - the hash chain: each record's "prev" is the SHA-256 of the line before it,
  - the sequence numbers: none missing, none repeated, none reordered,
  - the device id (first 16 hex digits of SHA-256 of the key),
  - each photo in the bundle against the SHA-256 and size in its signed record.
Compare pub.hex with the key shown when the doorbell was set up: a signature only proves
something if the key is the doorbell's.
"""

import hashlib
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def record_lines(folder):
    """(file name, line number from 1, line bytes, complete?) in log order."""
    rdir = os.path.join(folder, "records")
    for name in sorted(n for n in os.listdir(rdir) if n.endswith(".jsonl")):
        with open(os.path.join(rdir, name), "rb") as f:
            parts = f.read().split(b"\n")
        for i, line in enumerate(parts):
            last = i == len(parts) - 1
            if line or not last:
                yield name, i + 1, line, not last


def check(folder):
    with open(os.path.join(folder, "pub.hex")) as f:
        pub = bytes.fromhex(f.read().strip())
    key = Ed25519PublicKey.from_public_bytes(pub)
    dev = hashlib.sha256(pub).hexdigest()[:16]
    period = {}
    if os.path.exists(os.path.join(folder, "bundle.json")):
        with open(os.path.join(folder, "bundle.json")) as f:
            period = json.load(f)
    start, end = period.get("from"), period.get("to")
    problems, notes = [], []
    prev_hash, expect, n, photos, pruned = None, None, 0, [], set()
    for name, lineno, line, complete in record_lines(folder):
        where = "records/%s line %d" % (name, lineno)
        if not complete:
            notes.append("%s: %d bytes of a record torn by a power cut (not signed, not counted)" % (where, len(line)))
            continue
        try:
            rec = json.loads(line)
            seq = rec["seq"]
        except (ValueError, KeyError, TypeError):
            problems.append("%s: not a valid record" % where)
            prev_hash, expect = hashlib.sha256(line).hexdigest(), None if expect is None else expect + 1
            continue
        where += " (seq %s)" % seq
        n += 1
        if canonical(rec) != line:
            problems.append("%s: not canonical JSON (edited?)" % where)
        body = {k: v for k, v in rec.items() if k != "sig"}
        try:
            key.verify(bytes.fromhex(rec.get("sig") or ""), canonical(body))
        except (InvalidSignature, ValueError, TypeError):
            problems.append("%s: the signature does not verify" % where)
        if rec.get("dev") != dev:
            problems.append("%s: dev %r is not this key's device %s" % (where, rec.get("dev"), dev))
        if seq == 0:
            if rec.get("ev") != "genesis" or rec.get("pub") != pub.hex() or rec.get("prev") != "0" * 64:
                problems.append("%s: the first record is not a genesis record for this key" % where)
        elif expect is None:
            notes.append("the log starts at seq %s: earlier records were deleted on the device after being pulled" % seq)
        if expect is not None and seq != expect:
            problems.append("%s: expected seq %d here (records missing, added or reordered)" % (where, expect))
        if prev_hash is not None and rec.get("prev") != prev_hash:
            problems.append("%s: prev is not the SHA-256 of the line before (chain broken)" % where)
        if isinstance(rec.get("photo"), dict):
            photos.append((where, rec))
        if rec.get("ev") == "photo_pruned":
            pruned.update(rec.get("seqs") or [])
        prev_hash, expect = hashlib.sha256(line).hexdigest(), seq + 1
    checked = 0
    for where, rec in photos:
        ph = rec["photo"]
        path = os.path.join(folder, "photos", os.path.basename(str(ph.get("file"))))
        t = rec.get("t")
        in_period = isinstance(t, int) and start is not None and end is not None and start <= t <= end
        if not os.path.isfile(path):
            if in_period and rec["seq"] not in pruned:
                problems.append("%s: its photo %s is missing" % (where, ph.get("file")))
            continue
        with open(path, "rb") as f:
            data = f.read()
        checked += 1
        if hashlib.sha256(data).hexdigest() != ph.get("sha256") or len(data) != ph.get("size"):
            problems.append("%s: photo %s does not match its signed hash" % (where, ph.get("file")))
    for x in notes:
        print("note:", x)
    for x in problems:
        print("PROBLEM:", x)
    if n == 0:
        print("FAILED: no records found in %s/records" % folder)
        return 1
    if problems:
        print("FAILED: %d problem(s) in %d records." % (len(problems), n))
        return 1
    print("OK: %d records verified with key %s (device %s); chain unbroken; %d photos match." % (n, pub.hex(), dev, checked))
    return 0


def extract(folder, seq):
    """msg.bin (the signed bytes) and sig.bin (the 64-byte signature) for OpenSSL."""
    for _name, _no, line, complete in record_lines(folder):
        if not complete:
            continue
        rec = json.loads(line)
        if rec.get("seq") == seq:
            with open("msg.bin", "wb") as f:
                f.write(canonical({k: v for k, v in rec.items() if k != "sig"}))
            with open("sig.bin", "wb") as f:
                f.write(bytes.fromhex(rec["sig"]))
            print("wrote msg.bin and sig.bin for seq %d" % seq)
            return 0
    print("no record with seq %d" % seq)
    return 1


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    if len(argv) >= 2 and argv[0] == "--extract":
        return extract(argv[2] if len(argv) > 2 else here, int(argv[1]))
    return check(argv[0] if argv else here)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
