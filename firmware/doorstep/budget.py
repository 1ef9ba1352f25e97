"""Budgets for events anyone can cause as often as they like: the bell, refused remote
requests (MQTT, network, console, intercom DTMF) and, later, motion.

Each one is a signed record with a photo, so a flood of them would fill the flash, push
out the photos that matter and leave the door failing closed. Per source (the bell, a
channel):

* an event after ``quiet_ms`` without one (a new visit, a new burst) is recorded at once;
* during a burst at most one record is made per gap, the gap doubling from ``first_ms``
  to ``cap_ms``; the events in between are counted, and the next record says how many
  (``suppressed``). Such a record has no photo: the burst's first record has one;
* a burst that ends with events still unrecorded gets one ``burst_end`` record with the count.

A record the flash has no room for outside the reserve kept for code attempts is given
back (give_back, from App.drain) and counted into its source's next record.
"""

from doorstep.compat import ticks_diff


class Budget:
    quiet_ms = 300000  # this long without an event ends a burst
    first_ms = 10000  # the shortest gap between two records of one source
    cap_ms = 600000  # the longest: a flood leaves about 6 records an hour

    def __init__(self):
        self.src = {}  # source -> [event, last event ms, last record ms, gap ms, unrecorded]
        self.kinds = {}  # (event type, channel) -> source, to give a record back

    def _quiet(self, since, now_ms, ms):
        d = ticks_diff(now_ms, since)
        return d < 0 or d >= ms  # negative: so long ago that the ticks wrapped

    def event(self, source, ev, now_ms, n=1):
        """The event to record now (ev, maybe with "suppressed"), or None: only counted."""
        self.kinds[(ev["ev"], ev.get("channel"))] = source
        s = self.src.get(source)
        if s is None or self._quiet(s[1], now_ms, self.quiet_ms):
            self.src[source] = [ev, now_ms, now_ms, self.first_ms, 0]
            if s is not None and s[4]:
                ev["suppressed"] = s[4]  # given back while the flash was short
            return ev
        s[0], s[1] = ev, now_ms
        if not self._quiet(s[2], now_ms, s[3]):
            s[4] += n
            return None
        if s[4]:
            ev["suppressed"] = s[4]
        s[2], s[3], s[4] = now_ms, min(s[3] * 2, self.cap_ms), 0
        return ev

    def due(self, now_ms):
        """A burst_end record for one source whose burst has ended uncounted, or None."""
        for source, s in self.src.items():
            if self._quiet(s[1], now_ms, self.quiet_ms):
                del self.src[source]
                if s[4]:
                    ev = {"ev": "burst_end", "of": s[0]["ev"], "suppressed": s[4]}
                    if "channel" in s[0]:
                        ev["channel"] = s[0]["channel"]
                    return ev
                return None
        return None

    def give_back(self, ev, now_ms):
        """ev (a record this budget let through, or its burst_end) found no room on flash:
        count it into its source's next record. False if ev is not a budgeted event.
        A DTMF refusal stands for its tones."""
        kind = ev.get("of", ev["ev"])
        source = self.kinds.get((kind, ev.get("channel")))
        if source is None:
            return False
        n = ev.get("suppressed", 0) + (0 if ev["ev"] == "burst_end" else ev.get("tones", 1))
        s = self.src.get(source)
        if s is None:
            tmpl = {"ev": kind}
            if "channel" in ev:
                tmpl["channel"] = ev["channel"]
            self.src[source] = [tmpl, now_ms, now_ms, self.first_ms, n]
        else:
            s[4] += n
        return True
