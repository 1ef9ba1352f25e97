"""The fake board and helpers shared by scenario tests on both runtimes.

Written in the Python that CPython and MicroPython share; never copied to a device.
"""

import os

from doorstep_tools.virtual.board import VirtualClock
from doorstep_tools.virtual.flash import CutStorage, PowerCut  # noqa: F401  (tests import them from here)

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


def Clock(t=None):
    """The virtual board's clock, set (as by NTP) when t is given."""
    return VirtualClock(t, "ntp")


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
