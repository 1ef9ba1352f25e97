"""The board layer (firmware/doorstep/board/) on fake ESP32 hardware, on both runtimes.

The checks live in host_tests/board_fakes/board_checks.py, next to the fake machine,
esp32, camera, network, ntptime and umqtt.simple modules. Each one runs here under CPython and in a
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
CHECK_FILES = ("board_checks", "trust_checks", "camera_checks")
FAKE_MODULES = ("machine", "esp32", "camera", "network", "ntptime", "umqtt", "umqtt.simple") + CHECK_FILES


def _check_names():
    out = []
    for mod in CHECK_FILES:
        tree = ast.parse(open(os.path.join(FAKES, mod + ".py")).read())
        out += ["%s.%s" % (mod, n.name) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                and n.name.startswith("check_")]
    return out


CHECKS = _check_names()


@pytest.fixture
def fake_hardware():
    """A loader of the check modules, with the fake hardware modules importable; all of it forgotten after."""
    sys.path.insert(0, FAKES)
    try:
        importlib.import_module("board_checks")  # imports the fake machine, esp32, ...
        yield importlib.import_module
    finally:
        sys.path.remove(FAKES)
        for name in list(sys.modules):
            if name in FAKE_MODULES or name.startswith("doorstep.board"):
                del sys.modules[name]


@pytest.mark.parametrize("name", CHECKS)
def test_board_cpython(name, fake_hardware):
    mod, fn = name.split(".")
    res = getattr(fake_hardware(mod), fn)()
    if asyncio.iscoroutine(res):
        asyncio.run(res)


@pytest.mark.parametrize("name", CHECKS)
def test_board_micropython(name, micropython):
    mod, fn = name.split(".")
    code = (
        "import sys\nsys.path.insert(0, '/lib')\n"
        "import %s\nr = %s.%s()\n"
        "if type(r).__name__ == 'generator':\n    await r\n"
        "print('passed')\n" % (mod, mod, fn)
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
    # the ESP32-CAM has no GPIO left for the service button: it takes the LED's (docs/hardware.md)
    st.write_json("config.json", {"board": {"profile": "ai-thinker", "pins": {"led": None, "service": 12}}, "production": True})
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


# MQTT from main(): the real App, the fake umqtt.simple broker, and the real TCP probe.

@pytest.fixture
def broker_port():
    """A TCP port on 127.0.0.1 that accepts connections: what the notifier's probe looks for."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    yield s.getsockname()[1]
    s.close()


def mqtt_device(st, port):
    """config.json with Wi-Fi and a broker, and the fake home network accepting the device."""
    import network

    import umqtt.simple as broker

    mqtt = {"host": "127.0.0.1", "port": port, "user": "doorbell", "password": "broker-pw-5150"}
    st.write_json("config.json", {"board": {"profile": "ai-thinker", "watchdog_s": 30, "service_min": 2},
                                  "wifi": {"ssid": "home", "password": "correct horse"}, "mqtt": mqtt})
    network.reset()
    network.sim["accept"] = ("home", "correct horse")
    broker.reset()
    return broker, mqtt


def app_until(ready, then="stop"):
    """The real App, run by main() until ready() holds; then stopped (or Ctrl-C pressed)."""
    from doorstep.app import App

    class AppUntil(App):
        async def run(self):
            AppUntil.last = self
            task = asyncio.ensure_future(App.run(self))
            for _ in range(2000):
                if ready(self):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("main() never got there")
            if then == "interrupt":
                raise KeyboardInterrupt
            self.stop()
            await task

    return AppUntil


def crash_fails(err, board):
    """main()'s crash handler in these tests: fail with the error instead of pausing forever."""
    raise AssertionError("main() crashed: %r" % (err,))


def records_on_flash(st):
    import json

    return [json.loads(ln) for n in sorted(st.listdir("records")) for ln in st.read("records/" + n).splitlines()]


