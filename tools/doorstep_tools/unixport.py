"""Run code under MicroPython's own unix port (32-bit x86, with the native emitters), when present.

The WebAssembly port every clone tests on has no native emitter, so the firmware's
@micropython.viper code (the ESP32's SHA-512 engine) can only run here. The binary is not on
any package registry: it is looked for in $DOORSTEP_MICROPYTHON_UNIX, then in
../shared/tools/ beside the checkout. Callers skip, saying why, when it is absent.
"""

import os
import subprocess
import tempfile

from doorstep_tools.mpvm import repo_root

NAME = "micropython-1.27.0-unix-i386"

# This build has the _asyncio core but not the asyncio package the firmware's compat imports;
# nothing run here awaits, so a stand-in with the one name compat takes is enough.
ASYNCIO_STANDIN = '''"""Stand-in: this unix port build has no asyncio package."""


def sleep_ms(ms):
    raise RuntimeError("no asyncio on this MicroPython build")
'''


def find():
    """(path of the binary, None), or (None, why it cannot be used)."""
    path = os.environ.get("DOORSTEP_MICROPYTHON_UNIX") or os.path.join(
        os.path.dirname(repo_root()), "shared", "tools", NAME)
    if not os.path.exists(path):
        return None, "MicroPython's unix port (%s) is not on this machine: native-code checks skipped" % NAME
    try:
        r = subprocess.run([path, "-c", "print(6 * 7)"], capture_output=True, text=True, timeout=30)
    except OSError as e:
        return None, "%s does not start (%s): on Debian, apt-get install -y libc6-i386" % (path, e)
    if r.stdout.strip() != "42":
        return None, "%s does not start (%s): on Debian, apt-get install -y libc6-i386" % (path, r.stderr.strip())
    return path, None


def run(code, heapsize="96k", extra_path=(), timeout=600, firmware=None):
    """Run code with firmware/ (or another copy of it) on the import path; returns its stdout,
    raises on failure."""
    exe, why = find()
    if exe is None:
        raise RuntimeError(why)
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "asyncio.py"), "w") as f:
            f.write(ASYNCIO_STANDIN)
        script = os.path.join(d, "main.py")
        with open(script, "w") as f:
            f.write(code)
        path = [firmware or os.path.join(repo_root(), "firmware"), *extra_path, d]
        env = dict(os.environ, MICROPYPATH=":".join(path))
        r = subprocess.run([exe, "-X", "heapsize=" + heapsize, script], capture_output=True, text=True,
                           env=env, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("MicroPython unix port failed:\n%s%s" % (r.stdout, r.stderr))
    return r.stdout
