"""The collector's copy of a device's log: the same folder layout `doorstep pull` writes.

records/NNNNNNNN.jsonl (1,000 records a file, as on the device), photos/<seq>.jpg,
device.json and head.json, so `doorstep verify`, `report` and bundles work on it unchanged.
A record is kept only after its signature verifies with `cryptography` against the pinned
key and it extends the chain; it is on disk (fsync) before it counts as held. A photo is
assembled from its parts in photos/<seq>.jpg.part and renamed only once its SHA-256 and
size match the signed record. The acknowledged point ("held") is the newest seq up to which
every record and every photo is on disk (or the device said the photo is gone).

If the collector is killed mid-write, the next start cuts its own unfinished last line
(said in the log; the device still holds that record and sends it again) and drops
unfinished photo parts: nothing it acknowledged is lost, nothing is duplicated.
"""

import hashlib
import json
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from doorstep_tools import verify_format

PER_SEGMENT = 1000  # as the device's ledger


canonical = verify_format.canonical

def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StoreError(ValueError):
    """The folder cannot be used for this device; the message says why."""


class Store:
    def __init__(self, root, pub, log=print):
        self.root = root
        self.pub = pub
        self.key = Ed25519PublicKey.from_public_bytes(pub)
        self.dev = hashlib.sha256(pub).hexdigest()[:16]
        self.log = log
        self.last = -1  # newest seq held
        self.last_hash = None
        self.first = None
        self.photos = {}  # seq -> (sha256, size) of photos not yet complete
        self.parts = {}  # seq -> bytes received so far
        self.gone = set()  # seqs whose photo the device no longer has
        self.hashes = {}  # seq -> hash, of the newest records (duplicate checks)
        for d in ("records", "photos"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        self._device_json()
        self._load()

    def _device_json(self):
        p = os.path.join(self.root, "device.json")
        if os.path.exists(p):
            with open(p) as f:
                have = json.load(f)
            if have.get("pub") != self.pub.hex():
                raise StoreError("%s holds records of device %s, not %s: give another --out folder" % (self.root, have.get("dev"), self.dev))
            return
        with open(p, "w") as f:
            json.dump({"pub": self.pub.hex(), "dev": self.dev}, f)

    def _segments(self):
        d = os.path.join(self.root, "records")
        return sorted(n for n in os.listdir(d) if n.endswith(".jsonl"))

    def _load(self):
        for n in os.listdir(os.path.join(self.root, "photos")):
            if n.endswith(".part"):
                os.remove(os.path.join(self.root, "photos", n))  # its parts come again
        explained = set()
        for name in self._segments():
            path = os.path.join(self.root, "records", name)
            with open(path, "rb") as f:
                data = f.read()
            end = data.rfind(b"\n") + 1
            if end != len(data):
                self.log("collect: cut %d bytes of a record left unfinished in %s when the collector stopped;"
                         " the device sends that record again" % (len(data) - end, name))
                with open(path, "r+b") as f:
                    f.truncate(end)
                    os.fsync(f.fileno())
            for line in data[:end].split(b"\n")[:-1]:
                rec = json.loads(line)
                self._held(rec, line)
                if rec.get("ev") == "photo_pruned":
                    explained.update(s for s in rec.get("seqs") or [] if isinstance(s, int))
        for seq in explained:
            self.photos.pop(seq, None)

    def _held(self, rec, line):
        seq = rec["seq"]
        if self.first is None:
            self.first = seq
        self.last, self.last_hash = seq, hashlib.sha256(line).hexdigest()
        self.hashes[seq] = self.last_hash
        self.hashes.pop(seq - 4096, None)
        ph = rec.get("photo")
        if isinstance(ph, dict) and not os.path.exists(os.path.join(self.root, "photos", "%d.jpg" % seq)):
            self.photos[seq] = (ph.get("sha256"), ph.get("size"))

    @property
    def held(self):
        """(seq, hash): every record and photo up to seq is on disk."""
        if not self.photos:
            return self.last, self.last_hash
        s = min(self.photos) - 1
        return s, self.hashes.get(s) if s >= 0 else None

    # Records
    def check(self, line):
        """The record in line if it is this device's, well formed and correctly signed; else a
        reason (str). The rules are the verifier's own (verify_format), checked with `cryptography`."""
        rec, why = verify_format.parse(line)
        if rec is None:
            return why
        if not isinstance(rec, dict):
            return "not a record"
        why = verify_format.shape_problem(rec)
        if why:
            return why
        if canonical(rec) != line:
            return "its bytes are not the canonical form"
        if rec["dev"] != self.dev:
            return "from device %r, not %s" % (rec["dev"], self.dev)
        try:
            self.key.verify(bytes.fromhex(rec["sig"]), verify_format.signed_bytes(line, rec))
        except InvalidSignature:
            return "its signature does not verify with the pinned key"
        return rec

    def add(self, rec, line, gap_ok=False):
        """Keep rec if it is the next one. Returns "kept", "have", "gap" or "conflict"."""
        seq = rec["seq"]
        h = hashlib.sha256(line).hexdigest()
        if seq <= self.last:
            old = self.hashes.get(seq)
            if old is None or old == h:
                return "have"
            self._reject(seq, line)
            return "conflict"
        if seq != self.last + 1 and not gap_ok and not (self.last < 0 and rec.get("ev") == "genesis"):
            return "gap"
        if seq == self.last + 1 and self.last >= 0 and rec.get("prev") != self.last_hash:
            self._reject(seq, line)
            return "conflict"
        path = os.path.join(self.root, "records", "%08d.jsonl" % (seq - seq % PER_SEGMENT))
        new = not os.path.exists(path)
        with open(path, "ab") as f:
            f.write(line + b"\n")
            f.flush()
            os.fsync(f.fileno())
        if new:
            _fsync_dir(os.path.dirname(path))
        self._held(rec, line)
        if rec.get("ev") == "photo_pruned":
            for s in rec.get("seqs") or []:
                self.photos.pop(s, None)
        return "kept"

    def _reject(self, seq, line):
        d = os.path.join(self.root, "rejected")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "seq-%d-%s.jsonl" % (seq, hashlib.sha256(line).hexdigest()[:12])), "wb") as f:
            f.write(line + b"\n")
        self.log("collect: ALERT: the device sent a record %d that does not extend the log this collector holds;"
                 " it is kept in %s and not added. Keep the device and this folder as they are: they may be evidence." % (seq, d))

    # Photos
    def part(self, seq, off, size, data):
        """A part of photo seq. True once the photo is complete and matches its record."""
        want = self.photos.get(seq)
        if want is None or size != want[1] or off < 0 or off + len(data) > size:
            return False
        path = os.path.join(self.root, "photos", "%d.jpg" % seq)
        got = self.parts.get(seq, 0)
        if off != got:  # parts come in order; a repeat from a resend starts over at 0
            if off != 0:
                return False
            got = 0
        with open(path + ".part", "r+b" if off else "wb") as f:
            f.seek(off)
            f.write(data)
        got = self.parts[seq] = off + len(data)
        if got < size:
            return False
        with open(path + ".part", "rb") as f:
            blob = f.read()
        del self.parts[seq]
        if hashlib.sha256(blob).hexdigest() != want[0]:
            os.remove(path + ".part")
            self.log("collect: photo %d did not match its signed record; it is asked for again" % seq)
            return False
        with open(path + ".part", "rb+") as f:
            os.fsync(f.fileno())
        os.replace(path + ".part", path)
        _fsync_dir(os.path.dirname(path))
        del self.photos[seq]
        return True

    def photo_gone(self, seq):
        if seq in self.photos:
            del self.photos[seq]
            self.gone.add(seq)
            self.log("collect: the device no longer has photo %d (pruned for space); its record says what it was" % seq)

    def write_head(self, now):
        seq, h = self.last, self.last_hash
        if seq < 0:
            return
        p = os.path.join(self.root, "head.json")
        with open(p + ".tmp", "w") as f:
            json.dump({"seq": seq, "hash": h, "pulled_at": now}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(p + ".tmp", p)
