"""The report's presence evidence (issue 14): visits seen by the motion sensor, blind spots,
snapshots, the camera's liveness, and which sensors were armed in each heartbeat's window.

What "nobody came" may claim depends on what was armed: the keypad and the bell only record
someone who uses them; the motion sensor sees someone who walks up, but only while it is
armed (warmed up, not in a blind spot) and only if its heartbeats say it answered; the camera
only proves what it saw while it gave good frames. Each heartbeat accounts for the time
since the one before it, so a window is covered only up to the last heartbeat.
"""

from doorstep_tools.timefmt import show_utc

SENSOR_WORDS = {"pir": "motion sensor", "camera": "camera"}
REASON_WORDS = {
    "stuck_high": "its output stayed high without a break (shorted, or facing a heat source)",
    "silent": "it gave no pulse for a day (a cut wire or a dead sensor)",
    "failing": "it gave no frame (driver error or time-out)",
    "dark": "its frames were far darker (smaller) than usual: covered, or no light",
    "frozen": "it sent the same frame again and again",
}


def _ms(ms):
    s = (ms or 0) // 1000
    return "%d s" % s if s < 120 else "%d min" % (s // 60) if s < 7200 else "%.1f h" % (s / 3600)


def describe(rec):
    """A sentence for a presence record, or None for other records."""
    ev, g = rec.get("ev"), rec.get
    if ev == "motion":
        s = "Someone moved in front of the door: the motion sensor fired %s time%s over %s" % (
            g("triggers"), "" if g("triggers") == 1 else "s", _ms(g("dur_ms")))
        if g("suppressed"):
            s += " (%s visits before it were only counted, not photographed: at most a few an hour are)" % g("suppressed")
        return s
    if ev == "blind_start":
        return "The %s stopped seeing: %s (a blind spot from here)" % (
            SENSOR_WORDS.get(g("sensor"), g("sensor")), REASON_WORDS.get(g("reason"), g("reason")))
    if ev == "blind_end":
        return "The %s sees again (it had been blind for %s: %s)" % (
            SENSOR_WORDS.get(g("sensor"), g("sensor")), _ms(g("lasted_ms")), REASON_WORDS.get(g("reason"), g("reason")))
    if ev == "snapshot":
        who = "the Home Assistant button" if g("via") == "hass" else "a signed command from the homeowner's PC"
        s = "Photo taken on request (%s)" % who
        if g("rate_limited"):
            s += "; %s requests before it were refused (rate limit)" % g("rate_limited")
        return s
    if ev == "photo_recovered":
        if g("torn"):
            return "At start-up the doorbell deleted %s photo(s) a power cut had left half-written" % g("torn")
        return "At start-up the doorbell found a photo taken just before a power cut whose record was lost with it (%s)" % g("name")
    if ev == "camera_check":
        size = " (a %s thumbnail)" % g("frame") if g("frame") else ""
        return "The camera's regular photo of the doorstep, kept to show what it saw%s" % size
    return None


def heartbeat_words(rec):
    """What a heartbeat says of the motion sensor and the camera ("" when it says nothing)."""
    out = []
    m = rec.get("motion")
    if isinstance(m, dict):
        if m.get("armed"):
            out.append("motion sensor armed (%s visit%s, %s trigger%s%s)" % (
                m.get("visits"), "" if m.get("visits") == 1 else "s", m.get("triggers"), "" if m.get("triggers") == 1 else "s",
                "" if m.get("answered") else "; it gave no pulse in this hour"))
        else:
            out.append("motion sensor NOT armed all the time (state %s, blind %s)" % (m.get("state"), _ms(m.get("blind_ms"))))
    c = rec.get("camera")
    if isinstance(c, dict):
        last = c.get("last")
        if c.get("seen") and isinstance(last, dict):
            out.append("camera working (%s good frame%s)" % (c.get("good"), "" if c.get("good") == 1 else "s"))
        else:
            out.append("camera NOT seen working (%s of %s frames good, blind %s)" % (c.get("good"), c.get("frames"), _ms(c.get("blind_ms"))))
    return "; ".join(out)


def windows(f):
    """[(from t, to t, motion armed, camera seen)] for the heartbeats covering the period: each
    heartbeat covers the time since the one before (or since the start of its boot)."""
    recs = [r for r in f.result.records if isinstance(r.get("t"), int)]
    out, prev = [], None
    for r in recs:
        if r.get("ev") == "boot":
            prev = r["t"]
        if r.get("ev") != "heartbeat":
            continue
        start = prev if prev is not None else r["t"]
        prev = r["t"]
        if r["t"] < f.start or start > f.end:
            continue
        m, c = r.get("motion"), r.get("camera")
        out.append((start, r["t"], m.get("armed") is True if isinstance(m, dict) else None,
                    c.get("seen") is True if isinstance(c, dict) else None))
    return out


def covered(f, ws, k):
    """True when sensor k (index 2: motion, 3: camera) was armed over the whole period."""
    if not ws or ws[0][0] > f.start or ws[-1][1] < f.end:
        return False
    return all(w[k] is True for w in ws)


def lead_clause(f, clock):
    """The lead's words on movement at the door, or None when the log has no motion sensor."""
    ws = windows(f)
    if not any(w[2] is not None for w in ws) and not f.of("motion"):
        return None
    visits = f.of("motion")
    armed = covered(f, ws, 2)
    if visits:
        return "the motion sensor saw someone %s: at %s%s" % (
            "once" if len(visits) == 1 else "%d times" % len(visits), ", ".join(clock.row(r) for r in visits),
            "" if armed else ", but it was NOT armed the whole time (see below)")
    if armed:
        return "the motion sensor, armed the whole time, saw nobody"
    return "the motion sensor was NOT armed the whole time, so it cannot say that nobody came (see below)"


def statements(f, clock):
    """(kind, sentence) per heartbeat window: which sensors were armed and what they saw; blind spots."""
    out = []
    for a, b, motion, camera in windows(f):
        if motion is None and camera is None:
            continue
        words = ["keypad and bell recording"]
        words.append({True: "motion sensor armed", False: "motion sensor NOT armed", None: "no motion sensor"}[motion])
        words.append({True: "camera working", False: "camera NOT seen working", None: "camera not checked"}[camera])
        kind = "info" if motion is not False and camera is not False else "alert"
        out.append((kind, "From %s to %s UTC: %s." % (show_utc(a, "%H:%M"), show_utc(b, "%H:%M"), ", ".join(words))))
    for r in f.of("blind_start", "blind_end"):
        out.append(("alert" if r.ev == "blind_start" else "info", "At %s: %s." % (clock.row(r), describe(r.rec))))
    return out


def nobody_came(f):
    """The limits sentence on someone who neither rang nor typed, as strong as the armed sensors allow."""
    ws = windows(f)
    if not any(w[2] is not None for w in ws):
        return None  # no motion sensor in this log: the general sentence stands
    if covered(f, ws, 2) and covered(f, ws, 3):
        return ("info", "The motion sensor was armed and the camera seen working for the whole period (their heartbeats say"
                " so): someone who walked up to the door would have been recorded as a visit with a photo, even without"
                " ringing or typing a code.")
    return ("alert", "The motion sensor or the camera was not armed for the whole period (see the heartbeat windows): someone"
            " who neither rang nor typed a code may have come unseen in those times.")
