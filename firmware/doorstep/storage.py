"""The device's files, behind one small object so tests can cut the power mid-write.

Every firmware module reaches flash through a Storage: paths are relative to its root
(``/`` on the ESP32, a temporary folder on the host). Small state files are replaced
atomically (write a temporary file, sync, rename), so a power cut leaves either the old
or the new version, never half of one.
"""

import json
import os


class StorageError(Exception):
    """A state file could not be read or written; the message says which and why."""


def _sync():
    try:
        os.sync()
    except AttributeError:  # some ports have no os.sync; flush() already reached the FS
        pass


class Storage:
    def __init__(self, root=""):
        self.root = root.rstrip("/")

    def path(self, rel):
        return self.root + "/" + rel if self.root else rel

    # Raw operations: the fault-injection wrapper in the tests overrides open().
    def open(self, rel, mode="rb"):
        return open(self.path(rel), mode)

    def exists(self, rel):
        try:
            os.stat(self.path(rel))
            return True
        except OSError:
            return False

    def size(self, rel):
        return os.stat(self.path(rel))[6]

    def listdir(self, rel=""):
        try:
            return sorted(os.listdir(self.path(rel) if rel else (self.root or ".")))
        except OSError:
            return []

    def makedirs(self, rel):
        cur = ""
        for part in rel.split("/"):
            cur = cur + "/" + part if cur else part
            if not self.exists(cur):
                os.mkdir(self.path(cur))

    def remove(self, rel):
        os.remove(self.path(rel))

    def rename(self, old, new):
        os.rename(self.path(old), self.path(new))

    def free_bytes(self):
        """Free space on the filesystem holding root, or None where the port cannot say."""
        try:
            st = os.statvfs(self.path("") if self.root else "/")
            return st[0] * st[3]
        except (OSError, AttributeError):
            return None

    # Whole-file helpers
    def read(self, rel):
        with self.open(rel, "rb") as f:
            return f.read()

    def write_atomic(self, rel, data):
        """Replace rel with data so that a power cut leaves the old or the new file."""
        tmp = rel + ".tmp"
        with self.open(tmp, "wb") as f:
            f.write(data)
            f.flush()
        _sync()
        self.rename(tmp, rel)
        _sync()

    def read_json(self, rel, default=None):
        """The JSON in rel, default if the file does not exist, StorageError if it is damaged."""
        if not self.exists(rel):
            return default
        try:
            return json.loads(self.read(rel))
        except (ValueError, OSError) as e:
            raise StorageError("%s is damaged (%s)" % (rel, e))

    def write_json(self, rel, obj):
        self.write_atomic(rel, json.dumps(obj).encode())

    def sync(self):
        _sync()
