"""Run Python code under real MicroPython (the official WebAssembly port) from CPython.

One Node process serves many fresh VMs (fast); see runner.mjs for the wire protocol.
"""

import base64
import json
import os
import shutil
import subprocess
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "runner.mjs")


class MicroPythonError(Exception):
    """Python code raised inside the MicroPython VM (message is its traceback)."""


def repo_root():
    """The checkout this package lives in (tools/doorstep_tools/mpvm -> repo)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def tree_files(src, dest, exts=(".py",)):
    """Map every file under src with one of exts to a VM path under dest."""
    files = {}
    for dirpath, dirnames, names in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for n in sorted(names):
            if n.endswith(exts):
                full = os.path.join(dirpath, n)
                rel = os.path.relpath(full, src).replace(os.sep, "/")
                with open(full, "rb") as f:
                    files[dest.rstrip("/") + "/" + rel] = f.read()
    return files


class MicroPython:
    """A Node process hosting MicroPython VMs; each run() gets a brand-new VM."""

    def __init__(self, node=None):
        node = node or shutil.which("node")
        if not node:
            raise RuntimeError("Node.js is needed to run MicroPython tests: install nodejs, then run 'make setup'")
        env = dict(os.environ)
        self._proc = subprocess.Popen(
            [node, RUNNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=repo_root(),
            env=env,
        )
        self._id = 0
        self._lock = threading.Lock()

    def _call(self, req, timeout):
        with self._lock:
            self._id += 1
            req["id"] = self._id
            self._proc.stdin.write(json.dumps(req).encode() + b"\n")
            self._proc.stdin.flush()
            timer = threading.Timer(timeout, self._proc.kill)
            timer.start()
            try:
                line = self._proc.stdout.readline()
            finally:
                timer.cancel()
            if not line:
                raise MicroPythonError("MicroPython runner stopped (timed out after %ss or crashed)" % timeout)
            return json.loads(line)

    @staticmethod
    def _encode(files):
        return {p: base64.b64encode(d if isinstance(d, bytes) else d.encode()).decode() for p, d in (files or {}).items()}

    def put(self, name, files):
        """Keep a set of files in the runner; later runs copy it into their VM by name."""
        self._call({"op": "put", "bundle": name, "files": self._encode(files)}, 60)

    def run(self, code, bundles=(), files=None, heapsize=2 * 1024 * 1024, collect=(), timeout=120, cap=None):
        """Run code (top-level await allowed) in a fresh VM. Returns (stdout, files collected).

        cap: hold the VM to its `heapsize` GC heap, with `cap` bytes of malloc slack.
        """
        rep = self._call(
            {
                "cap": cap,
                "op": "run",
                "bundles": list(bundles),
                "files": self._encode(files),
                "code": code,
                "heapsize": heapsize,
                "collect": list(collect),
            },
            timeout,
        )
        got = {p: base64.b64decode(b) for p, b in (rep.get("files") or {}).items()}
        if not rep["ok"]:
            raise MicroPythonError((rep.get("out") or "") + rep.get("error", ""))
        return rep.get("out", ""), got

    @property
    def alive(self):
        return self._proc.poll() is None

    def close(self):
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
