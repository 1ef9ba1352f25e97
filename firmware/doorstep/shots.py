"""Photos taken at the moment of the event, before its record is signed.

An event that wants a photo is handed to want(); the frame is captured as soon as the
record task (or run(), beside it) gets control -- not after the signatures of the events
queued before it -- hashed and written to flash under a capture name at once, with its
capture time in ms since boot. The record binds it later (bind(), from records.py): the
file is renamed under the record's seq, so prune.py and the verifier see an ordinary photo.

The event dict carries the result: "shot" (the file, its SHA-256, size and capture ms) or
"shot_err" (why there is none). Neither field is copied into the record as such.
The frame is never copied: it is hashed and written piece by piece from the driver's buffer.
"""

import asyncio
from binascii import hexlify
from hashlib import sha256

from doorstep.compat import sleep_ms, wait_for_ms
from doorstep.photo import DIR, photo_name, write_stamped


def shot_name(boot, n):
    return "%s/cap%d_%d.jpg" % (DIR, boot, n)  # not a seq: prune.py leaves it alone


def comment(dev, boot, cap_ms, t, ev):
    """The JPEG comment of a photo taken before its record has a seq: where, when, why
    (the event and its channel: prune.py ranks photos by them)."""
    what = ev["ev"] + (" channel=" + ev["channel"] if "channel" in ev else "")
    text = "doorstep dev=%s boot=%d cap=%d t=%s ev=%s" % (dev, boot, cap_ms, "none" if t is None else t, what)
    n = len(text) + 2
    return b"\xff\xfe" + bytes((n >> 8, n & 0xFF)) + text.encode()


class Shots:
    def __init__(self, storage, camera, dev, boot, uptime, clock, timeout_ms):
        self.storage = storage
        self.camera = camera
        self.dev = dev
        self.boot = boot
        self.uptime = uptime
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.pending = []  # events waiting for their frame, oldest first
        self.n = 0
        self.busy = False
        self.wake = asyncio.Event()
        self.last = None  # (SHA-256 of the frame, size, capture ms) of the newest frame
        self.delays = []  # ms from event to frame, for `make bench` (only while `timing`)
        self.timing = False
        self.watch = None  # called with (error or None, frame digest, size, ms, thumbnail?) for every capture

    def want(self, ev, at_ms=None, small=False):
        """Take a photo for ev as soon as possible (at_ms: when the event happened; small: a
        thumbnail where the camera can take one, and then the record says its `frame` size)."""
        ev["shot"] = None
        self.pending.append((ev, self.uptime() if at_ms is None else at_ms, small))
        self.wake.set()

    def drop(self, ev):
        """ev will not be recorded (given back for want of room): its photo goes too."""
        shot = ev.get("shot")
        if shot and shot["file"].startswith(DIR + "/cap"):
            try:
                self.storage.remove(shot["file"])
            except OSError:
                pass

    async def catch_up(self):
        """Capture every pending frame now, oldest first (waits for a capture under way)."""
        while self.busy:
            await sleep_ms(5)
        self.busy = True
        try:
            while self.pending:
                ev, at, small = self.pending.pop(0)
                await self._take(ev, at, small)
        finally:
            self.busy = False

    async def run(self):
        """On the device: captures while the record task signs (the signature yields)."""
        while True:
            self.wake.clear()
            if not self.pending:
                await self.wake.wait()
            await self.catch_up()

    async def _take(self, ev, at, small):
        err, digest, size = await self._grab(ev, at, small)
        if self.watch is not None:
            self.watch(err, digest, size, self.uptime(), "frame" in ev)

    async def _grab(self, ev, at, small):
        try:
            frame = await wait_for_ms(self.camera.capture(small), self.timeout_ms)
        except asyncio.TimeoutError:
            frame, err = None, "timeout"
        except Exception as e:  # noqa: BLE001  -- the driver failed: the record still goes out
            frame, err = None, "camera: %s" % e
        else:
            err = None if frame is not None else "no frame"
        if frame is None:
            ev["shot_err"] = err
            return err, None, 0
        if small and self.camera.small:
            ev["frame"] = self.camera.thumb_size
        if ev["ev"] == "probe":  # a liveness probe (liveness.py): hashed, never written, no record
            return None, sha256(frame).digest(), len(frame)
        ms = self.uptime()
        self.n += 1
        name = shot_name(self.boot, self.n)
        try:
            digest, size, raw = write_stamped(self.storage, frame, name, comment(self.dev, self.boot, ms, self.clock.now(), ev))
        except (ValueError, OSError) as e:  # not a JPEG, or flash refused the file
            ev["shot_err"] = str(e)
            return str(e), None, 0
        n = len(frame)
        frame = None
        ev["shot"] = {"file": name, "sha256": digest, "size": size, "ms": ms, "digest": raw}
        self.last = (digest, size, ms)
        if self.timing:
            self.delays.append(ms - at)
        return None, raw, n


def bind(storage, rec, event, seq, check):
    """Put the photo taken for event into record rec (seq): renamed under its seq."""
    shot = event.get("shot")
    if shot is None:
        rec["photo"] = None
        rec["photo_err"] = event.get("shot_err") or "no photo taken"
        return
    name = photo_name(seq)
    if shot["file"] != name:
        storage.rename(shot["file"], name)
        shot["file"] = name  # a record flash refused is written again later: maybe another seq
    rec["photo"] = {"sha256": shot["sha256"], "size": shot["size"], "file": name}
    if shot["ms"] is not None:
        rec["cap_ms"] = shot["ms"]
    flag = check.judge(shot["size"], shot["digest"])
    if flag:
        rec["photo_flag"] = flag


def recover(storage, emit):
    """At boot: frames a power cut left without their record (the event was in RAM) become
    `photo_recovered` records with the photo (its comment says boot, capture time and event);
    half-written ones (.tmp) are deleted, and counted in a record first."""
    try:
        names = [n for n in storage.listdir(DIR) if n.startswith("cap")]
    except OSError:
        return
    torn = [n for n in names if n.endswith(".tmp")]
    if torn:
        emit({"ev": "photo_recovered", "torn": len(torn)})
        for n in torn:
            storage.remove(DIR + "/" + n)
    for n in names:
        if n.endswith(".jpg"):
            name = DIR + "/" + n
            h, size = sha256(), 0
            with storage.open(name, "rb") as f:
                while True:
                    b = f.read(1024)
                    if not b:
                        break
                    h.update(b)
                    size += len(b)
            d = h.digest()
            emit({"ev": "photo_recovered", "name": n,
                  "shot": {"file": name, "sha256": hexlify(d).decode(), "size": size, "ms": None, "digest": d}})
