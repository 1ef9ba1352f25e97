"""Motion from the camera where no PIR is fitted (optional: config.json camera_motion_s).

The camera's liveness probes (liveness.py) come every camera_motion_s seconds instead of every
5 minutes; a JPEG's size follows what is in the picture, so a frame whose size differs from the
running baseline by more than ``change_pct`` is movement (a hash would not do: sensor noise
changes it every frame). FramePir turns that into the level a PIR gives, and motion.py makes
visits of it unchanged (budget, photo at the start, heartbeat counts). Cheap on the device: one
capture and one SHA-256 in C per probe, no frame kept, two integers of state.
A camera in a blind spot is recorded by liveness.py; FramePir then simply sees nothing.
"""

from doorstep.board.pir import OK, WARMING
from doorstep.compat import ticks_diff


class FramePir:
    change_pct = 8
    hold_ms = 5000  # a changed frame counts as movement this long
    settle_frames = 3  # frames seen before the baseline is trusted

    def __init__(self, ticks):
        self.ticks = ticks
        self.state = WARMING
        self.base = None
        self.frames = 0
        self.until = None
        self.answered = False

    def frame(self, size):
        """A good frame's size (liveness.py calls it for every good frame)."""
        now = self.ticks()
        self.frames += 1
        if self.base is None:
            self.base = size
            return
        if abs(size - self.base) * 100 > self.change_pct * self.base:
            self.until = now + self.hold_ms
            self.answered = True
        else:
            self.base = (self.base * 3 + size) // 4  # the scene's slow changes (daylight) follow
        if self.state == WARMING and self.frames >= self.settle_frames:
            self.state = OK

    def poll(self, now_ms):
        return self.state == OK and self.until is not None and ticks_diff(self.until, now_ms) > 0

    def take(self):
        out, self.answered = self.answered, False
        return out


def attach(app, watch):
    """Motion from the camera, wired into the app (only called when no PIR is fitted)."""
    from doorstep import motion

    fp = FramePir(app.clock.ticks_ms)
    watch.probe_ms = app.cfg["camera_motion_s"] * 1000
    watch.next_probe = app.clock.ticks_ms() + watch.probe_ms
    watch.on_good = fp.frame
    return motion.attach(app, fp)
