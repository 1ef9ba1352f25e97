"""Relay refusal: the keypad at the door is the only way a code reaches verification.

A code typed while somebody is talking over the intercom (or just after) may be read out
by a person who is not at the door, so it is refused (or, by policy, flagged). DTMF tones
on the intercom are recognised and refused, never typed. Requests from any other channel
to submit or read codes are refused: this module is where they end.
"""

from doorstep.compat import ticks_diff

REFUSE = "refuse"
FLAG = "flag"


class RelayGuard:
    after_ms = 30000  # an intercom call taints the keypad for this long after it ends

    def __init__(self, policy=REFUSE, after_ms=None):
        if policy not in (REFUSE, FLAG):
            raise ValueError("relay policy must be 'refuse' or 'flag'")
        self.policy = policy
        if after_ms is not None:
            self.after_ms = after_ms
        self.active = False
        self.ended_ms = None

    def intercom(self, active, now_ms):
        if self.active and not active:
            self.ended_ms = now_ms
        self.active = bool(active)

    def suspect(self, now_ms):
        """True while a call is active or ended less than after_ms ago."""
        if self.active:
            return True
        return self.ended_ms is not None and 0 <= ticks_diff(now_ms, self.ended_ms) < self.after_ms
