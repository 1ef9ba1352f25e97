"""What a Doorstep record line must be (docs/record-format.md), and how findings about it are told.

Part of the standalone verifier (see bundle_verify.py): Python 3 and `cryptography` only.
Lines are read with a size limit and JSON is parsed strictly (no floats, NaN or Infinity: records hold whole
numbers), so a damaged or hostile file gives a finding, never a traceback or a memory blow-up.
"""

import hashlib
import json
import os
import re
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ZERO = "0" * 64
MAX_LINE = 64 * 1024  # no record the firmware writes comes near this
CHECKPOINT_FIELDS = ["dev", "dropped", "hash", "seq", "sig", "t"]
_HEX = {n: re.compile("[0-9a-f]{%d}\\Z" % n) for n in (16, 64, 128)}


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def line_hash(line):
    """What the next record's "prev" must be: the SHA-256 of this line, without its newline."""
    return hashlib.sha256(line).hexdigest()


def device_id(pub):
    return hashlib.sha256(pub).hexdigest()[:16]


def is_hex(v, n):
    return isinstance(v, str) and _HEX[n].match(v) is not None


def whole(v):
    return type(v) is int and v >= 0


def utc(t):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


# Findings

ERROR, UNCHECKED, WARNING, NOTICE = "error", "unchecked", "warning", "notice"
MAX_FINDINGS = 1000  # when streaming, findings past this are counted, not kept


class Finding:
    def __init__(self, level, seq, text, where=None):
        self.level, self.seq, self.text, self.where = level, seq, text, where

    def __str__(self):
        if self.level == ERROR:
            at = "record %s" % self.seq if self.seq is not None else ""
            if self.where:
                at = "%s (%s)" % (at, self.where) if at else self.where
            return "FAILED: %s%s" % (at + ": " if at else "", self.text)
        label = {UNCHECKED: "NOT CHECKED", WARNING: "WARNING"}.get(self.level, "NOTICE")
        return "%s: %s: %s" % (label, "seq %s" % self.seq if self.seq is not None else "log", self.text)

    def __repr__(self):
        return "Finding(%r, %r, %r)" % (self.level, self.seq, self.text)


class Result:
    def __init__(self, keep=True):
        self.keep = keep  # keep every record and finding (the report needs them); else stream
        self.findings, self.records, self.attested = [], [], []
        self.count = 0  # complete lines read from records/
        self.first = None  # seq of the first record
        self.head = None  # (seq, hash) of the last record
        self.reach = None  # the highest seq a head, checkpoint or timestamp confirmed
        self.pub, self.key_source, self.key_confirmed = None, None, False
        self.posture = None  # verify_posture.Posture: what the genesis and boot records say of the device
        self.tsa_ca = None  # (path, description, given by the user?) of the CA the tokens were checked against
        self.photos = self.photos_left_out = self.dropped = 0
        self.n = {ERROR: 0, UNCHECKED: 0, WARNING: 0, NOTICE: 0}

    def add(self, level, seq, text, where=None):
        self.n[level] += 1
        if self.keep or len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(level, seq, text, where))
        else:
            self.dropped += 1

    @property
    def errors(self):
        return [f for f in self.findings if f.level == ERROR]

    @property
    def error_count(self):
        return self.n[ERROR]

    @property
    def ok(self):
        """No problem found. Some things may still be unchecked (see complete)."""
        return self.n[ERROR] == 0

    @property
    def complete(self):
        return self.n[UNCHECKED] == 0


# Reading, in bounded memory

def segment_lines(root):
    """(segment, line number, bytes or None if longer than MAX_LINE, complete?, size) in log order."""
    rdir = os.path.join(root, "records")
    if not os.path.isdir(rdir):
        return
    for name in sorted(n for n in os.listdir(rdir) if n.endswith(".jsonl")):
        with open(os.path.join(rdir, name), "rb") as f:
            no = 0
            while True:
                line = f.readline(MAX_LINE + 1)
                if not line:
                    break
                no += 1
                if line.endswith(b"\n"):
                    yield name, no, line[:-1], True, len(line) - 1
                    continue
                if len(line) <= MAX_LINE:
                    yield name, no, line, False, len(line)  # a torn tail
                    continue
                size, complete = len(line), False
                while True:  # skip to the end of the line in big reads, without holding it
                    chunk = f.read(1 << 22)
                    if not chunk:
                        break
                    i = chunk.find(b"\n")
                    if i >= 0:
                        size, complete = size + i, True
                        f.seek(i + 1 - len(chunk), os.SEEK_CUR)
                        break
                    size += len(chunk)
                yield name, no, None, complete, size


def file_digest(path):
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


class _Refused(ValueError):
    pass


def _refuse(text):
    raise _Refused(text)


_DECODER = json.JSONDecoder(parse_float=_refuse, parse_constant=_refuse)


def parse(line):
    """The record of a line, or (None, why not)."""
    try:
        return _DECODER.decode(line.decode("utf-8")), None
    except RecursionError:
        return None, "it is nested too deeply to be a record"
    except _Refused:
        return None, "it holds a number with a fraction, NaN or Infinity; records hold whole numbers only"
    except ValueError:
        return None, "it is not valid JSON (damaged or edited)"


