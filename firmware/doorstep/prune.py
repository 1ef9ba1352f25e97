"""Making room on a small flash without losing evidence the homeowner has not pulled.

Photos go first, oldest first. Records go only in whole segments that the homeowner
already holds (``pulled.json``, written by `doorstep pull`, or ``mirror.json``, the
collector's acknowledgement), oldest first. Each
deletion is itself recorded, so the remaining chain still verifies and explains the gap.
"""

import json

from doorstep import ledger as L
from doorstep.photo import DIR as PHOTOS

PULLED_FILE = "pulled.json"
MIRROR_FILE = "mirror.json"


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


def prune_photos(storage, need, most=20):
    """Delete the oldest photos until `need` bytes are free (at most `most`). Returns seqs."""
    gone = []
    for seq in _photo_seqs(storage)[:most]:
        free = storage.free_bytes()
        if free is None or free >= need:
            break
        storage.remove("%s/%d.jpg" % (PHOTOS, seq))
        gone.append(seq)
    return gone


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
