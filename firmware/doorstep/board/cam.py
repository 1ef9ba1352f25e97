"""The door camera: the micropython-camera-API driver behind an async capture().

The driver is the C module ``camera`` of a MicroPython firmware built with
micropython-camera-API (https://github.com/cnadler86/micropython-camera-API; its releases
have ready-made images per board, see docs/hardware.md). It needs PSRAM.

How it is used, and why:
* JPEG, two frame buffers, grab mode LATEST: the sensor keeps filling buffers, so a
  capture returns the newest frame instead of one taken seconds ago (one buffer returns
  stale frames).
* The first frames after start-up are dark or green while exposure settles: warm_up()
  throws `warmup_frames` away at boot, and capture() finishes the job if it has not run.
* capture() returns the driver's memoryview over its frame buffer. It is only valid until
  the next capture; the record layer (doorstep/photo.py) hashes and writes it at once and
  never keeps it.
* Waiting for a frame yields to the door loop (frame_available(), where the driver has
  it); a driver error raises, so the record says "camera: ..." and still goes out.
* After `reinit_after` failures in a row the driver is restarted once more.
* capture(small=True) takes the frame at `thumb_size` (the kept camera check: a thumbnail
  on flash, not a full photo). The sensor is switched for that frame and back at the next
  capture; the frames the driver's buffers held from before a switch are thrown away
  (`fb_count` of them), so no photo is ever of the wrong size or from before the switch.
  JPEG buffers are sized at start-up, so the thumbnail must be smaller than `frame_size`.
"""

from doorstep.compat import sleep_ms, ticks_diff, ticks_ms

TYPE_CHECKING = False
if TYPE_CHECKING:  # read by mypy against the ESP32 stubs (host_tests/test_board_typecheck.py) only
    import camera


# frame sizes smallest first: a thumbnail must come before the frame size
SIZES = ("QQVGA", "QVGA", "CIF", "VGA", "SVGA", "XGA", "HD")
FB_COUNT = 2


class Camera:
    warmup_frames = 3
    reinit_after = 3
    frame_wait_ms = 1000  # longest wait for the sensor to deliver a frame

    def __init__(self, driver, ticks=ticks_ms, frame_size="VGA", thumb_size=None):
        self.driver = driver  # type: camera.Camera | None
        self.ticks = ticks
        self._warm = 0  # frames thrown away so far
        self.failures = 0
        self.shots = 0
        self.frame_size = frame_size
        smaller = thumb_size in SIZES and SIZES.index(thumb_size) < SIZES.index(frame_size)
        self.thumb_size = thumb_size if smaller else None  # None: the kept check is a full frame
        self.small = False  # type: bool | None  # set to thumb_size: the newest frame is a thumbnail (None: unknown)
        self._stale = 0  # frames in the driver's buffers from before a size switch

    async def _frame(self, d):
        avail = getattr(d, "frame_available", None)
        if avail is not None:
            free = getattr(d, "free_buffer", None)
            if free is not None:
                free()  # hand our buffer back so the driver can fill it with a new frame
            start = self.ticks()
            while not avail():
                if ticks_diff(self.ticks(), start) > self.frame_wait_ms:
                    raise OSError("no frame from the sensor within %d ms" % self.frame_wait_ms)
                await sleep_ms(5)
        return d.capture()

    async def warm_up(self):
        """Throw away the first frames (run once at boot, as a task)."""
        d = self.driver
        while d is not None and self._warm < self.warmup_frames:
            self._warm += 1
            try:
                await self._frame(d)
            except Exception:  # noqa: BLE001  -- capture() will report it with the next photo
                return

    async def capture(self, small=False):
        """The newest frame (the driver's buffer); small: at thumb_size, if the board has
        one (self.small then says the frame is a thumbnail)."""
        d = self.driver
        if d is None:
            raise OSError("no camera (see the boot messages)")
        try:
            await self.warm_up()
            thumb = self.thumb_size if small else None
            if (thumb is not None) != self.small:
                self._switch(d, thumb)
            while self._stale:
                self._stale -= 1
                await self._frame(d)
            frame = await self._frame(d)
        except Exception:
            self._failed()
            raise
        if frame is None:
            self._failed()
            return None
        self.failures = 0
        self.shots += 1
        return frame

    def _switch(self, d, thumb):
        """Set the sensor to the thumbnail's size, or (None) back to frame_size. A driver
        that cannot switch keeps full frames for the checks too (thumb_size is dropped)."""
        import camera as c

        small = thumb is not None
        v = getattr(c.FrameSize, thumb or self.frame_size)
        try:
            try:
                d.frame_size = v  # micropython-camera-API: a property
            except AttributeError:
                d.set_frame_size(v)  # its older releases
        except Exception:
            if small:
                self.thumb_size = None
                return
            raise  # stuck at the thumbnail: fails like a capture (restarted after reinit_after)
        self.small = small
        self._stale = FB_COUNT

    def _failed(self):
        self.failures += 1
        d = self.driver
        if d is not None and self.failures % self.reinit_after == 0:
            try:
                d.deinit()
                d.init()
                self._warm = 0
                self._stale = 0
                self.small = None  # unknown after init(): the next capture sets the size it wants
            except Exception:  # noqa: BLE001  -- the next capture reports the state
                pass


def open_driver(pins, frame_size="VGA", quality=80):
    """Start the driver with a board's camera pins. Raises what the driver raises
    (ImportError on a firmware without the camera module)."""
    import camera as c

    return c.Camera(
        data_pins=list(pins["data"]),
        pclk_pin=pins["pclk"],
        vsync_pin=pins["vsync"],
        href_pin=pins["href"],
        sda_pin=pins["sda"],
        scl_pin=pins["scl"],
        xclk_pin=pins["xclk"],
        xclk_freq=20000000,
        powerdown_pin=pins["pwdn"],
        reset_pin=pins["reset"],
        pixel_format=c.PixelFormat.JPEG,
        frame_size=getattr(c.FrameSize, frame_size),
        jpeg_quality=quality,
        fb_count=FB_COUNT,
        grab_mode=c.GrabMode.LATEST,
    )
