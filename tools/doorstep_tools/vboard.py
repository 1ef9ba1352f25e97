"""`doorstep vboard`: a virtual Doorstep board that real `mpremote` (and so `doorstep deploy`,
`provision`, `codes`, `pull`) can talk to, with no ESP32 attached.

The firmware runs under real MicroPython 1.27 (the WebAssembly port, in Node: mpvm/board.mjs)
and the board speaks MicroPython's REPL protocol on a TCP port (`socket://127.0.0.1:PORT`)
or a pseudo-terminal. What the ESP32 would do, it does:

- its flash is the --state folder: loaded at power-on, and every file the board changes is
  written back (temporary file, fsync, rename) after each REPL command and control command,
  before each reset, every 250 ms, and when the board stops. Killing it loses at most the
  last quarter second, like pulling the plug. Do not edit the folder while the board runs;
  `doorstep sim --state` uses the same layout (key.bin, records/, ...);
- Ctrl-C (mpremote sends one when it connects) stops the running app, as KeyboardInterrupt
  does in the firmware's main.py (a clean stop); a soft reset starts a fresh MicroPython with
  the flash kept, and main runs only when the REPL is in friendly mode (mpremote resets in raw
  mode). So after mpremote has talked to the board, its app runs again after a reset:
  `mpremote reset` (machine.reset()) or {"reset": "hard"} on the control port;
- main: the ESP32's boot.py/main.py drive real pins, so by default the vboard runs its own
  main instead (mpvm/board_rom/_vboard.py): the firmware's own App (doorstep.app) on the
  virtual keypad, bell, camera and clock of doorstep_tools/virtual/board.py, as an asyncio
  task, so the REPL keeps answering. --main flash runs the flash's boot.py and main.py.

The control port (JSON lines, one reply per request; events pushed to every client):
  {"press": "1234#"}  keys on the virtual keypad matrix, 250 ms apart (the only way to type a code)
  {"ring": true}  {"intercom": true|false}  {"motion": true|false}  {"camera": "ok|fail|none|dark|frozen|slow"}
  {"advance_ms": N}  board time jumps N ms (timeouts and heartbeats fire in order)
  {"clock": T, "source": "ntp"}  set the board's UTC clock (seconds since 1970)
  {"status": true}  {"wait_idle": true}  {"sync": true}  {"reset": "soft|hard|power"}
Replies: {"ok": true|false, "app": "running|not provisioned|...", ...}; events:
{"event": "record", "seq": N, "ev": "...", "rec": {...}}, {"event": "feedback", "name": ...},
{"event": "boot", "cause": ...}. Key presses, rings and time steps reply once every record
they caused is on flash.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

from doorstep_tools.mpvm import repo_root

HERE = os.path.dirname(os.path.abspath(__file__))
BOARD_JS = os.path.join(HERE, "mpvm", "board.mjs")
ROM = os.path.join(HERE, "mpvm", "board_rom")
VIRTUAL = os.path.join(HERE, "virtual")


class VBoardError(Exception):
    """The virtual board could not start or answer; the message says why."""


class VBoard:
    """A running virtual board (a Node process). Use as a context manager.

    tcp/control: port numbers (0 picks a free one; control=None: no control port).
    clock: "host" (set from this PC at power-on, like NTP), "none", or a UTC time."""

    def __init__(self, state, tcp=0, control=0, clock="host", flash_kb=2048, heap_kb=2048, raw_paste=True,
                 main="vboard", node=None, on_event=None, on_log=None):
        self.state = os.path.abspath(state)
        self.cfg = {
            "state": self.state,
            "rom": ROM,
            "virtual": VIRTUAL,
            "tcp": tcp,
            "control": control,
            "host": "127.0.0.1",
            "clock": clock,
            "flashKb": flash_kb,
            "heap": heap_kb * 1024,
            "rawPaste": raw_paste,
            "main": main,
        }
        self.node = node or shutil.which("node")
        self.on_event = on_event
        self.on_log = on_log
        self.proc = None
        self.repl_port = None
        self.control_port = None
        self.logs = []
        self._ready = threading.Event()
        self._ctl = None
        self._ctl_buf = b""
        self._ctl_lock = threading.Lock()
        self.events = []  # every event the control port pushed, in order

    # Life cycle
    def start(self, timeout=30):
        if not self.node:
            raise VBoardError("Node.js is needed for the virtual board: install nodejs, then run `make setup`")
        if not os.path.isdir(os.path.join(repo_root(), "node_modules", "@micropython")):
            raise VBoardError("the MicroPython runtime is not installed: run `make setup` (npm ci) first")
        self.proc = subprocess.Popen(
            [self.node, BOARD_JS, json.dumps(self.cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=repo_root(),
        )
        threading.Thread(target=self._read_stdout, daemon=True).start()
        if not self._ready.wait(timeout) or self.repl_port is None:
            self.stop()
            raise VBoardError("the virtual board did not start: %s" % ("; ".join(self.logs[-5:]) or "no message"))
        return self

    def _read_stdout(self):
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "ready" in msg:
                self.repl_port = msg["ready"]["repl"]
                self.control_port = msg["ready"]["control"]
                self._ready.set()
            elif "log" in msg:
                self.logs.append(msg["log"])
                if self.on_log:
                    self.on_log(msg["log"])
            elif "event" in msg and self.on_event:
                self.on_event(msg["event"])
        self._ready.set()

    @property
    def url(self):
        return "socket://127.0.0.1:%d" % self.repl_port

    def stop(self, timeout=10):
        """Write the flash back and stop (as the board does on SIGTERM or stdin closing)."""
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # Control channel
    def control(self, timeout=60, **cmd):
        """Send one command (e.g. press="1234#") and return its reply (a dict)."""
        with self._ctl_lock:
            if self._ctl is None:
                if self.control_port is None:
                    raise VBoardError("this board has no control port")
                self._ctl = socket.create_connection(("127.0.0.1", self.control_port), timeout=timeout)
            self._ctl.settimeout(timeout)
            self._ctl.sendall(json.dumps(cmd).encode() + b"\n")
            while True:
                while b"\n" not in self._ctl_buf:
                    chunk = self._ctl.recv(65536)
                    if not chunk:
                        raise VBoardError("the virtual board closed its control port")
                    self._ctl_buf += chunk
                line, self._ctl_buf = self._ctl_buf.split(b"\n", 1)
                msg = json.loads(line)
                if "event" in msg:
                    self.events.append(msg)
                    continue
                return msg

    def press(self, keys, **kw):
        return self.control(press=keys, **kw)

    def records(self):
        """The records the board reported on the control port so far."""
        return [e["rec"] for e in self.events if e.get("event") == "record"]


# The command


def _pty_bridge(port, stop):
    """Serve the board on a pseudo-terminal: relay bytes between it and the TCP port.

    Output with no program on the terminal is dropped, as a UART does."""
    import pty
    import select
    import tty

    master, slave = pty.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    path = os.ttyname(slave)

    def run():
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setblocking(False)
        try:
            while not stop.is_set():
                r, _, _ = select.select([master, sock], [], [], 0.2)
                if master in r:
                    try:
                        data = os.read(master, 4096)
                    except OSError:
                        data = b""
                    if data:
                        sock.sendall(data)
                if sock in r:
                    data = sock.recv(65536)
                    if not data:
                        return
                    try:
                        os.write(master, data)
                    except BlockingIOError:
                        pass
        finally:
            sock.close()

    threading.Thread(target=run, daemon=True).start()
    return path, slave


def cmd_vboard(args):
    from doorstep_tools.sim import describe

    def on_event(ev):
        if ev.get("event") == "record":
            print(describe(ev["rec"]), flush=True)
        elif ev.get("event") == "boot":
            print("board booted (%s%s)" % (ev["cause"], ", raw REPL" if ev.get("raw") else ""), flush=True)
        elif ev.get("event") == "app_crashed":
            print("the app crashed: %s" % ev["error"], flush=True)

    clock = args.clock
    if clock not in ("host", "none"):
        try:
            clock = int(clock)
        except ValueError:
            print("doorstep vboard: --clock is host, none or a UTC time in seconds", file=sys.stderr)
            return 2
    if args.pty and args.tcp is not None:
        print("doorstep vboard: choose --tcp PORT or --pty, not both", file=sys.stderr)
        return 2
    b = VBoard(
        args.state,
        tcp=0 if args.pty or args.tcp is None else args.tcp,
        control=args.control,
        clock=clock,
        flash_kb=args.flash_kb,
        raw_paste=not args.no_raw_paste,
        main=args.main,
        on_event=on_event,
        on_log=lambda m: print("vboard: " + m, file=sys.stderr, flush=True),
    )
    try:
        b.start()
    except (VBoardError, OSError) as e:
        print("doorstep vboard: %s" % e, file=sys.stderr)
        return 1
    stop = threading.Event()
    print("Virtual Doorstep board, flash in %s" % b.state)
    if args.pty:
        path, _slave = _pty_bridge(b.repl_port, stop)
        print("REPL on %s   (mpremote connect %s)" % (path, path))
    else:
        print("REPL on %s   (mpremote connect %s)" % (b.url, b.url))
    if b.control_port is not None:
        print('Control on 127.0.0.1:%d   (JSON lines: {"press": "1234#"}, {"ring": true}, {"advance_ms": 60000}, ...)' % b.control_port)
    print("Ctrl-C stops the board (its flash is written back first).", flush=True)
    import signal

    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    try:
        while b.proc.poll() is None and not stop.is_set():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        code = b.stop()
    return 0 if code in (0, None) else 1


def add_parser(sub):
    p = sub.add_parser("vboard", help="a virtual board on this PC that mpremote and `doorstep --device` can talk to")
    p.add_argument("--state", required=True, help="the board's flash: a folder (made if missing)")
    p.add_argument("--tcp", type=int, metavar="PORT", help="serve the REPL on 127.0.0.1:PORT (default: a free port)")
    p.add_argument("--pty", action="store_true", help="serve the REPL on a pseudo-terminal (its path is printed)")
    p.add_argument("--control", type=int, metavar="PORT", help="JSON-lines control port for keypad, bell, camera, clock")
    p.add_argument("--clock", default="host", help="the board clock at power-on: host (default), none, or UTC seconds")
    p.add_argument("--flash-kb", type=int, default=2048, help="flash size (default 2048, an ESP32 with 4 MB)")
    p.add_argument("--main", choices=("vboard", "flash"), default="vboard",
                   help="vboard: the App on the virtual keypad, bell, camera and clock (default); "
                        "flash: the flash's own boot.py and main.py (they need ESP32 hardware)")
    p.add_argument("--no-raw-paste", action="store_true", help="refuse mpremote's raw-paste mode (slower transfers)")
    p.set_defaults(func=cmd_vboard)
