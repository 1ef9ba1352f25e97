"""DTMF detection on intercom audio, and the one-time-code primitives (SHA-1, HOTP, TOTP, base32).

All audio is synthesised here at 8 kHz, deterministically (an LCG stands in for random noise),
and kept short so each scenario stays quick under MicroPython.
"""

import math
from array import array

from doorstep import totp as T
from doorstep.dtmf import COLS, KEYS, ROWS, DtmfDetector
from doorstep.sha1 import sha1

RATE = 8000
TWO_PI = 2.0 * math.pi


# ---- signal helpers ---------------------------------------------------------------------------


def _n(ms):
    return RATE * ms // 1000


def _pack(values):
    out = array("h")
    for v in values:
        v = int(v)
        out.append(32767 if v > 32767 else -32768 if v < -32768 else v)
    return out


def silence(ms):
    return array("h", [0] * _n(ms))


def tones(parts, ms, dc=0):
    """Sum of sines: parts is a list of (frequency Hz, peak amplitude)."""
    steps = [(TWO_PI * f / RATE, a, 0.37 * k) for k, (f, a) in enumerate(parts)]
    vals = []
    for i in range(_n(ms)):
        s = dc
        for w, a, ph in steps:
            s += a * math.sin(w * i + ph)
        vals.append(s)
    return _pack(vals)


