"""`doorstep sim --script`: every script verb, its records, and its errors.

Most scenarios run the Simulator in-process (synthetic photos, virtual time); a few go
through the real `doorstep` command to check what the homeowner sees: exit codes,
messages, `doorstep codes add --device sim:DIR` and `doorstep verify DIR`.
"""

import asyncio
import json
import os
import pty
import re
import select
import subprocess
import sys
import termios

import pytest

from doorstep_tools.sim import ScriptError, Simulator, parse_duration
from doorstep_tools.timefmt import parse_utc
from doorstep_tools.verify import verify

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOORSTEP = os.path.join(ROOT, ".venv", "bin", "doorstep")
if not os.path.exists(DOORSTEP):
    DOORSTEP = os.path.join(os.path.dirname(sys.executable), "doorstep")
CLOCK = "clock 2026-06-25T09:00:00Z"
T0 = parse_utc("2026-06-25T09:00:00Z")
# Long codes: 12 digits cannot turn up by chance in the hex of hashes and signatures.
CODE = "482913770561"
OTHER = "905512348867"


def doorstep(tmp_path, *args, **kw):
    """The real command, with the homeowner's profiles kept in this test's folder."""
    env = dict(os.environ, DOORSTEP_HOME=str(tmp_path / "home"))
    return subprocess.run([DOORSTEP, *args], capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=120, **kw)


def run(state, lines):
    """Replay a script in-process; return the printed lines. Every state it leaves must verify."""
    out = []
    asyncio.run(Simulator(str(state), out=out.append, photos=False).run_script(lines))
    res = verify(str(state))
    assert res.ok, [str(f) for f in res.findings]
    return out


def records(state):
    """Complete records on the simulated flash, in order."""
    recs = []
    rdir = os.path.join(str(state), "records")
    for name in sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []:
        with open(os.path.join(rdir, name), "rb") as f:
            recs += [json.loads(x) for x in f.read().split(b"\n")[:-1]]
    return recs


def after(state, lines):
    """Records the script adds after the boot of its run (and genesis, if new), and the printed lines."""
    n = len(records(state))
    out = run(state, lines)
    new = records(state)[n:]
    start = evs(new).index("boot")
    assert evs(new[:start]) in ([], ["genesis"])
    return new[start + 1 :], out


def evs(recs):
    return [r["ev"] for r in recs]


def assert_absent(code, state, *texts):
    """A code's digits appear in no printed text and no file on the device."""
    for t in texts:
        assert code not in t
    for dirpath, _dirs, names in os.walk(str(state)):
        for n in names:
            with open(os.path.join(dirpath, n), "rb") as f:
                assert code.encode() not in f.read(), os.path.join(dirpath, n)


@pytest.fixture
def device(tmp_path):
    """A provisioned simulated device with CODE and OTHER registered by the real CLI."""
    state = tmp_path / "dev"
    run(state, [])
    for code, label in ((CODE, "parcel"), (OTHER, "grocer")):
        r = doorstep(tmp_path, "codes", "add", code, "--label", label, "--device", "sim:" + str(state))
        assert r.returncode == 0, r.stderr
        assert code not in r.stdout + r.stderr
    return state


# End to end through the real command

def test_cli_provisions_a_missing_state_then_accepts_a_registered_code(tmp_path):
    state = tmp_path / "new-device"
    (tmp_path / "first.txt").write_text(CLOCK + "\n")
    r = doorstep(tmp_path, "sim", "--state", str(state), "--script", "first.txt")
    assert r.returncode == 0, r.stderr
    assert "provisioned a new simulated device" in r.stdout
    assert evs(records(state)) == ["genesis", "boot", "time_set"]
    r = doorstep(tmp_path, "codes", "add", CODE, "--label", "parcel", "--device", "sim:" + str(state))
    assert r.returncode == 0, r.stderr
    (tmp_path / "door.txt").write_text("%s\nkeys %s#   # the courier types it\n" % (CLOCK, CODE))
    r = doorstep(tmp_path, "sim", "--state", str(state), "--script", "door.txt")
    assert r.returncode == 0, r.stderr
    assert "provisioned" not in r.stdout  # the existing device boots again
    assert "door shows: accepted" in r.stdout.splitlines()
    last = records(state)[-1]
    assert (last["ev"], last["outcome"], last["label"]) == ("attempt", "accepted", "parcel")
    assert_absent(CODE, state, r.stdout, r.stderr)
    v = doorstep(tmp_path, "verify", str(state))
    assert v.returncode == 0 and v.stdout.splitlines()[-1].startswith("OK: "), v.stdout + v.stderr


