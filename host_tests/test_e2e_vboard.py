"""End to end on the virtual board, every step through the real tools a homeowner uses:

doorstep deploy (mpremote + mpy-cross + mip from a local index) -> doorstep provision ->
doorstep codes add -> reset -> a code typed on the virtual keypad -> doorstep pull ->
doorstep verify. The firmware runs under MicroPython 1.27; keys go through the keypad matrix.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from doorstep_tools.vboard import VBoard

BIN = os.path.dirname(sys.executable)
DOORSTEP = os.path.join(BIN, "doorstep")
MPREMOTE = os.path.join(BIN, "mpremote")
FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
CODE = "482913"


def _missing():
    """What this test needs from other parts of the project, if not there yet."""
    if not shutil.which("node"):
        return "Node.js (make setup)"
    if importlib.util.find_spec("doorstep_tools.device_cmds") is None:
        return "tools/doorstep_tools/device_cmds.py (doorstep provision/codes/pull)"
    if not os.path.exists(os.path.join(FIRMWARE, "doorstep", "admin.py")):
        return "firmware/doorstep/admin.py (the device side of provision/codes/pull)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason="needs %s" % _missing())


def doorstep(env, *args, check=True):
    r = subprocess.run([DOORSTEP, *args], capture_output=True, text=True, timeout=600, env=env)
    if check:
        assert r.returncode == 0, "doorstep %s:\n%s%s" % (" ".join(args), r.stdout, r.stderr)
    return r


def test_deploy_provision_register_type_pull_verify(tmp_path):
    from test_deploy import build_index

    env = dict(os.environ, DOORSTEP_HOME=str(tmp_path / "home"))
    index = build_index(str(tmp_path / "index"))
    with VBoard(str(tmp_path / "flash")) as board:
        dev = board.url
        assert board.control(status=True)["app"] == "no firmware"

        r = doorstep(env, "deploy", "--device", dev, "--mpy", "--index", index)
        assert "Copied" in r.stdout and "Installing: /lib/ntptime.mpy" in r.stdout

        r = doorstep(env, "provision", "--device", dev)
        assert "is provisioned" in r.stdout
        with open(tmp_path / "home" / "devices.json") as f:
            pinned = json.load(f)[dev]

        doorstep(env, "codes", "add", CODE, "--label", "parcel-0625", "--device", dev)
        assert "unused" in doorstep(env, "codes", "list", "--device", dev).stdout

        # mpremote stopped the app when it connected; the reset button starts the door.
        subprocess.run([MPREMOTE, "connect", dev, "reset"], capture_output=True, timeout=60)
        end = time.time() + 15
        while board.control(status=True)["app"] != "running" and time.time() < end:
            time.sleep(0.05)
        assert board.control(status=True)["app"] == "running"

        # The driver at the door: one wrong code, then the right one, then a ring.
        assert board.press("1234#")["ok"]
        assert board.press(CODE + "#")["ok"]
        assert board.control(ring=True)["ok"]
        seen = [(r["ev"], r.get("outcome"), r.get("label")) for r in board.records() if r["ev"] != "boot"]
        assert seen == [("attempt", "wrong", None), ("attempt", "accepted", "parcel-0625"), ("ring", None, None)], seen

        out = str(tmp_path / "log")
        r = doorstep(env, "pull", "--device", dev, "--out", out)
        assert "verified" in r.stdout
        assert "used at" in doorstep(env, "codes", "list", "--device", dev).stdout

    # Offline, with the key pinned at provisioning.
    r = doorstep(env, "verify", out)
    assert r.stdout.strip().splitlines()[-1].startswith("OK: ")
    with open(os.path.join(out, "device.json")) as f:
        assert json.load(f)["pub"] == pinned["pub"]
    recs = []
    for name in sorted(os.listdir(os.path.join(out, "records"))):
        with open(os.path.join(out, "records", name)) as f:
            recs += [json.loads(line) for line in f if line.strip()]
    evs = [r["ev"] for r in recs]
    assert evs[:2] == ["genesis", "code_added"] and "boot" in evs
    accepted = [r for r in recs if r.get("outcome") == "accepted"]
    assert len(accepted) == 1 and accepted[0]["label"] == "parcel-0625" and accepted[0]["digits"] == len(CODE)
    assert os.path.getsize(os.path.join(out, accepted[0]["photo"]["file"])) == accepted[0]["photo"]["size"]
    # The code itself never left the device, and is not in anything pulled.
    for dirpath, _, names in os.walk(out):
        for n in names:
            with open(os.path.join(dirpath, n), "rb") as f:
                assert CODE.encode() not in f.read(), n
    # A tampered log fails verification.
    seg = os.path.join(out, "records", sorted(os.listdir(os.path.join(out, "records")))[0])
    with open(seg) as f:
        text = f.read()
    assert '"outcome":"wrong"' in text
    with open(seg, "w") as f:
        f.write(text.replace('"outcome":"wrong"', '"outcome":"accepted"', 1))
    assert doorstep(env, "verify", out, check=False).returncode == 1


_spawned = []  # argv of every program this test process starts while _watch[0] is on
_watch = [False]


def _audit(event, args):
    if event == "subprocess.Popen" and _watch[0]:
        _spawned.append(" ".join(str(a) for a in args[1]))


sys.addaudithook(_audit)


def test_codes_and_passwords_never_reach_the_process_list(tmp_path, monkeypatch, capsys):
    """The homeowner types the code with `-` (and passwords at a prompt) to keep them out of
    `ps`: the mpremote the tools start must not carry them on its command line either."""
    import base64
    import io

    from test_vboard import provisioned_flash

    from doorstep_tools import cli

    monkeypatch.setenv("DOORSTEP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOORSTEP_WIFI_PASSWORD", "wifi-pw-5150")
    state = tmp_path / "flash"
    state.mkdir()
    provisioned_flash(str(state))
    with VBoard(str(state)) as board:
        dev = board.url
        _spawned.clear()
        _watch[0] = True
        try:
            assert cli.main(["provision", "--device", dev, "--wifi-ssid", "home", "--heartbeat-min", "30"]) == 0
            monkeypatch.setattr(sys, "stdin", io.StringIO(CODE + "\n"))
            assert cli.main(["codes", "add", "-", "--label", "parcel-0625", "--device", dev]) == 0
            assert cli.main(["courier", "add", "--label", "van", "--device", dev]) == 0
            assert cli.main(["codes", "list", "--device", dev]) == 0
        finally:
            _watch[0] = False
        out = capsys.readouterr().out
        assert "parcel-0625" in out and "unused" in out and "courier" in out, out
        b32 = out.split("secret=", 1)[1].split("&", 1)[0]
        courier_hex = base64.b32decode(b32 + "=" * (-len(b32) % 8)).hex()
        with open(state / "config.json") as f:
            assert json.load(f)["wifi"]["password"] == "wifi-pw-5150"  # it did reach the device
    assert any("mpremote" in a or "connect" in a for a in _spawned), _spawned
    for argv in _spawned:
        for secret in (CODE, "wifi-pw-5150", courier_hex):
            assert secret not in argv, "%s is on a command line: %s" % (secret, argv[:200])
