"""Making room on a small flash without losing evidence the homeowner has not pulled.

Photos are ranked by what they show (rank()): refused remote requests go first, then rings,
then code attempts and lockouts, which only another code attempt may push out. Each photo says
its event in its JPEG comment (photo.comment), so no log has to be read to rank it. Photos
the homeowner already holds go first, oldest first. Records go only in whole segments that
the homeowner already holds (``pulled.json``, written by `doorstep pull`, or ``mirror.json``,
the collector's acknowledgement), oldest first. Each deletion is recorded first, so the
chain still verifies and explains it.
"""

import json

from doorstep import ledger as L
from doorstep.photo import DIR as PHOTOS
from doorstep.photo import photo_name

PULLED_FILE = "pulled.json"
MIRROR_FILE = "mirror.json"
KEEP = 2  # the rank of code attempts and lockouts


def rank(ev, channel=None):
    """Which photos a record may push out (those of its rank or below): KEEP for code attempts
    at the keypad and lockouts, 1 for rings, visits (motion) and snapshots, 0 for refused remote requests and for records
    without a photo (a heartbeat makes room from pulled files, or uses the reserve)."""
    if ev in ("attempt", "lockout_start", "handover") or (ev == "relay_refused" and channel == "keypad"):
        return KEEP
    return 1 if ev in ("ring", "motion", "snapshot") else 0


def _photo_seqs(storage):
    seqs = []
    for n in storage.listdir(PHOTOS):
        if n.endswith(".jpg"):
            try:
                seqs.append(int(n[:-4]))
            except ValueError:
                pass
    seqs.sort()
    return seqs


def photo_rank(storage, seq):
    """The rank of photo seq from the event named in its comment (KEEP when it names none)."""
    ev = channel = None
    try:
        with storage.open(photo_name(seq), "rb") as f:
            head = f.read(160)
        if head[2:4] == b"\xff\xfe" and len(head) > 6:
            for w in head[6 : 4 + head[4] * 256 + head[5]].split(b" "):
                if w[:3] == b"ev=":
                    ev = w[3:].decode()
                elif w[:8] == b"channel=":
                    channel = w[8:].decode()
    except (OSError, ValueError):
        pass
    return rank(ev, channel) if ev else KEEP


def photos_to_prune(storage, need, upto, most=20):
    """Seqs of the oldest photos that together free enough for `need` bytes free: photos the
    homeowner pulled, and photos of rank `upto` or below. [] when nothing needs to go."""
    free = storage.free_bytes()
    if free is None or free >= need:
        return []
    short = need - free
    pulled = pulled_seq(storage)
    out = []
    for seq in _photo_seqs(storage):
        if short <= 0 or len(out) >= most:
            break
        if seq <= pulled or photo_rank(storage, seq) <= upto:
            out.append(seq)
            short -= storage.size(photo_name(seq))
    return out


def held(storage, name):
    """(seq, hash) from pulled.json or mirror.json, or (-1, None) when absent or damaged."""
    try:
        p = storage.read_json(name, None)
        if isinstance(p, dict) and isinstance(p.get("seq"), int) and isinstance(p.get("hash"), str):
            return p["seq"], p["hash"]
    except Exception:  # damaged: as if nothing were held (nothing is pruned on its word)
        pass
    return -1, None


def pulled_seq(storage):
    """The newest seq the homeowner holds: by `doorstep pull` (pulled.json) or by the
    collector's acknowledgement (mirror.json), whichever is further."""
    return max(held(storage, PULLED_FILE)[0], held(storage, MIRROR_FILE)[0])


def prunable_segment(storage, ledger):
    """(segment, first seq, last seq, last line hash) of the oldest segment already pulled, or None.

    The newest segment is never pruned: it holds the head.
    """
    segs = ledger.segments()
    if len(segs) < 2:
        return None
    seg = segs[0]
    first = int(seg[len(L.DIR) + 1 : -6])
    last_line = None
    with storage.open(seg, "rb") as f:
        while True:
            line = f.readline()
            if not line:
                break
            last_line = line
    if last_line is None:
        return None
    last = json.loads(last_line)["seq"]
    if last > pulled_seq(storage):
        return None
    return seg, first, last, L.line_hash(last_line.rstrip(b"\n"))
