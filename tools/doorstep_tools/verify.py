"""Independent verification of a pulled Doorstep log (records/, photos/, the pinned key).

Uses the `cryptography` package, never the firmware's own Ed25519, so a bug in the
device's signing cannot hide itself. Every finding names the seq and what is wrong.
"""

import hashlib
import json
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ZERO = "0" * 64
ERROR = "error"
NOTICE = "notice"


def canonical(rec):
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def device_id(pub):
    return hashlib.sha256(pub).hexdigest()[:16]


class Finding:
    def __init__(self, level, seq, text):
        self.level, self.seq, self.text = level, seq, text

    def __str__(self):
        where = "seq %s" % self.seq if self.seq is not None else "log"
        return "%s: %s: %s" % (self.level.upper(), where, self.text)

    def __repr__(self):
        return "Finding(%r, %r, %r)" % (self.level, self.seq, self.text)


class Result:
    def __init__(self):
        self.findings = []
        self.records = []  # parsed records in file order, each with "_line" bytes removed
        self.pub = None
        self.head = None  # (seq, hash) of the last valid record

    def add(self, level, seq, text):
        self.findings.append(Finding(level, seq, text))

    @property
    def errors(self):
        return [f for f in self.findings if f.level == ERROR]

    @property
    def ok(self):
        return not self.errors


