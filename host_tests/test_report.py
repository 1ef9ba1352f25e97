"""`doorstep report` and its evidence bundle, on logs made by the firmware on the virtual board.

Each report is opened in headless Chromium: the statements are checked in the text the
browser renders, and every photo must decode there (naturalWidth > 0). The bundle is
unzipped and re-verified the way a third party would: its own verify_bundle.py in a fresh
Python process, and one record by hand with the README's OpenSSL commands.
"""

import asyncio
import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from doorstep_tools.bundle_verify import MODULES
from doorstep_tools.cli import main
from doorstep_tools.report import parse_period
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from doorstep_tools.virtual.scene import make_renderer
from fakes import CutStorage, PowerCut
from scenarios.device import CODE, T0, new_device

HOUR = 3600 * 1000
DAY_25 = ("--from", "2026-06-25T09:00Z", "--to", "2026-06-25T18:00Z")  # T0 is 2026-06-25T09:00Z
CHROMIUM = "/usr/bin/chromium"


# Logs made by the firmware (real signatures, real JPEGs from the scene renderer)


def pictured(dev):
    dev.board.camera.render = make_renderer(dev.board.clock)
    return dev


async def start(root, t=T0 - 3600):
    return pictured(await new_device(root, t=t))


async def restart(root, t):
    """Power back on after a cut: a new board (its clock at t), the same flash."""
    dev = pictured(VirtualDevice(root, VirtualBoard(t, "host")))
    await dev.boot()
    return dev


def make_log(tmp_path_factory, name, session):
    root = str(tmp_path_factory.mktemp(name))
    asyncio.run(session(root))
    return root


def pulled(device_root, dest):
    """What `doorstep pull` leaves: records, photos, quarantine and device.json (no secrets)."""
    os.makedirs(dest)
    for sub in ("records", "photos", "quarantine"):
        if os.path.isdir(os.path.join(device_root, sub)):
            shutil.copytree(os.path.join(device_root, sub), os.path.join(dest, sub))
    with open(os.path.join(dest, "records", "00000000.jsonl")) as f:
        g = json.loads(f.readline())
    with open(os.path.join(dest, "device.json"), "w") as f:
        json.dump({"pub": g["pub"], "dev": g["dev"]}, f)
    return str(dest)


async def quiet_day(root):
    dev = await start(root)  # 08:00
    await dev.advance(11 * HOUR)  # heartbeats only, 09:00 to 19:00


async def door_day(root):
    dev = await start(root)
    await dev.advance(2 * HOUR + 3 * 60000)  # 10:03
    dev.app.door.codes.add(CODE, "parcel-1")
    await dev.ring()
    await dev.press(CODE + "#")
    await dev.advance(9 * HOUR)


async def off_for_three_hours(root):
    dev = await start(root)
    await dev.advance(4 * HOUR + 60000)  # last heartbeat 12:00, then the power goes
    dev = await restart(root, dev.board.clock.now() + 3 * 3600)  # back at 15:01
    await dev.advance(4 * HOUR)


async def troubled_day(root):
    dev = await start(root)
    await dev.advance(HOUR + 60000)  # 09:01
    dev.board.camera.mode = "fail"
    await dev.ring()
    dev.board.camera.mode = "ok"
    for _ in range(3):
        await dev.press("0000#")  # three wrong codes: the keypad locks
    await dev.advance(61000)  # the lockout ends with the next key or poll
    dev.board.intercom_on = True
    await dev.advance(1000)
    await dev.press("123456#")  # typed while the intercom is in use: refused as relayed
    dev.board.intercom_on = False
    dev.app.door.remote("mqtt", "reveal", dev.board.clock.ticks_ms())
    await dev.advance(1000)
    # a power cut while the next record is being written: recovered at the next boot
    dev.board.camera.mode = "none"  # no photo: the cut tears the record line itself
    cut = CutStorage(root, 150)
    dev.app.storage = dev.app.rec.storage = dev.app.ledger.storage = cut
    try:
        await dev.ring()
    except PowerCut:
        pass
    dev = await restart(root, dev.board.clock.now() + 60)  # 09:03
    dev.app.door.budget.quiet_ms = 0  # each ring a visit of its own (no burst aggregation)
    await dev.advance(60000)
    await dev.ring()  # 09:04
    dev.board.camera.mode = "frozen"
    await dev.ring()  # the same frame again
    await dev.advance(2 * HOUR)


