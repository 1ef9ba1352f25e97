"""The bell button and the intercom line: polled each door-loop pass, debounced in time.

Polling (every ~10 ms) instead of pin interrupts keeps contact bounce and mains hum on a
long intercom cable out without any interrupt handler, and costs nothing between scans.
"""

from doorstep.compat import ticks_diff


class Debounced:
    """A level that counts only once it has held for settle_ms.

    read: a callable returning the raw level (Pin.value, or an expander pin's level).
    active_low: the input is active when the level is 0 (button to GND, optocoupler).
    """

    settle_ms = 30

    def __init__(self, read, active_low=True, settle_ms=None):
        self.read = read
        self.active_low = active_low
        if settle_ms is not None:
            self.settle_ms = settle_ms
        self.state = False
        self.settled = False  # some level has held for settle_ms since start-up
        self._cand = None
        self._since = 0

    def active(self, now_ms):
        raw = (not self.read()) if self.active_low else bool(self.read())
        if raw != self._cand:
            self._cand = raw
            self._since = now_ms
        elif ticks_diff(now_ms, self._since) >= self.settle_ms:
            self.state = raw
            self.settled = True
        return self.state


class PressOnce:
    """True once per press of a debounced button; a button held at power-on is no press."""

    def __init__(self, debounced):
        self.input = debounced
        self._armed = False  # set once the button has been seen released

    def pressed(self, now_ms):
        d = self.input
        s = d.active(now_ms)
        if not d.settled:
            return False
        if not s:
            self._armed = True
            return False
        fire = self._armed
        self._armed = False
        return fire


SAFE_HOLD_MS = 5000  # the service button held this long at power-on: safe mode


def service_start(read, sleep_ms, hold_ms=SAFE_HOLD_MS, step_ms=100):
    """How the service button inside the case (to GND, pulled up) was held at power-on: None
    (not pressed), "service" (let go within hold_ms) or "safe" (held throughout).

    Only boot.py calls this: it sleeps, and only while the button is down."""
    for i in range(4):  # down through four readings 15 ms apart: no bounce, no noise
        if i:
            sleep_ms(15)
        if read():
            return None
    held = 0
    while held < hold_ms:
        sleep_ms(step_ms)
        held += step_ms
        if read():
            return "service"
    return "safe"
