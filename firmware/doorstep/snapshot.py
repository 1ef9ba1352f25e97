"""A photo on request: a signed `snapshot` record, rate-limited.

The homeowner asks through a sealed remote command (remote.py, op "snapshot") or the Home
Assistant button (hass.py, hafeed.py; e.g. an automation presses it when a carrier says
"delivered"). The record is made like any door event, its photo taken at once (shots.py),
whatever the keypad is doing (a lockout included): it never touches the codes.

Anyone who can reach the button's topic can press it as often as they like, so at most one
snapshot is made per ``gap_ms`` and ``per_hour`` an hour; requests beyond are only counted,
and the next snapshot says how many (`rate_limited`).
"""

from doorstep.compat import ticks_diff

HOUR = 3600000


class Snapshots:
    gap_ms = 30000
    per_hour = 12

    def __init__(self, emit):
        self.emit = emit
        self.made = []  # ticks of the snapshots of the last hour, oldest first
        self.limited = 0  # requests refused since the last snapshot

    def wait_ms(self, now_ms):
        """0 if a snapshot may be made now, else how long until one may."""
        m = self.made
        while m and ticks_diff(now_ms, m[0]) >= HOUR:
            m.pop(0)
        wait = 0
        if m:
            wait = max(0, self.gap_ms - ticks_diff(now_ms, m[-1]))
        if len(m) >= self.per_hour:
            wait = max(wait, HOUR - ticks_diff(now_ms, m[0]))
        return wait

    def request(self, via, now_ms, cmd=None):
        """Make a snapshot record now (True), or count the request (False: rate-limited)."""
        if self.wait_ms(now_ms):
            self.limited += 1
            return False
        self.made.append(now_ms)
        ev = {"ev": "snapshot", "via": via}
        if cmd is not None:
            ev["cmd"] = cmd
        if self.limited:
            ev["rate_limited"], self.limited = self.limited, 0
        self.emit(ev)
        return True
