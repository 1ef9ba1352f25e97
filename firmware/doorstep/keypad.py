"""Matrix keypad scanning: raw pin states in, one debounced key per press out.

The board layer supplies ``read_matrix()``, which returns the whole matrix as an int:
bit ``r * ncols + c`` is set while the key at row r, column c reads pressed (GPIO
matrix, PCF8574, ...). Everything here is plain logic, so it runs and is tested
without hardware.

Rules, in the order they apply:

* A reading that is not an int (a driver hiccup) is skipped as if the scan had not
  happened. Errors raised by ``read_matrix`` are the board layer's to handle.
* A reading only counts once it has been the same for ``debounce_ms``; contact
  bounce shorter than that is never seen.
* A key is reported when it becomes the only key down, and only if the keypad was
  seen with no key down just before. So a held key is one key, a key must be
  released before it can be typed again, and a key that is already down when
  scanning starts is not a press.
* Two or more keys down at once, or a reading with bits outside the matrix or a
  negative one, is invalid: nothing is reported until every key is released. A
  passive matrix cannot tell three keys on the corners of a rectangle from four
  (ghosting), and a visitor mashing keys should not type whichever one lets go last.
"""

from doorstep.compat import ticks_diff

LAYOUT_3X4 = ("123", "456", "789", "*0#")
LAYOUT_4X4 = ("123A", "456B", "789C", "*0#D")

# Debounced states besides a key index (0 .. nkeys-1).
_IDLE = -1  # no key down
_BAD = -2  # several keys, ghosting or a reading outside the matrix
_NONE = -3  # nothing seen yet


class KeyScanner:
    """Call ``scan(now_ms)`` every 5-10 ms; it returns a key character or None.

    A scan allocates nothing: the bit -> key map and the characters are built here.
    """

    def __init__(self, read_matrix, layout=LAYOUT_3X4, debounce_ms=30):
        ncols = len(layout[0]) if layout else 0
        if not ncols or any(len(row) != ncols for row in layout):
            raise ValueError("layout: rows of equal, non-zero length")
        self.read_matrix = read_matrix
        self.layout = layout
        self.ncols = ncols
        self.debounce_ms = debounce_ms
        self._chars = tuple(ch for row in layout for ch in row)
        # A one-bit reading maps to its key index; any other reading is not in here.
        self._index = {1 << i: i for i in range(len(self._chars))}
        self._cand = _NONE  # latest reading, as a state
        self._since = 0  # when _cand was first seen
        self._stable = _NONE  # the debounced state
        self._armed = False  # the keypad was stable idle since the last key
        self.last_ms = None  # ticks of the last key reported

    def scan(self, now_ms):
        raw = self.read_matrix()
        if type(raw) is not int:  # also refuses bool and float
            return None
        s = _IDLE if raw == 0 else self._index.get(raw, _BAD)
        if s != self._cand:
            self._cand = s
            self._since = now_ms
            return None
        if s == self._stable or ticks_diff(now_ms, self._since) < self.debounce_ms:
            return None
        self._stable = s
        if s == _IDLE:
            self._armed = True
            return None
        if s == _BAD or not self._armed:
            self._armed = False
            return None
        self._armed = False
        self.last_ms = now_ms
        return self._chars[s]
