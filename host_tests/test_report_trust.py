"""The report's "What this shows and what it does not" and `--claim TIME`, on logs the firmware
made on the virtual board, read in headless Chromium; the section is also checked on a
screenshot (its pixels, where the browser laid it out).
"""

import json
import os
import re
import shutil
import subprocess

import pytest
from PIL import Image

from test_report import CHROMIUM, DAY_25, chromium, logs, norm, report  # noqa: F401  (fixtures)
from test_posture_verify import SEALED, resign

LIMITS_BG = (0xFF, 0xF4, 0xD6)  # #limits-box's background in report_html.py


def limits_text(text):
    t = norm(text)
    return t[t.index("What this shows and what it does not"):t.index("What the records show")]


def test_the_section_is_on_the_first_screen(logs, chromium, tmp_path):
    page = report(logs["door"], tmp_path, *DAY_25)
    probe = page.replace("</body>", "<script>window.addEventListener('load', function () {"
                         "var r = document.getElementById('limits-box').getBoundingClientRect();"
                         "var s = getComputedStyle(document.getElementById('limits-box'));"
                         "var p = document.createElement('pre'); p.id = 'rect';"
                         "p.textContent = [r.left, r.top, r.width, r.height, s.display, s.visibility].join(' ');"
                         "document.body.appendChild(p);});</script></body>")
    path = tmp_path / "page.html"
    path.write_text(probe, encoding="utf-8")
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             "--force-device-scale-factor=1", "--window-size=1280,1400", "--user-data-dir=%s" % (tmp_path / "profile")]
    dom = subprocess.run(flags + ["--dump-dom", "file://%s" % path], capture_output=True, text=True, timeout=120)
    left, top, width, height, display, visibility = re.search(r'<pre id="rect">([^<]*)</pre>', dom.stdout).group(1).split()
    assert display == "block" and visibility == "visible", (display, visibility)
    left, top, width, height = (int(float(v)) for v in (left, top, width, height))
    assert width > 400 and height > 100 and top + height < 1400, (left, top, width, height)  # wholly on the first screen
    shot = tmp_path / "shot.png"
    r = subprocess.run(flags + ["--screenshot=%s" % shot, "file://%s" % path], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    img = Image.open(shot).convert("RGB")
    box = img.crop((left + 4, top + 4, left + width - 4, top + height - 4))
    colours = box.getcolors(1 << 20)
    bg = sum(n for n, c in colours if c == LIMITS_BG)
    ink = sum(n for n, c in colours if sum(c) < 200)  # dark text drawn on it
    assert bg > 0.5 * box.width * box.height, (bg, box.size)
    assert ink > 500, ink
    outside = img.crop((0, top + height + 40, img.width, min(img.height, top + height + 140)))
    assert LIMITS_BG not in [c for _, c in outside.getcolors(1 << 20)]  # the box ends where the browser says


def test_a_simulated_log_says_it_shows_nothing(logs, chromium, tmp_path):
    text, _ = chromium.open(report(logs["door"], tmp_path, *DAY_25))
    t = limits_text(text)
    assert "The records were checked against the doorbell's own key, pinned when it was set up (the pinned key)" in t
    assert "This log was made by the Doorstep simulator on a PC, not by a doorbell: it shows nothing that happened at a door." in t
    assert ("No independent timestamp: every time in this report is the doorbell's own clock, which its owner can set. The order"
            " of the records is certain; their times are not.") in t
    assert "Nothing confirms how long this log should be (no last pull, checkpoint or timestamp was checked)" in t
    assert "Heartbeats (one every 1 h) show that the doorbell was running and recording; they do not show that nobody was at the door." in t
    assert "Someone who neither rang the bell nor typed a code leaves no record" in t


def test_a_sealed_device_with_a_pulled_head(logs, chromium, tmp_path):
    root = tmp_path / "log"
    shutil.copytree(logs["door-device"], root)
    resign(root, 0, SEALED)
    resign(root, 1, SEALED)
    last = open(root / "records" / "00000000.jsonl", "rb").read().split(b"\n")[-2]
    import hashlib

    (root / "head.json").write_text(json.dumps({"seq": json.loads(last)["seq"], "hash": hashlib.sha256(last).hexdigest()}))
    (root / "device.json").write_text(json.dumps({"pub": json.loads(open(root / "records" / "00000000.jsonl").readline())["pub"]}))
    text, _ = chromium.open(report(str(root), tmp_path, *DAY_25))
    t = limits_text(text)
    assert ("The doorbell stated production on, flash encrypted, secure boot on (esp32s3): its key cannot be read out of it nor its"
            " firmware changed without erasing it, so these records were written by the doorbell's own firmware.") in t
    assert "The log is confirmed to reach its last record (" in t and "no record was cut from its end before then" in t


def test_an_open_device_is_the_owners_statement(logs, chromium, tmp_path):
    root = tmp_path / "log"
    shutil.copytree(logs["door"], root)
    shutil.copy(os.path.join(logs["door-device"], "key.bin"), root / "key.bin")
    resign(root, 0, dict(SEALED, flash_enc=False))
    resign(root, 1, dict(SEALED, flash_enc=False))
    os.remove(root / "key.bin")
    text, _ = chromium.open(report(str(root), tmp_path, *DAY_25))
    assert ("The doorbell stated production on, flash NOT encrypted, secure boot on (esp32s3): unless production, flash encryption"
            " and secure boot are all on, its owner can read its signing key and could have signed any of these records himself.") in limits_text(text)


def test_claim_answers_for_the_moment_first(logs, chromium, tmp_path):
    text, widths = chromium.open(report(logs["door"], tmp_path, "--claim", "2026-06-25T10:05Z", "--window", "10"))
    t = norm(text)
    claim = t[t.index("At the claimed delivery time"):t.index("What this shows")]
    assert t.index("At the claimed delivery time") < t.index("What the records show")
    assert ("At the claimed delivery time, 2026-06-25 10:05:00 UTC, the doorbell was running (its records just before and after are"
            " ") in claim and "; 2 events within 10 min of it." in claim
    ring, code = claim.index("At 10:03:00 UTC: Bell rung (photo 1)."), claim.index("accepted - code 'parcel-1' (photo 2).")
    assert ring < code  # in time order
    assert "Heartbeats around it: the last before at 10:00:00 UTC and the first after at 11:00:00 UTC." in claim
    assert "No independent timestamp covers this log: the times above are the doorbell's own clock." in claim
    assert "Lead" not in claim and len(widths) == 2 and all(widths)  # the day's photos are in the timeline
    assert "Between 00:00 and 24:00 UTC on 25 June 2026" in t  # the period defaults to the claim's day


def test_claim_in_a_gap(logs, chromium, tmp_path):
    text, _ = chromium.open(report(logs["gap"], tmp_path, "--claim", "2026-06-25T13:30Z"))
    t = norm(text)
    assert "At the claimed delivery time, 2026-06-25 13:30:00 UTC, the doorbell was NOT seen running: no verified record from 12:00 to 15:01" in t
    assert "GAP around the claimed time: no verified record from 2026-06-25 12:00:00 to 2026-06-25 15:01:00 UTC (3 h 1 min" in t
    assert "No ring, code or other event within 15 min of 2026-06-25 13:30:00 UTC." in t


def test_claim_lists_findings_in_time_order(logs, chromium, tmp_path):
    root = str(tmp_path / "log")
    shutil.copytree(logs["door"], root)
    p = os.path.join(root, "records", "00000000.jsonl")
    ls = open(p, "rb").read().split(b"\n")[:-1]
    i = next(i for i, x in enumerate(ls) if json.loads(x)["ev"] == "ring")
    ls[i] = ls[i].replace(b'"ring"', b'"rang"')
    open(p, "wb").write(b"".join(x + b"\n" for x in ls))
    text, _ = chromium.open(report(root, tmp_path, "--claim", "2026-06-25T10:05Z", expect=1))
    t = norm(text)
    claim = t[t.index("At the claimed delivery time"):t.index("What this shows")]
    sig, chain = claim.index("FAILED: record %d" % i), claim.index("FAILED: record %d" % (i + 1))
    assert sig < chain, claim


@pytest.mark.parametrize("argv,says", [
    (["--claim", "at noon"], "--claim 'at noon' is not a time I can read"),
    (["--claim", "2026-06-25T10:05Z", "--window", "0"], "--window must be a whole number of minutes from 1 to 1440"),
])
def test_bad_claim(logs, tmp_path, capsys, argv, says):
    from doorstep_tools.cli import main

    assert main(["report", logs["door"], *argv, "-o", str(tmp_path / "r.html")]) == 2
    assert says in capsys.readouterr().err