def test_cli_script_error_names_the_line_and_exits_non_zero(tmp_path):
    (tmp_path / "bad.txt").write_text("%s\n\n# a comment\nadvance 90x\nring\n" % CLOCK)
    r = doorstep(tmp_path, "sim", "--state", "dev", "--script", "bad.txt")
    assert r.returncode == 1
    assert "bad.txt: line 4: a duration must look like 500ms, 90s, 5m or 2h" in r.stderr
    assert "ring" not in r.stdout  # the script stopped there
    r = doorstep(tmp_path, "sim", "--state", "dev", "--script", "missing.txt")
    assert r.returncode == 2 and "no script file missing.txt" in r.stderr


# One verb at a time

def test_clock_records_time_set_from_ntp(tmp_path):
    state = tmp_path / "dev"
    out = run(state, [CLOCK, "ring"])
    boot, ts, ring = records(state)[1:]
    assert boot["ev"] == "boot" and boot["t"] is None
    assert ts["ev"] == "time_set" and ts["source"] == "ntp" and ts["t"] == T0
    assert ring["t"] == T0 and ring["tq"] == "ntp"
    assert any("2026-06-25 09:00:00  time_set" in s and "source=ntp" in s for s in out)


@pytest.mark.parametrize("text,ms", [("500ms", 500), ("90s", 90000), ("5m", 300000), ("2h", 7200000)])
def test_durations(text, ms):
    assert parse_duration(text) == ms


def test_advance_moves_virtual_time_and_heartbeats_fire_when_due(tmp_path):
    state = tmp_path / "dev"
    new, _ = after(state, [CLOCK, "advance 59m"])
    assert evs(new) == ["time_set"]  # heartbeat_min is 60: not yet
    new, out = after(state, [CLOCK, "advance 59m", "advance 90s", "advance 2h"])
    hb = [r for r in new if r["ev"] == "heartbeat"]
    assert len(hb) == 3
    # the first falls 60 minutes after boot; the clock was set just after boot
    assert [r["t"] - T0 for r in hb] in ([3599, 7199, 10799], [3600, 7200, 10800])
    assert sum("heartbeat" in s for s in out) == 3


def test_ring_takes_a_photo(tmp_path):
    state = tmp_path / "dev"
    new, out = after(state, [CLOCK, "ring"])
    ring = new[-1]
    assert ring["ev"] == "ring" and ring["photo"]["file"] == "photos/%d.jpg" % ring["seq"]
    assert os.path.getsize(os.path.join(str(state), ring["photo"]["file"])) == ring["photo"]["size"]
    assert "photo=photos/%d.jpg" % ring["seq"] in out[-1]


def test_keys_accept_once_then_reuse_is_wrong(device):
    new, out = after(device, [CLOCK, "keys %s#" % CODE, "keys %s#" % CODE])
    a, b = new[1:]
    assert (a["ev"], a["outcome"], a["label"], a["digits"]) == ("attempt", "accepted", "parcel", len(CODE))
    assert (b["ev"], b["outcome"]) == ("attempt", "used")
    assert [s for s in out if s.startswith("door shows")] == ["door shows: accepted", "door shows: wrong"]
    assert_absent(CODE, device, *out)


def test_three_wrong_codes_lock_out_then_the_lockout_ends(device):
    wrong = ["keys 111111#", "keys 222222#", "keys 333333#"]
    new, out = after(device, [CLOCK] + wrong + ["advance 61s", "keys %s#" % CODE])
    assert evs(new) == ["time_set", "attempt", "attempt", "attempt", "lockout_start", "lockout_end", "attempt"]
    assert [r["outcome"] for r in new[1:4]] == ["wrong"] * 3
    assert (new[4]["level"], new[4]["duration_s"]) == (1, 60)
    assert new[5]["t"] - new[4]["t"] in (60, 61)
    assert new[6]["outcome"] == "accepted"  # a right code after the lockout
    assert len([s for s in out if s.startswith("door shows: wrong")]) == 3


