"""`doorstep handover add/list/revoke/reset` against a `sim:` device, and the interactive
simulator's display in a pseudo-terminal: the carrier code reaches the door's display,
once, and no file, record or command output (but the simulated display itself).
"""

import argparse
import os
import pty
import re
import select
import subprocess
import time

import pytest

from test_cli_sim import CLOCK, DAY, DOORSTEP, Home, files

CARRIER = "QX7-5519-KD"  # the carrier's code: letters too, never found by chance
CHALLENGE = "73150864"


@pytest.fixture
def home(tmp_path):
    h = Home(tmp_path)
    h.sim(CLOCK)
    h.run("provision", "--device", h.dev)
    return h


def test_handover_is_shown_once_and_only_on_the_display(home):
    h = home
    out = h.run("handover", "add", "amazon-0625", "--challenge", CHALLENGE, "--until", DAY, "--device", h.dev,
                stdin=CARRIER + "\n").stdout
    assert "Registered the carrier code for 'amazon-0625' from now to 2026-06-26 00:00:00 UTC" in out
    assert "waiting" in h.run("handover", "list", "--device", h.dev).stdout
    shown = h.sim(CLOCK, "keys *%s#" % CHALLENGE, "advance 29s", "advance 2s")
    lines = shown.splitlines()
    code_at = [i for i, ln in enumerate(lines) if ln.startswith("display: ") and CARRIER in ln]
    assert len(code_at) == 1, shown
    assert "display: Code for | amazon-0625: |  | " + CARRIER in lines[code_at[0]]
    assert "display: (blank)" in lines[code_at[0] + 1:].__str__()
    assert " handover " in shown and "label=amazon-0625" in shown
    listed = h.run("handover", "list", "--device", h.dev).stdout
    assert "amazon-0625" in listed and "shown at the door at 2026-06-25 10:00" in listed, listed
    again = h.sim(CLOCK, "keys *%s#" % CHALLENGE)
    assert CARRIER not in again and "door shows: wrong" in again
    h.run("handover", "reset", "amazon-0625", "--device", h.dev)
    assert CARRIER in h.sim(CLOCK, "keys *%s#" % CHALLENGE)
    h.run("handover", "revoke", "amazon-0625", "--device", h.dev)
    assert "No handover codes" in h.run("handover", "list", "--device", h.dev).stdout
    kinds = [r["ev"] for r in h.records()]
    assert [k for k in kinds if k.startswith("handover")] == ["handover_added", "handover", "handover_reset", "handover", "handover_revoked"], kinds
    assert "OK: " in h.run("verify", h.state).stdout
    # the report says it in plain words; the pull and the bundle hold no code (checked below)
    log = h.tmp / "log"
    h.run("pull", "--device", h.dev, "--out", log)
    h.run("report", log, "-o", h.tmp / "report.html", "--bundle", h.tmp / "evidence.zip")
    page = (h.tmp / "report.html").read_text()
    said = re.findall(r"The code for amazon-0625 was shown to the person in photo (\d+) at the door at ([^.<]+)", page)
    shots = [r["photo"]["file"] for r in h.records() if r["ev"] == "handover"]
    assert len(said) >= 2 and len(shots) == 2, said
    assert "10:00" in said[0][1], said
    assert not (log / "handover.json").exists()
    # every output but the simulated display's own lines, and every file here and on the device
    h.said = [s for s in h.said if "display: " not in s]
    h.assert_no_digits(CARRIER, CHALLENGE)


@pytest.mark.parametrize("argv, stdin, says", [
    (["--challenge", "12"], CARRIER, "4 to 8 digits"),
    (["--challenge", "12a45"], CARRIER, "4 to 8 digits"),
    ([], CARRIER, "--tracking NUMBER"),
    (["--challenge", "1234", "--tracking", "1Z99"], CARRIER, "not both"),
    (["--tracking", "AB-12"], CARRIER, "fewer than 4 digits"),
    (["--challenge", "55443"], "", "4 to 16 letters"),
    (["--challenge", "55443"], "ab cd ef", "4 to 16 letters"),
])
def test_bad_handovers_change_nothing(home, argv, stdin, says):
    home.refused("handover", "add", "parcel", *argv, "--device", home.dev, stdin=stdin + "\n", says=says)


def test_label_holding_the_code_is_refused(home):
    home.refused("handover", "add", "box-" + CARRIER, "--challenge", "55443", "--device", home.dev,
                 stdin=CARRIER + "\n", says="must not contain the code")
    home.refused("handover", "revoke", "nope", "--device", home.dev, says="`doorstep handover list")


def test_the_challenge_is_the_tracking_numbers_last_four_digits():
    from doorstep_tools.handover_cmds import challenge_of

    ns = argparse.Namespace(challenge=None, tracking="1Z 999 AA1 0123 4567 84")
    assert challenge_of(ns) == "6784"


def _read_until(fd, want, timeout=60):
    buf, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            if want.encode() in buf:
                return buf.decode(errors="replace")
    raise AssertionError("%r never appeared in:\n%s" % (want, buf.decode(errors="replace")))


def test_the_interactive_simulator_shows_the_display_in_a_terminal(home):
    h = home
    h.run("handover", "add", "dhl-0625", "--challenge", CHALLENGE, "--device", h.dev, stdin=CARRIER + "\n")
    main, sub = pty.openpty()
    p = subprocess.Popen([DOORSTEP, "sim", "--state", str(h.state)], stdin=sub, stdout=sub, stderr=sub,
                         env=h.env, cwd=str(h.tmp), close_fds=True)
    os.close(sub)
    try:
        _read_until(main, "keys: 0-9")
        time.sleep(0.5)  # the keypad scanner sees the keypad idle before the first press
        os.write(main, b"*")
        _read_until(main, "display: Handover: type")
        before = files(h.state)
        for ch in CHALLENGE + "#":
            os.write(main, ch.encode())
            time.sleep(0.05)
        seen = _read_until(main, CARRIER)
        assert "display: Code for | dhl-0625:" in seen
        assert CHALLENGE not in seen  # the typed digits show as dots
        os.write(main, b"q")
        _read_until(main, "doorstep verify")
    finally:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()  # only the simulator this test started
            p.wait()
        os.close(main)
    assert files(h.state) != before  # the handover was recorded
    assert "handover" in [r["ev"] for r in h.records()]
