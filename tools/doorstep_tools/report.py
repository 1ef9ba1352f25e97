"""`doorstep report`: the homeowner's evidence report for a period, as one HTML file.

Three steps, each in its own module: this one gathers the facts from the verified log
(which records fall in the period, gaps between signs of life, photos), report_lead and report_text turn
them into plain sentences, report_html fills the page (photos embedded, so the file stands
alone). Verification is doorstep_tools.verify's; the report only says what it found, and
never leaves a problem out. All times are UTC.
"""

import base64
import json
import os
import re
import sys
import time
from collections import Counter

from doorstep_tools.report_claim import claim_section
from doorstep_tools.report_html import render
from doorstep_tools.report_limits import limits
from doorstep_tools.report_lead import statements
from doorstep_tools.report_text import is_time
from doorstep_tools.timefmt import parse_utc
from doorstep_tools.verify import ERROR, verify

DEFAULT_HEARTBEAT_MIN = 60  # the firmware's default (doorstep/config.py)
DAY = 86400


class ReportError(Exception):
    """Bad input: the message says what to do."""


# ---------------------------------------------------------------------------
# Input: the period and the log


def parse_period(frm, to):
    """(start, end) in UTC seconds, both inclusive; None where not given.

    A date alone means the whole day: --from 2026-06-25 --to 2026-06-25 is that day.
    """
    start = _parse_time("--from", frm) if frm else None
    end = None
    if to:
        end = _parse_time("--to", to)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", to.strip()):
            end += DAY - 1
    if start is not None and end is not None and end <= start:
        raise ReportError("the period is reversed or empty: --to (%s) must be after --from (%s)" % (to, frm))
    return start, end


def _parse_time(opt, text):
    try:
        return parse_utc(text.strip())
    except ValueError:
        raise ReportError("%s %r is not a time I can read: write it in UTC like 2026-06-25T09:00Z, 2026-06-25T09:00:00Z or 2026-06-25" % (opt, text))


def load_key(root, key_path=None):
    """The pinned public key: --key FILE (hex or device profile), else DIR/device.json."""
    path = key_path or os.path.join(root, "device.json")
    if not os.path.exists(path):
        if key_path:
            raise ReportError("the key file %s does not exist" % key_path)
        return None
    try:
        with open(path) as f:
            text = f.read().strip()
        if text.startswith("{"):
            text = json.loads(text)["pub"]
        pub = bytes.fromhex(text)
    except (OSError, ValueError, KeyError, TypeError):
        raise ReportError("cannot read a public key from %s: it should hold the key in hex or {\"pub\": \"...\"}" % path)
    if len(pub) != 32:
        raise ReportError("%s does not hold a 32-byte Ed25519 public key" % path)
    return pub


def load_head(root):
    p = os.path.join(root, "head.json")
    if not os.path.exists(p):
        return None
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        raise ReportError("%s is damaged: move it aside (it only remembers the last pull)" % p)


def check_folder(root):
    if not os.path.isdir(root):
        raise ReportError("%s is not a folder. Give the folder `doorstep pull --out` wrote (it holds records/ and photos/)." % root)
    rdir = os.path.join(root, "records")
    if not os.path.isdir(rdir) or not any(n.endswith(".jsonl") for n in os.listdir(rdir)):
        raise ReportError("%s has no records (records/*.jsonl). Run `doorstep pull --device ... --out %s` first." % (root, root))


# ---------------------------------------------------------------------------
# Facts


class Row:
    """One record in the period, ready to show: what happened, its time, photo, status."""

    def __init__(self, rec, findings):
        self.rec = rec
        self.seq = rec.get("seq")
        self.ev = rec.get("ev")
        self.t = rec["t"] if is_time(rec.get("t")) else None
        self.errors = [f.text for f in findings if f.level == ERROR]
        self.notices = [f.text for f in findings if f.level != ERROR]
        self.photo_no = None  # its number in this report, when it has a photo shown
        self.photo_uri = None
        self.photo_problem = None  # why there is no photo, or what is odd about it
        self.bounds = (None, None)  # for a record without time: times of the records around it

    @property
    def ok(self):
        return not self.errors


class Gap:
    """A stretch with no timed record, longer than the heartbeat period allows."""

    def __init__(self, a, b, untimed, unverified):
        self.a, self.b = a, b  # the verified timed records before/after (None at the log's ends)
        self.untimed, self.unverified = untimed, unverified  # records in between that do not count


class Facts:
    def __init__(self):
        self.root = None
        self.start = self.end = None  # the period, inclusive; None if it could not be placed
        self.result = None  # verify.Result of the whole log
        self.pub = None
        self.pinned = False
        self.key_source = ""
        self.period_s = DEFAULT_HEARTBEAT_MIN * 60
        self.period_source = ""
        self.limit_s = 0  # a silence longer than this is a gap
        self.rows = []
        self.gaps = []
        self.log_first = self.log_last = None  # first/last timed record of the whole log
        self.generated = int(time.time())

    def of(self, *evs):
        return [r for r in self.rows if r.ev in evs]