def test_keys_while_the_intercom_is_on_are_refused_as_relayed(device):
    script = [CLOCK, "intercom on", "keys %s#" % CODE, "intercom off", "keys %s#" % CODE, "advance 31s", "keys %s#" % CODE]
    new, out = after(device, script)
    during, just_after, ok = new[1:]
    assert (during["ev"], during["channel"], during["reason"]) == ("relay_refused", "keypad", "intercom_active")
    assert (just_after["ev"], just_after["reason"]) == ("relay_refused", "intercom_recent")
    assert ok["outcome"] == "accepted"  # the refused entries did not use the code up
    assert [s for s in out if s.startswith("door shows")] == ["door shows: refused"] * 2 + ["door shows: accepted"]
    refusals = [s for s in out if "relay_refused" in s]
    assert [s.count("reason=intercom_") for s in refusals] == [1, 1]  # said once per line
    assert_absent(CODE, device, *out)


def test_dtmf_over_the_intercom_is_refused_and_counted(device):
    """Tones are never typed: one refusal per 10 s, the tones between are counted in the next."""
    new, out = after(device, [CLOCK, "intercom on", "dtmf %s" % CODE[:4], "advance 11s", "dtmf 56", "intercom off"])
    first, second = new[1:]
    for r in (first, second):
        assert (r["ev"], r["channel"], r["request"]) == ("relay_refused", "intercom_dtmf", "submit")
        assert "digits" not in r and r["tones"] == 1
    assert "suppressed" not in first and second["suppressed"] == 3


def test_remote_submit_and_reveal_are_refused_and_the_code_goes_nowhere(device):
    new, out = after(device, [CLOCK, "remote submit %s" % OTHER, "advance 11s", "remote reveal", "keys %s#" % OTHER])
    sub, rev, ok = new[1:]
    assert (sub["ev"], sub["channel"], sub["request"]) == ("relay_refused", "network", "submit")
    assert (rev["ev"], rev["channel"], rev["request"]) == ("relay_refused", "network", "reveal")
    assert (ok["outcome"], ok["label"]) == ("accepted", "grocer")
    assert_absent(OTHER, device, *out)


def test_camera_modes(tmp_path):
    state = tmp_path / "dev"
    script = [CLOCK, "ring", "ring", "ring", "camera dark", "ring", "camera ok", "ring", "camera frozen", "ring", "camera fail", "ring"]
    # each ring a visit of its own (rings less than 5 min apart are one burst, photographed once)
    script = [x if x != "ring" else "advance 6m\nring" for x in script]
    script = "\n".join(script).split("\n")
    new, out = after(state, script)
    rings = [r for r in new if r["ev"] == "ring"]  # the camera's own liveness records come between (liveness.py)
    dark, ok, frozen, fail = rings[3:]
    assert [r.get("photo_flag") for r in rings[:3]] == [None] * 3
    assert dark["photo"] and dark["photo_flag"] == "dark"  # far smaller than the usual frame
    assert ok["photo"] and "photo_flag" not in ok
    assert frozen["photo"] and frozen["photo_flag"] == "frozen"  # the camera sent the same frame again
    assert fail["photo"] is None and "camera not responding" in fail["photo_err"]
    said = [x for x in out if " ring " in x]
    assert "photo_flag=dark" in said[-4] and "photo_flag=frozen" in said[-2] and "photo_err=" in said[-1], said


def test_power_cut_then_boot_records_an_unclean_boot(tmp_path):
    state = tmp_path / "dev"
    new, out = after(state, [CLOCK, "advance 30s", "power-cut", "boot", "ring"])
    assert evs(new) == ["time_set", "boot", "ring"]
    boot = new[1]
    assert boot["clean"] is False and boot["boot"] == new[0]["boot"] + 1
    assert boot["t"] - T0 in (29, 30)  # the RTC kept the time through the cut
    assert "-- power cut: the device is off" in out


def test_power_cut_armed_at_the_end_of_a_script_cuts_the_clean_stop(tmp_path):
    state = tmp_path / "dev"
    out = run(state, ["power-cut after-bytes 5"])
    assert out[-1] == "-- power lost while writing to flash: the device is off"
    run(state, [])
    assert records(state)[-1]["clean"] is False


