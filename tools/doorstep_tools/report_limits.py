"""The report's "What this shows and what it does not": plain sentences tied to what this
verification actually established (docs/threat-model.md says why each one holds).

Each sentence is (kind, text): "alert" where the evidence is weaker than it may look, else "info".
"""

from doorstep_tools import report_presence
from doorstep_tools.report_text import duration, utc
from doorstep_tools.verify_posture import sealed, words

PHOTO_WORDS = "the bell is rung, a code is typed at the keypad, or the keypad locks"


def limits(f):
    res = f.result
    out = [_key(f)]
    out += _posture(res.posture)
    out.append(_time(res))
    out.append(_reach(res))
    out.append(("info", "Heartbeats (one every %s) show that the doorbell was running and recording%s; they do not show"
                " that nobody was at the door." % (duration(f.period_s), " except in the gaps listed" if f.gaps else "")))
    out.append(report_presence.nobody_came(f) or ("alert", "Someone who neither rang the bell nor typed a code leaves no"
                " record: the doorbell takes a photo only when %s, and does not watch for movement." % PHOTO_WORDS))
    sessions = [r for r in res.records if r.get("ev") == "service"]
    if sessions:
        out.append(("alert", "The doorbell's console was opened %d time%s (service records, first at %s): who used it cannot be"
                    " known, only that it happened." % (len(sessions), "" if len(sessions) == 1 else "s", _when(sessions[0]))))
    return out


def _when(rec):
    return "%s UTC" % utc(rec["t"], "%Y-%m-%d %H:%M") if isinstance(rec.get("t"), int) else "record %s" % rec.get("seq")


def _key(f):
    if f.pinned:
        return ("info", "The records were checked against the doorbell's own key, pinned when it was set up (%s): they were"
                " signed by that key, which only the doorbell, or whoever read the key out of it, holds." % f.key_source)
    return ("alert", "No pinned key was given: the records were checked against the key the log brings itself, so anyone"
            " could have made this log with a key of their own. Compare the key at the end of this report with the one"
            " noted when the doorbell was set up.")


def _posture(p):
    if p is None or p.last is None:
        return [("alert", "The log does not state how the doorbell keeps its key (its firmware predates posture records):"
                 " assume its owner could read the key and sign records himself.")]
    last = p.last[2]
    if p.sim is not None:
        return [("alert", "This log was made by the Doorstep simulator on a PC, not by a doorbell: it shows nothing that"
                 " happened at a door.")]
    if sealed(last):
        out = [("info", "The doorbell stated %s: its key cannot be read out of it nor its firmware changed without"
                " erasing it, so these records were written by the doorbell's own firmware." % words(last))]
    else:
        out = [("alert", "The doorbell stated %s: unless production, flash encryption and secure boot are all on, its owner"
                " can read its signing key and could have signed any of these records himself. They are the owner's"
                " statement, checked for consistency, not an independent witness." % words(last))]
    if p.changes:
        out.append(("alert", "Its posture changed %d time%s in this log (see Verification)." % (
            len(p.changes), "" if len(p.changes) == 1 else "s")))
    return out


def _time(res):
    if not res.attested:
        return ("alert", "No independent timestamp: every time in this report is the doorbell's own clock, which its owner"
                " can set. The order of the records is certain; their times are not.")
    tok = max(res.attested, key=lambda t: t.seq)
    return ("info", "%s (a time-stamping authority) attests that the log up to record %d existed at %s UTC: nothing up to"
            " there was written later than that. Times after record %d are the doorbell's own clock." % (
                tok.tsa, tok.seq, utc(tok.time), tok.seq))


def _reach(res):
    if res.head is None:
        return ("alert", "The log holds no verified record.")
    last = res.head[0]
    if res.reach is None:
        return ("alert", "Nothing confirms how long this log should be (no last pull, checkpoint or timestamp was checked):"
                " records cut from its end, after record %d, would leave no trace." % last)
    if res.reach < last:
        return ("alert", "The log is confirmed to reach record %d; records %d to %d come after that, and had some been cut"
                " from its end this could not be seen." % (res.reach, res.reach + 1, last))
    return ("info", "The log is confirmed to reach its last record (%d) by the last pull, a checkpoint or a timestamp: no"
            " record was cut from its end before then." % last)
