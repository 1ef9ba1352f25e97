"""The fake board and helpers shared by scenario tests on both runtimes.

Written in the Python that CPython and MicroPython share; never copied to a device.
"""

import os

from doorstep.storage import Storage

_n = [0]


def tmpdir():
    """A new empty folder (a real temp dir on CPython, a fresh folder in the VM's RAM FS)."""
    try:
        import tempfile

        return tempfile.mkdtemp(prefix="doorstep-")
    except ImportError:
        _n[0] += 1
        path = "/tmp%d" % _n[0]
        os.mkdir(path)
        return path


class Rng:
    """Deterministic bytes for tests (an LCG); the device uses os.urandom."""

    def __init__(self, seed=1):
        self.x = seed

    def __call__(self, n):
        out = bytearray(n)
        for i in range(n):
            self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
            out[i] = (self.x >> 16) & 0xFF
        return bytes(out)


class Clock:
    """Wall clock (UTC seconds or None) and a ms tick counter the test moves by hand."""

    def __init__(self, t=None, ms=1000, quality="none"):
        self.t0 = t
        self.ms = ms
        self.ms0 = ms
        self.quality = quality if t is None else (quality if quality != "none" else "ntp")

    def now(self):
        if self.t0 is None:
            return None
        return self.t0 + (self.ms - self.ms0) // 1000

    def set(self, t, quality="ntp"):
        self.t0 = t
        self.ms0 = self.ms
        self.quality = quality

    def advance(self, ms):
        self.ms += ms
        return self.ms

    def ticks_ms(self):
        return self.ms & 0x3FFFFFFF


class Feedback:
    """Records LED/buzzer patterns in order."""

    def __init__(self):
        self.seen = []

    def __call__(self, name):
        self.seen.append(name)

    def last(self):
        return self.seen[-1] if self.seen else None


class Events:
    """Collects door events in order."""

    def __init__(self):
        self.all = []

    def __call__(self, ev):
        self.all.append(ev)

    def kinds(self):
        return [e["ev"] for e in self.all]

    def last(self, kind=None):
        for e in reversed(self.all):
            if kind is None or e["ev"] == kind:
                return e
        return None


class PowerCut(Exception):
    """The power went off: nothing after this reaches flash."""


class _CutFile:
    def __init__(self, f, storage):
        self.f = f
        self.s = storage

    def write(self, data):
        s = self.s
        if s.budget is not None:
            if s.budget <= 0:
                raise PowerCut()
            if len(data) > s.budget:
                self.f.write(data[: s.budget])
                self.f.flush()
                s.budget = 0
                raise PowerCut()
            s.budget -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.f.close()


class CutStorage(Storage):
    """Storage whose power goes off after `budget` more bytes are written (None: never).

    Renames and removals after the cut fail too, as they would on a dead device.
    """

    def __init__(self, root, budget=None):
        super().__init__(root)
        self.budget = budget

    def open(self, rel, mode="rb"):
        f = super().open(rel, mode)
        if "r" in mode and "+" not in mode:
            return f
        return _CutFile(f, self)

    def _alive(self):
        if self.budget is not None and self.budget <= 0:
            raise PowerCut()

    def rename(self, old, new):
        self._alive()
        super().rename(old, new)

    def remove(self, rel):
        self._alive()
        super().remove(rel)
