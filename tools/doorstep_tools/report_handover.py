"""Handovers in the report, in plain words: "the code for amazon-0625 was shown to the person
in photo 14 at the door at 14:02". The records never hold the code or the challenge, so
neither can the report.
"""


WORDS = ("handover", "handover_added", "handover_revoked", "handover_reset", "handover_damaged")


def words(rec):
    from doorstep_tools.report_text import utc

    g = rec.get
    ev = g("ev")
    if ev == "handover" and g("display_failed"):
        return ("The carrier code for '%s' was released by its challenge, but the door display FAILED: it was not shown"
                " (the homeowner can reset it)" % g("label"))
    if ev == "handover":
        return "The carrier code for '%s' was shown on the door display (for %s s) to the person who typed its challenge" % (g("label"), g("shown_s"))
    if ev == "handover_added":
        win = ""
        if g("from") is not None:
            win += " from %s UTC" % utc(g("from"))
        if g("until") is not None:
            win += " until %s UTC" % utc(g("until"))
        return "Carrier code for '%s' registered, to be shown once at the door%s" % (g("label"), win)
    if ev == "handover_damaged":
        return "The doorbell's handover file could not be read (%s): no carrier code could be shown until the homeowner added them again" % g("error")
    if ev == "handover_reset":
        return "Carrier code for '%s' allowed to be shown once more (by the homeowner)" % g("label")
    return "Carrier code for '%s' removed" % g("label")


def sentence(row, clock):
    """ "The code for amazon-0625 was shown to the person in photo 14 at the door at 14:02" """
    from doorstep_tools.report_lead import photo_ref

    if row.rec.get("display_failed"):
        return "The code for %s was released at %s but NOT shown: the door display failed (%s)" % (row.rec.get("label"), clock.row(row), photo_ref(row))
    who = "the person in %s" % photo_ref(row) if row.photo_no else "the person at the door (%s)" % photo_ref(row)
    return "The code for %s was shown to %s at the door at %s" % (row.rec.get("label"), who, clock.row(row))
