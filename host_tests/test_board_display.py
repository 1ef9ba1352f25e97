"""The door display's board check: micropython-lib's real ssd1306 driver (fetched by `make
setup` into .venv/ssd1306, never part of this repository) on a fake I2C bus, under the
WebAssembly port and, when it is on this machine, MicroPython's 32-bit unix port.
(CPython has no framebuf, which the driver is built on.)
"""

import os

import pytest

from doorstep_tools import unixport

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DRIVER = os.path.join(ROOT, ".venv", "ssd1306", "ssd1306.py")
CHECK = os.path.join(HERE, "board_fakes", "display_check.py")

needs_driver = pytest.mark.skipif(not os.path.exists(DRIVER), reason="micropython-lib's ssd1306 is fetched by `make setup` (%s)" % DRIVER)


def _files():
    out = {}
    for p in (DRIVER, CHECK):
        with open(p, "rb") as f:
            out["/lib/" + os.path.basename(p)] = f.read()
    return out


@needs_driver
def test_display_on_a_fake_bus_webassembly(micropython):
    code = "import sys\nsys.path.insert(0, '/lib')\nimport display_check\ndisplay_check.run_all()\n"
    out, _ = micropython.run(code, bundles=("firmware",), files=_files(), timeout=120)
    assert out.strip().endswith("passed 3"), out


@needs_driver
def test_display_on_a_fake_bus_unix_port(tmp_path):
    exe, why = unixport.find()
    if exe is None:
        pytest.skip(why)
    for name, data in _files().items():
        (tmp_path / os.path.basename(name)).write_bytes(data)
    out = unixport.run("import display_check\ndisplay_check.run_all()\n", extra_path=(str(tmp_path),), timeout=120)
    assert out.strip().endswith("passed 3"), out


def test_the_driver_is_not_in_the_repository():
    for base, dirs, names in os.walk(os.path.join(ROOT, "firmware")):
        assert "ssd1306.py" not in names, base
