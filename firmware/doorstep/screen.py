"""The door display: words for the door's verdicts, and a carrier code for a while.

display is anything with micropython-lib ssd1306's drawing calls: fill(c), text(s, x, y,
c), show() (board/display.py on the ESP32, a virtual display on the host). A message stays
until its time is up or another one replaces it; then the display is blanked. The carrier
code (handover_door.py) is blanked the same way: nothing is left in the frame buffer.
"""

from doorstep import words
from doorstep.compat import ticks_add, ticks_diff


class Screen:
    verdict_ms = 5000

    def __init__(self, display):
        self.display = display
        self.until = None  # ticks when the message on show is blanked
        self.secret = False  # a carrier code is on show
        self.failed = 0  # display errors (a loose I2C wire must never stop the door)

    def say(self, lines, now_ms, hold_ms=None, secret=False):
        """Show lines; False when the display failed (nothing, or not all of it, was shown)."""
        d = self.display
        ok = True
        try:
            d.fill(0)
            for i, ln in enumerate(lines[: words.ROWS]):
                d.text(ln, 0, i * 8, 1)
            d.show()
        except Exception:  # noqa: BLE001
            self.failed += 1
            ok = False
        self.until = ticks_add(now_ms, self.verdict_ms if hold_ms is None else hold_ms)
        self.secret = secret
        return ok

    def verdict(self, name, now_ms, seconds=0):
        lines = words.verdict(name, seconds)
        if lines is not None:
            self.say(lines, now_ms)

    def clear(self):
        try:
            self.display.fill(0)
            self.display.show()
        except Exception:  # noqa: BLE001
            self.failed += 1
        self.until = None
        self.secret = False

    def poll(self, now_ms):
        if self.until is not None and ticks_diff(now_ms, self.until) >= 0:
            self.clear()