def test_power_cut_mid_record_leaves_a_torn_tail_that_verify_reports(tmp_path):
    """The cut lands 20 bytes into the ring record; verify accepts the log and says so,
    before the next boot (the torn bytes) and after it (the device's recovered record)."""
    state = tmp_path / "dev"
    out = []

    async def scenario():
        sim = Simulator(str(state), out=out.append, photos=False)
        await sim.start()
        for line in (CLOCK, "camera fail", "power-cut after-bytes 20", "ring"):
            await sim.command(line)
        assert not sim.alive
        torn = doorstep(tmp_path, "verify", str(state))
        await sim.command("boot")
        sim.dev.app.stop()
        return torn

    torn = asyncio.run(scenario())
    assert "-- power lost while writing to flash: the device is off" in out
    assert torn.returncode == 0, torn.stdout
    assert "NOTICE: seq 3: torn tail: 20 bytes after the last complete record in 00000000.jsonl" in torn.stdout
    assert torn.stdout.splitlines()[-1].startswith("OK: 3 records verified")
    rec, boot = records(state)[3:]
    assert (rec["ev"], rec["bytes"]) == ("recovered", 20)
    assert (boot["ev"], boot["clean"]) == ("boot", False)
    qdir = os.path.join(str(state), "quarantine")
    assert [os.path.getsize(os.path.join(qdir, n)) for n in os.listdir(qdir)] == [20]
    v = doorstep(tmp_path, "verify", str(state))
    assert v.returncode == 0, v.stdout
    assert "NOTICE: seq 3: the device cut a torn tail of 20 bytes at boot (kept in quarantine/" in v.stdout
    assert "OK: 5 records verified (seq 0 to 4)" in v.stdout


# Script errors: the line and the reason

@pytest.mark.parametrize(
    "script,line,reason",
    [
        ([CLOCK, "jump 3"], 2, "unknown command 'jump'"),
        (["", "# why", "advance 90x"], 3, "a duration must look like"),
        (["advance"], 1, "use 'advance 90s'"),
        (["keys 48x913#"], 1, "use 'keys 482913#'"),
        (["keys 12A#"], 1, "no key 'A' on this keypad"),
        (["%s#" % CODE], 1, "a line must start with a command"),  # 'keys' forgotten: no digits echoed
        (["dtmf 1234"], 1, "'intercom on' first"),
        (["intercom on", "dtmf 12x"], 2, "use 'dtmf 1234'"),
        (["intercom maybe"], 1, "use 'intercom on' or 'intercom off'"),
        (["remote list"], 1, "use 'remote submit CODE' or 'remote reveal'"),
        (["camera blurry"], 1, "use 'camera ok|fail|dark|frozen|person'"),
        (["clock tomorrow"], 1, "is not a UTC time"),
        (["power-cut after-bytes x"], 1, "use 'power-cut' or 'power-cut after-bytes N'"),
        (["power-cut", "ring"], 2, "the device has no power: 'ring' needs a 'boot' first"),
        (["power-cut", "power-cut"], 2, "needs a 'boot' first"),
        (["boot"], 1, "the device is already running"),
    ],
)
def test_script_errors(tmp_path, script, line, reason):
    state = tmp_path / "dev"
    with pytest.raises(ScriptError) as e:
        asyncio.run(Simulator(str(state), out=[].append, photos=False).run_script(script))
    assert str(e.value).startswith("line %d: " % line)
    assert reason in str(e.value) and CODE not in str(e.value)
    # A script error harms nothing on the device, and stops it cleanly unless the power was cut.
    new, _ = after(state, [])
    boot = records(state)[-1]
    assert new == [] and boot["ev"] == "boot" and boot["clean"] is ("power-cut" not in script)


# `make sim`: the interactive simulator

