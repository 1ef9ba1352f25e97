"""The board layer (firmware/doorstep/board/) on fake ESP32 hardware, on both runtimes.

The checks live in host_tests/board_fakes/board_checks.py, next to the fake machine,
esp32, camera, network and ntptime modules. Each one runs here under CPython and in a
fresh MicroPython 1.27 VM with the fakes installed as /lib/machine.py and so on.
"""

import ast
import asyncio
import importlib
import os
import sys

import pytest

from doorstep_tools.mpvm import tree_files

HERE = os.path.dirname(os.path.abspath(__file__))
FAKES = os.path.join(HERE, "board_fakes")
FAKE_MODULES = ("machine", "esp32", "camera", "network", "ntptime", "board_checks")


def _check_names():
    tree = ast.parse(open(os.path.join(FAKES, "board_checks.py")).read())
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.name.startswith("check_")]


CHECKS = _check_names()


@pytest.fixture
def fake_hardware():
    """board_checks with the fake hardware modules importable; all of it forgotten after."""
    sys.path.insert(0, FAKES)
    try:
        yield importlib.import_module("board_checks")
    finally:
        sys.path.remove(FAKES)
        for name in list(sys.modules):
            if name in FAKE_MODULES or name.startswith("doorstep.board"):
                del sys.modules[name]


@pytest.mark.parametrize("name", CHECKS)
def test_board_cpython(name, fake_hardware):
    res = getattr(fake_hardware, name)()
    if asyncio.iscoroutine(res):
        asyncio.run(res)


@pytest.mark.parametrize("name", CHECKS)
def test_board_micropython(name, micropython):
    code = (
        "import sys\nsys.path.insert(0, '/lib')\n"
        "import board_checks\nr = board_checks.%s()\n"
        "if type(r).__name__ == 'generator':\n    await r\n"
        "print('passed')\n" % name
    )
    out, _ = micropython.run(code, bundles=("firmware",), files=tree_files(FAKES, "/lib"), timeout=300)
    assert out.strip().endswith("passed"), out


def test_every_check_is_collected():
    assert len(CHECKS) >= 25, CHECKS


# main.py's flow: CPython only (the WebAssembly VM has no asyncio.run; the ESP32 has).

class FakeApp:
    """Stands in for doorstep.app.App: records how main() drives it; `then` says how run ends."""

    then = "stop"

    def __init__(self, storage, board, pub):
        self.board, self.pub, self.stopped = board, pub, False
        FakeApp.last = self

    def set_time(self, t, source):
        pass

    async def run(self):
        self.boot_no = 7
        self.board.feed_watchdog()
        if FakeApp.then == "interrupt":
            raise KeyboardInterrupt
        if FakeApp.then == "crash":
            raise ValueError("flash on fire")

    def stop(self):
        self.stopped = True


@pytest.fixture
def device(fake_hardware, tmp_path):
    """A provisioned device folder with an ai-thinker config, and the fake hardware."""
    import json

    from doorstep.board import startup
    from doorstep.storage import Storage

    machine = sys.modules["machine"]
    machine.sim.reset()
    machine.Pcf8574(0x20)
    st = Storage(str(tmp_path))
    st.write_json("config.json", {"board": {"profile": "ai-thinker", "watchdog_s": 30, "service_min": 2}})
    startup.state["mode"] = None
    said = []
    startup._say = said.append
    yield st, startup, machine, said, json
    startup._say = print
    startup.state["mode"] = None


def provisioned(st):
    from doorstep.provision import provision

    n = [0]

    def rng(k):
        n[0] += 1
        return bytes((n[0] * 13 + i) & 0xFF for i in range(k))

    return provision(st, rng, 1767225600, "host", "0" * 64)


def test_main_unprovisioned_keeps_the_prompt(device):
    st, startup, machine, said, _ = device
    assert startup.main(st, App=FakeApp) == "unprovisioned"
    assert "doorstep provision" in said[-1]
    assert machine.sim.wdt is None  # no watchdog: the REPL stays, no reset loop


def test_main_runs_the_app_with_the_watchdog(device):
    st, startup, machine, said, _ = device
    pub, dev = provisioned(st)
    FakeApp.then = "stop"
    assert startup.main(st, App=FakeApp) == "stopped"
    app = FakeApp.last
    assert app.pub.hex() == pub and app.board.set_time == app.set_time
    assert machine.sim.wdt.timeout == 30000 and machine.sim.wdt.feeds == 1
    assert dev in said[-1] and "AI-Thinker" in said[-1] and "power_on" in said[-1]


def test_main_ctrl_c_stops_cleanly_and_the_watchdog_comes_back(device):
    st, startup, machine, said, _ = device
    provisioned(st)
    FakeApp.then = "interrupt"
    assert startup.main(st, App=FakeApp) == "interrupted"
    assert FakeApp.last.stopped  # the next boot record says the shutdown was clean
    timer = machine.sim.timers[-1]
    for _ in range(200):
        timer.fire()
    assert not timer.running and machine.sim.wdt.feeds == 1 + 119  # two minutes, then reset
    assert "restarts by itself in 2 minutes" in said[-1]


def test_main_crash_goes_to_the_crash_handler(device):
    st, startup, machine, said, _ = device
    provisioned(st)
    FakeApp.then = "crash"
    seen = []
    assert startup.main(st, App=FakeApp, crashed=lambda e, b: seen.append((e, b))) == "crashed"
    assert isinstance(seen[0][0], ValueError) and seen[0][1] is FakeApp.last.board


def test_main_production_never_returns_to_the_prompt_on_ctrl_c(device):
    st, startup, machine, said, json = device
    provisioned(st)
    st.write_json("config.json", {"board": {"profile": "ai-thinker"}, "production": True})
    locked = []
    assert startup.boot(st, lock=lambda: locked.append(1)) == "run" and locked == [1]
    FakeApp.then = "interrupt"
    seen = []
    assert startup.main(st, App=FakeApp, crashed=lambda e, b: seen.append(e)) == "crashed"
    assert seen and "production" in str(seen[0])


def test_main_with_a_refused_board_config(device):
    st, startup, machine, said, _ = device
    provisioned(st)
    st.write_json("config.json", {"board": {"profile": "ai-thinker", "pins": {"bell": 16}}})
    assert startup.main(st, App=FakeApp) == "setup"
    assert "GPIO 16" in said[-1] and "PSRAM" in said[-1] and "REPL stays open" in said[-1]
    assert machine.sim.wdt is None


def test_lock_down_disables_ctrl_c_and_detaches_dupterm(fake_hardware, monkeypatch):
    import os
    import types

    from doorstep.board import startup

    calls = []
    mp = types.ModuleType("micropython")
    mp.kbd_intr = lambda c: calls.append(("kbd_intr", c))
    monkeypatch.setitem(sys.modules, "micropython", mp)
    monkeypatch.setattr(os, "dupterm", lambda s, i=0: calls.append(("dupterm", s, i)), raising=False)
    startup.lock_down()
    assert calls == [("kbd_intr", -1), ("dupterm", None, 0), ("dupterm", None, 1)]


def test_boot_and_main_files_delegate_to_startup():
    for name, call in (("boot.py", "startup.boot()"), ("main.py", "startup.main()")):
        src = open(os.path.join(HERE, "..", "firmware", name)).read()
        assert "from doorstep.board import startup" in src and call in src
        assert "machine.reset" not in src
