"""Wall-clock time from the ESP32's RTC, with a quality the records carry.

Qualities: "ntp" (set from the network this boot), "host" (set by the homeowner's PC),
"rtc" (set before a reboot that kept the RTC running: plausible but unverified), "none"
(never set since power-on: now() is None, and codes with a time window are refused).

The RTC keeps counting through soft resets, watchdog resets and deep sleep, but not
through a power cut. A marker in RTC memory (cleared by a power cut too) says that the
clock was really set, so a running but never-set RTC is not mistaken for the time.
Times are UTC seconds since 1970, whatever epoch the port uses internally.
"""

import json
import time

from doorstep.compat import ticks_ms

TYPE_CHECKING = False
if TYPE_CHECKING:  # read by mypy against the ESP32 stubs (host_tests/test_board_typecheck.py) only
    import machine

_MARK = b"doorstep:"
_EARLIEST = 1704067200  # 2024-01-01: an RTC before this was never set


def epoch_offset(t=time):
    """Seconds from 1970 to the port's epoch (2000 on some MicroPython ports)."""
    return 946684800 if t.gmtime(0)[0] == 2000 else 0


class RtcMemory:
    """A small JSON dict in RTC memory: survives resets, not power cuts."""

    def __init__(self, rtc):
        self.rtc = rtc  # type: machine.RTC

    def load(self):
        try:
            raw = self.rtc.memory()
            if raw[: len(_MARK)] == _MARK:
                d = json.loads(raw[len(_MARK):])
                if isinstance(d, dict):
                    return d
        except (ValueError, OSError):
            pass
        return {}

    def save(self, d):
        self.rtc.memory(_MARK + json.dumps(d).encode())

    def update(self, **kw):
        d = self.load()
        d.update(kw)
        self.save(d)
        return d


class RtcClock:
    def __init__(self, rtc, t=time, ticks=ticks_ms):
        self.rtc = rtc  # type: machine.RTC
        self.time = t
        self.ticks_ms = ticks
        self.offset = epoch_offset(t)
        self.memory = RtcMemory(rtc)
        kept = self.memory.load().get("tq")
        self.quality = "rtc" if kept in ("ntp", "host", "rtc") and self._raw() >= _EARLIEST else "none"

    def _raw(self):
        return int(self.time.time()) + self.offset

    def now(self):
        if self.quality == "none":
            return None
        return self._raw()

    def set(self, t, quality):
        """Set the RTC to UTC seconds t; quality is "ntp" or "host"."""
        t = int(t)
        y, mo, d, h, mi, s, wd = self.time.gmtime(t - self.offset)[:7]
        self.rtc.datetime((y, mo, d, wd, h, mi, s, 0))
        self.quality = quality
        self.memory.update(tq=quality)


def set_board_clock(t, quality="host"):
    """Set this board's RTC to UTC seconds t (`doorstep provision` runs this on the device).

    False where there is no machine.RTC (the simulator, whose clock is the PC's)."""
    try:
        import machine
    except ImportError:
        return False
    RtcClock(machine.RTC()).set(t, quality)
    return True