async def clock_not_set(root):
    dev = pictured(await new_device(root, t=None))
    await dev.advance(60000)
    await dev.ring()
    await dev.advance(5 * 60000)
    dev.app.set_time(T0, "ntp")
    await dev.advance(2 * HOUR)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    out = {}
    for name, session in (("quiet", quiet_day), ("door", door_day), ("gap", off_for_three_hours), ("trouble", troubled_day), ("noclock", clock_not_set)):
        raw = make_log(tmp_path_factory, name + "-device", session)
        out[name + "-device"] = raw
        out[name] = pulled(raw, tmp_path_factory.mktemp(name + "-pulled") / "log")
    return out


def records(root):
    out = []
    for name in sorted(os.listdir(os.path.join(root, "records"))):
        with open(os.path.join(root, "records", name), "rb") as f:
            out += [json.loads(x) for x in f.read().split(b"\n") if x]
    return out


# Headless Chromium


class Browser:
    """Opens a page in headless Chromium and returns what it renders: the body's text as
    laid out (innerText) and the naturalWidth of every image (0 = did not decode)."""

    PROBE = (
        "<script>window.addEventListener('load', function () {"
        "var w = Array.prototype.map.call(document.images, function (i) { return i.naturalWidth; }).join(' ');"
        "var t = document.body.innerText;"
        "var a = document.createElement('pre'); a.id = 'probe-widths'; a.textContent = w; document.body.appendChild(a);"
        "var b = document.createElement('pre'); b.id = 'probe-text'; b.textContent = t; document.body.appendChild(b);"
        "});</script>"
    )

    def __init__(self, exe, work):
        self.exe, self.work, self.n = exe, str(work), 0

    def open(self, page):
        self.n += 1
        path = os.path.join(self.work, "page%d.html" % self.n)
        with open(path, "w", encoding="utf-8") as f:
            f.write(page.replace("</body>", self.PROBE + "</body>"))
        cmd = [self.exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--user-data-dir=" + os.path.join(self.work, "profile"), "--dump-dom", "file://" + path]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        widths = re.search(r'<pre id="probe-widths">([^<]*)</pre>', r.stdout)
        text = re.search(r'<pre id="probe-text">([^<]*)</pre>', r.stdout)
        assert widths and text, "the probe did not run: %s" % r.stdout[-500:]
        return html.unescape(text.group(1)), [int(x) for x in widths.group(1).split()]


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        r = subprocess.run("apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium",
                           shell=True, capture_output=True, text=True, timeout=1200)
        if r.returncode or not os.path.exists(CHROMIUM):
            pytest.fail("these tests open the report in headless Chromium, which could not be installed: "
                        "run `apt-get install chromium` as root.\n" + r.stderr[-1000:])
    b = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium"))
    # The probe can tell a broken image from a good one.
    good = "data:image/png;base64," + base64.b64encode(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")).decode()
    text, widths = b.open('<html><body><p>probe ok</p><img src="data:image/jpeg;base64,AAAA"><img src="%s"></body></html>' % good)
    assert "probe ok" in text and widths == [0, 1], widths
    return b


def report(root, tmp_path, *period, expect=0, bundle=None):
    out = str(tmp_path / ("report%d.html" % len(os.listdir(tmp_path))))
    argv = ["report", root, *period, "-o", out]
    if bundle:
        argv += ["--bundle", bundle]
    assert main(argv) == expect
    with open(out, encoding="utf-8") as f:
        return f.read()


def lead(text):
    return next(line for line in text.splitlines() if line.startswith("Between "))


def norm(text):
    return re.sub(r"\s+", " ", text)


# The reports


def test_quiet_day(logs, chromium, tmp_path):
    page = report(logs["quiet"], tmp_path, *DAY_25)
    text, widths = chromium.open(page)
    assert lead(text) == ("Between 09:00 and 18:00 UTC on 25 June 2026 the doorbell was running "
                          "(heartbeats every 60 min, no gap); no delivery code was typed at the door; the bell was not rung.")
    assert "Verified: all" in text and "FAILED" not in text
    assert "All times are UTC" in text
    beats = [r for r in records(logs["quiet"]) if r["ev"] == "heartbeat" and T0 <= r["t"] <= T0 + 9 * 3600]
    assert len(beats) == 10
    assert text.count("Heartbeat: running") == len(beats)
    assert "10 heartbeats in this period (one is due every 60 min: measured from the heartbeats in this log)." in text
    assert widths == []
    # self-contained: nothing is fetched from anywhere
    assert "<script" not in page and not re.search(r"""(src|href)=["'](?!data:)""", page)


def test_ring_and_accepted_code(logs, chromium, tmp_path):
    page = report(logs["door"], tmp_path, *DAY_25)
    text, widths = chromium.open(page)
    assert lead(text) == ("Between 09:00 and 18:00 UTC on 25 June 2026 the doorbell was running (heartbeats every 60 min, no gap); "
                          "a code was typed at the door once (1 accepted, 0 refused); the bell was rung once at 10:03 (photo 1).")
    assert "At 10:03: a code was typed at the keypad (6 digits): accepted - code 'parcel-1' (photo 2)." in text
    assert len(widths) == 2 and all(w == 320 for w in widths), widths  # the scene renderer's JPEGs, decoded
    # the photos are the device's files, byte for byte
    uris = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', page)
    recs = [r for r in records(logs["door"]) if r.get("photo")]
    for uri, rec in zip(uris, recs):
        with open(os.path.join(logs["door"], rec["photo"]["file"]), "rb") as f:
            assert base64.b64decode(uri) == f.read()
    assert CODE not in page


def test_heartbeat_gap_is_stated(logs, chromium, tmp_path):
    page = report(logs["gap"], tmp_path, "--from", "2026-06-25T09:00Z", "--to", "2026-06-25T19:00Z")
    text, _ = chromium.open(page)
    assert lead(text).startswith("Between 09:00 and 19:00 UTC on 25 June 2026 the doorbell was NOT seen running the whole time "
                                 "(heartbeats every 60 min; 1 gap, see below); no delivery code was typed at the door while it was recording")
    assert ("GAP: no record for 3 h 1 min, from 12:00 to 15:01 (heartbeats are due every 60 min): "
            "the doorbell was off or could not record; it restarted at 15:01.") in text
    assert "The doorbell restarted at 15:01 (boot 2, reason: power_on; the run before did not end cleanly" in text


def test_a_forged_record_does_not_close_a_gap(logs, chromium, tmp_path):
    root = str(tmp_path / "log")
    shutil.copytree(logs["gap"], root)
    p = os.path.join(root, "records", "00000000.jsonl")
    lines = open(p, "rb").read().split(b"\n")[:-1]
    i = next(i for i, x in enumerate(lines) if json.loads(x)["ev"] == "boot" and json.loads(x)["boot"] == 2)
    rec = json.loads(lines[i])
    rec["t"] -= 2 * 3600  # claim the doorbell was back at 13:01
    lines[i] = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
    open(p, "wb").write(b"".join(x + b"\n" for x in lines))
    text, _ = chromium.open(report(root, tmp_path, "--from", "2026-06-25T09:00Z", "--to", "2026-06-25T19:00Z", expect=1))
    # Records that fail verification are no evidence of life: neither the forged start nor
    # the next heartbeat, whose chain link the forgery broke, close the gap.
    assert ("GAP: no record for 5 h 1 min, from 12:00 to 17:01 (heartbeats are due every 60 min): the doorbell was off "
            "or could not record (2 records in between FAILED verification and do not count).") in text
    assert "The doorbell restarted at 13:01" in text and "- this record FAILED verification." in text


def test_tampered_log_is_flagged_at_the_top_and_still_listed(logs, chromium, tmp_path, capsys):
    root = str(tmp_path / "log")
    shutil.copytree(logs["door"], root)
    p = os.path.join(root, "records", "00000000.jsonl")
    lines = open(p, "rb").read().split(b"\n")[:-1]
    i = next(i for i, x in enumerate(lines) if json.loads(x)["ev"] == "ring")
    rec = json.loads(lines[i])
    rec["t"] += 600  # move the ring by 10 minutes
    lines[i] = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
    open(p, "wb").write(b"".join(x + b"\n" for x in lines))
    page = report(root, tmp_path, *DAY_25, expect=1)
    assert "did NOT verify" in capsys.readouterr().err
    text, widths = chromium.open(page)
    top = text.index("VERIFICATION FAILED")
    assert top < text.index("What the records show") < text.index("Timeline")
    assert "the bell was rung once at 10:13 (photo 1; this record FAILED verification)" in lead(text)
    assert "FAILED: the signature does not verify" in text
    # everything is still listed: one timeline row per record in the period
    in_period = [r for r in records(root) if T0 <= r["t"] <= T0 + 9 * 3600]
    assert len(re.findall(r"<tr class=", page)) == len(in_period)
    assert len(widths) == 2 and all(widths)


def test_hostile_record_fields_do_not_break_the_report(logs, chromium, tmp_path):
    """A forged record with fields of the wrong type, or a photo path outside photos/, is
    listed as FAILED; nothing outside the log folder is embedded."""
    root = str(tmp_path / "log")
    shutil.copytree(logs["trouble"], root)
    with open(tmp_path / "secret.jpg", "wb") as f:
        f.write(b"\xff\xd8not-a-photo-of-the-door")
    p = os.path.join(root, "records", "00000000.jsonl")
    lines = open(p, "rb").read().split(b"\n")[:-1]
    for i, x in enumerate(lines):
        rec = json.loads(x)
        if rec["ev"] == "ring":
            rec.update(ms="x", photo={"file": "../../secret.jpg", "sha256": 5, "size": "big"}, photo_flag=["?"])
        elif rec["ev"] == "lockout_start":
            rec.update(duration_s="forever", level=None)
        elif rec["ev"] == "heartbeat":
            rec.update(counts=[1, 2], free="lots", since="x")
        elif rec["ev"] == "attempt":
            rec.update(t="soon", used_at="then", outcome=7)
        else:
            continue
        lines[i] = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
    open(p, "wb").write(b"".join(x + b"\n" for x in lines))
    page = report(root, tmp_path, "--from", "2026-06-25", "--to", "2026-06-25", expect=1)
    text, widths = chromium.open(page)
    assert "VERIFICATION FAILED" in text and "clock not set" in text
    assert "photo ../../secret.jpg is missing from the log folder" in text
    assert base64.b64encode(b"\xff\xd8not-a-photo").decode()[:12] not in page
    assert all(widths)


def test_torn_tail_is_stated(logs, chromium, tmp_path):
    root = str(tmp_path / "log")
    shutil.copytree(logs["door"], root)
    with open(os.path.join(root, "records", "00000000.jsonl"), "ab") as f:
        f.write(b'{"boot":1,"dev":"')  # a power cut while the device was writing
    text, _ = chromium.open(report(root, tmp_path, *DAY_25))
    assert "The pulled log ends with a torn record: torn tail: 17 bytes after the last complete record" in norm(text)
    assert "Verified: all" in text  # a notice, not a failure: the device cuts it at its next boot


def test_empty_period_outside_the_log(logs, chromium, tmp_path):
    text, _ = chromium.open(report(logs["quiet"], tmp_path, "--from", "2026-06-24", "--to", "2026-06-24"))
    assert "No records at all fall between 00:00 and 24:00 UTC on 24 June 2026." in text
    assert "this log does not cover that period at all" in lead(text)
    assert "cannot say whether a code was typed or the bell rung" in lead(text)
    assert "No records in this period." in text


def test_empty_period_between_heartbeats(logs, chromium, tmp_path):
    text, _ = chromium.open(report(logs["quiet"], tmp_path, "--from", "2026-06-25T09:10:00Z", "--to", "2026-06-25T09:50:00Z"))
    assert "No records at all fall between 09:10 and 09:50 UTC on 25 June 2026." in text
    assert "the doorbell was running (heartbeats every 60 min, no gap); no delivery code was typed at the door" in lead(text)
    assert "at 09:00 and 10:00, are less than 1 h 6 min apart: it was running, and nothing happened at the door." in text


def test_faults_are_stated(logs, chromium, tmp_path):
    text, widths = chromium.open(report(logs["trouble"], tmp_path, "--from", "2026-06-25", "--to", "2026-06-25"))
    t = norm(text)
    assert "Camera problem at 09:01 (ring): no photo: camera: camera not responding." in t
    assert "a code was typed at the door 4 times (0 accepted, 4 refused)" in t
    assert t.count("a code was typed at the keypad (4 digits): refused: wrong code (photo") == 3
    assert "the keypad was locked for 1 min after repeated wrong codes (photo" in t
    assert "the keypad lockout ended" in t
    assert "a code was typed at the keypad (6 digits) REFUSED as a possible relay: the intercom was in use" in t
    assert "At 09:02: a request over mqtt to read a code was refused (codes are accepted only at the keypad)." in t
    assert "At 09:03: at start-up the doorbell found a record torn by a power cut (" in t
    assert ("The doorbell restarted at 09:03 (boot 2, reason: power_on; the run before did not end cleanly "
            "(power cut, crash or watchdog); its last record before was at 09:02, so it was not recording for up to 1 min).") in t
    assert "The doorbell started for the first time at 08:00, after it was set up." in t
    assert "the bell was rung 3 times at 09:01 (no photo: camera: camera not responding), 09:04 (photo 7), 09:04 (photo 8: this photo is identical to the one before (camera frozen?))" in t
    assert widths and all(widths)


def test_records_without_time_are_shown_with_boot_and_uptime(logs, chromium, tmp_path):
    text, widths = chromium.open(report(logs["noclock"], tmp_path, "--from", "2026-06-25", "--to", "2026-06-25"))
    t = norm(text)
    assert "the bell was rung once at an unknown time (clock not set: boot 1, 0:01:0" in t
    assert "before 09:00" in t  # placed by the chain: before the clock was set
    assert "clock not set boot 1, 0:01:0" in t  # its timeline row
    assert "Clock set from not set to 2026-06-25 09:00:00 UTC (source: ntp)" in t
    assert widths and all(widths)


# Input the homeowner can get wrong


@pytest.mark.parametrize("argv,says", [
    (["--from", "2026-06-25T18:00Z", "--to", "2026-06-25T09:00Z"], "the period is reversed or empty"),
    (["--from", "yesterday"], "is not a time I can read: write it in UTC like 2026-06-25T09:00Z"),
    (["--to", "2026-13-01"], "is not a time I can read"),
])
def test_bad_period(logs, tmp_path, capsys, argv, says):
    out = tmp_path / "r.html"
    assert main(["report", logs["quiet"], *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
    assert not out.exists()


def test_missing_folder_and_no_records(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere"), "-o", str(tmp_path / "r.html")]) == 2
    assert "is not a folder. Give the folder `doorstep pull --out` wrote" in capsys.readouterr().err
    (tmp_path / "empty" / "records").mkdir(parents=True)
    assert main(["report", str(tmp_path / "empty"), "-o", str(tmp_path / "r.html")]) == 2
    assert "has no records (records/*.jsonl). Run `doorstep pull" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_period_formats():
    assert parse_period("2026-06-25T09:00Z", "2026-06-25T18:00:00Z") == (T0, T0 + 9 * 3600)
    assert parse_period("2026-06-25", "2026-06-25") == (T0 - 9 * 3600, T0 + 15 * 3600 - 1)  # the whole day
    assert parse_period(None, None) == (None, None)


# The evidence bundle


@pytest.fixture(scope="module")
def bundle(logs, tmp_path_factory):
    """A bundle made from the device's own folder (which also holds its secrets)."""
    d = tmp_path_factory.mktemp("bundle")
    zpath = str(d / "evidence.zip")
    page = report(logs["door-device"], d, *DAY_25, bundle=zpath)
    with zipfile.ZipFile(zpath) as z:
        names = z.namelist()
        z.extractall(d / "x")
    return str(d / "x" / "evidence"), names, page


def test_bundle_holds_the_log_key_report_and_no_secrets(bundle, logs):
    folder, names, page = bundle
    recs = records(logs["door-device"])
    photos = sorted("evidence/" + r["photo"]["file"] for r in recs if r.get("photo"))
    assert sorted(names) == sorted(["evidence/records/00000000.jsonl", *photos, "evidence/pub.hex", "evidence/pub.pem",
                                    "evidence/report.html", "evidence/bundle.json", "evidence/verify_bundle.py", "evidence/README.txt",
                                    *("evidence/" + m for m in MODULES)])
    for secret in ("key.bin", "secret.bin", "codes.json", "boot.json"):
        assert not any(n.endswith(secret) for n in names)
    with open(os.path.join(folder, "report.html"), encoding="utf-8") as f:
        assert f.read() == page
    with open(os.path.join(folder, "pub.pem"), "rb") as f:
        key = load_pem_public_key(f.read())
    assert key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex() == recs[0]["pub"]
    with open(os.path.join(folder, "pub.hex")) as f:
        assert f.read().strip() == recs[0]["pub"]


def run_verifier(folder, *args):
    r = subprocess.run([sys.executable, "verify_bundle.py", *args], cwd=folder, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def test_bundle_verifies_with_its_own_script(bundle, tmp_path):
    folder, _, _ = bundle
    rc, out = run_verifier(folder)
    assert rc == 0, out
    assert re.search(r"OK: \d+ records verified \(seq 0 to \d+\), signed with the key from pub.hex, NOT confirmed \(([0-9a-f]{8} ){7}[0-9a-f]{8},"
                     r" device [0-9a-f]{16}\); signatures, chain and photos intact; 2 photos match\.", out), out
    assert "The key from pub.hex came with the log" in out
    # and it catches tampering: an edited record, a swapped photo, a deleted line
    for damage in ("edit", "photo", "delete"):
        copy = str(tmp_path / damage)
        shutil.copytree(folder, copy)
        p = os.path.join(copy, "records", "00000000.jsonl")
        lines = open(p, "rb").read().split(b"\n")[:-1]
        if damage == "edit":
            lines[2] = lines[2].replace(b'"boot":1', b'"boot":7')
        elif damage == "delete":
            del lines[3]
        else:
            a, b = sorted(os.listdir(os.path.join(copy, "photos")))
            os.replace(os.path.join(copy, "photos", a), os.path.join(copy, "photos", b))
        open(p, "wb").write(b"".join(x + b"\n" for x in lines))
        rc, out = run_verifier(copy)
        assert rc == 1 and "FAILED" in out, (damage, out)
        expect = {"edit": "the signature does not verify", "delete": "the chain is broken", "photo": "is missing"}[damage]
        assert expect in out, (damage, out)


def readme_commands(folder, section):
    """The `$ ...` lines of a numbered README section, as a shell script."""
    with open(os.path.join(folder, "README.txt")) as f:
        text = f.read()
    part = text.split("\n%d. " % section, 1)[1].split("\n%d. " % (section + 1), 1)[0]
    return [line.strip()[2:] for line in part.splitlines() if line.strip().startswith("$ ")]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl on this machine")
def test_bundle_readme_openssl_check_works(bundle, tmp_path):
    folder, _, _ = bundle
    work = str(tmp_path / "by-hand")
    shutil.copytree(folder, work)
    cmds = readme_commands(work, 2)
    assert cmds[-1] == "openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg.bin -sigfile sig.bin"
    if shutil.which("xxd") is None:  # the README's fallback
        m = re.search(r"verify_bundle.py --extract (\d+)", open(os.path.join(work, "README.txt")).read())
        cmds = ["%s verify_bundle.py --extract %s" % (sys.executable, m.group(1)), cmds[-1]]
    r = subprocess.run(["bash", "-ec", "\n".join(cmds)], cwd=work, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Signature Verified Successfully" in r.stdout, r.stdout + r.stderr
    # the same bytes as the script's --extract, and a changed byte fails
    msg = open(os.path.join(work, "msg.bin"), "rb").read()
    seq = int(re.search(r"Record seq (\d+)", open(os.path.join(work, "README.txt")).read()).group(1))
    assert run_verifier(work, "--extract", str(seq))[0] == 0
    assert open(os.path.join(work, "msg.bin"), "rb").read() == msg
    open(os.path.join(work, "msg.bin"), "wb").write(msg.replace(b'"ring"', b'"rang"'))
    r = subprocess.run(["bash", "-ec", cmds[-1]], cwd=work, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "Signature Verified Successfully" not in r.stdout


def test_bundle_readme_chain_and_photo_checks_work(bundle):
    folder, _, _ = bundle
    cmds = readme_commands(folder, 3)
    outs = [subprocess.run(["bash", "-ec", c], cwd=folder, capture_output=True, text=True, timeout=60).stdout.strip() for c in cmds]
    prev_line_hash, prev_field, photo_hash, photo_field = outs
    assert prev_field == '"prev":"%s"' % prev_line_hash.split()[0]
    assert photo_field == '"sha256":"%s"' % photo_hash.split()[0]


def test_bundle_holds_only_the_periods_photos(logs, tmp_path):
    zpath = str(tmp_path / "morning.zip")
    report(logs["door"], tmp_path, "--from", "2026-06-25T08:00Z", "--to", "2026-06-25T10:00Z", bundle=zpath)
    with zipfile.ZipFile(zpath) as z:
        names = z.namelist()
        z.extractall(tmp_path / "x")
    assert not [n for n in names if "/photos/" in n]
    assert "morning/device.json" in names
    rc, out = run_verifier(str(tmp_path / "x" / "morning"))
    assert rc == 0 and "0 photos match" in out, out
