"""DTMF tone detection on intercom audio, so codes relayed as tones can be recognised and refused.

A Goertzel filter per DTMF frequency runs over fixed blocks of PCM (205 samples at 8 kHz,
25.6 ms, about 39 Hz resolution). A block shows a digit when all of these hold:

* each of the strongest row and column tones is above an absolute level (``min_level``);
* twist: the column (high) tone is at most ``normal_twist_db`` above the row (low) tone, and
  the row tone at most ``reverse_twist_db`` above the column tone;
* relative peaks: each of the two beats every other tone of its group by ``relative_peak_db``;
* the two tones carry at least ``energy_ratio`` of the block's energy (after removing DC), which
  is what keeps speech, music, noise and single tones out.

A digit is reported once ``min_blocks`` consecutive blocks agree on it, and once per burst: it
can be reported again only after a block that does not show it. This module only says that DTMF
is on the line; the digits it returns are never to be used as, or stored as, a code.

The per-sample work is integer only: samples are taken at 12 bits (>> 4) and each filter runs
in fixed point with Q10 coefficients, so on MicroPython every value stays a small int (no heap
allocation per sample; floats are boxed there) and results are bit-identical on every runtime.
Per block, powers are taken in float as |s1 - e^-jw s2|^2 from real and imaginary parts (no
cancellation), with magnitudes well inside single precision (ESP32).
"""

import math

from doorstep.compat import const

ROWS = (697, 770, 852, 941)
COLS = (1209, 1336, 1477, 1633)
KEYS = "123A456B789C*0#D"

_IN_SHIFT = const(4)  # int16 -> 12-bit samples
_Q = const(10)  # coefficient fraction bits


def _db(db):
    return math.pow(10.0, db / 10.0)


