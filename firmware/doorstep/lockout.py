"""Keypad lockout: slows guessing down without letting a passer-by keep the driver out.

Two rules, both on flash before the verdict is shown (a power cut cannot undo a guess):

* three wrong codes in a row lock the keypad for ``base_s`` (1 min);
* every wrong code also spends one guess of an ``allowance`` (6), and one guess comes back
  every ``refill_s`` (20 min). The wrong code that spends the last one locks the keypad
  until the next one is back.

So a guesser gets at most allowance + one guess per refill_s (78 on the first day, 72 a
day after), while someone who types wrong codes and walks away keeps the keypad locked
for at most refill_s. Only the time the device runs counts: after a reboot an unfinished
lockout starts again in full and so does the refill, so pulling the plug gains nothing.
"""

from doorstep.compat import ticks_diff

LOCK_FILE = "lockout.json"


def _count(st, key, default, hi):
    v = st.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= hi:
        raise ValueError(key)
    return v


class Lockout:
    max_fails = 3
    base_s = 60
    allowance = 6
    refill_s = 1200

    def __init__(self, storage, now_ms):
        self.storage = storage
        try:
            st = storage.read_json(LOCK_FILE, {})
            self.fails = _count(st, "fails", 0, self.max_fails)
            self.left = _count(st, "left", self.allowance, self.allowance)
            self.level = _count(st, "level", 0, 1 << 30)
            self.lock_s = _count(st, "lock_s", self.base_s, self.refill_s)
            self.locked = st.get("locked", False)
            if not isinstance(self.locked, bool):
                raise ValueError("locked")
        except Exception:  # damaged state: fail safe, as if the allowance was used up
            self.fails, self.left, self.level, self.lock_s, self.locked = 0, 0, 1, self.refill_s, True
        self.since_ms = now_ms  # when the running lockout started (in full again after a boot)
        self.refill_ms = now_ms  # when the current refill period started
        self.refused = 0  # keys/submits refused during this lockout

    def _save(self):
        try:
            self.storage.write_json(LOCK_FILE, {"fails": self.fails, "left": self.left, "level": self.level,
                                                "lock_s": self.lock_s, "locked": self.locked})
        except OSError:
            pass  # flash refused: the lockout still holds in RAM; records fail closed meanwhile

    def _refill(self, now_ms):
        period = self.refill_s * 1000
        if self.left >= self.allowance:
            return
        back = 0
        while self.left < self.allowance and ticks_diff(now_ms, self.refill_ms) >= period:
            self.left += 1
            self.refill_ms += period
            back = 1
        if back:
            self._save()

    def duration_s(self):
        return self.lock_s

    def remaining_ms(self, now_ms):
        if not self.locked:
            return 0
        left = self.lock_s * 1000 - ticks_diff(now_ms, self.since_ms)
        return left if left > 0 else 0

    def is_locked(self, now_ms):
        return self.locked and self.remaining_ms(now_ms) > 0

    def expired(self, now_ms):
        """True once when a running lockout has just run out: the caller records lockout_end."""
        self._refill(now_ms)
        if self.locked and self.remaining_ms(now_ms) == 0:
            self.locked = False
            self.fails = 0
            if self.left == 0:  # the lockout was the wait for this guess (restarted after a boot)
                self.left = 1
                self.refill_ms = now_ms
            self._save()
            return True
        return False

    def failure(self, now_ms):
        """Count a wrong code. Returns True when this failure starts a lockout."""
        self._refill(now_ms)
        if self.left >= self.allowance:
            self.refill_ms = now_ms  # the first guess spent: the refill clock starts
        if self.left:
            self.left -= 1
        self.fails += 1
        lock_s = 0
        if self.left == 0:
            lock_s = (self.refill_s * 1000 - ticks_diff(now_ms, self.refill_ms) + 999) // 1000
        if self.fails >= self.max_fails and lock_s < self.base_s:
            lock_s = self.base_s
        if lock_s:
            self.level += 1
            self.locked = True
            self.lock_s = lock_s
            self.since_ms = now_ms
            self.fails = 0
            self.refused = 0
        self._save()
        return lock_s > 0

    def success(self):
        if self.fails or self.level:
            self.fails = 0
            self.level = 0
            self._save()
