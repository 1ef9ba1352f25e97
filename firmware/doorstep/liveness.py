"""The camera proven alive: low-rate probe frames, a kept photo now and then, blind spots.

Every ``probe_ms`` the camera takes a frame that is only hashed (never written, no record:
shots.py); every ``keep_ms`` a `camera_check` record keeps a photo, a thumbnail where the
camera can switch size (board thumb_size; it ranks lowest when room must be made, prune.py). Every frame, probe or event photo, is judged: no frame (driver error,
timeout), dark (far smaller than the recent median) or frozen (the same bytes as the frame
before: the driver hands back a stale buffer). ``bad_in_a_row`` bad frames in a row start a
blind spot (`blind_start`, sensor `camera`, reason `failing`, `dark` or `frozen`); the next good
frame ends it (`blind_end` with `lasted_ms`). Every heartbeat says what the camera did since the
one before: frames, good frames, the newest frame (SHA-256 of its bytes, size, capture ms) and
whether it was out of any blind spot all that time.
Polled from the door loop (App.step); captures run in the photo task, never here.
"""

from binascii import hexlify

from doorstep.compat import ticks_diff
from doorstep.photo import PhotoCheck

SENSOR = "camera"


class CameraWatch:
    probe_ms = 5 * 60000
    bad_in_a_row = 3

    def __init__(self, shots, emit, uptime, now_ms, keep_ms):
        self.shots = shots
        self.emit = emit
        self.uptime = uptime
        self.keep_ms = keep_ms
        self.next_probe = now_ms + self.probe_ms
        self.next_keep = now_ms + keep_ms
        self.check = PhotoCheck()
        self.thumbs = PhotoCheck()  # the kept checks' thumbnails, judged among themselves
        self.bad = 0
        self.reason = None  # the current blind spot's reason, or None
        self.blind_at = self.blind_mark = None
        self.last = None  # {"sha256", "size", "cap_ms"} of the newest frame
        self.beat = [0, 0, True, 0]  # since the last heartbeat: frames, good ones, never blind, blind ms
        self.on_good = None  # camotion.FramePir.frame, when the camera stands in for a PIR
        shots.watch = self.seen

    def poll(self, now_ms):
        if ticks_diff(now_ms, self.next_probe) >= 0:
            self.next_probe = now_ms + self.probe_ms
            if not self.shots.pending:  # a photo already on its way proves as much
                self.shots.want({"ev": "probe"})
        if self.keep_ms and ticks_diff(now_ms, self.next_keep) >= 0:
            self.next_keep = now_ms + self.keep_ms
            ev = {"ev": "camera_check"}
            self.shots.want(ev, small=True)
            self.emit(ev)

    def seen(self, err, digest, size, ms, small=False):
        """Every capture's outcome (shots.py calls it; small: a thumbnail)."""
        self.beat[0] += 1
        why = "failing" if err is not None else (self.thumbs if small else self.check).judge(size, digest)
        if why is None:
            self.beat[1] += 1
            self.bad = 0
            if not small:  # `last` and camera motion compare frames of one size
                self.last = {"sha256": hexlify(digest).decode(), "size": size, "cap_ms": ms}
                if self.on_good is not None:
                    self.on_good(size)
            if self.reason is not None:
                lasted = ms - self.blind_at
                self.beat[3] += ms - self.blind_mark
                self.emit({"ev": "blind_end", "sensor": SENSOR, "reason": self.reason, "lasted_ms": lasted})
                self.reason = self.blind_at = self.blind_mark = None
            return
        self.bad += 1
        if self.reason is None and self.bad >= self.bad_in_a_row:
            self.reason = why
            self.blind_at = self.blind_mark = ms
            self.beat[2] = False
            self.emit({"ev": "blind_start", "sensor": SENSOR, "reason": why})

    def heartbeat(self):
        """The heartbeat's `camera` field, and start counting again."""
        frames, good, clear, blind = self.beat
        if self.blind_mark is not None:
            now = self.uptime()
            blind += now - self.blind_mark
            self.blind_mark = now
        self.beat = [0, 0, self.reason is None, 0]
        return {"camera": {"frames": frames, "good": good, "seen": clear and self.reason is None and good > 0,
                           "blind_ms": blind, "last": self.last}}


def attach(app):
    """The camera's watch, wired into the app (every board has a camera, maybe a failing one)."""
    cfg = app.cfg
    w = CameraWatch(app.shots, app.emit, app.uptime, app.clock.ticks_ms(), cfg.get("camera_keep_min", 1440) * 60000)
    app.rec.beat.append(w.heartbeat)
    return w
