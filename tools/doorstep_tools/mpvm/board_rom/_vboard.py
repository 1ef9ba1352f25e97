"""The virtual board's own code: its "ROM", never part of its flash.

board.mjs starts a fresh MicroPython VM for every boot and calls setup() (the flash at /,
errno numbers as MicroPython has them, os.urandom), then in friendly REPL mode main(): the
firmware's App on the virtual keypad, bell, camera and clock, as an asyncio task, so the REPL
keeps answering (or run_file() for the flash's own boot.py/main.py). control() serves the
control channel.
Ctrl-C on the serial port stops the app, as on the ESP32 (mpremote sends one on connect).
"""

import asyncio
import json
import os
import sys
import time
import vfs

import _vbhost as host

# The WASM filesystem raises Emscripten's errno numbers; firmware and mpremote expect
# MicroPython's (ENOENT is 44 there, 2 here).
_ERRNO = {2: 13, 8: 9, 10: 16, 20: 17, 28: 22, 29: 5, 31: 21, 37: 36, 44: 2, 51: 28, 54: 20, 55: 39, 63: 1, 69: 30}
ENOENT = 2
ENOSPC = 28
BLOCK = 4096


def _oserr(e):
    return OSError(_ERRNO.get(e.errno, e.errno))


class _Writing:
    """A file open for writing on a flash that can fill up (ENOSPC, as LittleFS says)."""

    def __init__(self, f):
        self.f = f

    def write(self, data):
        if int(host.flash_free()) < len(data):
            raise OSError(ENOSPC)
        try:
            return self.f.write(data)
        except OSError as e:
            raise _oserr(e)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def __iter__(self):
        return iter(self.f)


class Flash:
    """The board's flash as MicroPython sees it.

    Files live under /flash of the VM's memory (board.mjs mirrors them to the state
    folder); this mount fixes errno numbers, lists file sizes, has a capacity, and keeps
    the ROM reachable at /rom for imports without listing it."""

    def __init__(self):
        self.v = vfs.VfsPosix("/flash")
        self.rom = vfs.VfsPosix("/romfs")

    def _at(self, p):
        if p == "/rom" or p.startswith("/rom/"):
            return self.rom, p[4:] or "/"
        return self.v, p

    def _call(self, name, p, *args):
        fs, q = self._at(p)
        try:
            return getattr(fs, name)(q, *args)
        except OSError as e:
            raise _oserr(e)

    def __repr__(self):
        return "<vboard flash>"

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def open(self, p, mode):
        f = self._call("open", p, mode)
        for m in "wax+":
            if m in mode:
                return _Writing(f)
        return f

    def ilistdir(self, p):
        fs, q = self._at(p)
        try:
            entries = list(fs.ilistdir(q))
        except OSError as e:
            raise _oserr(e)
        base = q.rstrip("/")
        for ent in entries:
            size = 0
            if ent[1] == 0x8000:
                full = base + "/" + ent[0] if (base or q.startswith("/")) else ent[0]
                try:
                    size = fs.stat(full)[6]
                except OSError:
                    pass
            yield (ent[0], ent[1], 0, size)

    def chdir(self, p):
        if p == "/rom" or p.startswith("/rom/"):
            raise OSError(ENOENT)
        self._call("chdir", p)

    def getcwd(self):
        return self.v.getcwd()

    def mkdir(self, p):
        self._call("mkdir", p)

    def remove(self, p):
        self._call("remove", p)

    def rmdir(self, p):
        self._call("rmdir", p)

    def rename(self, a, b):
        try:
            self.v.rename(a, b)
        except OSError as e:
            raise _oserr(e)

    def stat(self, p):
        return self._call("stat", p)

    def statvfs(self, p):
        total, free = json.loads(host.flash_stat())
        return (BLOCK, BLOCK, total, free, free, 0, 0, 0, 0, 255)


def urandom(n):
    """The ESP32 has a hardware RNG; the WASM port has no os.urandom. Node's CSPRNG."""
    from binascii import unhexlify

    return unhexlify(host.urandom(n))


