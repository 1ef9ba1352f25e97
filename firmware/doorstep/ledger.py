"""The append-only ledger: signed records as JSON Lines in numbered segment files.

``records/<first seq, 8 digits>.jsonl`` hold ``per_segment`` records each, so file names
sort in sequence order. A record counts as written only once its whole line, newline
included, has been flushed and synced. At boot the tail of the last segment is checked:
a torn or invalid tail is copied to ``quarantine/`` and cut off, and the caller writes a
signed ``recovered`` record that says so. Nothing is dropped silently.
"""

import json
from binascii import hexlify
from hashlib import sha256

DIR = "records"
QUARANTINE = "quarantine"
ZERO_HASH = "0" * 64


def segment_name(first_seq):
    return "%s/%08d.jsonl" % (DIR, first_seq)


def line_hash(line):
    """Hex SHA-256 of a record's canonical bytes (its line without the newline)."""
    return hexlify(sha256(line).digest()).decode()


class LedgerFull(OSError):
    """A record could not be written (flash full or failing): the door must fail closed."""


class Ledger:
    per_segment = 1000

    def __init__(self, storage):
        self.storage = storage
        storage.makedirs(DIR)
        self.next_seq = 0
        self.head = ZERO_HASH  # hash of the last record, the next record's prev
        self.torn = None  # {"file", "bytes", "segment"} when recovery cut a tail
        self.dirty = False  # a write failed part-way: check the tail before the next one
        self.last = None  # the last record found at boot (parsed), for its boot and ms
        self._scan()

    def segments(self):
        return [DIR + "/" + n for n in self.storage.listdir(DIR) if n.endswith(".jsonl")]

    def hash_of(self, seq):
        """Hash of record `seq` as stored here, or None when it is not on this device."""
        seg = None
        for name in self.segments():
            if int(name[len(DIR) + 1 : -6]) <= seq:
                seg = name
        if seg is None:
            return None
        with self.storage.open(seg, "rb") as f:
            while True:
                line = f.readline()
                if line[-1:] != b"\n":
                    return None
                if line.startswith(b'{') and (b'"seq":%d,' % seq) in line:
                    rec = json.loads(line)
                    if rec.get("seq") == seq:
                        return line_hash(line[:-1])

    def _scan(self):
        segs = self.segments()
        if not segs:
            return
        first = int(segs[-1][len(DIR) + 1 : -6])
        expect = first
        prev = None
        good_end = 0
        pos = 0
        bad = False
        last = None
        with self.storage.open(segs[-1], "rb") as f:
            while True:
                line = f.readline()
                if not line:
                    break
                pos += len(line)
                if bad:
                    continue
                rec = None
                if line[-1:] == b"\n":
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        rec = None
                if (
                    not isinstance(rec, dict)
                    or rec.get("seq") != expect
                    or (prev is not None and rec.get("prev") != prev)
                    or not isinstance(rec.get("sig"), str)
                ):
                    bad = True
                    continue
                prev = line_hash(line[:-1])
                expect += 1
                good_end = pos
                last = rec
        if bad or pos != good_end:
            self._quarantine(segs[-1], good_end, pos - good_end)
        if expect == first and first > 0:
            # The whole last segment was torn: the head is the end of the one before.
            self.storage.remove(segs[-1])
            self._scan()
            return
        if prev is None and first == 0:
            return
        self.next_seq = expect
        self.head = prev
        self.last = last

    def _quarantine(self, seg, keep, nbytes):
        """Copy bytes [keep:] of seg to quarantine/, then cut seg back to keep bytes.

        Streams in small chunks: a segment can be far larger than the free heap.
        """
        st = self.storage
        st.makedirs(QUARANTINE)
        qname = "%s/%s-%d.bin" % (QUARANTINE, seg[len(DIR) + 1 : -6], keep)
        buf = bytearray(512)
        mv = memoryview(buf)
        with st.open(seg, "rb") as src, st.open(qname + ".tmp", "wb") as q, st.open(seg + ".tmp", "wb") as dst:
            pos = 0
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                cut = keep - pos
                if cut >= n:
                    dst.write(mv[:n])
                elif cut <= 0:
                    q.write(mv[:n])
                else:
                    dst.write(mv[:cut])
                    q.write(mv[cut:n])
                pos += n
            q.flush()
            dst.flush()
        st.sync()
        st.rename(qname + ".tmp", qname)  # the evidence is safe before the tail is cut
        st.sync()
        st.rename(seg + ".tmp", seg)
        st.sync()
        self.torn = {"file": qname, "bytes": nbytes, "segment": seg}

    def append(self, line):
        """Append one record line (canonical bytes with sig, no newline); durable on return."""
        if self.dirty:
            self._scan()  # cut what a failed write left behind; self.torn tells the caller
            self.dirty = False
        seq = self.next_seq
        first = seq - seq % self.per_segment
        try:
            with self.storage.open(segment_name(first), "ab") as f:
                f.write(line + b"\n")
                f.flush()
            self.storage.sync()
        except OSError as e:
            self.dirty = True
            raise LedgerFull("record %d could not be written: %s" % (seq, e))
        self.next_seq = seq + 1
        self.head = line_hash(line)