def freqs(digit):
    k = KEYS.index(digit)
    return ROWS[k // 4], COLS[k % 4]


def dtmf(digit, ms, amp=6000, twist_db=0.0, dc=0):
    """A DTMF digit; twist_db > 0 makes the high (column) tone louder than the low (row) one."""
    lo, hi = freqs(digit)
    return tones([(lo, amp), (hi, amp * math.pow(10.0, twist_db / 20.0))], ms, dc)


class Lcg:
    """Deterministic pseudo-random numbers, the same on both runtimes."""

    def __init__(self, seed):
        self.x = seed & 0x7FFFFFFF

    def uniform(self):  # in [-1, 1)
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return self.x / 1073741824.0 - 1.0

    def gauss(self):  # sum of three uniforms: mean 0, variance 1
        return self.uniform() + self.uniform() + self.uniform()


def with_noise(sig, snr_db, seed=1):
    """sig plus white noise snr_db below its own mean power."""
    power = 0.0
    for v in sig:
        power += v * v
    sd = math.sqrt(power / len(sig) / math.pow(10.0, snr_db / 10.0))
    rnd = Lcg(seed)
    return _pack([v + sd * rnd.gauss() for v in sig])


def white_noise(ms, sd, seed=3):
    rnd = Lcg(seed)
    return _pack([sd * rnd.gauss() for _ in range(_n(ms))])


def speech_like(ms, flat=False, seed=5):
    """Voiced-speech stand-in: 16 harmonics of a fundamental wobbling over 100-250 Hz, under a
    syllable-rate amplitude envelope. flat=True gives every harmonic the same level (harder)."""
    rnd = Lcg(seed)
    wob = 2.5 + rnd.uniform()  # Hz, fundamental wobble
    syl = 4.0 + rnd.uniform()  # Hz, syllable envelope
    gains = [1.0 if flat else 1.0 / k for k in range(1, 17)]
    scale = 14000.0 / sum(gains)
    ph = 0.0
    vals = []
    for i in range(_n(ms)):
        t = i / RATE
        f0 = 175.0 + 75.0 * math.sin(TWO_PI * wob * t)
        ph += TWO_PI * f0 / RATE
        # sin(k*ph) for k = 1..16 by the Chebyshev recurrence: two math calls per sample.
        c2 = 2.0 * math.cos(ph)
        prev, cur = 0.0, math.sin(ph)
        acc = 0.0
        for g in gains:
            acc += g * cur
            prev, cur = cur, c2 * cur - prev
        vals.append(acc * scale * (0.55 + 0.45 * math.sin(TWO_PI * syl * t)))
    return _pack(vals)


def cat(*parts):
    out = array("h")
    for p in parts:
        out.extend(p)
    return out


def detect(sig, chunk=None):
    det = DtmfDetector()
    if chunk is None:
        return det.feed(sig)
    out = []
    for i in range(0, len(sig), chunk):
        out.extend(det.feed(sig[i : i + chunk]))
    return out


# ---- DTMF: what must be detected --------------------------------------------------------------


def scenario_dtmf_every_digit_detected():
    det = DtmfDetector()
    for k, d in enumerate(KEYS):
        det.reset()
        # A different lead-in for each digit, so tones start at many places in a block.
        got = det.feed(cat(silence(k * 3 // 2), dtmf(d, 55, amp=3000 + 600 * k), silence(20)))
        assert got == [d], (d, got)


def scenario_dtmf_sequence_1234():
    sig = silence(13)
    for d in "1234":
        sig = cat(sig, dtmf(d, 50), silence(50))
    assert detect(sig) == ["1", "2", "3", "4"]
    # Chunking (frames of any size) changes nothing.
    assert detect(sig, chunk=1) == ["1", "2", "3", "4"]
    assert detect(sig, chunk=97) == ["1", "2", "3", "4"]
    assert detect(memoryview(sig), chunk=160) == ["1", "2", "3", "4"]
    assert detect(list(sig)) == ["1", "2", "3", "4"]


def scenario_dtmf_with_noise_15db():
    sig = silence(7)
    for d in "7*0D":
        sig = cat(sig, dtmf(d, 60), silence(45))
    assert detect(with_noise(sig, 15, seed=11)) == ["7", "*", "0", "D"]


def scenario_dtmf_twist_limits():
    for d in ("5", "C"):
        assert detect(cat(dtmf(d, 70, amp=4000, twist_db=6.0), silence(10))) == [d]
        assert detect(cat(dtmf(d, 70, amp=8000, twist_db=-3.0), silence(10))) == [d]
        assert detect(cat(dtmf(d, 70, amp=2500, twist_db=12.0), silence(10))) == []
        assert detect(cat(dtmf(d, 70, amp=8000, twist_db=-6.0), silence(10))) == []


def scenario_dtmf_held_digit_reported_once():
    det = DtmfDetector()
    assert det.feed(dtmf("8", 900)) == ["8"]
    assert det.feed(silence(60)) == []
    # The same digit again after a gap is a new burst.
    assert det.feed(cat(dtmf("8", 80), silence(30))) == ["8"]


def scenario_dtmf_dc_offset_and_reset():
    # A DC offset on the line (biased ADC) neither hides a digit nor fakes one.
    assert detect(cat(dtmf("9", 70, amp=4000, dc=9000), silence(10))) == ["9"]
    assert detect(array("h", [12000] * 800)) == []
    det = DtmfDetector()
    det.feed(dtmf("6", 20))
    det.reset()  # the partial block is forgotten
    assert det.feed(silence(40)) == []


# ---- DTMF: what must not be detected ----------------------------------------------------------


def scenario_dtmf_short_tone_not_reported():
    for lead in (0, 4, 9, 13, 18, 22):
        sig = cat(silence(lead), dtmf("2", 18, amp=10000), silence(50))
        assert detect(sig) == [], lead


def scenario_dtmf_single_tones_ignored():
    for f in (697, 1209, 440):
        assert detect(tones([(f, 12000)], 250)) == [], f
    # A row tone with a much weaker column tone is a single tone too.
    assert detect(tones([(697, 12000), (1209, 600)], 250)) == []


def scenario_dtmf_speech_like_ignored():
    assert detect(speech_like(600)) == []
    assert detect(speech_like(600, flat=True, seed=9)) == []


def scenario_dtmf_noise_and_silence_ignored():
    assert detect(white_noise(300, 4000)) == []
    assert detect(white_noise(200, 300, seed=8)) == []
    assert detect(silence(300)) == []
    assert detect(array("h")) == []


# ---- SHA-1, HMAC, HOTP, TOTP, base32 ----------------------------------------------------------


def scenario_sha1_known_vectors():
    assert sha1(b"").hexdigest() == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert sha1(b"abc").hexdigest() == "a9993e364706816aba3e25717850c26c9cd0d89d"
    msg = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"  # 448 bits
    assert sha1(msg).hexdigest() == "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    fox = b"The quick brown fox jumps over the lazy dog"
    h = sha1(fox[:5])
    h.update(fox[5:60])
    assert h.hexdigest() == "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"
    assert len(h.digest()) == h.digest_size == 20 and h.block_size == 64
    # Incremental over block boundaries equals one shot; digest() does not end the object.
    a = sha1()
    for i in range(130):
        a.update(bytes([i & 0xFF]))
    b = sha1(bytes([i & 0xFF for i in range(130)]))
    assert a.digest() == b.digest()
    a.update(b"x")
    assert a.digest() != b.digest()


def scenario_hmac_long_keys():
    msg = b"Test Using Larger Than Block-Size Key - Hash Key First"
    assert T.hmac_digest(b"\xaa" * 80, msg, "sha1") == bytes.fromhex(
        "aa4ae5e15272d00e95705637ce8a3b55ed402112"
    )
    assert T.hmac_digest(b"\xaa" * 131, msg, "sha256") == bytes.fromhex(
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    )


def scenario_hotp_rfc4226_vectors():
    secret = b"12345678901234567890"
    want = ["755224", "287082", "359152", "969429", "338314",
            "254676", "287922", "162583", "399871", "520489"]
    for counter, code in enumerate(want):
        assert T.hotp(secret, counter) == code, counter


RFC6238_TIMES = (59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000)
RFC6238 = {
    "sha1": (b"12345678901234567890",
             ("94287082", "07081804", "14050471", "89005924", "69279037", "65353130")),
    "sha256": (b"12345678901234567890123456789012",
               ("46119246", "68084774", "67062674", "91819424", "90698825", "77737706")),
    "sha512": (b"1234567890123456789012345678901234567890123456789012345678901234",
               ("90693936", "25091201", "99943326", "93441116", "38618901", "47863826")),
}


def _rfc6238(algo):
    secret, codes = RFC6238[algo]
    for t, code in zip(RFC6238_TIMES, codes):
        assert T.totp(secret, t, digits=8, algo=algo) == code, (algo, t)


def scenario_totp_rfc6238_sha1_sha256():
    _rfc6238("sha1")
    _rfc6238("sha256")


def scenario_totp_rfc6238_sha512():
    _rfc6238("sha512")  # needs doorstep.sha512


def scenario_totp_match_window():
    secret = b"12345678901234567890"
    now = 1234567890
    step = now // 30
    for d in (-1, 0, 1):
        code = T.totp(secret, now + 30 * d)
        assert T.match(secret, code, now) == step + d, d
    for d in (-2, 2):
        code = T.totp(secret, now + 30 * d)
        assert T.match(secret, code, now) is None, d
        assert T.match(secret, code, now, window=2) == step + d, d
    assert T.match(secret, T.totp(secret, now)[:5], now) is None
    assert T.match(secret, "", now) is None
    assert T.match(secret, "0000000", now) is None
    assert T.match(secret, T.totp(secret, now, digits=8, algo="sha256"), now,
                   digits=8, algo="sha256") == step
    assert T.match(secret, T.totp(secret, now), now, window=0) == step
    assert T.match(secret, T.totp(secret, 0), 10) == 0  # no step before the epoch


def scenario_base32_decode():
    cases = (("", b""), ("MY======", b"f"), ("MZXQ====", b"fo"), ("MZXW6===", b"foo"),
             ("MZXW6YQ=", b"foob"), ("MZXW6YTB", b"fooba"), ("MZXW6YTBOI======", b"foobar"),
             ("MZXW6YTBOI", b"foobar"), ("mzxw 6ytb oi", b"foobar"),
             ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", b"12345678901234567890"),
             ("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", b"12345678901234567890"))
    for s, want in cases:
        assert T.b32decode(s) == want, s
    for bad in ("MZXW1", "MZXW6YT!", "M", "MZX", "MZXW6Y", "MY==A==="):
        try:
            T.b32decode(bad)
        except ValueError:
            pass
        else:
            assert False, bad
