"""The report's page: one self-contained HTML file (no scripts, no outside resources;
photos are data: URIs) that prints well and opens in any browser.
"""

import html
import os
from string import Template

from doorstep_tools.device_cmds import fingerprint
from doorstep_tools.report_text import describe, duration, period_words, uptime, utc
from doorstep_tools.verify import ERROR, device_id

PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Doorstep evidence report: $title</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60em;margin:1em auto;padding:0 1em;color:#111}
h1{font-size:1.5em;margin-bottom:.2em} .sub{color:#444;margin-top:0}
.banner{padding:.8em 1em;border-radius:6px;font-weight:600;margin:1em 0}
.bad{background:#fde2e1;border:2px solid #c00;color:#800} .good{background:#e3f5e1;border:1px solid #2a7}
.lead{font-size:1.15em;line-height:1.5} li.alert{color:#900} li{margin:.3em 0}
table{border-collapse:collapse;width:100%;font-size:.92em} th,td{border-bottom:1px solid #ccc;padding:.35em;vertical-align:top;text-align:left}
tr.failed{background:#fde2e1} td.st-ok{color:#275} td.st-bad{color:#c00;font-weight:600}
img{max-width:320px;display:block} figure{margin:0} figcaption{font-size:.85em;color:#444}
code{font-size:.9em} .small{font-size:.85em;color:#444}
#limits-box{background:#fff4d6;border:2px solid #b8860b;border-radius:6px;padding:.2em 1em;margin:1em 0}
#claim-box{background:#e8f0fe;border:2px solid #36c;border-radius:6px;padding:.2em 1em;margin:1em 0}
@media print{img{max-width:240px}}
</style></head><body>
<h1>Doorstep evidence report</h1>
<p class="sub">Device <b>$dev</b> &middot; $period &middot; <b>All times are UTC</b> (Coordinated Universal Time)</p>
$banner
$claim
<p class="lead" id="lead">$lead</p>
<div id="limits-box"><h2 id="limits-title">What this shows and what it does not</h2>
<ul id="limits">$limits</ul></div>
<h2>What the records show</h2>
<ul id="statements">$statements</ul>
<h2>Verification</h2>
$verification
<h2>Timeline</h2>
<p class="small">Every record in the period, in the order the doorbell wrote them (the hash chain order). $untimed_note</p>
<table id="timeline"><thead><tr><th>Time (UTC)</th><th>Seq</th><th>What happened</th><th>Photo</th><th>Verification</th></tr></thead>
<tbody>$rows</tbody></table>
<h2>About this report</h2>
<p class="small">Made by <code>doorstep report</code> at $generated UTC from the folder <code>$root</code>.
Each record is signed by the doorbell with its Ed25519 key and chained to the one before by its SHA-256 hash;
each photo's SHA-256 is inside its signed record. Device public key ($key_source):<br><code>$pub</code><br>
Heartbeat period: $period_min ($period_source). A silence longer than $limit counts as a gap.</p>
</body></html>
""")


def render(f, lead, items, limit_items=(), claimed=None):
    e = html.escape
    res = f.result
    if res.errors:
        banner = '<div class="banner bad" id="verdict">VERIFICATION FAILED: %d problem(s) in this log. The records marked FAILED below may have been altered or forged; everything is still listed.</div>' % len(res.errors)
    else:
        who = "this doorbell's pinned key" if f.pinned else "the key in the log's own first record (no key was pinned: compare it below)"
        banner = '<div class="banner good" id="verdict">Verified: all %d records of this log are signed with %s, the chain is unbroken and every photo matches its record.</div>' % (len(res.records), e(who))
    lis = "\n".join('<li class="%s">%s</li>' % (k, e(s)) for k, s in items)
    if res.findings:
        ver = "<ul>%s</ul>" % "\n".join('<li class="%s">%s</li>' % ("alert" if fd.level == ERROR else "info", e(str(fd))) for fd in res.findings)
    else:
        ver = "<p>No problems: every signature, the hash chain and every photo check out (%d records).</p>" % len(res.records)
    rows = "\n".join(_row_html(r) for r in f.rows) or '<tr><td colspan="5">No records in this period.</td></tr>'
    pub = f.pub.hex() if f.pub else "unknown"
    period = period_words(f.start, f.end) if f.start is not None and f.end is not None else "whole log"
    untimed_note = 'Records marked "clock not set" were written before the doorbell knew the time; they show the boot number and time since that start.' if any(r.t is None for r in f.rows) else ""
    claim = ""
    if claimed is not None:
        claim = '<div id="claim-box"><h2>At the claimed delivery time</h2><p class="lead" id="claim-lead">%s</p><ul id="claim">%s</ul></div>' % (
            e(claimed[0]), "\n".join('<li class="%s">%s</li>' % (k, e(x)) for k, x in claimed[1]))
    return PAGE.substitute(
        claim=claim,
        limits="\n".join('<li class="%s">%s</li>' % (k, e(x)) for k, x in limit_items),
        title=e("%s, %s" % (device_id(f.pub) if f.pub else "?", period)),
        dev=e(device_id(f.pub) if f.pub else "unknown"),
        period=e(period[0].upper() + period[1:]),
        banner=banner,
        lead=e(lead),
        statements=lis,
        verification=ver,
        rows=rows,
        untimed_note=untimed_note,
        generated=e(utc(f.generated)),
        root=e(os.path.basename(os.path.abspath(f.root))),
        key_source=e(f.key_source),
        pub=e(fingerprint(pub) if f.pub else pub),
        period_min="%d min" % (f.period_s // 60),
        period_source=e(f.period_source),
        limit=e(duration(f.limit_s)),
    )


def _row_html(r):
    e = html.escape
    rec = r.rec
    if r.t is not None:
        when = "%s<br><span class=small>clock: %s</span>" % (e(utc(r.t)), e(str(rec.get("tq"))))
    else:
        when = "clock not set<br><span class=small>boot %s, %s after start</span>" % (e(str(rec.get("boot"))), e(uptime(rec.get("ms"))))
    photo = ""
    if r.photo_uri:
        cap = "Photo %d: seq %s, SHA-256 %s..." % (r.photo_no, r.seq, str(rec["photo"].get("sha256"))[:16])
        if r.photo_problem:
            cap += " - " + r.photo_problem
        photo = '<figure id="photo-%d"><img src="%s" alt="photo %d"><figcaption>%s</figcaption></figure>' % (r.photo_no, r.photo_uri, r.photo_no, e(cap))
    elif r.photo_problem:
        photo = '<span class="small">%s</span>' % e(r.photo_problem)
    if r.ok:
        status = '<td class="st-ok">verified' + "".join("<br><span class=small>%s</span>" % e(n) for n in r.notices) + "</td>"
    else:
        status = '<td class="st-bad">FAILED: %s</td>' % "<br>".join(e(x) for x in r.errors + r.notices)
    return '<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td>%s</tr>' % (
        "" if r.ok else "failed", when, e(str(r.seq)), e(describe(rec)), photo, status)
