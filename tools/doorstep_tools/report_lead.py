"""The statements a homeowner (or a carrier's claims desk) reads first: was the doorbell running,
was a code typed, was the bell rung, did anyone come. Problems are stated, never smoothed over;
each claim is only as wide as the records that support it.
"""

from doorstep_tools import report_handover, report_presence
from doorstep_tools.report_text import Clock, describe, duration, is_time, period_words, utc
from doorstep_tools.verify import ERROR


KNOWN = ("genesis", "boot", "ring", "attempt", "relay_refused", "burst_end", "lockout_start", "lockout_end", "heartbeat", "time_set",
         "code_added", "code_revoked", "camera_fault", "recovered", "photo_pruned", "records_pruned",
         "handover", "handover_added", "handover_revoked", "handover_reset", "handover_damaged",
         "motion", "blind_start", "blind_end", "snapshot", "camera_check", "photo_recovered")
RINGS_IN_LEAD = 5  # more rings than this are listed one by one below the lead


def statements(f):
    """(lead, [(kind, sentence)]): the lead sentence, then every detail worth stating.

    kind is "alert" for what weakens the evidence or needs attention, else "info".
    The lead reads like: "Between 09:00 and 18:00 UTC on 25 June 2026 the doorbell was
    running (heartbeats every 60 min, no gap); no delivery code was typed at the door;
    the bell was rung once at 10:03 (photo 1)."
    """
    clock = Clock(f.start, f.end)
    out = []
    n_err = len(f.result.errors)
    if n_err:
        out.append(("alert", "The log FAILED verification: %d problem(s) were found (listed under Verification). Records marked FAILED may have been altered or forged; do not rely on them." % n_err))
    if not f.pinned:
        out.append(("alert", "No pinned key was found (device.json or --key): the log was checked against the key in its own first record. Compare the key at the end of this report with the one shown when the doorbell was set up."))
    if f.log_first is None:
        out.append(("alert", "None of the %d records has a time: the doorbell's clock was never set, so they cannot be placed in a period. All are listed below with their boot and time since start." % len(f.rows)))
        return "The doorbell's clock was never set in this log: its records have no time.", out
    where = period_words(f.start, f.end)
    if not f.rows:
        out.append(("alert", "No records at all fall %s." % where))
    running = _running(f, clock, out)
    # With a gap, "no code was typed" is only known for the time the doorbell was recording.
    qual = " while it was recording" if f.gaps else ""
    codes = _codes(f, clock, out, qual)
    bell = _rings(f, clock, out, qual)
    moved = report_presence.lead_clause(f, clock)  # None without a motion sensor
    out += report_presence.statements(f, clock)
    _other(f, clock, out)
    for r in f.of("handover"):  # in plain words, in the lead too: what the person at the door was given
        out.append(("info", report_handover.sentence(r, clock) + _failed(r) + "."))
        bell += "; " + _lc(report_handover.sentence(r, clock))
    lead = where[0].upper() + where[1:]
    if f.log_last["t"] < f.start or f.log_first["t"] > f.end:
        return "%s %s, so it cannot say whether a code was typed or the bell rung." % (lead, running), out
    if moved is not None:
        return "%s %s; %s; %s; %s." % (lead, running, codes, bell, moved), out
    return "%s %s; %s; %s." % (lead, running, codes, bell), out


