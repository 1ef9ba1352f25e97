"""A PIR motion sensor (HC-SR501 / AM312 class) on one GPIO: its level and its health.

The sensor drives its output high (3.3 V) while it sees movement, low otherwise: an
active-high digital input, polled from the door loop like the bell. A PIR has no self-test
pin, so its health is judged from what it does:

* warm-up: for ``warmup_ms`` after power-on its output means nothing (HC-SR501: up to a
  minute; AM312: a few seconds). Nothing it says then counts, and it is armed only once its
  output has then been seen low (idle): the first half of its self-test.
* answered: a complete pulse (high, then low again) after warm-up proves it is wired, powered
  and sees: the second half. ``answered`` says whether one came since the last take().
* stuck high: high for ``stuck_ms`` without a break (a shorted output, a sensor facing a
  heater): a blind spot until it goes low again.
* silent: no pulse for ``silent_ms`` (a cut wire reads low for ever with the pull-down):
  a blind spot until the next pulse.

Pure logic around a read() callable (Pin.value on the board, a flag in the simulator).
"""

from doorstep.board.inputs import Debounced
from doorstep.compat import ticks_diff

WARMING = "warming"
OK = "ok"
STUCK = "stuck_high"
SILENT = "silent"


class Pir:
    warmup_ms = 60000
    stuck_ms = 30 * 60000  # continuous movement for half an hour is a fault, not a visitor
    silent_ms = 24 * 3600000  # a front door where nothing moves for a day: the sensor is dead
    settle_ms = 50  # the output is push-pull and clean: a short settle against spikes

    def __init__(self, read, now_ms, warmup_ms=None):
        self.input = Debounced(read, False, self.settle_ms)
        if warmup_ms is not None:
            self.warmup_ms = warmup_ms
        self.start = now_ms
        self.state = WARMING
        self.level = False
        self.since = now_ms  # when the level last changed (after warm-up)
        self.last_pulse = now_ms  # the end of the last complete pulse (or the warm-up)
        self.answered = False  # a complete pulse since take()

    def poll(self, now_ms):
        """The sensor's level now (True: movement), after warm-up; False while warming up
        or in a blind spot. Call every door-loop pass."""
        lv = self.input.active(now_ms)
        if lv != self.level:
            self.level, self.since = lv, now_ms
            if not lv and self.state != WARMING:
                self.answered = True
                self.last_pulse = now_ms
                if self.state != OK:
                    self.state = OK  # stuck_high ends when it drops; silent ends with a pulse
                    return False
        if self.state == WARMING:
            if ticks_diff(now_ms, self.start) < self.warmup_ms or not self.input.settled:
                return False
            if lv:  # armed only once its output has been seen idle (low) after warm-up
                if ticks_diff(now_ms, self.since) >= self.stuck_ms:
                    self.state = STUCK
                return False
            self.state, self.last_pulse = OK, now_ms
            return False
        if self.state == OK:
            if lv and ticks_diff(now_ms, self.since) >= self.stuck_ms:
                self.state = STUCK
            elif not lv and ticks_diff(now_ms, self.last_pulse) >= self.silent_ms:
                self.state = SILENT
        return self.state == OK and lv

    def take(self):
        """Whether a complete pulse came since the last take(); then forget it."""
        out, self.answered = self.answered, False
        return out