def setup():
    vfs.umount("/")
    vfs.mount(Flash(), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib", "/rom"]
    os.urandom = urandom


def run_file(name):
    """Run a script from the flash as the ESP32 does boot.py/main.py: in __main__'s
    namespace, its traceback printed, the board carrying on."""
    try:
        with open(name) as f:
            src = f.read()
    except OSError:
        return
    import __main__

    try:
        exec(compile(src, name, "exec"), __main__.__dict__)
    except SystemExit:
        host.reset("soft")
    except BaseException as e:  # noqa: BLE001  -- a broken script must not stop the board
        sys.print_exception(e)


# The virtual hardware


class HostClock:
    """The VirtualClock interface with the time kept by board.mjs, so that it runs on in
    real time, survives soft resets like the RTC, and moves on when the tests say so."""

    @property
    def ms(self):
        return int(host.ms())

    @ms.setter
    def ms(self, v):
        host.set_ms(str(v))

    def ticks_ms(self):
        return self.ms & 0x3FFFFFFF

    def _state(self):
        return json.loads(host.clock())

    @property
    def quality(self):
        return self._state()["quality"]

    def now(self):
        c = self._state()
        if c["t0"] is None:
            return None
        return c["t0"] + (self.ms - c["ms0"]) // 1000

    def set(self, t, quality):
        host.clock_set(json.dumps({"t0": t, "ms0": self.ms, "quality": quality}))

    def advance(self, ms):
        self.ms += ms


clock = HostClock()
board = None
app = None
state = "idle"  # what main() made of this boot: no firmware, not provisioned, running, ...


def _emit(obj):
    host.event(json.dumps(obj))


def _on_record(rec):
    _emit({"event": "record", "seq": rec.get("seq"), "ev": rec.get("ev"), "rec": rec})


def _on_feedback(name):
    _emit({"event": "feedback", "name": name})


def _board():
    global board
    if board is None:
        from doorstep_tools.virtual.board import VirtualBoard

        b = VirtualBoard(pir=True)
        b.clock = clock
        b.keypad.clock = clock
        b.cause = host.cause()
        b.notify = _on_record
        b.on_feedback = _on_feedback
        board = b
    return board


def main():
    """What the vboard runs instead of the ESP32's main.py: the same App, virtual hardware."""
    global app, state
    try:
        from binascii import unhexlify

        from doorstep.app import App
        from doorstep.provision import public_info
        from doorstep.storage import Storage

        b = _board()
    except ImportError as e:
        state = "no firmware"
        print("vboard: no Doorstep firmware on the flash (%s): run `doorstep deploy`" % e)
        return
    st = Storage("")
    try:
        info = public_info(st)
    except Exception as e:  # noqa: BLE001
        state = "broken key: %s" % e
        print("doorstep: cannot read the device key (%s)" % e)
        return
    if info is None:
        state = "not provisioned"
        print("doorstep: not provisioned yet: run `doorstep provision --device ...`")
        return
    app = App(st, b, unhexlify(info[0]))
    state = "starting"
    asyncio.create_task(_run(app))


async def _run(a):
    global state
    try:
        await a.run()
        state = "stopped"
    except Exception as e:  # noqa: BLE001  -- on the ESP32 the watchdog would reset the board
        state = "crashed: %r" % (e,)
        print("doorstep: the app stopped:")
        sys.print_exception(e)
        _emit({"event": "app_crashed", "error": repr(e)})


def interrupt():
    """Ctrl-C on the serial port: like KeyboardInterrupt in main.py, every task stops now,
    and the app is stopped cleanly as firmware/main.py does (doorstep.board.startup)."""
    global app, state
    asyncio.new_event_loop()
    if app is not None:
        if getattr(app, "boot_no", None) is not None:
            try:
                app.stop()
            except Exception as e:  # noqa: BLE001
                sys.print_exception(e)
        app = None
        state = "interrupted"
        print("KeyboardInterrupt: the Doorstep app stopped (reset the board to start it again)")


def _running():
    return app is not None and app.running and getattr(app, "door", None) is not None


async def _booted(timeout_ms=30000):
    start = time.ticks_ms()
    while app is not None and state == "starting" and not app.running:
        if time.ticks_diff(time.ticks_ms(), start) > timeout_ms:
            raise OSError("the app did not finish booting")
        await asyncio.sleep_ms(5)


async def _idle(timeout_ms=30000):
    """Until every door event so far is a record on flash (or there is no app)."""
    await _booted(timeout_ms)
    start = time.ticks_ms()
    while _running() and app.queue:
        if time.ticks_diff(time.ticks_ms(), start) > timeout_ms:
            raise OSError("records are still being written after %d ms" % timeout_ms)
        await asyncio.sleep_ms(5)


async def _advance(ms):
    """Let ms of board time pass at once, the door loop stepping through it in order
    (10 ms steps while something is happening, 1 s otherwise), as VirtualDevice does."""
    b = _board()
    left = int(ms)
    n = 0
    while left > 0:
        a = app if _running() else None
        busy = b.keypad.down or b.rings or (a is not None and a.door.entry.pending())
        step = min(10 if busy else 1000, left)
        b.clock.advance(step)
        left -= step
        if a is not None:
            a.step()
            while a.shots.pending or a.shots.busy:  # the frame is taken before board time goes on
                await asyncio.sleep_ms(1)
        n += 1
        if n % 25 == 0:
            await asyncio.sleep_ms(0)


CAMERA_MODES = ("ok", "fail", "none", "dark", "frozen", "slow", "person")


async def _press(req):
    b = _board()
    keys = str(req["press"])
    for ch in keys:
        b.keypad.bit(ch)  # ValueError before anything is pressed
    await _booted()
    # A finger takes a moment to reach the keypad: the scanner must have seen it idle
    # (a key already down when scanning starts is not a press).
    await _advance(50)
    for ch in keys:
        b.keypad.press(ch)
        await _advance(req.get("gap_ms", 250))
    await _idle()
    return {"pressed": len(keys)}


async def _ring(req):
    _board().ring()
    await _booted()
    await _advance(req.get("gap_ms", 50))
    await _idle()
    return {}


async def _advance_cmd(req):
    ms = int(req["advance_ms"])
    if ms < 0:
        raise ValueError("advance_ms must not be negative")
    await _advance(ms)
    await _idle()
    return {}


async def _clock(req):
    t = req["clock"]
    src = req.get("source", "ntp")
    if t is not None and not isinstance(t, int):
        raise ValueError("clock must be a UTC time in whole seconds since 1970")
    if _running() and t is not None:
        app.set_time(t, src)
    else:
        clock.set(t, src if t is not None else "none")
    await _idle()
    return {"utc": clock.now(), "quality": clock.quality}


async def _camera(req):
    mode = req["camera"]
    if mode not in CAMERA_MODES:
        raise ValueError("camera must be one of " + ", ".join(CAMERA_MODES))
    _board().camera.mode = mode
    return {}


async def _motion(req):
    _board().moving = bool(req["motion"])
    return {}


async def _intercom(req):
    _board().intercom_on = bool(req["intercom"])
    return {}


async def _status(req):
    out = {"state": _app_state(), "ms": clock.ms, "utc": clock.now(), "quality": clock.quality}
    try:
        out["camera"] = _board().camera.mode
    except ImportError:
        pass
    if app is not None and getattr(app, "ledger", None) is not None:
        out.update(next_seq=app.ledger.next_seq, boot=app.boot_no, queued=len(app.queue))
    return out


async def _wait_idle(req):
    await _idle(int(req.get("timeout_ms", 30000)))
    return {}


HANDLERS = (
    ("press", _press),
    ("ring", _ring),
    ("advance_ms", _advance_cmd),
    ("clock", _clock),
    ("camera", _camera),
    ("intercom", _intercom),
    ("motion", _motion),
    ("status", _status),
    ("wait_idle", _wait_idle),
)


def _app_state():
    if _running():
        return "running"
    return state


def control(rid, line):
    asyncio.create_task(_control(rid, line))


async def _control(rid, line):
    try:
        req = json.loads(line)
        for key, fn in HANDLERS:
            if key in req:
                break
        else:
            raise ValueError("unknown command; known: reset, sync, " + ", ".join(k for k, _ in HANDLERS))
        if key in ("press", "ring", "advance_ms", "camera", "intercom", "motion"):
            _board()
        res = await fn(req)
        res["ok"] = True
    except ImportError as e:
        res = {"ok": False, "error": "no Doorstep firmware on the flash (%s): deploy it first" % e}
    except Exception as e:  # noqa: BLE001  -- every request gets an answer
        res = {"ok": False, "error": str(e) or repr(e)}
    res["app"] = _app_state()
    host.reply(rid, json.dumps(res))
