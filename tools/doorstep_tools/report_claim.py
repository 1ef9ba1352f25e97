"""`doorstep report --claim TIME`: the report answers for the carrier's claimed delivery time
first. What the doorbell's state was then, what happened within +-window (with photos), the
heartbeats around it and what an independent timestamp says; everything in time order.
"""

from doorstep_tools.report_text import describe, duration, is_time, utc
from doorstep_tools.verify import ERROR
from doorstep_tools.verify_posture import words


def claim_section(f, claim, window_s):
    """(lead, [(kind, sentence)]) for the claimed time."""
    recs = [r for r in f.result.records if is_time(r.get("t"))]
    bad = {fd.seq for fd in f.result.errors}
    good = [r for r in recs if r.get("seq") not in bad]
    at = "%s UTC" % utc(claim, "%Y-%m-%d %H:%M:%S")
    out = []
    before = [r for r in good if r["t"] <= claim]
    after = [r for r in good if r["t"] > claim]
    a, b = (before[-1] if before else None), (after[0] if after else None)
    if a is None or b is None:
        state = "the log has no verified record %s the claimed time" % ("before" if a is None else "after")
        out.append(("alert", "The doorbell cannot be shown running at %s: %s." % (at, state)))
    elif b["t"] - a["t"] > f.limit_s:
        state = "NOT seen running: no verified record from %s to %s" % (utc(a["t"], "%H:%M"), utc(b["t"], "%H:%M"))
        out.append(("alert", "GAP around the claimed time: no verified record from %s to %s UTC (%s; heartbeats are due every"
                    " %d min): the doorbell was off or could not record." % (utc(a["t"]), utc(b["t"]), duration(b["t"] - a["t"]), f.period_s // 60)))
    else:
        state = "running (its records just before and after are %s apart)" % duration(b["t"] - a["t"])
    boot = next((r for r in reversed(before) if r.get("ev") == "boot"), None)
    if boot is not None:
        p = boot.get("posture")
        out.append(("info", "The doorbell had started at %s UTC (boot %s, reason %s)%s." % (
            utc(boot["t"], "%Y-%m-%d %H:%M"), boot.get("boot"), boot.get("reason"),
            "; it stated " + words(p) if isinstance(p, dict) and "hw" in p else "")))
    beats = [r for r in good if r.get("ev") == "heartbeat"]
    hb_a = [r for r in beats if r["t"] <= claim]
    hb_b = [r for r in beats if r["t"] > claim]
    out.append(("info", "Heartbeats around it: %s and %s." % (
        "the last before at %s UTC" % utc(hb_a[-1]["t"], "%H:%M:%S") if hb_a else "none before it",
        "the first after at %s UTC" % utc(hb_b[0]["t"], "%H:%M:%S") if hb_b else "none after it")))
    near = [r for r in f.rows if r.t is not None and abs(r.t - claim) <= window_s and r.ev not in ("heartbeat",)]
    lo, hi = claim - window_s, claim + window_s
    found = [fd for fd in f.result.findings if fd.seq is not None]
    times = {r.get("seq"): r["t"] for r in recs}
    items = [(r.t, r.seq, _event(r)) for r in near]
    items += [(times[fd.seq], fd.seq, ("alert" if fd.level == ERROR else "info", "Record %s: %s" % (fd.seq, fd)))
              for fd in found if fd.seq in times and lo <= times[fd.seq] <= hi]
    items.sort(key=lambda x: (x[0], x[1]))
    if not near:
        out.append(("info" if state.startswith("running") else "alert", "No ring, code or other event within %s of %s." % (
            duration(window_s), at)))
    out += [kind_text for _, _, kind_text in items]
    out.append(_attested(f.result, claim))
    events = len(near)
    lead = "At the claimed delivery time, %s, the doorbell was %s; %s within %s of it." % (
        at, state, "%d event%s" % (events, "" if events == 1 else "s") if events else "no event", duration(window_s))
    return lead, out


def _event(row):
    ref = "photo %d" % row.photo_no if row.photo_no else (row.photo_problem or "no photo")
    failed = "" if row.ok else "; this record FAILED verification"
    return ("info" if row.ok else "alert", "At %s UTC: %s (%s%s)." % (utc(row.t, "%H:%M:%S"), describe(row.rec), ref, failed))


def _attested(res, claim):
    toks = sorted(res.attested, key=lambda t: t.time)
    later = [t for t in toks if t.time >= claim]
    if not toks:
        return ("alert", "No independent timestamp covers this log: the times above are the doorbell's own clock.")
    if not later:
        t = toks[-1]
        return ("alert", "The last independent timestamp (%s UTC, up to record %d) is before the claimed time: the records"
                " after it rest on the doorbell's clock alone." % (utc(t.time), t.seq))
    t = later[0]
    return ("info", "%s attests that the log up to record %d existed at %s UTC, %s after the claimed time: the records before"
            " it were not written later than that." % (t.tsa, t.seq, utc(t.time), duration(t.time - claim)))
