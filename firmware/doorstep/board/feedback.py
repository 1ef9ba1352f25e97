"""What the person at the door sees and hears: an LED and a buzzer, one pattern per name.

feedback(name) is called from the door loop and must return at once, so a pattern is a
list of timed steps: the first is applied immediately, the rest by tick(), which the
asyncio task run() calls every few milliseconds while a pattern plays (and which sleeps
on an Event otherwise). A new pattern cuts the one playing. Nothing here ever sleeps in
the caller: time.sleep in the door loop would freeze the keypad.
"""

import asyncio

from doorstep.compat import sleep_ms, ticks_add, ticks_diff, ticks_ms

TYPE_CHECKING = False
if TYPE_CHECKING:  # read by mypy against the ESP32 stubs (host_tests/test_board_typecheck.py) only
    import machine

# name -> steps of (LED on, buzzer Hz or 0 for silence, duration ms)
PATTERNS = {
    "key": ((1, 2700, 40),),  # a short click per key
    "accepted": ((1, 1800, 100), (1, 0, 40), (1, 2400, 100), (1, 0, 40), (1, 3000, 250), (1, 0, 1500)),
    "wrong": ((1, 350, 600),),  # one low buzz
    "locked": ((1, 350, 150), (0, 0, 100), (1, 350, 150), (0, 0, 100), (1, 350, 150)),
    # a wrong code that locked the keypad: the low buzz, then the lockout's pattern at once
    "wrong_locked": ((1, 350, 600), (0, 0, 300), (1, 350, 150), (0, 0, 100), (1, 350, 150), (0, 0, 100), (1, 350, 150)),
    "refused": ((1, 500, 200), (0, 0, 120), (1, 500, 200)),  # code relayed via intercom
    "fail_closed": ((1, 250, 900),),  # cannot take codes now (flash full or damaged)
    "timeout": ((1, 900, 80), (0, 0, 80), (1, 600, 80)),  # typed digits were dropped
    "handover": ((1, 2400, 100), (1, 0, 60), (1, 2400, 100), (1, 0, 1500)),  # the carrier code is on the display
}


class Led:
    def __init__(self, pin, active_low=False):
        self.pin = pin  # type: machine.Pin
        self.active_low = active_low
        self.on(False)

    def on(self, lit):
        self.pin.value(1 if bool(lit) != self.active_low else 0)


class PwmBuzzer:
    """A passive piezo on a PWM pin (through a transistor): any tone."""

    def __init__(self, pwm):
        self.pwm = pwm  # type: machine.PWM
        self.tone(0)

    def tone(self, hz):
        if hz:
            self.pwm.freq(hz)
            self.pwm.duty_u16(32768)
        else:
            self.pwm.duty_u16(0)


class GpioBuzzer:
    """An active buzzer (own oscillator) on a plain output: on or off, one pitch."""

    def __init__(self, pin):
        self.pin = pin  # type: machine.Pin
        self.tone(0)

    def tone(self, hz):
        self.pin.value(1 if hz else 0)


class Feedback:
    tick_ms = 10

    def __init__(self, led=None, buzzer=None, patterns=PATTERNS, ticks=ticks_ms):
        self.led = led
        self.buzzer = buzzer
        self.patterns = patterns
        self.ticks = ticks
        self.playing = None  # name of the pattern playing
        self._steps = ()  # type: tuple
        self._i = 0
        self._next = 0
        self._wake = asyncio.Event()

    def __call__(self, name):
        """Start pattern `name` now (unknown names are ignored: never an error at the door)."""
        steps = self.patterns.get(name)
        if steps is None:
            return
        self.playing = name
        self._steps = steps
        self._i = -1
        self._next = self.ticks()
        self.tick(self._next)
        self._wake.set()

    def _out(self, lit, hz):
        if self.led is not None:
            self.led.on(lit)
        if self.buzzer is not None:
            self.buzzer.tone(hz)

    def tick(self, now_ms):
        """Apply every step that is due; returns True while a pattern is still playing."""
        if self.playing is None:
            return False
        while ticks_diff(now_ms, self._next) >= 0:
            self._i += 1
            if self._i >= len(self._steps):
                self._out(0, 0)
                self.playing = None
                return False
            lit, hz, ms = self._steps[self._i]
            self._out(lit, hz)
            self._next = ticks_add(self._next, ms)
        return True

    async def run(self):
        while True:
            if self.tick(self.ticks()):
                await sleep_ms(self.tick_ms)
            else:
                self._wake.clear()
                await self._wake.wait()
