"""A fake micropython-camera-API `camera` module for host tests.

Camera(...).capture() returns a memoryview over a frame buffer that the next capture
reuses, like the real driver. The test sets `sim` to steer it.
"""


class PixelFormat:
    RGB565 = 0
    YUV422 = 1
    GRAYSCALE = 3
    JPEG = 4


class FrameSize:
    QQVGA = 1
    QVGA = 6
    CIF = 8
    HVGA = 9
    VGA = 10
    SVGA = 11
    XGA = 12
    HD = 13


class GrabMode:
    WHEN_EMPTY = 0
    LATEST = 1


sim = {"fail_init": None, "mode": "ok", "made": [], "not_ready": 0}


def reset():
    sim.update(fail_init=None, mode="ok", made=[], not_ready=0)


def frame(n):
    """JPEG-framed bytes that differ with n (SOI ... EOI)."""
    body = bytes(((n * 7 + i) & 0x7F) for i in range(64))
    return b"\xff\xd8\xff\xe0" + body + b"\xff\xd9"


class Camera:
    def __init__(self, **kw):
        if sim["fail_init"]:
            raise OSError(sim["fail_init"])
        self.kw = kw
        self.grabs = 0
        self.inits = 1
        self.deinits = 0
        self.freed = 0
        self.polls = 0
        self._buf = bytearray(len(frame(0)))
        sim["made"].append(self)

    def init(self):
        self.inits += 1

    def deinit(self):
        self.deinits += 1

    def free_buffer(self):
        self.freed += 1

    def frame_available(self):
        self.polls += 1
        return self.polls > sim["not_ready"]

    def capture(self):
        self.polls = 0
        m = sim["mode"]
        if m == "fail":
            raise OSError(116)
        if m == "none":
            return None
        self.grabs += 1
        f = frame(self.grabs)
        self._buf[:] = f
        return memoryview(self._buf)
