"""Code entry: keypad keys in, a submitted code (or why there is none) out.

Digits are typed, '*' clears, '#' submits. Other keys (A-D on a 4x4 pad) do nothing.
Where handovers are on (handover.py, a display at the door), '*' typed with nothing
pending starts a challenge instead: '*' digits '#' is ('challenge', ...), never a code,
and '*' again cancels it. Before, '*' on an empty entry did nothing, so no code entry
('digits #', 'digits * digits #') changes meaning.
The digits live in one preallocated bytearray that is zeroed whenever the entry
ends, so a typed code does not linger in RAM. The only copy that leaves is the
``bytes`` of a submit, which the caller drops once it has been checked. Nothing
here - return value, repr or exception - shows a typed digit except that submit.
"""

from doorstep.compat import ticks_diff


class CodeEntry:
    """Turn key characters into actions; each method returns an action tuple or None.

    Actions: ('submit', code_bytes, ndigits), ('submit_invalid', ndigits) when more
    than max_len digits were typed, ('cleared', ndigits), ('timeout', ndigits), and
    with handovers on ('handover',) when a challenge starts, ('challenge', bytes, ndigits).
    """

    def __init__(self, timeout_ms=10000, max_len=12):
        if max_len < 1:
            raise ValueError("max_len")
        self.timeout_ms = timeout_ms
        self.max_len = max_len
        self._buf = bytearray(max_len)
        self._n = 0  # digits typed; above max_len only the count is kept (overflow)
        self._last_ms = 0  # ticks of the last key
        self.handover = False  # '*' on an empty entry starts a challenge (set by handover_door)
        self.mode = False  # a challenge is being typed

    def __repr__(self):
        # One star per digit: even the count shows no digit character.
        n = self._n
        return "<CodeEntry %s%s>" % ("*" * min(n, self.max_len), "+" if n > self.max_len else "")

    def pending(self):
        """Number of digits typed so far (including any past max_len)."""
        return self._n

    def _wipe(self):
        n = self._n
        self._n = 0
        self.mode = False
        buf = self._buf
        for i in range(len(buf)):
            buf[i] = 0
        return n

    def _stale(self, now_ms):
        return (self._n or self.mode) and ticks_diff(now_ms, self._last_ms) >= self.timeout_ms

    def key(self, ch, now_ms):
        # Digits left over from an entry that timed out (poll() not called in time)
        # never join the new ones.
        if self._stale(now_ms):
            self._wipe()
        self._last_ms = now_ms
        if type(ch) is not str or len(ch) != 1:
            return None
        if "0" <= ch <= "9":
            n = self._n
            if n < self.max_len:
                self._buf[n] = ord(ch)
            elif n == self.max_len:
                self._wipe()  # too long to be a code: the stored digits are of no use
            self._n = n + 1
            return None
        if ch == "*":
            if not self._n and self.handover and not self.mode:
                self.mode = True
                return ("handover",)
            was = self.mode
            n = self._wipe()
            return ("cleared", n) if n or was else None
        if ch == "#":
            n = self._n
            if not n:
                return None
            if n > self.max_len:
                self._wipe()
                return ("submit_invalid", n)
            code = bytes(memoryview(self._buf)[:n])  # no intermediate copy left behind
            kind = "challenge" if self.mode else "submit"
            self._wipe()
            return (kind, code, n)
        return None

    def poll(self, now_ms):
        """Call from the door loop: ('timeout', ndigits) once when an entry went quiet."""
        if self._stale(now_ms):
            return ("timeout", self._wipe())
        return None