def test_state_that_is_a_file_is_refused_clearly(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    script = tmp_path / "s.txt"
    script.write_text("ring\n")
    r = doorstep(tmp_path, "sim", "--state", "notes.txt", "--script", str(script))
    assert r.returncode == 2 and "notes.txt is a file; --state needs a folder" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and (tmp_path / "notes.txt").read_text() == "mine"


def test_interactive_needs_a_terminal(tmp_path):
    r = doorstep(tmp_path, "sim", "--state", "dev", stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "needs a terminal; use --script FILE" in r.stderr


def test_interactive_starts_shows_the_demo_code_and_quits_with_the_verify_hint(tmp_path):
    """What `make sim` runs, on a pseudo-terminal: ring with r, quit with q."""
    state = str(tmp_path / "sim-device")
    master, slave = pty.openpty()
    env = dict(os.environ, DOORSTEP_HOME=str(tmp_path / "home"))
    p = subprocess.Popen([DOORSTEP, "sim", "--state", state], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=str(tmp_path))
    os.close(slave)
    seen = b""

    def read_until(text):
        nonlocal seen
        while text.encode() not in seen:
            r, _, _ = select.select([master], [], [], 30)
            assert r, "no %r from the simulator; it printed:\n%s" % (text, seen.decode(errors="replace"))
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the process ended and closed the terminal
                chunk = b""
            assert chunk, "the simulator ended before %r; it printed:\n%s" % (text, seen.decode(errors="replace"))
            seen += chunk

    try:
        read_until("keys: 0-9")
        for _ in range(600):  # the keypad takes keys once the terminal is in cbreak mode
            if not termios.tcgetattr(master)[3] & termios.ICANON or p.poll() is not None:
                break
            select.select([], [], [], 0.05)
        assert p.poll() is None, seen.decode(errors="replace")
        os.write(master, b"r")
        read_until("ring" + " " * 10)  # the ring record's line (not the help's "r ring")
        code = re.search(rb"Demo delivery code (\d{6})", seen).group(1)
        os.write(master, code + b"#")  # all at once, as a paste or a fast typist sends it
        read_until("door shows: ACCEPTED")
        os.write(master, b"q")
        read_until("doorstep report")
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    text = seen.decode().replace("\r", "")
    assert "provisioned a new simulated device" in text
    demo = re.search(r"Demo delivery code (\d{6}) \(label demo-1\): type it, then #", text)
    assert demo, text
    assert_absent(demo.group(1), state)  # shown once on screen, stored only as a hash
    assert "doorstep verify %s" % state in text
    recs = records(state)
    assert evs(recs)[:3] == ["genesis", "boot", "time_set"] and evs(recs)[-2:] == ["ring", "attempt"]
    assert recs[-1]["outcome"] == "accepted" and recs[-1]["label"] == "demo-1" and recs[-1]["digits"] == 6
    assert verify(state).ok


def test_a_clock_stepped_back_a_little_is_recorded_and_the_log_verifies(tmp_path):
    """Issue 13: a step back under time_jump_s wrote no time_set, and every later pull was
    refused ("time goes back within boot 1"). run() verifies the log."""
    state = tmp_path / "dev"
    new, out = after(state, [CLOCK, "ring", "advance 30s", "clock 2026-06-25T08:59:30Z", "ring"])
    assert evs(new) == ["time_set", "ring", "time_set", "ring"], evs(new)
    back = new[2]
    assert (back["old"], back["new"], back["source"]) == (T0 + 30, T0 - 30, "ntp"), back


def test_heartbeats_report_the_simulated_flash_not_the_pcs_disk(tmp_path):
    new, out = after(tmp_path / "dev", [CLOCK, "ring", "advance 61m"])
    hb = [r for r in new if r["ev"] == "heartbeat"][-1]
    used = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(str(tmp_path / "dev")) for n in ns)
    assert 0 < hb["free"] <= 2048 * 1024 and abs(hb["free"] - (2048 * 1024 - used)) < 4096, (hb["free"], used)
    (tmp_path / "s.txt").write_text(CLOCK + "\nadvance 61m\n")
    r = doorstep(tmp_path, "sim", "--state", "small", "--flash-kb", "256", "--script", "s.txt")
    assert r.returncode == 0, r.stderr
    assert 0 < [x for x in records(tmp_path / "small") if x["ev"] == "heartbeat"][-1]["free"] <= 256 * 1024
    r = doorstep(tmp_path, "sim", "--state", "small", "--flash-kb", "10", "--script", "s.txt")
    assert r.returncode == 2 and "--flash-kb must be 64 or more" in r.stderr, r.stderr


def test_the_third_wrong_code_shows_the_lockout_and_its_length_at_once(device):
    new, out = after(device, [CLOCK, "keys 111111#", "keys 222222#", "keys 333333#", "keys 4#"])
    shown = [s for s in out if s.startswith("door shows")]
    assert shown[:3] == ["door shows: wrong"] * 2 + ["door shows: wrong, then locked for 60 s"], shown
    assert shown[3].startswith("door shows: locked (") and shown[3].endswith(" s left)"), shown


def test_interactive_keys_while_the_power_is_off_say_so(tmp_path):
    """`r` after `p` crashed the simulator; keys while off were silent."""
    from doorstep_tools.interactive import OFF, KeyFeed, on_key

    out = []

    async def go():
        sim = Simulator(str(tmp_path / "dev"), out=out.append, photos=False)
        await sim.start()
        keys = KeyFeed()
        assert await on_key(sim, "p", keys, out.append) and not sim.alive
        for ch in "r5#ip":
            assert await on_key(sim, ch, keys, out.append)
            assert out[-1] == OFF, out[-3:]
        assert keys.waiting == []
        await on_key(sim, "b", keys, out.append)
        assert sim.alive
        await on_key(sim, "r", keys, out.append)
        assert " ring " in out[-1], out[-1]
        assert await on_key(sim, "q", keys, out.append) is False
        sim.dev.app.stop()

    asyncio.run(go())


def test_a_truncated_config_is_said_at_boot_not_silently_replaced_by_defaults(tmp_path):
    state = tmp_path / "dev"
    run(state, [])
    (state / "config.json").write_text('{"heartbeat_min": 5, "rel')
    new, out = after(state, [CLOCK])
    boot = [r for r in records(state) if r["ev"] == "boot"][-1]
    assert "config.json is damaged" in boot["config_err"], boot
    assert "config_err='config.json is damaged" in [s for s in out if " boot " in s][-1], out


# Presence (issue 14): the motion sensor

def test_motion_verbs_make_one_visit_record_with_its_photo(tmp_path):
    state = tmp_path / "dev"
    new, out = after(state, [CLOCK, "advance 15s", "motion start", "advance 5s", "motion stop", "advance 10s",
                             "motion start", "advance 3s", "motion stop", "advance 2m"])
    assert evs(new) == ["time_set", "motion"], evs(new)
    m = new[1]
    assert m["triggers"] == 2 and m["photo"]["file"] == "photos/%d.jpg" % m["seq"], m
    assert os.path.getsize(os.path.join(str(state), m["photo"]["file"])) == m["photo"]["size"]
    assert m["cap_ms"] - m["start_ms"] < 100 and 17000 < m["dur_ms"] < 20000, m
    line = [s for s in out if " motion " in s][-1]
    assert "triggers=2" in line and "photo=photos/" in line, line


def test_motion_stuck_high_is_a_blind_spot_in_the_script(tmp_path):
    new, out = after(tmp_path / "dev", [CLOCK, "advance 15s", "motion start", "advance 31m", "motion stop", "advance 5s"])
    kinds = [e for e in evs(new) if e != "heartbeat"]
    assert kinds == ["time_set", "motion", "blind_start", "blind_end"], kinds
    assert "sensor=pir" in [s for s in out if "blind_end" in s][0]


def test_motion_verb_errors_are_clear(tmp_path):
    with pytest.raises(ScriptError, match="motion start"):
        run(tmp_path / "dev", [CLOCK, "motion go"])


def test_interactive_m_key_moves_in_front_of_the_sensor(tmp_path):
    from doorstep_tools.interactive import KeyFeed, on_key

    out = []

    async def go():
        sim = Simulator(str(tmp_path / "dev"), out=out.append, photos=False)
        await sim.start()
        keys = KeyFeed()
        await sim.dev.advance(15000)  # the sensor warms up
        assert await on_key(sim, "m", keys, out.append) and sim.dev.board.moving
        assert out[-1].startswith("motion started"), out[-1]
        await sim.dev.advance(3000)
        assert await on_key(sim, "m", keys, out.append) and not sim.dev.board.moving
        await sim.dev.advance(70000)
        assert [s for s in out if " motion " in s and "triggers=1" in s], out[-5:]
        sim.dev.app.stop()

    asyncio.run(go())