def gather(root, start=None, end=None, pub=None, head=None, heartbeat_min=None):
    """Verify the whole log, then pick out and describe what falls in [start, end]."""
    res = verify(root, pub=pub, head=head)
    f = Facts()
    f.root, f.result = root, res
    f.pub = res.pub or pub
    f.pinned = pub is not None
    f.key_source = "the pinned key" if pub else "taken from the log's own first record: no pinned key was found"
    recs = res.records
    timed = [r for r in recs if is_time(r.get("t"))]
    if timed:
        f.log_first, f.log_last = timed[0], timed[-1]
        f.start = start if start is not None else min(r["t"] for r in timed)
        f.end = end if end is not None else max(r["t"] for r in timed)
        if f.end <= f.start and end is None:
            f.end = f.start + 1
    else:
        f.start, f.end = start, end
    f.period_s, f.period_source = heartbeat_period(recs, heartbeat_min)
    f.limit_s = f.period_s + max(120, f.period_s // 10)  # a heartbeat this late means a gap
    by_seq = {}
    for fd in res.findings:
        by_seq.setdefault(fd.seq, []).append(fd)
    for rec, bounds in in_period(recs, f.start, f.end):
        row = Row(rec, by_seq.get(rec.get("seq"), []))
        row.bounds = bounds
        f.rows.append(row)
    pruned = set()
    for r in recs:
        if r.get("ev") == "photo_pruned" and isinstance(r.get("seqs"), list):
            pruned.update(r["seqs"])
    number_photos(root, f.rows, pruned)
    if timed and f.start is not None and f.end is not None:
        bad = {fd.seq for fd in res.errors}
        f.gaps = find_gaps(recs, f.start, f.end, f.limit_s, bad)
    return f


def heartbeat_period(recs, given_min=None):
    """The heartbeat period in seconds, measured on the device's own uptime between
    heartbeats of one boot (exact), else the default."""
    if given_min:
        return given_min * 60, "as given with --heartbeat-min"
    by_seq = {r.get("seq"): r for r in recs}
    boot_ms = {}
    seen = Counter()
    for r in recs:
        if r.get("ev") == "boot" and isinstance(r.get("ms"), int):
            boot_ms[r.get("boot")] = r["ms"]
        if r.get("ev") != "heartbeat" or not isinstance(r.get("ms"), int):
            continue
        since = by_seq.get(r.get("since")) if isinstance(r.get("since"), int) else None
        if since is not None and since.get("boot") == r.get("boot") and isinstance(since.get("ms"), int):
            base = since["ms"]
        elif r.get("since") is None:
            base = boot_ms.get(r.get("boot"))
        else:
            base = None
        if base is not None and r["ms"] > base:
            seen[round((r["ms"] - base) / 60000)] += 1
    if seen:
        return seen.most_common(1)[0][0] * 60, "measured from the heartbeats in this log"
    return DEFAULT_HEARTBEAT_MIN * 60, "the default; this log has too few heartbeats to measure it"


def in_period(recs, start, end):
    """Yield (record, bounds) for records in [start, end], in chain order.

    A record whose clock was not set is included when the timed records around it
    (bounds) allow that it happened in the period: it is never silently dropped.
    """
    nxt = [None] * len(recs)
    cur = None
    for i in range(len(recs) - 1, -1, -1):
        nxt[i] = cur
        if is_time(recs[i].get("t")):
            cur = recs[i]["t"]
    prev = None
    for i, r in enumerate(recs):
        t = r.get("t")
        if is_time(t):
            if (start is None or t >= start) and (end is None or t <= end):
                yield r, (None, None)
            prev = t
        elif (prev is None or end is None or prev <= end) and (nxt[i] is None or start is None or nxt[i] >= start):
            yield r, (prev, nxt[i])


def find_gaps(recs, start, end, limit, bad=()):
    """Stretches of the period with no verified timed record for longer than limit seconds,
    including before the log's first record and after its last one. A record that failed
    verification (seq in bad) is no evidence that the doorbell was running."""
    gaps = []
    prev, untimed, unverified = None, 0, 0
    for r in recs:
        t = r.get("t")
        if not is_time(t):
            untimed += 1
            continue
        if r.get("seq") in bad:
            unverified += 1
            continue
        a = prev["t"] if prev else start
        if min(t, end) > max(a, start) and t - a > limit:
            gaps.append(Gap(prev, r, untimed, unverified))
        prev, untimed, unverified = r, 0, 0
    if prev is None:
        gaps.append(Gap(None, None, untimed, unverified))  # nothing verified with a time at all
    elif end - max(prev["t"], start) > limit:
        gaps.append(Gap(prev, None, untimed, unverified))
    return gaps


def number_photos(root, rows, pruned=()):
    """Number the photos shown and embed each as a data: URI (only files under photos/)."""
    n = 0
    pdir = os.path.realpath(os.path.join(root, "photos"))
    for row in rows:
        rec = row.rec
        ph = rec.get("photo")
        if isinstance(ph, dict):
            path = os.path.realpath(os.path.join(root, str(ph.get("file", ""))))
            if not path.startswith(pdir + os.sep) or not os.path.isfile(path):
                if row.seq in pruned:
                    row.photo_problem = "photo deleted on the doorbell to free flash (see the photo_pruned record)"
                else:
                    row.photo_problem = "photo %s is missing from the log folder" % ph.get("file")
                continue
            with open(path, "rb") as fh:
                data = fh.read()
            n += 1
            row.photo_no = n
            mime = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
            row.photo_uri = "data:%s;base64,%s" % (mime, base64.b64encode(data).decode())
            flag = rec.get("photo_flag")
            if flag == "dark":
                row.photo_problem = "the camera judged this photo dark (covered lens or no light?)"
            elif flag == "frozen":
                row.photo_problem = "this photo is identical to the one before (camera frozen?)"
            elif flag:
                row.photo_problem = "photo flagged: %s" % flag
        elif "photo" in rec and rec.get("photo") is None:
            row.photo_problem = "no photo: %s" % (rec.get("photo_err") or "the camera gave none")


def build(root, frm=None, to=None, key=None, heartbeat_min=None, claim=None, window_min=15):
    """(html, facts) for the log in root and the period given as text. claim: the carrier's
    claimed delivery time (text), answered first, with what happened within window_min."""
    start, end = parse_period(frm, to)
    at = _parse_time("--claim", claim) if claim else None
    if at is not None and not (frm or to):
        start, end = at - at % DAY, at - at % DAY + DAY - 1  # the claim's day
    if not isinstance(window_min, int) or not 1 <= window_min <= 24 * 60:
        raise ReportError("--window must be a whole number of minutes from 1 to 1440, not %r" % (window_min,))
    check_folder(root)
    pub = load_key(root, key)
    f = gather(root, start, end, pub=pub, head=load_head(root), heartbeat_min=heartbeat_min)
    if not f.result.records:
        raise ReportError("%s/records holds no readable record. Pull the log again with `doorstep pull`." % root)
    lead, items = statements(f)
    claimed = claim_section(f, at, window_min * 60) if at is not None else None
    return render(f, lead, items, limits(f), claimed), f


# ---------------------------------------------------------------------------
# The command


def cmd_report(args):
    try:
        page, facts = build(args.dir, args.from_, args.to, args.key, args.heartbeat_min, args.claim, args.window)
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(page)
        if args.bundle:
            from doorstep_tools.bundle import write_bundle

            write_bundle(args.bundle, facts, page)
    except ReportError as e:
        print("doorstep report: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("doorstep report: cannot write %s: %s" % (e.filename or "the output", e.strerror or e), file=sys.stderr)
        return 2
    print("Report written to %s (%d records in the period)." % (args.output, len(facts.rows)))
    if args.bundle:
        print("Evidence bundle written to %s." % args.bundle)
    if not facts.result.ok:
        print("WARNING: the log did NOT verify (%d problem(s)); the report says so at the top." % len(facts.result.errors), file=sys.stderr)
        return 1
    return 0


def add_parser(sub):
    p = sub.add_parser(
        "report",
        help="an evidence report (HTML, photos included) of what the doorbell recorded in a period",
        description="Write a self-contained HTML report of a pulled log for a period: what happened at the door, "
        "whether the doorbell was running, and whether every record verifies. Times are UTC. "
        "Exit status: 0 report written and the log verifies, 1 report written but the log does NOT verify, 2 bad input.",
    )
    p.add_argument("dir", help="the folder `doorstep pull --out` wrote")
    p.add_argument("--from", dest="from_", metavar="T", help="start, UTC: 2026-06-25T09:00Z, 2026-06-25T09:00:00Z or 2026-06-25 (default: the log's first record)")
    p.add_argument("--to", metavar="T", help="end, UTC, inclusive; a date alone means the end of that day (default: the log's last record)")
    p.add_argument("-o", "--output", default="report.html", help="the HTML file to write (default: report.html)")
    p.add_argument("--bundle", metavar="FILE.zip", help="also write a zip with the records, photos, public key, report and instructions to re-verify it independently")
    p.add_argument("--key", help="file with the pinned public key (hex) or device profile (default: DIR/device.json)")
    p.add_argument("--heartbeat-min", type=int, help="the device's heartbeat period in minutes (default: measured from the log)")
    p.add_argument("--claim", metavar="T", help="the carrier's claimed delivery time, UTC: the report answers for it first (default period: that day)")
    p.add_argument("--window", type=int, default=15, metavar="MIN", help="with --claim: events and photos within this many minutes of it (default 15)")
    p.set_defaults(func=cmd_report)
