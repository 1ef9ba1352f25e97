"""Two-runtime harness.

Files in host_tests/scenarios/ hold plain functions named ``scenario_*`` (sync or async),
written once in the Python both runtimes share. Each becomes two pytest items:
``[cpython]`` runs it here, ``[micropython]`` runs it in a fresh MicroPython 1.27 VM
(the official WebAssembly port under Node) with firmware/ and host_tests/fakes copied in.
"""

import ast
import asyncio
import importlib
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIRMWARE = os.path.join(ROOT, "firmware")
for p in (FIRMWARE, HERE, os.path.join(ROOT, "tools")):
    if p not in sys.path:
        sys.path.insert(0, p)

from doorstep_tools.mpvm import MicroPython, tree_files  # noqa: E402

RUNTIMES = ("cpython", "micropython")
_passed = {r: 0 for r in RUNTIMES}
_failed = {r: 0 for r in RUNTIMES}


class _VM:
    """The session's MicroPython runner, restarted if a test killed it (timeout)."""

    mp = None

    @classmethod
    def get(cls):
        if cls.mp is None or not cls.mp.alive:
            cls.mp = MicroPython()
            cls.mp.put("firmware", tree_files(FIRMWARE, "/lib"))
            files = tree_files(os.path.join(HERE, "fakes"), "/lib/fakes")
            files.update(tree_files(os.path.join(HERE, "scenarios"), "/lib/scenarios"))
            tools = os.path.join(ROOT, "tools", "doorstep_tools")
            files["/lib/doorstep_tools/__init__.py"] = b""  # the host one edits sys.path
            files.update(tree_files(os.path.join(tools, "virtual"), "/lib/doorstep_tools/virtual"))
            cls.mp.put("tests", files)
        return cls.mp


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A private mosquitto (logins required) for the MQTT tests of one module."""
    from mosquitto import Broker
    from mqtt_rig import USERS

    b = Broker(tmp_path_factory.mktemp("broker"), USERS).start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def micropython():
    """Run code in fresh MicroPython VMs with the firmware at /lib: mp.run(code, ...)."""
    return _VM.get()


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".py" and file_path.parent.name == "scenarios" and file_path.name != "__init__.py":
        return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    def collect(self):
        tree = ast.parse(self.path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("scenario_"):
                for rt in RUNTIMES:
                    yield ScenarioItem.from_parent(
                        self, name="%s[%s]" % (node.name, rt), func=node.name, runtime=rt
                    )


class ScenarioItem(pytest.Item):
    def __init__(self, *, func, runtime, **kw):
        super().__init__(**kw)
        self.func = func
        self.runtime = runtime
        self.module = "scenarios." + self.path.stem
        self.add_marker(getattr(pytest.mark, runtime))

    def runtest(self):
        if self.runtime == "cpython":
            mod = importlib.import_module(self.module)
            res = getattr(mod, self.func)()
            if asyncio.iscoroutine(res):
                asyncio.run(res)
        else:
            code = (
                "import sys\nsys.path.insert(0, '/lib')\n"
                "from %s import %s as f\nr = f()\n"
                "if type(r).__name__ == 'generator':\n    await r\n"
                # let cancelled tasks finish here, not in the next test's VM
                "import asyncio\nawait asyncio.sleep_ms(30)\n" % (self.module, self.func)
            )
            _VM.get().run(code, bundles=("firmware", "tests"), timeout=300)

    def repr_failure(self, excinfo):
        if self.runtime == "micropython":
            return "MicroPython: %s" % excinfo.value
        excinfo.traceback = excinfo.traceback.filter(
            lambda e: "site-packages" not in str(e.path) and not str(e.path).endswith("conftest.py")
        )
        return excinfo.getrepr(style="long")

    def reportinfo(self):
        return self.path, None, "%s::%s" % (self.path.name, self.name)


def pytest_configure(config):
    for rt in RUNTIMES:
        config.addinivalue_line("markers", "%s: scenario run on %s" % (rt, rt))


def pytest_runtest_logreport(report):
    if report.when != "call":
        return
    for rt in RUNTIMES:
        if report.nodeid.endswith("[%s]" % rt) and "scenarios/" in report.nodeid:
            (_passed if report.passed else _failed)[rt] += 1


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        "scenarios: CPython %d passed, %d failed; MicroPython 1.27 %d passed, %d failed"
        % (_passed["cpython"], _failed["cpython"], _passed["micropython"], _failed["micropython"])
    )


def pytest_sessionfinish(session):
    if _VM.mp is not None:
        _VM.mp.close()
