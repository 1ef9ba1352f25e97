"""A virtual doorbell board with the interface firmware/doorstep/app.py expects."""

from doorstep.board.posture import SIM
from doorstep.keypad import LAYOUT_3X4


class VirtualClock:
    """Virtual time: a ms tick counter moved by the simulator, and a settable UTC clock."""

    def __init__(self, t=None, quality="none"):
        self.ms = 0
        self.t0 = t
        self.ms0 = 0
        self.quality = quality if t is not None else "none"

    def ticks_ms(self):
        return self.ms & 0x3FFFFFFF

    def now(self):
        if self.t0 is None:
            return None
        return self.t0 + (self.ms - self.ms0) // 1000

    def set(self, t, quality):
        self.t0 = t
        self.ms0 = self.ms
        self.quality = quality

    def advance(self, ms):
        self.ms += ms


class VirtualKeypad:
    """Presses keys on a matrix the firmware scans: a press holds its bit for hold_ms."""

    hold_ms = 80

    def __init__(self, clock, layout=LAYOUT_3X4):
        self.clock = clock
        self.layout = layout
        self.ncols = len(layout[0])
        self.down = 0
        self.until = 0

    def bit(self, ch):
        for r, row in enumerate(self.layout):
            c = row.find(ch)
            if c >= 0:
                return 1 << (r * self.ncols + c)
        raise ValueError("no key %r on this keypad" % ch)

    def press(self, ch):
        self.down = self.bit(ch)
        self.until = self.clock.ms + self.hold_ms

    def read_matrix(self):
        if self.down and self.clock.ms >= self.until:
            self.down = 0
        return self.down


def synthetic_jpeg(n, size=2000):
    """A JPEG-framed byte string (SOI ... EOI) that differs with n: for VMs without Pillow."""
    body = bytearray(size)
    # A small LCG (mod 65537): every value stays a small int, so a frame makes no garbage
    # on MicroPython, where it stands in for the camera driver's buffer.
    x = (n * 7919 + 1) % 65537
    for i in range(size):
        x = (x * 75 + 74) % 65537
        body[i] = x & 0xFE  # never 0xFF: no stray markers
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(body) + b"\xff\xd9"


class VirtualCamera:
    """Modes: ok (a new frame each time), fail (driver error), none (no frame),
    dark (a tiny frame), frozen (the same frame again), slow (never answers in time),
    person (someone in the picture: a busier frame, a third larger).
    capture(small=True) gives a thumbnail (half the width and height: a quarter of the bytes),
    like the board's camera at its thumb_size; thumb_size None: it cannot switch."""

    thumb_size = "QVGA"

    def __init__(self, render=None):
        self.mode = "ok"
        self.render = render or synthetic_jpeg
        self.n = 0
        self.last = None
        self.shots = 0
        self.small = False

    async def capture(self, small=False):
        from doorstep.compat import sleep_ms

        self.shots += 1
        m = self.mode
        if m == "fail":
            raise OSError("camera not responding")
        if m == "none":
            return None
        if m == "slow":
            # short sleeps: a cancelled capture ends at once instead of waking a minute later
            # (in the WASM runtime a late timer would fire into the next test's VM)
            for _ in range(6000):
                await sleep_ms(10)
        if m == "frozen" and self.last is not None:
            return self.last
        self.n += 1
        self.small = small and self.thumb_size is not None
        if m == "person":
            frame = synthetic_jpeg(self.n, 2700)
        elif m == "dark":
            frame = synthetic_jpeg(self.n, 60)
        elif self.small:
            frame = self.render(self.n, True) if self.render is not synthetic_jpeg else synthetic_jpeg(self.n, 500)
        else:
            frame = self.render(self.n)
        self.last = frame
        return frame


class VirtualBoard:
    pir_warmup_ms = 10000  # an AM312-class sensor; the HC-SR501 takes up to a minute

    def __init__(self, t=None, quality="none", layout=LAYOUT_3X4, render=None, pir=False):
        self.clock = VirtualClock(t, quality)
        self.moving = False  # someone moves in front of the PIR: its output is high
        if pir:  # the firmware's own PIR logic, reading the virtual level
            from doorstep.board.pir import Pir

            self.pir = Pir(lambda: self.moving, self.clock.ticks_ms(), self.pir_warmup_ms)
        self.keypad = VirtualKeypad(self.clock, layout)
        self.camera = VirtualCamera(render)
        self.feedback_log = []
        self.rings = 0
        self.intercom_on = False
        self.pcm = []  # PCM blocks waiting to be heard on the intercom
        self.cause = "power_on"
        self.watchdog = 0
        self.published = []
        self.on_feedback = None
        self.display = None  # a VirtualDisplay when the simulated door has one (handover_door.py)

    # What the firmware calls
    def read_matrix(self):
        return self.keypad.read_matrix()

    def bell(self):
        if self.rings:
            self.rings -= 1
            return True
        return False

    def intercom(self):
        return self.intercom_on

    def audio(self):
        return self.pcm.pop(0) if self.pcm else None

    def feedback(self, name):
        self.feedback_log.append(name)
        if self.on_feedback:
            self.on_feedback(name)

    def reset_cause(self):
        return self.cause

    def posture(self):
        """Always "sim": a log made here can never pass for a doorbell's (docs/record-format.md)."""
        return dict(SIM)

    def feed_watchdog(self):
        self.watchdog += 1

    # What the person at the door does
    def ring(self):
        self.rings += 1
