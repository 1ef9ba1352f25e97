"""Photos as evidence: stamped, hashed and written straight from the camera's buffer.

Before hashing, a JPEG comment segment (FF FE) with the device id, seq, time and event goes
right after the start-of-image marker, so a photo separated from its record still says
where, when and why it was taken. The frame is never copied: its pieces are hashed and
written in turn (the driver's buffer is reused by the next capture).
"""

from binascii import hexlify
from hashlib import sha256

DIR = "photos"
SOI = b"\xff\xd8"


def photo_name(seq):
    return "%s/%d.jpg" % (DIR, seq)


def comment(dev, seq, t, what=""):
    """what: " ev=<event>" and " channel=<channel>" of its record (prune ranks photos by it)."""
    text = "doorstep dev=%s seq=%d t=%s%s" % (dev, seq, "none" if t is None else t, what)
    n = len(text) + 2
    return b"\xff\xfe" + bytes((n >> 8, n & 0xFF)) + text.encode()


class PhotoCheck:
    """Spots frames that are far smaller than usual (dark, covered lens) or repeated."""

    window = 8
    dark_ratio = 4  # a frame under 1/4 of the recent median size is dark

    def __init__(self):
        self.sizes = []
        self.last_hash = None

    def judge(self, size, digest):
        flag = None
        if digest == self.last_hash:
            flag = "frozen"
        elif len(self.sizes) >= 3:
            s = sorted(self.sizes)
            if size * self.dark_ratio < s[len(s) // 2]:
                flag = "dark"
        self.last_hash = digest
        if flag != "dark":  # dark frames would drag the median down
            self.sizes.append(size)
            if len(self.sizes) > self.window:
                self.sizes.pop(0)
        return flag


def write_stamped(storage, frame, name, com):
    """Write the camera's JPEG under name with the comment com after its SOI marker: returns
    (SHA-256 hex of the file, its size, digest of the frame before stamping).

    The frame is never copied: hashed and written piece by piece from the driver's buffer.
    Raises ValueError if it is not a JPEG. The file appears under name only once complete.
    """
    mv = memoryview(frame)
    if len(mv) < 4 or mv[0] != 0xFF or mv[1] != 0xD8:
        raise ValueError("camera frame is not a JPEG")
    h = sha256()
    h.update(SOI)
    h.update(com)
    h.update(mv[2:])
    storage.makedirs(DIR)
    with storage.open(name + ".tmp", "wb") as f:
        f.write(SOI)
        f.write(com)
        f.write(mv[2:])
        f.flush()
    storage.sync()
    storage.rename(name + ".tmp", name)
    return hexlify(h.digest()).decode(), len(mv) + len(com), sha256(mv).digest()


def save(storage, frame, dev, seq, t, what=""):
    """Write a stamped photo for record seq: returns (the record's `photo` field, frame digest).

    The frame digest (of the camera's bytes, before stamping) is what PhotoCheck compares.
    frame is the camera's JPEG (bytes or memoryview); see write_stamped.
    """
    name = photo_name(seq)
    digest, size, raw = write_stamped(storage, frame, name, comment(dev, seq, t, what))
    return {"sha256": digest, "size": size, "file": name}, raw