class DtmfDetector:
    """feed() PCM, get newly detected DTMF digits back; reset() to start over.

    The tunables below are class attributes; the dB ones and min_level are read when an instance
    is made (set them on a subclass, or before constructing). With the defaults (8 kHz, 205-sample
    blocks, clean tones), whatever the alignment: a tone of 20 ms or less is never reported, one
    of 48 ms or more always is; a held tone is reported once; the same digit again is reported
    after a gap of 35 ms or more. Tone frequencies may be off by about 1 % (a 1.5 % error on the
    highest column tone costs it too much level for the twist check).
    """

    normal_twist_db = 8.0  # high (column) tone louder than the low (row) tone by at most this
    reverse_twist_db = 4.0  # row tone louder than the column tone by at most this
    relative_peak_db = 8.0  # each tone above every other tone of its group by at least this
    energy_ratio = 0.4  # share of block energy in the two tones (1.0: a block of pure DTMF)
    min_level = 100  # least amplitude of each tone over a full block, int16 units (about -50 dBFS)
    min_blocks = 2  # consecutive blocks agreeing before a digit is reported

    def __init__(self, rate=8000, block=205):
        if block < 32 or rate <= 2 * COLS[-1]:
            raise ValueError("rate or block too small for DTMF")
        self.rate = rate
        self.block = block
        coef, cos_, sin_, dre, dim = [], [], [], [], []
        for f in ROWS + COLS:
            q = int(math.floor(2.0 * math.cos(2.0 * math.pi * f / rate) * (1 << _Q) + 0.5))
            coef.append(q)
            # The frequency the quantised coefficient really tunes to (off by < 1 Hz).
            c = q / (2.0 * (1 << _Q))
            s = math.sqrt(1.0 - c * c)
            cos_.append(c)
            sin_.append(s)
            # Response of this filter to a constant 1 over a block, to remove the block's DC:
            # the state after n ones is sum of U_k(c) for k < n (Chebyshev, 2nd kind), in
            # closed form, so no float per sample is made (each one is heap on MicroPython).
            w = math.acos(c)
            d = math.sin(w / 2) * s
            s1 = math.sin(block * w / 2) * math.sin((block + 1) * w / 2) / d
            s2 = math.sin((block - 1) * w / 2) * math.sin(block * w / 2) / d
            dre.append(s1 - s2 * c)
            dim.append(s2 * s)
        self._coef = tuple(coef)
        self._cos = tuple(cos_)
        self._sin = tuple(sin_)
        self._dre = tuple(dre)
        self._dim = tuple(dim)
        # A full-block tone of amplitude A has power (block * A / 2) ** 2 (A in 12-bit units).
        self._pmin = (block * self.min_level / (2.0 * (1 << _IN_SHIFT))) ** 2
        self._normal = _db(self.normal_twist_db)
        self._reverse = _db(self.reverse_twist_db)
        self._peak = _db(self.relative_peak_db)
        self._p = [0.0] * 8
        self.reset()

    def reset(self):
        """Forget any partial block and the current burst."""
        self._st = [0] * 16  # s1, s2 per frequency
        self._n = 0  # samples in the current block
        self._e = 0  # sum of squares in the current block
        self._sum = 0  # sum of samples in the current block
        self._last = None  # digit shown by the previous block, if any
        self._run = 0  # consecutive blocks showing it
        self._held = None  # digit of the burst in progress, already reported

    def feed(self, samples):
        """Process signed 16-bit samples (any length); return the digits newly detected."""
        out = []
        n = self._n
        size = self.block
        i = 0
        end = len(samples)
        while i < end:
            j = i + size - n
            if j > end:
                j = end
            self._run_filters(samples, i, j)
            n += j - i
            i = j
            if n == size:
                n = 0
                d = self._burst(self._block_digit())
                if d is not None:
                    out.append(d)
        self._n = n
        return out

    def _run_filters(self, samples, i, j):
        c0, c1, c2, c3, c4, c5, c6, c7 = self._coef
        a0, b0, a1, b1, a2, b2, a3, b3, a4, b4, a5, b5, a6, b6, a7, b7 = self._st
        e = self._e
        sm = self._sum
        for k in range(i, j):
            x = samples[k] >> _IN_SHIFT
            e += x * x
            sm += x
            a0, b0 = x + ((c0 * a0) >> _Q) - b0, a0
            a1, b1 = x + ((c1 * a1) >> _Q) - b1, a1
            a2, b2 = x + ((c2 * a2) >> _Q) - b2, a2
            a3, b3 = x + ((c3 * a3) >> _Q) - b3, a3
            a4, b4 = x + ((c4 * a4) >> _Q) - b4, a4
            a5, b5 = x + ((c5 * a5) >> _Q) - b5, a5
            a6, b6 = x + ((c6 * a6) >> _Q) - b6, a6
            a7, b7 = x + ((c7 * a7) >> _Q) - b7, a7
        st = self._st
        st[0], st[1], st[2], st[3] = a0, b0, a1, b1
        st[4], st[5], st[6], st[7] = a2, b2, a3, b3
        st[8], st[9], st[10], st[11] = a4, b4, a5, b5
        st[12], st[13], st[14], st[15] = a6, b6, a7, b7
        self._e = e
        self._sum = sm

    def _block_digit(self):
        """Close the block just filled: the digit it shows, or None."""
        size = self.block
        st = self._st
        sm = self._sum
        mean = sm / size
        # Sum of squares about the mean, exact in integers before the one rounding.
        energy = (self._e * size - sm * sm) / size
        p = self._p
        cs, sn, dre, dim = self._cos, self._sin, self._dre, self._dim
        for f in range(8):
            s1 = st[2 * f]
            s2 = st[2 * f + 1]
            re = s1 - s2 * cs[f] - mean * dre[f]
            im = s2 * sn[f] - mean * dim[f]
            p[f] = re * re + im * im
            st[2 * f] = 0
            st[2 * f + 1] = 0
        self._e = 0
        self._sum = 0

        r = 0
        for f in (1, 2, 3):
            if p[f] > p[r]:
                r = f
        c = 4
        for f in (5, 6, 7):
            if p[f] > p[c]:
                c = f
        pr = p[r]
        pc = p[c]
        if energy <= 0.0 or pr < self._pmin or pc < self._pmin:
            return None
        if pc > pr * self._normal or pr > pc * self._reverse:
            return None
        peak = self._peak
        for f in range(8):
            if f != r and f != c and p[f] * peak > (pr if f < 4 else pc):
                return None
        # Normalised so that a block filled with a clean DTMF pair gives 1.0 (a tone over only
        # part of the block gives that part's share: 0.4 means 40 % of a block).
        if 2.0 * (pr + pc) < self.energy_ratio * size * energy:
            return None
        return KEYS[4 * r + c - 4]

    def _burst(self, d):
        """Track bursts across blocks; return d when it is to be reported now."""
        if d is None:
            self._last = None
            self._run = 0
            self._held = None
            return None
        if d == self._last:
            self._run += 1
        else:
            self._last = d
            self._run = 1
        if d != self._held and self._run >= self.min_blocks:
            self._held = d
            return d
        return None
