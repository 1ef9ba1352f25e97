"""A fake micropython-camera-API `camera` module for host tests.

Camera(...).capture() returns a memoryview over a frame buffer that the next capture
reuses, like the real driver. The test sets `sim` to steer it.
Like the real driver in grab mode LATEST with two buffers, the two frames after a change of
`frame_size` are still of the size before it. sim["resize"]: "property" (the current API),
"method" (older releases: set_frame_size only) or None (neither works).
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


sim = {"fail_init": None, "mode": "ok", "made": [], "not_ready": 0, "resize": "property"}


def reset():
    sim.update(fail_init=None, mode="ok", made=[], not_ready=0, resize="property")


def frame(n, size=None):
    """JPEG-framed bytes that differ with n (SOI ... EOI); 8 bytes per FrameSize step."""
    body = bytes(((n * 7 + i) & 0x7F) for i in range(64 if size is None else 8 * size))
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
        self._size = kw.get("frame_size")
        self._buf = bytearray(len(frame(0, self._size)))
        self.in_buffers = []  # sizes of frames taken before the last size change, not yet handed out
        self.sizes = []  # the size of every frame handed out
        sim["made"].append(self)

    def _resize(self, v):
        self.in_buffers = [self._size, self._size]
        self._size = v

    @property
    def frame_size(self):
        return self._size

    @frame_size.setter
    def frame_size(self, v):
        if sim["resize"] != "property":
            raise AttributeError("frame_size")
        self._resize(v)

    def set_frame_size(self, v):
        if sim["resize"] is None:
            raise AttributeError("set_frame_size")
        self._resize(v)

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
        size = self.in_buffers.pop(0) if self.in_buffers else self._size
        self.sizes.append(size)
        f = frame(self.grabs, size)
        if len(f) == len(self._buf):
            self._buf[:] = f
        else:
            self._buf = bytearray(f)
        return memoryview(self._buf)
