"""Optional I2S microphone (e.g. INMP441) at the intercom speaker: int16 blocks for DTMF.

The door loop asks for audio with a plain call that must not wait, so the I2S bus runs
in non-blocking mode: readinto() starts filling one of two buffers and returns; the irq
handler marks it full; read() hands out a full block and starts the other. A block that
waited longer than `stale_ms` (nobody asked: no intercom call) is dropped rather than
fed to the detector out of time.
"""

from array import array

from doorstep.compat import ticks_diff, ticks_ms

TYPE_CHECKING = False
if TYPE_CHECKING:  # read by mypy against the ESP32 stubs (host_tests/test_board_typecheck.py) only
    import machine


class Mic:
    stale_ms = 100

    def __init__(self, i2s, block=205, ticks=ticks_ms):
        self.i2s = i2s  # type: machine.I2S
        self.ticks = ticks
        self._bufs = (array("h", bytes(2 * block)), array("h", bytes(2 * block)))
        self._filling = 0  # index of the buffer the bus is writing
        self._full = None  # index of a complete block, not yet handed out
        self._at = 0  # when it completed
        self._busy = False
        self.overruns = 0
        i2s.irq(self._done)
        self._start()

    def _start(self):
        self._busy = True
        self.i2s.readinto(self._bufs[self._filling])

    def _done(self, _i2s):
        if self._full is not None:
            self.overruns += 1  # the previous block was never collected
        self._full = self._filling
        self._at = self.ticks()
        self._filling ^= 1
        self._busy = False

    def read(self):
        """The newest complete block (array of int16), or None. Valid until the next read."""
        if not self._busy:
            self._start()
        i = self._full
        if i is None:
            return None
        self._full = None
        if ticks_diff(self.ticks(), self._at) > self.stale_ms:
            return None
        return self._bufs[i]


def open_i2s(pins, rate=8000, block=205):
    """Start the I2S bus for a mono 16-bit microphone at `rate` (8 kHz suits DTMF)."""
    import machine

    sck, ws, sd = pins
    Pin = machine.Pin
    return machine.I2S(0, sck=Pin(sck), ws=Pin(ws), sd=Pin(sd), mode=machine.I2S.RX, bits=16,
                       format=machine.I2S.MONO, rate=rate, ibuf=8 * block * 2)