# What a record must look like (docs/record-format.md)

def _what(v):
    if v is None or isinstance(v, bool):
        return json.dumps(v)
    if isinstance(v, int):
        return "the number %d" % v if abs(v) < 10 ** 15 else "a huge number"
    if isinstance(v, str):
        return "the text %s" % json.dumps(v[:40] + ("..." if len(v) > 40 else ""))
    return "a list" if isinstance(v, list) else "an object"


def _photo_ok(v):
    if v is None:
        return True
    f = v.get("file") if isinstance(v, dict) else None
    return (isinstance(f, str) and f.startswith("photos/") and _plain(f[7:]) and is_hex(v.get("sha256"), 64)
            and whole(v.get("size")))


def _plain(name):
    return name not in ("", ".", "..") and not any(c in name for c in "/\\:\0")


FIELDS = (
    ("v", lambda v: v == 1, "1"), ("dev", lambda v: is_hex(v, 16), "16 lowercase hex digits"),
    ("seq", whole, "a whole number"), ("boot", whole, "a whole number"),
    ("t", lambda v: v is None or whole(v), "whole seconds or null"), ("tq", lambda v: isinstance(v, str), "text"),
    ("ms", whole, "a whole number"), ("ev", lambda v: isinstance(v, str) and v != "", "an event name"),
    ("prev", lambda v: is_hex(v, 64), "64 lowercase hex digits (a SHA-256)"),
    ("sig", lambda v: is_hex(v, 128), "128 lowercase hex digits (an Ed25519 signature)"),
)
EVENT_FIELDS = {
    "genesis": (("pub", lambda v: is_hex(v, 64), "64 lowercase hex digits (the public key)"),),
    "records_pruned": (("from", whole, "a whole number"), ("to", whole, "a whole number"),
                       ("last_hash", lambda v: is_hex(v, 64), "64 lowercase hex digits (a SHA-256)")),
    "photo_pruned": (("seqs", lambda v: isinstance(v, list) and all(whole(x) for x in v), "a list of seqs"),),
}
PHOTO = ("photo", _photo_ok, 'null or {"file": "photos/NAME", "sha256": 64 lowercase hex digits, "size": bytes}')


def _fast_ok(rec):
    """The common case, decided quickly: a plain record with every base field well typed."""
    try:
        return (rec["v"] == 1 and type(rec["seq"]) is int and rec["seq"] >= 0 and type(rec["boot"]) is int and rec["boot"] >= 0
                and type(rec["ms"]) is int and rec["ms"] >= 0 and (rec["t"] is None or (type(rec["t"]) is int and rec["t"] >= 0))
                and type(rec["tq"]) is str and type(rec["ev"]) is str and rec["ev"] != "" and rec["ev"] not in EVENT_FIELDS
                and "photo" not in rec and is_hex(rec["dev"], 16) and is_hex(rec["prev"], 64) and is_hex(rec["sig"], 128))
    except KeyError:
        return False


def shape_problem(rec):
    """Why rec is not a well-formed record, or None."""
    if _fast_ok(rec):
        return None
    ev = rec.get("ev")
    rules = FIELDS + (EVENT_FIELDS.get(ev, ()) if isinstance(ev, str) else ()) + ((PHOTO,) if "photo" in rec else ())
    for key, good, want in rules:
        if key not in rec:
            return "it has no %r field" % key
        if not good(rec[key]):
            return "its %r is %s; it must be %s" % (key, _what(rec[key]), want)
    return None


def signed_bytes(line, rec):
    """The bytes the signature covers: the canonical line without "sig" (line is canonical)."""
    part = b'"sig":"' + rec["sig"].encode() + b'"'
    if line.count(b'"sig":"') == 1:  # only the record's own "sig": cut it out of the line
        i = line.index(part)
        return line[: i - 1] + line[i + len(part):] if line[i - 1:i] == b"," else line[:i] + line[i + len(part) + 1:]
    return canonical({k: v for k, v in rec.items() if k != "sig"})


def checkpoint_problem(cp, pub):
    """Why cp is not a checkpoint signed by pub (the device's raw key), or None."""
    if not isinstance(cp, dict) or sorted(cp) != CHECKPOINT_FIELDS:
        return "this is not a Doorstep checkpoint (it must have exactly the fields %s)" % ", ".join(CHECKPOINT_FIELDS)
    if not (whole(cp["seq"]) and whole(cp["dropped"])):
        return "the checkpoint's seq and dropped must be whole numbers"
    if not (cp["t"] is None or whole(cp["t"])):
        return "the checkpoint's time must be a whole number or null"
    if not is_hex(cp["hash"], 64):
        return "the checkpoint's hash is not a SHA-256 in lowercase hex"
    if cp["dev"] != device_id(pub):
        return "the checkpoint is from device %r, not this one (%s)" % (cp["dev"], device_id(pub))
    if not is_hex(cp["sig"], 128):
        return "the checkpoint's signature is not 128 lowercase hex digits"
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(bytes.fromhex(cp["sig"]), canonical({k: v for k, v in cp.items() if k != "sig"}))
    except InvalidSignature:
        return "the checkpoint's signature does not verify: it was altered or not made by this device"
    return None
