"""The virtual board (`doorstep vboard`): real mpremote against firmware under MicroPython 1.27.

Every REPL interaction here goes through the real `mpremote` command over TCP (or a pty);
keys reach the firmware only through the virtual keypad matrix on the control port.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from doorstep_tools.mpvm import repo_root
from doorstep_tools.vboard import VBoard

ROOT = repo_root()
BIN = os.path.dirname(sys.executable)
MPREMOTE = os.path.join(BIN, "mpremote")
CODE = "4827"

pytestmark = pytest.mark.skipif(not shutil.which("node"), reason="Node.js is needed for the virtual board (make setup)")


def mpr(url, *args, timeout=60):
    return subprocess.run([MPREMOTE, "connect", url, *args], capture_output=True, text=True, timeout=timeout)


def ok(url, *args):
    r = mpr(url, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def wait_for(pred, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def provisioned_flash(state):
    """A flash folder holding the firmware and a device key, made with the firmware's own
    code on CPython (deploy and provision over mpremote are tested in test_deploy/test_e2e)."""
    from doorstep.provision import provision
    from doorstep.storage import Storage

    shutil.copytree(os.path.join(ROOT, "firmware", "doorstep"), os.path.join(state, "doorstep"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    provision(Storage(str(state)), os.urandom, int(time.time()), "host", "")


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    state = tmp_path_factory.mktemp("vboard-flash")
    provisioned_flash(state)
    b = VBoard(str(state)).start()
    yield b
    b.stop()


@pytest.fixture()
def bare(tmp_path):
    """A board with an empty flash (no firmware)."""
    b = VBoard(str(tmp_path / "flash")).start()
    yield b
    b.stop()


def restart_app(b):
    """Reset as the button does; the app comes up again (mpremote stopped it)."""
    assert b.control(reset="hard")["ok"]
    assert wait_for(lambda: b.control(status=True)["app"] == "running", 10), b.control(status=True)


# REPL protocol through the real mpremote


def test_exec_eval_run(bare, tmp_path):
    assert ok(bare.url, "exec", "print(6 * 7)").strip() == "42"
    assert ok(bare.url, "eval", "1 + 2").strip() == "3"
    script = tmp_path / "s.py"
    script.write_text("import sys\nprint('running on', sys.platform, sys.implementation._mpy & 0xFF)\n")
    assert ok(bare.url, "run", str(script)).strip() == "running on webassembly 6"
    # A program's error comes back as mpremote's error, and the board keeps answering.
    r = mpr(bare.url, "exec", "raise ValueError('boom')")
    assert r.returncode != 0 and "ValueError: boom" in r.stdout + r.stderr
    assert ok(bare.url, "eval", "'still here'").strip() == "still here"


def test_files_both_ways_and_the_state_folder_follows(bare, tmp_path):
    state = bare.state
    data = os.urandom(5000) + bytes(range(256))
    src = tmp_path / "blob.bin"
    src.write_bytes(data)
    ok(bare.url, "fs", "mkdir", ":d")
    ok(bare.url, "fs", "cp", str(src), ":d/blob.bin")
    # The board's flash is the state folder: the file is there, byte for byte.
    assert wait_for(lambda: read(os.path.join(state, "d", "blob.bin")) == data)
    back = tmp_path / "back.bin"
    ok(bare.url, "fs", "cp", ":d/blob.bin", str(back))
    assert back.read_bytes() == data
    assert re.search(r"^\s*%d blob\.bin$" % len(data), ok(bare.url, "fs", "ls", ":d"), re.M)
    assert ok(bare.url, "fs", "sha256sum", ":d/blob.bin").split()[-1] == __import__("hashlib").sha256(data).hexdigest()
    ok(bare.url, "exec", "open('t.txt', 'w').write('hello flash')")
    assert ok(bare.url, "fs", "cat", ":t.txt") == "hello flash"
    assert wait_for(lambda: read(os.path.join(state, "t.txt")) == b"hello flash")
    # MicroPython's errno numbers (the WASM VFS has its own): mpremote names the error.
    r = mpr(bare.url, "fs", "mkdir", ":d")
    assert r.returncode == 1 and "File exists" in r.stderr
    r = mpr(bare.url, "fs", "rm", ":nothing-here")
    assert r.returncode == 1 and "No such file or directory" in r.stderr
    assert ok(bare.url, "exec", "import os, errno\ntry:\n os.stat('nope')\nexcept OSError as e:\n print(e.errno == errno.ENOENT)").strip() == "True"
    # Removing on the board removes from the folder.
    ok(bare.url, "fs", "rm", "-r", ":d")
    assert wait_for(lambda: not os.path.exists(os.path.join(state, "d")))
    assert os.path.exists(os.path.join(state, "t.txt"))


def test_soft_reset_keeps_the_flash_and_starts_a_fresh_interpreter(bare):
    # Without a reset in between, one mpremote session keeps its variables ...
    assert ok(bare.url, "exec", "marker = 42", "+", "exec", "print(marker)").strip() == "42"
    # ... a soft reset gives a fresh VM that still has the files, and says why it started.
    out = ok(bare.url, "exec", "marker = 42\nopen('kept.txt', 'w').write('yes')", "+", "soft-reset", "+",
             "exec", "import machine\nprint('marker' in globals(), open('kept.txt').read(), machine.reset_cause() == machine.SOFT_RESET)")
    assert out.split() == ["False", "yes", "True"]


def test_state_is_loaded_at_power_on_and_survives_a_restart(tmp_path):
    state = tmp_path / "flash"
    os.makedirs(state / "sub")
    (state / "sub" / "note.txt").write_bytes(b"from before")
    with VBoard(str(state)) as b:
        assert ok(b.url, "fs", "cat", ":sub/note.txt") == "from before"
        ok(b.url, "exec", "open('sub/new.txt', 'w').write('written on the board')")
    # stop() wrote the flash back; a new board on the same folder has it.
    assert (state / "sub" / "new.txt").read_bytes() == b"written on the board"
    with VBoard(str(state)) as b:
        assert ok(b.url, "fs", "cat", ":sub/new.txt") == "written on the board"


def test_without_raw_paste_mode_mpremote_falls_back(tmp_path):
    with VBoard(str(tmp_path / "flash"), raw_paste=False) as b:
        src = tmp_path / "f.txt"
        src.write_text("x" * 3000)
        ok(b.url, "fs", "cp", str(src), ":f.txt")
        assert ok(b.url, "eval", "len(open('f.txt').read())").strip() == "3000"


def test_a_full_flash_says_no_space(tmp_path):
    with VBoard(str(tmp_path / "flash"), flash_kb=64) as b:
        df = ok(b.url, "df").splitlines()[-1].split()
        assert df[-5:-2] == [str(64 * 1024), "8192", str(56 * 1024)], df
        big = tmp_path / "big.bin"
        big.write_bytes(os.urandom(40000))
        ok(b.url, "fs", "cp", str(big), ":a.bin")
        r = mpr(b.url, "fs", "cp", str(big), ":b.bin")
        assert r.returncode == 1 and "No space left on device" in r.stderr
        assert ok(b.url, "eval", "__import__('os').stat('a.bin')[6]").strip() == "40000"


def test_one_program_at_a_time_on_the_port(bare):
    first = socket.create_connection(("127.0.0.1", bare.repl_port))
    try:
        second = socket.create_connection(("127.0.0.1", bare.repl_port))
        second.settimeout(5)
        assert b"in use" in second.recv(200)
        second.close()
    finally:
        first.close()
    assert wait_for(lambda: mpr(bare.url, "eval", "1").returncode == 0)


# The door: firmware App on the virtual keypad


def test_no_firmware_and_unprovisioned_boards_say_so(bare):
    st = bare.control(status=True)
    assert st["ok"] and st["app"] == "no firmware"
    r = bare.control(press="1#")
    assert not r["ok"] and "no Doorstep firmware" in r["error"]


def test_a_code_typed_on_the_keypad_is_accepted_once_and_recorded(board):
    st = board.control(status=True)
    if st["app"] != "running":
        restart_app(board)
    # Register a code on the device (the homeowner's commands do this through admin.py).
    ok(board.url, "exec", "from doorstep.codes import CodeBook\nfrom doorstep.storage import Storage\n"
                          "CodeBook(Storage('')).add(%r, 'parcel', None, None)" % CODE)
    restart_app(board)
    before = len(board.records())
    r = board.press("1111#")
    assert r["ok"] and r["app"] == "running" and r["pressed"] == 5
    r = board.press(CODE + "#")
    assert r["ok"]
    r = board.press(CODE + "#")
    assert r["ok"]
    recs = [x for x in board.records()[before:] if x["ev"] == "attempt"]
    assert [(x["outcome"], x["digits"], x.get("label")) for x in recs] == [
        ("wrong", 4, None), ("accepted", 4, "parcel"), ("used", 4, "parcel")]
    assert all(x["photo"]["file"] for x in recs)
    feedback = [e["name"] for e in board.events if e.get("event") == "feedback" and e["name"] != "key"]
    assert feedback[-3:] == ["wrong", "accepted", "wrong"]
    # The records reached the state folder; the code itself is nowhere on the flash but in
    # the code book as a keyed hash.
    seg = os.path.join(board.state, "records", "00000000.jsonl")
    assert wait_for(lambda: b'"outcome":"used"' in (read(seg) or b""))
    for dirpath, _, names in os.walk(board.state):
        if "doorstep" in dirpath.split(os.sep):
            continue
        for n in names:
            assert CODE.encode() not in read(os.path.join(dirpath, n)), n


def test_mpremote_stops_the_app_and_a_reset_starts_it_again(board):
    if board.control(status=True)["app"] != "running":
        restart_app(board)
    ok(board.url, "exec", "pass")
    st = board.control(status=True)
    assert st["app"] != "running"
    before = len(board.records())
    r = board.press("9#")
    assert r["ok"] and r["app"] != "running"
    assert len(board.records()) == before  # nobody scans the keypad
    # `mpremote reset` is machine.reset(): a fresh boot that runs main.
    subprocess.run([MPREMOTE, "connect", board.url, "reset"], capture_output=True, timeout=60)
    assert wait_for(lambda: board.control(status=True)["app"] == "running", 10)
    board.press("9#")
    assert board.records()[-1]["ev"] == "attempt"


def test_time_moves_on_when_told(board):
    if board.control(status=True)["app"] != "running":
        restart_app(board)
    st = board.control(status=True)
    before = len(board.records())
    r = board.control(advance_ms=2 * 3600 * 1000)
    assert r["ok"]
    beats = [x for x in board.records()[before:] if x["ev"] == "heartbeat"]
    assert len(beats) >= 1
    st2 = board.control(status=True)
    assert st2["ms"] - st["ms"] >= 2 * 3600 * 1000
    assert st2["utc"] - st["utc"] >= 2 * 3600
    # Setting the clock far off is a recorded time jump.
    r = board.control(clock=st2["utc"] + 86400, source="ntp")
    assert r["ok"] and abs(r["utc"] - (st2["utc"] + 86400)) <= 1
    assert board.records()[-1]["ev"] == "time_set"


def test_camera_failure_and_ring(board):
    if board.control(status=True)["app"] != "running":
        restart_app(board)
    assert board.control(camera="fail")["ok"]
    assert board.control(ring=True)["ok"]
    rec = board.records()[-1]
    assert rec["ev"] == "ring" and "photo_err" in rec and "camera" in rec["photo_err"]
    assert board.control(camera="ok")["ok"]
    board.control(advance_ms=301000)  # a new visit: rings closer together are one burst
    assert board.control(ring=True)["ok"]
    assert board.records()[-1]["photo"]["size"] > 0


def test_motion_on_the_control_port_is_one_visit_with_its_photo(board):
    if board.control(status=True)["app"] != "running":
        restart_app(board)
    board.control(advance_ms=15000)  # the PIR has warmed up
    n = len(board.records())
    assert board.control(motion=True)["ok"]
    board.control(advance_ms=4000)
    assert board.control(motion=False)["ok"]
    board.control(advance_ms=65000)  # a minute without movement ends the visit
    new = [r for r in board.records()[n:] if r["ev"] != "heartbeat"]
    assert [r["ev"] for r in new] == ["motion"], new
    m = new[0]
    assert m["triggers"] == 1 and m["photo"]["size"] > 0 and 0 <= m["cap_ms"] - m["start_ms"] < 1000, m


def test_the_clock_runs_through_resets_like_the_rtc(tmp_path):
    with VBoard(str(tmp_path / "flash"), clock="none") as b:
        st = b.control(status=True)
        assert (st["utc"], st["quality"]) == (None, "none")
        assert b.control(clock=1800000000, source="host")["utc"] == 1800000000
        b.control(reset="hard")
        st = b.control(status=True)
        assert 1800000000 <= st["utc"] <= 1800000002 and st["quality"] == "rtc" and st["ms"] < 5000
        b.control(reset="power")  # a power cut: the RTC forgets
        st = b.control(status=True)
        assert (st["utc"], st["quality"]) == (None, "none")


def test_bad_control_requests_get_a_reason(board):
    assert "no key 'x'" in board.control(press="12x")["error"]
    assert "unknown command" in board.control(fly=True)["error"]
    assert "camera must be" in board.control(camera="blurry")["error"]
    assert "reset must be" in board.control(reset="sideways")["error"]
    s = socket.create_connection(("127.0.0.1", board.control_port), timeout=10)
    s.sendall(b"not json\n")
    reply = json.loads(s.makefile().readline())
    s.close()
    assert reply["ok"] is False and "JSON object" in reply["error"]


def test_a_control_client_that_vanishes_does_not_take_the_board_down(board):
    if board.control(status=True)["app"] != "running":
        restart_app(board)
    s = socket.create_connection(("127.0.0.1", board.control_port), timeout=10)
    s.sendall(b'{"status": true}\n')
    s.recv(1)
    board.control(ring=True)  # events pile up unread on the other connection
    time.sleep(0.1)
    s.close()  # unread data: the client's system resets the connection (RST)
    time.sleep(0.3)
    assert board.proc.poll() is None
    assert board.control(status=True)["ok"]
    assert ok(board.url, "eval", "1 + 1").strip() == "2"


# The command


def test_cli_on_a_pty(tmp_path):
    state = tmp_path / "flash"
    p = subprocess.Popen([os.path.join(BIN, "doorstep"), "vboard", "--state", str(state), "--pty"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        path = None
        for _ in range(20):
            line = p.stdout.readline()
            m = re.search(r"REPL on (/dev/\S+)", line)
            if m:
                path = m.group(1)
                break
        assert path, "no pty path printed"
        assert ok(path, "exec", "open('via-pty.txt', 'w').write('ok'); print('pty works')").strip() == "pty works"
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(15)
    assert p.returncode == 0
    assert (state / "via-pty.txt").read_text() == "ok"
