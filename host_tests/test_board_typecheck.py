"""mypy checks the board layer against the MicroPython ESP32 stubs (no board needed).

The stubs (micropython-esp32-stubs 1.27.0.post1 and its micropython-stdlib-stubs) replace
CPython's standard library with MicroPython's, so they are installed apart from the venv's
site-packages (`pip install --target .venv/mpy-stubs`, see `make setup`): installed there
they would shadow CPython modules and turn names like `umqtt` into empty packages.
This test lays them out as a typeshed (stdlib + the ESP32 modules + our camera stub in
host_tests/stubs/) and runs mypy on firmware/doorstep/board/, boot.py and main.py.
"""

import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIRMWARE = os.path.join(ROOT, "firmware")
STUBS = os.environ.get("DOORSTEP_MPY_STUBS") or os.path.join(sys.prefix, "mpy-stubs")
MYPY = [sys.executable, "-m", "mypy"]
STUB_PINS = "micropython-esp32-stubs==1.27.0.post1 micropython-stdlib-stubs==1.27.0.post2"


@pytest.fixture(scope="module")
def typeshed(tmp_path_factory):
    if not os.path.isdir(os.path.join(STUBS, "stdlib")) or not os.path.exists(os.path.join(STUBS, "machine.pyi")):
        pytest.fail("the MicroPython stubs are not installed in %s: run `make setup`, or\n  %s -m pip install "
                    "--no-deps --target %s %s" % (STUBS, sys.executable, STUBS, STUB_PINS))
    if subprocess.run(MYPY + ["--version"], capture_output=True).returncode != 0:
        pytest.fail("mypy is not installed in %s: run `make setup`" % sys.prefix)
    ts = tmp_path_factory.mktemp("typeshed")
    std = ts / "stdlib"
    shutil.copytree(os.path.join(STUBS, "stdlib"), std)
    shutil.copytree(os.path.join(STUBS, "stubs"), ts / "stubs")
    mods = []
    for name in sorted(os.listdir(STUBS)):
        src = os.path.join(STUBS, name)
        if name.endswith(".pyi"):
            shutil.copy(src, std / name)
            mods.append(name[:-4])
        elif os.path.isdir(src) and os.path.exists(os.path.join(src, "__init__.pyi")) or name == "_mpy_shed":
            shutil.copytree(src, std / name)
            mods.append(name)
    shutil.copy(os.path.join(HERE, "stubs", "camera.pyi"), std / "camera.pyi")
    mods.append("camera")
    versions = std / "VERSIONS"
    listed = {line.split(":")[0].strip() for line in versions.read_text().splitlines() if ":" in line}
    with open(versions, "a") as f:
        for m in mods:
            if m not in listed:
                f.write("%s: 3.0-\n" % m)
    return str(ts)


def mypy(typeshed, *targets, cwd=FIRMWARE):
    env = dict(os.environ, MYPYPATH=FIRMWARE)
    cmd = MYPY + ["--custom-typeshed-dir", typeshed, "--python-version", "3.11", "--check-untyped-defs",
                  "--follow-imports=silent", "--no-incremental", "--no-error-summary", "--show-error-codes",
                  *targets]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_board_layer_typechecks_against_esp32_stubs(typeshed):
    r = mypy(typeshed, "doorstep/board", "boot.py", "main.py")
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_the_stubs_catch_hardware_misuse(typeshed, tmp_path):
    """The check above means something: wrong calls into machine/camera/network fail."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import machine, network, camera\n"
        "machine.PWM(machine.Pin(2), frequency=3)\n"
        "machine.I2C(0).writeto(0x20)\n"
        "machine.WDT(timeout='60')\n"
        "network.WLAN(network.STA_IF).connect(1, 2, 3, 4)\n"
        "camera.Camera(fb=2)\n"
        "machine.no_such_thing()\n"
    )
    r = mypy(typeshed, str(bad), cwd=str(tmp_path))
    lines = [ln for ln in r.stdout.splitlines() if ": error:" in ln]
    assert {int(ln.split(":")[1]) for ln in lines} == {2, 3, 4, 5, 6, 7}, r.stdout + r.stderr
