"""The little of the ESP32's `machine` module the virtual board has.

Enough for mpremote (`reset`, `rtc`) and for code that asks why the board started. There
are no pins here: the vboard runs its own main with virtual hardware (see _vboard.main).
"""

import json
import time

import _vbhost as _host

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def reset():
    """Like pressing the reset button: a fresh boot that runs main (the RTC keeps its time)."""
    _host.reset("hard")
    raise SystemExit


def soft_reset():
    _host.reset("soft")
    raise SystemExit


def reset_cause():
    return {"power_on": PWRON_RESET, "hard_reset": HARD_RESET, "soft_reset": SOFT_RESET}[_host.cause()]


def unique_id():
    return b"vboard"


def freq(hz=None):
    return 240000000


_rtc_memory = [b""]


class RTC:
    """The board's clock; what `mpremote rtc --set` writes (the host's local time)."""

    def memory(self, data=None):
        """RTC memory (kept across resets on an ESP32; here for this VM's life)."""
        if data is None:
            return _rtc_memory[0]
        _rtc_memory[0] = bytes(data)

    def datetime(self, dt=None):
        c = json.loads(_host.clock())
        if dt is None:
            t = 0
            if c["t0"] is not None:
                t = c["t0"] + (int(_host.ms()) - c["ms0"]) // 1000
            y, mo, d, h, mi, s, wd, _ = time.gmtime(t)
            return (y, mo, d, wd, h, mi, s, 0)
        y, mo, d, wd, h, mi, s = dt[:7]
        t = time.mktime((y, mo, d, h, mi, s, 0, 0))
        _host.clock_set(json.dumps({"t0": t, "ms0": int(_host.ms()), "quality": "host"}))
