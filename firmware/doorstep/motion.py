"""Movement at the door: a visit becomes one `motion` record, a dead sensor a blind spot.

A visit starts at the PIR's first trigger (its photo is taken then, shots.py) and ends after
``quiet_ms`` without movement, or after ``max_visit_ms`` however busy the street is. Its one
record is written at the end: when it started (start_ms, ms since boot), how long it lasted
and how many triggers it saw. At most ``per_hour`` visits an hour are recorded (and
photographed); the others are only counted, and the next motion record says how many
(suppressed, suppressed_triggers). Every heartbeat says how many visits and triggers there
were since the one before, whether the sensor was armed all that time and whether it
answered (gave a complete pulse).

A sensor stuck high or silent for too long (board/pir.py) is a blind spot: a `blind_start`
record when it begins and a `blind_end` record (with how long it lasted) when it is over.
Polled from the door loop (App.step) with the time of the pass; nothing here waits.
"""

from doorstep.board.pir import OK, WARMING
from doorstep.compat import ticks_diff

SENSOR = "pir"


class Motion:
    quiet_ms = 60000  # no movement this long: the visit is over
    max_visit_ms = 10 * 60000  # a longer visit (a busy street) is cut into records this long
    per_hour = 6  # recorded visits in any hour; the rest are counted

    def __init__(self, pir, emit, shots, uptime):
        self.pir = pir
        self.emit = emit
        self.shots = shots
        self.uptime = uptime
        self.state = pir.state
        self.level = False
        self.visit = None  # [event or None (over budget), start ms since boot, start tick, last movement tick, triggers]
        self.recorded = []  # start ticks of the visits recorded in the last hour
        self.skipped = [0, 0]  # visits, triggers not recorded since the last motion record
        self.blind_at = None  # ms since boot when the current blind spot began
        self.blind_mark = None  # ... or the last heartbeat, if that came later
        self.beat = [0, 0, True, 0]  # since the last heartbeat: visits, triggers, armed all along, blind ms

    def poll(self, now_ms):
        pir = self.pir
        lv = pir.poll(now_ms)
        if pir.state != self.state:
            self._health(self.state, pir.state, now_ms)
        rise = lv and not self.level
        self.level = lv
        v = self.visit
        if rise:
            self.beat[1] += 1
            if v is None:
                self.visit = v = self._start(now_ms)
            else:
                v[4] += 1
        if v is None:
            return
        if lv:
            v[3] = now_ms
        if (not lv and ticks_diff(now_ms, v[3]) >= self.quiet_ms) or ticks_diff(now_ms, v[2]) >= self.max_visit_ms:
            self._end(now_ms)

    def _start(self, now_ms):
        self.beat[0] += 1
        rec = self.recorded
        while rec and ticks_diff(now_ms, rec[0]) >= 3600000:
            rec.pop(0)
        ev = None
        if len(rec) < self.per_hour:
            rec.append(now_ms)
            ev = {"ev": "motion"}
            if self.shots is not None:
                self.shots.want(ev)
        return [ev, self.uptime(), now_ms, now_ms, 1]

    def _end(self, now_ms):
        ev, start, t0, last, n = self.visit
        self.visit = None
        if ev is None:
            self.skipped[0] += 1
            self.skipped[1] += n
            return
        ev["start_ms"] = start
        ev["dur_ms"] = ticks_diff(last, t0)  # first to last movement
        ev["triggers"] = n
        if self.skipped[0]:
            ev["suppressed"], ev["suppressed_triggers"] = self.skipped
            self.skipped = [0, 0]
        self.emit(ev)

    def _health(self, old, new, now_ms):
        self.state = new
        if new == WARMING:
            return
        if new != OK:  # a blind spot begins: a visit under way ends with it
            if self.visit is not None:
                self._end(now_ms)
            self.blind_at = self.blind_mark = self.uptime()
            self.beat[2] = False
            self.emit({"ev": "blind_start", "sensor": SENSOR, "reason": new})
        elif old != WARMING and self.blind_at is not None:
            now = self.uptime()
            lasted = now - self.blind_at
            self.beat[3] += now - self.blind_mark
            self.blind_at = self.blind_mark = None
            self.emit({"ev": "blind_end", "sensor": SENSOR, "reason": old, "lasted_ms": lasted})

    def heartbeat(self):
        """The heartbeat's `motion` field, and start counting again."""
        visits, triggers, armed, blind = self.beat
        answered = self.pir.take()
        if self.blind_mark is not None:
            now = self.uptime()
            blind += now - self.blind_mark
            self.blind_mark = now
        armed = armed and self.state == OK
        self.beat = [0, 0, self.state == OK, 0]
        return {"motion": {"armed": armed, "answered": answered, "visits": visits, "triggers": triggers,
                           "blind_ms": blind, "state": self.state}}


def attach(app, pir=None):
    """The Motion of a board with a PIR (board.pir, or camotion.FramePir), wired into the app;
    None without one."""
    pir = pir or getattr(app.board, "pir", None)
    if pir is None:
        return None
    m = Motion(pir, app.emit, app.shots, app.uptime)
    app.rec.beat.append(m.heartbeat)
    app.door.budget.kinds[("motion", None)] = "motion"  # no room on flash: counted (Budget.give_back)
    return m
