"""The door: keypad keys in, verdicts and door events out.

keypad key -> code entry -> verdict (lockout, relay check, code book) -> feedback at once
-> event to the record layer. Nothing here waits: the photo, signature and ledger come
after the driver has seen the verdict. No event, message or exception carries digits.
"""

from doorstep import codes as C
from doorstep.budget import Budget
from doorstep.entry import CodeEntry

LOCKED = "locked"
INVALID = "invalid"  # longer than any code can be
FAIL_CLOSED = "fail_closed"  # records cannot be written: no code is accepted
UNAVAILABLE = "unavailable"  # the codes file is damaged
RELAY_REFUSED = "relay_refused"
REQUESTS = ("submit", "reveal", "list", "export", "other")  # what remote parties ask for

# Outcomes that count towards a lockout: a guess that was not right. no_clock too: a right
# code typed while the clock is unset must look and count exactly like a wrong one, or the
# lockout would tell a guesser that the code was right.
_COUNTED = (C.WRONG, C.USED, C.EXPIRED, C.NOT_YET_VALID, C.NO_CLOCK, INVALID, UNAVAILABLE)

# Feedback pattern for each outcome (the board turns names into LED/buzzer patterns).
FEEDBACK = {
    C.ACCEPTED: "accepted",
    C.WRONG: "wrong",
    C.USED: "wrong",
    C.EXPIRED: "wrong",
    C.NOT_YET_VALID: "wrong",
    C.NO_CLOCK: "wrong",
    INVALID: "wrong",
    LOCKED: "locked",
    RELAY_REFUSED: "refused",
    FAIL_CLOSED: "fail_closed",
    UNAVAILABLE: "fail_closed",
}


class Door:
    """Hardware-free door logic. emit(event) receives every door event as a dict."""

    def __init__(self, codes, lockout, relay, emit, feedback, clock, entry=None, dtmf=None, budget=None):
        self.codes = codes  # a CodeBook, or None when it could not be loaded
        self.lockout = lockout
        self.relay = relay
        self.emit = emit
        self.feedback = feedback
        self.clock = clock
        self.entry = entry or CodeEntry()
        self.dtmf = dtmf
        self.fail_closed = False
        self._locked_keys = 0
        self.budget = budget or Budget()  # rings and remote refusals: a flood cannot fill the flash
        self.handover = None  # handover_door.Desk when the door can show carrier codes

    # Keypad
    def key(self, ch, now_ms):
        if self.lockout.is_locked(now_ms):
            self._key_while_locked(ch, now_ms)
            return
        self._end_lockout(now_ms)
        self.feedback("key")
        act = self.entry.key(ch, now_ms)
        if act is None:
            return
        kind = act[0]
        if kind == "submit":
            code, n = act[1], act[2]
            self._submit(code, n, now_ms)
        elif kind == "submit_invalid":
            self._verdict(INVALID, act[1], now_ms)
        elif kind == "challenge":
            self.handover.submit(act[1], act[2], now_ms)
        elif kind == "handover":
            self.handover.prompt(now_ms)

    def _key_while_locked(self, ch, now_ms):
        self.feedback("locked")
        self.lockout.refused += 1
        if ch == "#":
            if self._locked_keys >= 0:
                self.emit({"ev": "attempt", "outcome": LOCKED, "digits": self._locked_keys})
                self._locked_keys = -1  # one record per lockout; the rest are counted
        elif "0" <= ch <= "9" and self._locked_keys >= 0:
            self._locked_keys += 1

    def _submit(self, code, n, now_ms):
        if self.fail_closed:
            return self._verdict(FAIL_CLOSED, n, now_ms)
        if self.codes is None:
            return self._verdict(UNAVAILABLE, n, now_ms)
        suspect = self.relay.suspect(now_ms)
        if suspect and self.relay.policy == "refuse":
            self.feedback(FEEDBACK[RELAY_REFUSED])
            self.emit({"ev": RELAY_REFUSED, "channel": "keypad", "reason": self._relay_reason(), "digits": n})
            return
        try:
            outcome, label, detail = self.codes.verify(code, self.clock.now())
        except OSError:  # the code could not be marked used on flash: refuse it
            return self._verdict(FAIL_CLOSED, n, now_ms)
        except Exception:  # noqa: BLE001  -- a damaged entry must not lose the attempt
            return self._verdict(UNAVAILABLE, n, now_ms)
        self._verdict(outcome, n, now_ms, label, detail, suspect)

    def _relay_reason(self):
        return "intercom_active" if self.relay.active else "intercom_recent"

    def _verdict(self, outcome, n, now_ms, label=None, detail=None, suspect=False, mode=None):
        # A failed guess is counted on flash before it is shown: cutting the power when the
        # "wrong" light comes on must not give an attacker free guesses.
        start = outcome in _COUNTED and self.lockout.failure(now_ms)
        # The driver sees the verdict before any slow work, and at once if it locked the keypad.
        self.feedback("wrong_locked" if start and FEEDBACK[outcome] == "wrong" else FEEDBACK[outcome])
        ev = {"ev": "attempt", "outcome": outcome, "digits": n}
        if label is not None:
            ev["label"] = label
        if outcome == C.USED and isinstance(detail, int) and not isinstance(detail, bool):
            ev["used_at"] = detail
        if suspect:
            ev["relay_suspected"] = True
        if mode is not None:
            ev["mode"] = mode
        self.emit(ev)
        if outcome == C.ACCEPTED:
            self.lockout.success()
        elif start:
            self._locked_keys = 0
            lk = self.lockout
            self.emit({"ev": "lockout_start", "level": lk.level, "duration_s": lk.duration_s(), "left": lk.left})

    def _end_lockout(self, now_ms):
        refused = self.lockout.refused
        if self.lockout.expired(now_ms):
            self.emit({"ev": "lockout_end", "refused": refused})

    # Everything else at the door
    def poll(self, now_ms):
        """Called from the door loop: entry time-outs and the end of a lockout."""
        self._end_lockout(now_ms)
        act = self.entry.poll(now_ms)
        if act is not None:
            self.feedback("timeout")
        if self.handover is not None:
            self.handover.poll(now_ms)
        ev = self.budget.due(now_ms)
        if ev is not None:
            self.emit(ev)

    def ring(self, now_ms):
        self._budgeted("bell", {"ev": "ring"}, now_ms)

    def intercom(self, active, now_ms):
        self.relay.intercom(active, now_ms)
        if not active and self.dtmf is not None:
            self.dtmf.reset()

    def audio(self, samples, now_ms):
        """PCM from the intercom microphone: DTMF in it is a relay attempt, never digits."""
        if self.dtmf is None:
            return
        tones = len(self.dtmf.feed(samples))
        if tones:
            self.remote("intercom_dtmf", "submit", now_ms, tones)

    def remote(self, channel, request, now_ms, count=1):
        """A network, console or intercom request to submit or read codes: always refused.

        Nothing shows at the door: nothing from the network may change what the driver sees
        (a refusal pattern would cut off the "accepted" of a driver typing the right code).
        Returns True when the refusal was recorded now, False when it was only counted."""
        if request not in REQUESTS:
            request = "other"  # never copy what a remote party sent into a record
        ev = {"ev": RELAY_REFUSED, "channel": channel, "request": request}
        if channel == "intercom_dtmf":
            ev["tones"] = count
        return self._budgeted(channel, ev, now_ms, count)

    def _budgeted(self, source, ev, now_ms, n=1):
        ev = self.budget.event(source, ev, now_ms, n)
        if ev is None:
            return False
        self.emit(ev)
        return True
