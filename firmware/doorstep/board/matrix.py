"""Keypad backends: read the whole key matrix as one int for doorstep.keypad.KeyScanner.

Bit ``r * ncols + c`` is set while the key at row r, column c conducts. Debounce, held
keys and several keys at once are the scanner's job; these classes only read levels, and
allocate nothing per scan. Both first check "is any key down?" with every row driven at
once, so an idle keypad costs one read, not one per row.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # read by mypy against the ESP32 stubs (host_tests/test_board_typecheck.py) only
    import machine


class GpioMatrix:
    """Rows on open-drain outputs (released = high), columns on inputs with pull-ups.

    One row at a time is pulled low; a pressed key pulls its column low. Open-drain rows
    mean two keys in one column can never short a driven-high row to a low one.
    rows, cols: machine.Pin objects, already configured (see hw.build).
    """

    def __init__(self, rows, cols):
        self.rows = tuple(rows)  # type: tuple[machine.Pin, ...]
        self.cols = tuple(cols)  # type: tuple[machine.Pin, ...]
        self.ncols = len(self.cols)

    def _any_column_low(self):
        for c in self.cols:
            if not c.value():
                return True
        return False

    def read(self):
        rows, cols, n = self.rows, self.cols, self.ncols
        for r in rows:
            r.value(0)
        down = self._any_column_low()
        for r in rows:
            r.value(1)
        if not down:
            return 0
        mask = 0
        bit = 0
        for r in rows:
            r.value(0)
            for i in range(n):
                if not cols[i].value():
                    mask |= 1 << (bit + i)
            r.value(1)
            bit += n
        return mask


class Pcf8574Matrix:
    """A keypad on a PCF8574 I2C expander ("I2C keypad backpack").

    The PCF8574's pins are quasi-bidirectional: writing 0 pulls a pin low, writing 1
    releases it to a weak pull-up, and reading returns the levels. To scan a row its
    bit is written 0 with every other pin 1; the columns of pressed keys then read 0.
    rows, cols: expander pin numbers (0-7). The last byte read stays in ``port`` so a
    spare expander pin (the intercom line on the AI-Thinker profile) costs no extra I2C.
    I2C errors (expander missing or unplugged) propagate as OSError; the board turns
    them into a skipped scan.
    """

    def __init__(self, i2c, addr=0x20, rows=(0, 1, 2, 3), cols=(4, 5, 6)):
        self.i2c = i2c  # type: machine.I2C
        self.addr = addr
        self.ncols = len(cols)
        rmask = 0
        for p in rows:
            rmask |= 1 << p
        self._idle = 0xFF & ~rmask  # every row low, everything else released
        self._row_pattern = tuple(0xFF & ~(1 << p) for p in rows)
        self._col_bits = tuple(1 << p for p in cols)
        cmask = 0
        for b in self._col_bits:
            cmask |= b
        self._cmask = cmask
        self._buf = bytearray(1)
        self.port = 0xFF

    def _exchange(self, pattern):
        buf = self._buf
        buf[0] = pattern
        self.i2c.writeto(self.addr, buf)
        self.i2c.readfrom_into(self.addr, buf)
        return buf[0]

    def read(self):
        v = self._exchange(self._idle)
        self.port = v
        if v & self._cmask == self._cmask:
            return 0
        cols, n = self._col_bits, self.ncols
        mask = 0
        bit = 0
        for pattern in self._row_pattern:
            v = self._exchange(pattern)
            for i in range(n):
                if not v & cols[i]:
                    mask |= 1 << (bit + i)
            bit += n
        return mask

    def level(self, pin):
        """Level (0/1) of an expander pin at the last read."""
        return (self.port >> pin) & 1