def mqtt_setup(st, broker_port):
    """A provisioned device with MQTT configured: (broker, mqtt settings, topics, what was sent)."""
    from doorstep import hass

    _pub, dev = provisioned(st)
    broker, mqtt = mqtt_device(st, broker_port)
    return broker, mqtt, hass.Topics("doorstep/" + dev, "homeassistant", dev), broker.sim["sent"]


def test_main_with_mqtt_sends_discovery_and_the_boot_record(device, broker_port):
    from doorstep import hass

    st, startup, machine, said, json = device
    broker, mqtt, tp, sent = mqtt_setup(st, broker_port)
    App = app_until(lambda app: (tp.checkpoint.decode(), True) in [(t, r) for t, _, r in sent])
    assert startup.main(st, App=App, crashed=crash_fails) == "stopped"
    app = App.last
    assert app.notify is not None and getattr(app.notify, "__self__", None) is not None
    c, = broker.sim["clients"]
    assert (c.server, c.port, c.user, c.pswd) == ("127.0.0.1", broker_port, "doorbell", mqtt["password"])
    topics = [t for t, _, _ in sent]
    for topic, _payload in hass.discovery(tp):
        assert topic.decode() in topics
    boot = records_on_flash(st)[1]
    assert boot["ev"] == "boot"
    summaries = [json.loads(m) for t, m, _ in sent if t == tp.record.decode()]
    assert [(r["seq"], r["ev"], r["t"]) for r in summaries] == [(1, "boot", boot["t"])]
    assert sent[-1] == (tp.status.decode(), b"offline", True) and broker.sim["log"][-1][0] == "disconnect"
    assert machine.sim.wdt.feeds > 0  # the door loop ran meanwhile
    assert not any(mqtt["password"] in m for m in said)


def test_main_ctrl_c_with_mqtt_says_offline_once(device, broker_port):
    st, startup, machine, said, json = device
    broker, mqtt, tp, sent = mqtt_setup(st, broker_port)
    App = app_until(lambda app: any(t == tp.checkpoint.decode() for t, _, _ in sent), then="interrupt")
    assert startup.main(st, App=App, crashed=crash_fails) == "interrupted"
    status = [m for t, m, _ in sent if t == tp.status.decode()]
    assert status == [b"online", b"offline"], status
    assert [e for e, _ in broker.sim["log"]].count("disconnect") == 1
    assert json.loads(st.read("boot.json"))["clean"] is True


def test_main_without_umqtt_runs_the_door_and_says_how_to_install_it(device, broker_port, monkeypatch):
    st, startup, machine, said, _ = device
    provisioned(st)
    broker, mqtt = mqtt_device(st, broker_port)
    monkeypatch.setitem(sys.modules, "umqtt.simple", None)  # a board without umqtt.simple
    App = app_until(lambda app: app.running and not app.queue)
    assert startup.main(st, App=App, crashed=crash_fails) == "stopped"
    assert startup.NO_UMQTT_MSG in said
    assert "run `mpremote mip install umqtt.simple`" in startup.NO_UMQTT_MSG
    assert App.last.notify is None and broker.sim["clients"] == []
    assert [r["ev"] for r in records_on_flash(st)] == ["genesis", "boot"]


def test_main_without_mqtt_config_imports_no_mqtt(device, monkeypatch):
    import doorstep

    st, startup, machine, said, _ = device
    provisioned(st)
    monkeypatch.delitem(sys.modules, "doorstep.mqtt", raising=False)
    monkeypatch.delattr(doorstep, "mqtt", raising=False)
    monkeypatch.delitem(sys.modules, "umqtt.simple", raising=False)
    FakeApp.then = "stop"
    assert startup.main(st, App=FakeApp) == "stopped"
    assert "doorstep.mqtt" not in sys.modules and "umqtt.simple" not in sys.modules
    assert not any("MQTT" in m or "mqtt" in m for m in said)
