"""Flash that can lose power: cut after N more bytes, or refuse writes as a full chip."""

import os

from doorstep.storage import Storage


class PowerCut(Exception):
    """The power went off: nothing after this reaches flash."""


class _CutFile:
    def __init__(self, f, storage):
        self.f = f
        self.s = storage

    def write(self, data):
        s = self.s
        if s.fail or s.full(self.f, len(data)):
            raise OSError(28, "no space left on device")
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

    Renames and removals after the cut fail too, as they would on a dead device. With
    `fail` set, every write raises OSError as a full flash does, and the power stays on.
    """

    def __init__(self, root, budget=None):
        super().__init__(root)
        self.budget = budget
        self.fail = False

    def open(self, rel, mode="rb"):
        f = super().open(rel, mode)
        if "r" in mode and "+" not in mode:
            return f
        return _CutFile(f, self)

    def full(self, f, n):
        """Would n more bytes written to open file f not fit? (Never: this chip has no size.)"""
        return False

    def _alive(self):
        if self.fail:
            raise OSError(28, "no space left on device")
        if self.budget is not None and self.budget <= 0:
            raise PowerCut()

    def rename(self, old, new):
        self._alive()
        super().rename(old, new)

    def remove(self, rel):
        self._alive()
        super().remove(rel)


class SmallFlash(CutStorage):
    """Storage on a chip of `capacity` bytes: free_bytes() shrinks as files grow, and a
    write that does not fit fails as a full flash does (OSError 28)."""

    def __init__(self, root, capacity):
        super().__init__(root)
        self.capacity = capacity

    def used(self, rel=""):
        n = 0
        for name in self.listdir(rel):
            sub = rel + "/" + name if rel else name
            if os.stat(self.path(sub))[0] & 0x4000:
                n += self.used(sub)
            else:
                n += self.size(sub)
        return n

    def free_bytes(self):
        free = self.capacity - self.used()
        return free if free > 0 else 0

    def full(self, f, n):
        f.flush()  # so the file's own unflushed bytes count as used
        return self.free_bytes() < n
