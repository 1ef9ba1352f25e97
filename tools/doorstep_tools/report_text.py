"""The report's words: times in UTC, durations, and what each record means in a sentence.
report_lead puts them together into the statements a homeowner (or a carrier's claims desk)
reads first.
"""

import json
from datetime import datetime, timezone

from doorstep_tools import report_presence
from doorstep_tools import report_handover

DAY = 86400


# ---------------------------------------------------------------------------
# Words: times, durations and what each record means


def is_time(v):
    """A UTC time a record can carry (int seconds, year 1970 to 9999): anything else,
    including null (clock not set), is shown as "clock not set"."""
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 253402300800


def utc(t, fmt="%Y-%m-%d %H:%M:%S"):
    return datetime.fromtimestamp(t, timezone.utc).strftime(fmt)


def day_words(t):
    d = datetime.fromtimestamp(t, timezone.utc)
    return "%d %s" % (d.day, d.strftime("%B %Y"))


def duration(s):
    if not isinstance(s, (int, float)):
        return "?"
    s = int(s)
    if s < 60:
        return "%d s" % s
    h, m = divmod(s // 60, 60)
    if not h:
        return "%d min" % m
    if h >= 48:
        return "%d days %d h" % divmod(h, 24)
    return "%d h %d min" % (h, m) if m else "%d h" % h


def uptime(ms):
    if not isinstance(ms, int):
        return "?"
    s = ms // 1000
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


class Clock:
    """Times as sentences show them: HH:MM when the period is one day, else with the date."""

    def __init__(self, start, end):
        self.day = None
        if start is not None and end is not None and utc(start, "%Y%m%d") == utc(end, "%Y%m%d"):
            self.day = utc(start, "%Y%m%d")

    def at(self, t):
        return utc(t, "%H:%M") if utc(t, "%Y%m%d") == self.day else utc(t, "%d %b %Y %H:%M")

    def row(self, row):
        """When a row happened, for a sentence."""
        if row.t is not None:
            return self.at(row.t)
        a, b = row.bounds
        between = ""
        if a is not None and b is not None:
            between = ", between %s and %s" % (self.at(a), self.at(b))
        elif a is not None:
            between = ", after %s" % self.at(a)
        elif b is not None:
            between = ", before %s" % self.at(b)
        return "an unknown time (clock not set: boot %s, %s after start%s)" % (row.rec.get("boot"), uptime(row.rec.get("ms")), between)


def period_words(start, end):
    """'between 09:00 and 18:00 UTC on 25 June 2026' (24:00 for the end of a day)."""
    e = end + 1 if end % 60 == 59 else end  # the end of a day or minute reads as the next minute
    same_day = utc(start, "%Y%m%d") == utc(e - 1, "%Y%m%d")
    end_hm = "24:00" if same_day and e % DAY == 0 else utc(e, "%H:%M")
    if same_day:
        return "between %s and %s UTC on %s" % (utc(start, "%H:%M"), end_hm, day_words(start))
    return "between %s UTC on %s and %s UTC on %s" % (utc(start, "%H:%M"), day_words(start), utc(e, "%H:%M"), day_words(e))


OUTCOMES = {
    "accepted": "accepted",
    "wrong": "refused: wrong code",
    "used": "refused: a code that had already been used",
    "expired": "refused: the code had expired",
    "not_yet_valid": "refused: the code was not valid yet",
    "no_clock": "refused: the doorbell's clock was not set",
    "invalid": "refused: too many digits",
    "locked": "refused: typed while the keypad was locked",
    "fail_closed": "refused: the doorbell could not write records (fails closed)",
    "unavailable": "refused: the list of codes on the doorbell is damaged",
}

COUNT_WORDS = {"attempt": "code attempt(s)", "ring": "ring(s)", "boot": "start(s)", "relay_refused": "relay refusal(s)", "lockout_start": "lockout(s)"}

REQUEST_WORDS = {"submit": "submit a code", "reveal": "read a code", "list": "list codes", "export": "export codes", "other": "do something with codes"}


def describe(rec):
    """One line saying what a record means, in words for the homeowner. Never fails: a
    damaged or forged record (fields of the wrong type) is shown as its raw fields."""
    try:
        return _describe(rec)
    except (TypeError, ValueError, OverflowError, OSError, AttributeError):
        return "Event %r: %s" % (rec.get("ev"), json.dumps(_fields(rec), sort_keys=True, default=str))


def _fields(rec):
    return {k: v for k, v in rec.items() if k not in ("v", "dev", "seq", "boot", "t", "tq", "ms", "ev", "prev", "sig", "photo")}


def _describe(rec):
    ev = rec.get("ev")
    g = rec.get
    said = report_presence.describe(rec)  # motion, blind spots, snapshots, the camera's check
    if said is not None:
        return said
    if ev == "genesis":
        return "Doorbell set up: its signing key was made (device %s)" % g("dev")
    if ev == "boot":
        how = "the run before ended cleanly" if g("clean") else "the run before did NOT end cleanly (power cut, crash or watchdog)"
        s = "Doorbell started (boot %s, reason: %s; %s)" % (g("boot"), g("reason"), how)
        for k, what in (("config_err", "configuration problem"), ("codes_err", "the code list could not be read"),
                        ("boot_recovered", "start counter taken from the log")):
            if g(k):
                s += "; %s: %s" % (what, g(k))
        return s
    if ev == "ring":
        if g("suppressed"):
            return "Bell rung (and %s more times since the ring recorded before, counted, not recorded one by one)" % g("suppressed")
        return "Bell rung"
    if ev == "burst_end":
        what = "rings" if g("of") == "ring" else "refused requests over %s" % g("channel") if g("channel") else "events"
        return "A burst ended: %s more %s since the last one recorded were counted, not recorded one by one" % (g("suppressed"), what)
    if ev == "attempt":
        what = "Handover challenge (* digits #) typed at the keypad" if g("mode") == "handover" else "Code typed at the keypad"
        s = "%s (%s digits): %s" % (what, g("digits"), OUTCOMES.get(g("outcome"), "outcome %r" % g("outcome")))
        if g("label"):
            s += " - code '%s'" % g("label")
        if isinstance(g("used_at"), int):
            s += " (used before at %s UTC)" % utc(g("used_at"))
        if g("relay_suspected"):
            s += "; typed during or just after an intercom call (possible relay, flagged)"
        return s
    if ev == "relay_refused":
        if g("channel") == "keypad":
            why = "the intercom was in use" if g("reason") == "intercom_active" else "the intercom had just been used"
            return "Code typed at the keypad (%s digits) REFUSED as a possible relay: %s" % (g("digits"), why)
        s = "A request over %s to %s was refused (codes are accepted only at the keypad)" % (g("channel"), REQUEST_WORDS.get(g("request"), "do something with codes"))
        if g("tones"):
            s += "; %s DTMF tones heard" % g("tones")
        if g("suppressed"):
            s += "; %s more such requests since the one recorded before were counted, not recorded one by one" % g("suppressed")
        return s
    if ev == "lockout_start":
        s = "Keypad LOCKED for %s after repeated wrong codes (level %s)" % (duration(g("duration_s") or 0), g("level"))
        if g("left") == 0:
            s += "; the allowance of wrong codes was used up (one comes back every 20 min)"
        return s + "; the lockout was still running when the doorbell restarted" if g("resumed") else s
    if ev == "lockout_end":
        return "Keypad lockout ended (%s key presses refused during it)" % (g("refused") or 0)
    if ev == "heartbeat":
        counts = g("counts") or {}
        what = ", ".join("%s %s" % (n, COUNT_WORDS.get(k, k)) for k, n in sorted(counts.items())) or "nothing"
        s = "Heartbeat: running; since the last heartbeat: %s" % what
        free = g("free")
        if isinstance(free, int):
            s += "; %d MB flash free" % (free >> 20) if free >= 10 << 20 else "; %d kB flash free" % (free >> 10)
        sensors = report_presence.heartbeat_words(rec)
        return s + "; " + sensors if sensors else s
    if ev == "time_set":
        old = "not set" if g("old") is None else utc(g("old")) + " UTC"
        new = "?" if not isinstance(g("new"), int) else utc(g("new")) + " UTC"
        return "Clock set from %s to %s (source: %s)" % (old, new, g("source"))
    if ev == "code_added":
        if g("courier"):
            return "Courier code '%s' installed" % g("label")
        win = ""
        if g("from") is not None:
            win += " from %s UTC" % utc(g("from"))
        if g("until") is not None:
            win += " until %s UTC" % utc(g("until"))
        return "Delivery code '%s' registered%s" % (g("label"), win)
    if ev == "code_revoked":
        return "Delivery code '%s' revoked" % g("label")
    if ev in report_handover.WORDS:
        return report_handover.words(rec)
    if ev == "camera_fault":
        return "Camera fault: %s" % (g("error") or g("err") or g("photo_err") or "no details")
    if ev == "recovered":
        return "At start-up the doorbell found a record torn by a power cut (%s bytes) and kept it aside in %s" % (g("bytes"), g("file"))
    if ev == "photo_pruned":
        return "Flash nearly full: the photos of records %s were deleted on the doorbell" % ", ".join(str(s) for s in g("seqs") or [])
    if ev == "records_pruned":
        return "Flash nearly full: records %s to %s (already pulled) were deleted on the doorbell" % (g("from"), g("to"))
    return "Event %r: %s" % (ev, json.dumps(_fields(rec), sort_keys=True))