def _running(f, clock, out):
    """Was the doorbell running? Gaps between verified records, restarts, the log's ends."""
    boots = f.of("boot")
    every = "heartbeats every %d min" % (f.period_s // 60)
    for r in f.of("genesis"):
        out.append(("info", "The doorbell was set up at %s: the log starts there%s." % (clock.row(r), _failed(r))))
    for g in f.gaps:
        out.append(("alert", gap_sentence(g, f, clock)))
    for b in boots:
        out.append(("info" if b.rec.get("clean") or b.rec.get("boot") == 1 else "alert", restart_sentence(b, f, clock)))
    hb = f.of("heartbeat")
    if hb:
        out.append(("info", "%d heartbeat%s in this period (one is due every %d min: %s)." % (len(hb), "" if len(hb) == 1 else "s", f.period_s // 60, f.period_source)))
    if f.log_last["t"] < f.start or f.log_first["t"] > f.end:
        return "this log does not cover that period at all (its records run from %s to %s UTC)" % (utc(f.log_first["t"], "%Y-%m-%d %H:%M"), utc(f.log_last["t"], "%Y-%m-%d %H:%M"))
    a, b = _around(f)
    if not f.rows and not f.gaps and a and b:
        out.append(("info", "The doorbell's records just before and after this period, at %s and %s, are less than %s apart: it was running, and nothing happened at the door." % (clock.at(a["t"]), clock.at(b["t"]), duration(f.limit_s))))
    if f.gaps:
        return "the doorbell was NOT seen running the whole time (%s; %d gap%s, see below)" % (every, len(f.gaps), "" if len(f.gaps) == 1 else "s")
    restarts = [b for b in boots if b.rec.get("boot") != 1]  # boot 1 is the first start after set-up
    if restarts:
        return "the doorbell was running (%s, no gap), but it restarted %s (see below)" % (every, times(len(restarts)))
    return "the doorbell was running (%s, no gap)" % every


def _codes(f, clock, out, qual=""):
    """Codes typed at the keypad, whatever became of them (the digits are never recorded)."""
    typed = [r for r in f.rows if r.ev == "attempt" or (r.ev == "relay_refused" and r.rec.get("channel") == "keypad")]
    if not typed:
        return "no delivery code was typed at the door" + qual
    acc = [r for r in typed if r.ev == "attempt" and r.rec.get("outcome") == "accepted"]
    for r in typed:
        what = describe(r.rec).replace("Code typed at the keypad", "a code was typed at the keypad")
        out.append(("info" if r in acc else "alert", "At %s: %s (%s)." % (clock.row(r), what, photo_ref(r))))
    return "a code was typed at the door %s (%d accepted, %d refused)" % (times(len(typed)), len(acc), len(typed) - len(acc))


def _rings(f, clock, out, qual=""):
    rings = f.of("ring")
    if not rings:
        return "the bell was not rung" + qual
    if len(rings) > RINGS_IN_LEAD:
        for r in rings:
            out.append(("info", "At %s the bell was rung (%s)." % (clock.row(r), photo_ref(r))))
        return "the bell was rung %d times (each listed below)" % len(rings)
    return "the bell was rung %s at %s" % (times(len(rings)), ", ".join("%s (%s)" % (clock.row(r), photo_ref(r)) for r in rings))


def _other(f, clock, out):
    """Lockouts, remote requests, camera faults, clock, recovery, pruning, code changes."""
    for r in f.rows:
        ev, at = r.ev, clock.row(r)
        if ev == "lockout_start":
            out.append(("alert", "At %s the keypad was locked for %s after repeated wrong codes (%s)." % (at, duration(r.rec.get("duration_s") or 0), photo_ref(r))))
        elif ev == "lockout_end":
            out.append(("info", "At %s the keypad lockout ended (%s key presses refused during it)%s." % (at, r.rec.get("refused") or 0, _failed(r))))
        elif ev == "relay_refused" and r.rec.get("channel") != "keypad":
            out.append(("alert", "At %s: %s%s." % (at, _lc(describe(r.rec)), _failed(r))))
        elif ev in ("camera_fault", "recovered", "photo_pruned", "records_pruned", "handover_damaged"):
            out.append(("alert", "At %s: %s%s." % (at, _lc(describe(r.rec)), _failed(r))))
        elif ev in ("time_set", "code_added", "code_revoked", "handover_added", "handover_revoked", "handover_reset") or ev not in KNOWN:
            out.append(("info", "At %s: %s%s." % (at, _lc(describe(r.rec)), _failed(r))))
        if r.photo_problem and (r.rec.get("photo_flag") or r.rec.get("photo", False) is None):
            out.append(("alert", "Camera problem at %s (%s): %s." % (at, ev, r.photo_problem)))
    untimed = [r for r in f.rows if r.t is None]
    if untimed:
        out.append(("alert", "%d record%s had no time because the doorbell's clock was not set; they are shown as \"clock not set\" with their boot and time since start, in their place in the chain." % (len(untimed), "" if len(untimed) == 1 else "s")))
    for fd in f.result.findings:
        if fd.level != ERROR and fd.text.startswith("torn tail"):
            out.append(("alert", "The pulled log ends with a torn record: %s." % fd.text))


def _around(f):
    """The last verified timed record before the period and the first after it."""
    bad = {fd.seq for fd in f.result.errors}
    before = after = None
    for r in f.result.records:
        if is_time(r.get("t")) and r.get("seq") not in bad:
            if r["t"] < f.start:
                before = r
            elif r["t"] > f.end and after is None:
                after = r
    return before, after


def times(n):
    return {1: "once", 2: "twice"}.get(n, "%d times" % n)


def _lc(s):
    return s[:1].lower() + s[1:]


def _failed(row):
    return "" if row.ok else " - this record FAILED verification"


def photo_ref(row):
    if row.photo_no:
        ref = "photo %d" % row.photo_no
        if row.photo_problem:
            ref += ": " + row.photo_problem
    else:
        ref = row.photo_problem or "no photo"
    if not row.ok:
        ref += "; this record FAILED verification"
    return ref


def restart_sentence(b, f, clock):
    rec = b.rec
    prev = _last_timed_before(f.result.records, rec)
    if rec.get("boot") == 1:
        return "The doorbell started for the first time at %s, after it was set up%s." % (clock.row(b), _failed(b))
    clean = "the run before ended cleanly" if rec.get("clean") else "the run before did not end cleanly (power cut, crash or watchdog)"
    since = ""
    if prev is not None and b.t is not None:
        since = "; its last record before was at %s, so it was not recording for up to %s" % (clock.at(prev["t"]), duration(b.t - prev["t"]))
    return "The doorbell restarted at %s (boot %s, reason: %s; %s%s)%s." % (clock.row(b), rec.get("boot"), rec.get("reason"), clean, since, _failed(b))


def _last_timed_before(recs, rec):
    """The last record with a time of an earlier boot: when the doorbell was last seen."""
    prev = None
    for r in recs:
        if r is rec:
            return prev
        if is_time(r.get("t")) and r.get("boot") != rec.get("boot"):
            prev = r
    return None


def gap_sentence(g, f, clock):
    notes = []
    if g.untimed:
        notes.append("%d record%s in between had no time: clock not set" % (g.untimed, "" if g.untimed == 1 else "s"))
    if g.unverified:
        notes.append("%d record%s in between FAILED verification and do not count" % (g.unverified, "" if g.unverified == 1 else "s"))
    note = " (%s)" % "; ".join(notes) if notes else ""
    if g.a is None and g.b is None:
        return "No record with a time in this log passed verification: nothing shows the doorbell running in this period%s." % note
    if g.a is None:
        return "The log begins at %s: there is no record of the doorbell before that in this period%s." % (clock.at(g.b["t"]), note)
    if g.b is None:
        return "The log ends at %s (the last record pulled): nothing later in this period is in it%s. Pull again to see later events." % (clock.at(g.a["t"]), note)
    why = "the doorbell was off or could not record"
    if g.b.get("ev") == "boot":
        why += "; it restarted at %s" % clock.at(g.b["t"])
    return "GAP: no record for %s, from %s to %s (heartbeats are due every %d min): %s%s." % (
        duration(g.b["t"] - g.a["t"]), clock.at(g.a["t"]), clock.at(g.b["t"]), f.period_s // 60, why, note)
