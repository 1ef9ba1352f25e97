"""Keypad lockout with exponential backoff that a power cycle cannot reset.

After ``max_fails`` consecutive wrong codes the keypad locks for ``base_s``; each further
lockout doubles it, up to ``cap_s``. The state is on flash before the verdict is shown.
After a reboot an unfinished lockout starts again in full: the device cannot know how
long the power was off, and an attacker must not gain by pulling the plug.
"""

from doorstep.compat import ticks_diff

LOCK_FILE = "lockout.json"


class Lockout:
    max_fails = 3
    base_s = 60
    cap_s = 3600

    def __init__(self, storage, now_ms):
        self.storage = storage
        try:
            st = storage.read_json(LOCK_FILE, {})
        except Exception:
            st = None  # damaged state: fail safe, as if a lockout was running
        if not isinstance(st, dict):
            st = {"fails": self.max_fails, "level": 1, "locked": True}
        self.fails = int(st.get("fails", 0))
        self.level = int(st.get("level", 0))
        self.locked = bool(st.get("locked", False))
        self.since_ms = now_ms
        self.refused = 0  # keys/submits refused during this lockout

    def _save(self):
        try:
            self.storage.write_json(LOCK_FILE, {"fails": self.fails, "level": self.level, "locked": self.locked})
        except OSError:
            pass  # flash refused: the lockout still holds in RAM; records fail closed meanwhile

    def duration_s(self):
        d = self.base_s << max(self.level - 1, 0)
        return d if d < self.cap_s else self.cap_s

    def remaining_ms(self, now_ms):
        if not self.locked:
            return 0
        left = self.duration_s() * 1000 - ticks_diff(now_ms, self.since_ms)
        return left if left > 0 else 0

    def is_locked(self, now_ms):
        return self.locked and self.remaining_ms(now_ms) > 0

    def expired(self, now_ms):
        """True once when a running lockout has just run out: the caller records lockout_end."""
        if self.locked and self.remaining_ms(now_ms) == 0:
            self.locked = False
            self.fails = 0
            self._save()
            return True
        return False

    def failure(self, now_ms):
        """Count a wrong code. Returns True when this failure starts a lockout."""
        self.fails += 1
        if self.fails >= self.max_fails:
            self.level += 1
            self.locked = True
            self.since_ms = now_ms
            self.refused = 0
            self._save()
            return True
        self._save()
        return False

    def success(self):
        if self.fails or self.level:
            self.fails = 0
            self.level = 0
            self._save()