def read_lines(root):
    """Yield (segment name, line bytes without newline, complete?) in sequence order."""
    rdir = os.path.join(root, "records")
    if not os.path.isdir(rdir):
        return
    for name in sorted(n for n in os.listdir(rdir) if n.endswith(".jsonl")):
        with open(os.path.join(rdir, name), "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            if i == len(lines) - 1:
                if line:
                    yield name, line, False
            else:
                yield name, line, True


def verify(root, pub=None, head=None, checkpoint=None):
    """Check the log under root. pub: the pinned raw public key (32 bytes); head /
    checkpoint: {"seq", "hash"} the log must still reach (detects a truncated tail)."""
    res = Result()
    prev_hash = None
    prev_rec = None
    expect = None
    pruned = {}  # first seq after a pruned range -> last_hash of the range
    pruned_photos = set()
    hashes = {}
    key = None
    photos = []  # checked at the end: a later photo_pruned record may explain a gap
    for seg, line, complete in read_lines(root):
        if not complete:
            res.add(NOTICE, expect, "torn tail: %d bytes after the last complete record in %s (power cut while writing; the device quarantines it at its next boot)" % (len(line), seg))
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            res.add(ERROR, expect, "a line in %s is not valid JSON (damaged or edited)" % seg)
            prev_hash = hashlib.sha256(line).hexdigest()
            expect = None if expect is None else expect + 1
            continue
        seq = rec.get("seq") if isinstance(rec, dict) else None
        if not isinstance(seq, int):
            res.add(ERROR, expect, "a record in %s has no seq" % seg)
            continue
        if canonical(rec) != line:
            res.add(ERROR, seq, "the record's bytes are not canonical JSON (edited by hand?)")
        if seq == 0 and rec.get("ev") == "genesis":
            try:
                gpub = bytes.fromhex(rec.get("pub", ""))
            except ValueError:
                gpub = b""
            if pub is not None and gpub != pub:
                res.add(ERROR, 0, "the genesis key is not the pinned key: this is a different device or a forged log")
            key = pub or gpub
        elif key is None:
            key = pub
            if key is None:
                res.add(ERROR, seq, "the log does not start with its genesis record and no key is pinned")
        if key is not None and rec.get("dev") != device_id(key):
            res.add(ERROR, seq, "dev %r is not this device (%s)" % (rec.get("dev"), device_id(key)))
        # signature
        sig = rec.get("sig")
        body = dict(rec)
        body.pop("sig", None)
        if key is not None:
            try:
                Ed25519PublicKey.from_public_bytes(key).verify(bytes.fromhex(sig or ""), canonical(body))
            except (InvalidSignature, ValueError, TypeError):
                res.add(ERROR, seq, "the signature does not verify: the record was altered or not made by this device")
        # sequence and chain
        if expect is None:
            if seq != 0 and seq not in pruned:
                pass  # decided at the end, once records_pruned records are known
            first_seq = seq
        elif seq != expect:
            if seq < expect:
                res.add(ERROR, seq, "seq goes back from %d to %d: records reordered or inserted" % (expect - 1, seq))
            else:
                res.add(ERROR, seq, "records %d to %d are missing (deleted)" % (expect, seq - 1))
        if prev_hash is not None and rec.get("prev") != prev_hash:
            res.add(ERROR, seq, "prev does not match the record before it: the chain is broken here")
        if prev_hash is None and seq == 0 and rec.get("prev") != ZERO:
            res.add(ERROR, 0, "the genesis record's prev is not zero")
        # boot and time order
        if prev_rec is not None:
            if rec.get("boot", 0) < prev_rec.get("boot", 0):
                res.add(ERROR, seq, "boot counter goes back from %s to %s" % (prev_rec.get("boot"), rec.get("boot")))
            elif rec.get("boot") == prev_rec.get("boot"):
                if isinstance(rec.get("ms"), int) and isinstance(prev_rec.get("ms"), int) and rec["ms"] < prev_rec["ms"]:
                    res.add(ERROR, seq, "time since boot goes back within boot %s" % rec.get("boot"))
                t, pt = rec.get("t"), prev_rec.get("t")
                if isinstance(t, int) and isinstance(pt, int) and t < pt and prev_rec.get("ev") != "time_set" and rec.get("ev") != "time_set" and rec.get("tq") == prev_rec.get("tq"):
                    res.add(ERROR, seq, "time goes back within boot %s without a time_set record" % rec.get("boot"))
            elif rec.get("ev") not in ("boot", "recovered", "genesis"):
                res.add(ERROR, seq, "boot %s starts without a boot record" % rec.get("boot"))
        # photos
        ph = rec.get("photo")
        if isinstance(ph, dict):
            photos.append((rec, ph))
        if rec.get("ev") == "photo_pruned":
            pruned_photos.update(rec.get("seqs") or [])
        if rec.get("ev") == "records_pruned":
            pruned[rec.get("to", -2) + 1] = rec.get("last_hash")
        if rec.get("ev") == "recovered":
            res.add(NOTICE, seq, "the device cut a torn tail of %s bytes at boot (kept in %s)" % (rec.get("bytes"), rec.get("file")))
        h = hashlib.sha256(line).hexdigest()
        hashes[seq] = h
        prev_hash, prev_rec, expect = h, rec, seq + 1
        res.records.append(rec)
        res.head = (seq, h)
    for rec, ph in photos:
        check_photo(root, rec, ph, res, pruned_photos)
    if not res.records:
        res.add(ERROR, None, "no records found under %s/records" % root)
        return res
    first = res.records[0]
    if first["seq"] != 0:
        if first["seq"] in pruned:
            if first.get("prev") != pruned[first["seq"]]:
                res.add(ERROR, first["seq"], "the first record does not follow the pruned range named by records_pruned")
            else:
                res.add(NOTICE, first["seq"], "records 0 to %d were pruned on the device after being pulled" % (first["seq"] - 1))
        else:
            res.add(ERROR, first["seq"], "records 0 to %d are missing and no records_pruned record explains it" % (first["seq"] - 1))
    for name, ref in (("last pulled head", head), ("checkpoint", checkpoint)):
        if not ref:
            continue
        s, hh = ref.get("seq"), ref.get("hash")
        if s not in hashes:
            if isinstance(s, int) and s > res.head[0]:
                res.add(ERROR, s, "the log ends at seq %d but the %s is seq %d: the tail was truncated" % (res.head[0], name, s))
            else:
                res.add(ERROR, s, "the %s (seq %s) is not in this log" % (name, s))
        elif hashes[s] != hh:
            res.add(ERROR, s, "the record at the %s differs from the one seen before: the log was rewritten" % name)
    res.pub = key
    return res


def check_photo(root, rec, ph, res, pruned_photos):
    seq = rec["seq"]
    path = os.path.join(root, ph.get("file", ""))
    if not os.path.isfile(path):
        if seq in pruned_photos:
            return
        res.add(ERROR, seq, "photo %s is missing" % ph.get("file"))
        return
    with open(path, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != ph.get("sha256") or len(data) != ph.get("size"):
        res.add(ERROR, seq, "photo %s does not match its record (swapped or edited)" % ph.get("file"))
