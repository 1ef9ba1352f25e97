"""CPython-only checks of the DTMF detector, SHA-1 and HOTP against independent references."""

import hashlib
import hmac
import math
import os
import random
import struct
import sys
import types

FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
if FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)

import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from doorstep import totp as T  # noqa: E402
from doorstep.dtmf import COLS, KEYS, ROWS, DtmfDetector  # noqa: E402
from doorstep.sha1 import sha1  # noqa: E402


# ---- SHA-1 --------------------------------------------------------------------------------------


def test_sha1_matches_hashlib_on_random_lengths():
    rnd = random.Random(1)
    lengths = list(range(0, 130)) + [rnd.randrange(130, 5000) for _ in range(40)]
    for n in lengths:
        data = rnd.randbytes(n)
        assert sha1(data).digest() == hashlib.sha1(data).digest(), n


def test_sha1_incremental_matches_hashlib():
    rnd = random.Random(2)
    for _ in range(60):
        data = rnd.randbytes(rnd.randrange(0, 700))
        h, ref = sha1(), hashlib.sha1()
        i = 0
        while i < len(data):
            j = i + rnd.randrange(0, 90)
            piece = data[i:j]
            h.update(memoryview(piece) if j & 1 else piece)
            ref.update(piece)
            i = j
            assert h.hexdigest() == ref.hexdigest()
        c = h.copy()
        c.update(b"more")
        assert h.digest() == ref.digest() and c.digest() != h.digest()


# ---- HOTP / TOTP --------------------------------------------------------------------------------


def _ref_hotp(secret, counter, digits, algo):
    mac = hmac.new(secret, struct.pack(">Q", counter), getattr(hashlib, algo)).digest()
    o = mac[-1] & 15
    v = struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF
    return str(v % 10**digits).zfill(digits)


ALGOS = ["sha1", "sha256"]
try:
    import doorstep.sha512  # noqa: F401

    ALGOS.append("sha512")
except ImportError:  # written separately; covered once it lands
    pass


@pytest.mark.parametrize("algo", ALGOS)
def test_hotp_matches_reference(algo):
    rnd = random.Random(3)
    for _ in range(200):
        secret = rnd.randbytes(rnd.choice((0, 1, 10, 20, 32, 63, 64, 65, 100, 129, 200)))
        counter = rnd.choice((0, 1, rnd.randrange(1 << 32), rnd.randrange(1 << 64), (1 << 64) - 1))
        digits = rnd.randrange(6, 11)
        assert T.hotp(secret, counter, digits, algo) == _ref_hotp(secret, counter, digits, algo)


def test_hotp_with_pure_sha1_fallback(monkeypatch):
    """The path MicroPython builds without hashlib.sha1 take."""
    monkeypatch.setattr(T, "hashlib", types.SimpleNamespace(sha256=hashlib.sha256))
    rnd = random.Random(4)
    for _ in range(50):
        secret = rnd.randbytes(rnd.choice((20, 64, 65, 80)))
        counter = rnd.randrange(1 << 40)
        assert T.hotp(secret, counter, 8) == _ref_hotp(secret, counter, 8, "sha1")


def test_totp_input_checks():
    with pytest.raises(ValueError):
        T.hotp(b"k", -1)
    with pytest.raises(ValueError):
        T.hotp(b"k", 0, digits=5)
    with pytest.raises(ValueError):
        T.totp(b"k", -5)
    with pytest.raises(ValueError):
        T.totp(b"k", 100, step=0)
    with pytest.raises(ValueError):
        T.hotp(b"k", 0, algo="md5")
    with pytest.raises(ValueError):
        T.match(b"k", "123456", 100, window=-1)


def test_match_compares_every_candidate(monkeypatch):
    calls = []
    real = T.compare_digest

    def spy(a, b):
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(T, "compare_digest", spy)
    secret = b"12345678901234567890"
    now = 1234567890
    assert T.match(secret, T.totp(secret, now - 30), now, window=2) == now // 30 - 1
    assert len(calls) == 5  # found on the second candidate, still compared all five


@given(st.binary(max_size=64))
def test_b32decode_matches_base64(data):
    import base64

    enc = base64.b32encode(data).decode()
    assert T.b32decode(enc) == data
    assert T.b32decode(enc.rstrip("=").lower()) == data


# ---- DTMF ---------------------------------------------------------------------------------------


def _dtmf_signal(digits, tone_ms=60, gap_ms=50, amp=6000, rate=8000):
    out = []
    for d in digits:
        k = KEYS.index(d)
        w1 = 2 * math.pi * ROWS[k // 4] / rate
        w2 = 2 * math.pi * COLS[k % 4] / rate
        n = rate * tone_ms // 1000
        out += [int(amp * (math.sin(w1 * i) + math.sin(w2 * i))) for i in range(n)]
        out += [0] * (rate * gap_ms // 1000)
    return out


def _feed_in_chunks(samples, cuts):
    det = DtmfDetector()
    got = []
    prev = 0
    for c in sorted(set(cuts)) + [len(samples)]:
        got += det.feed(samples[prev:c])
        prev = c
    return got


int16 = st.integers(min_value=-32768, max_value=32767)
SIG = _dtmf_signal("159#D*")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(int16, max_size=3000),
    st.lists(st.integers(min_value=0, max_value=3000), max_size=30),
)
def test_feed_arbitrary_samples_and_chunks(samples, cuts):
    cuts = [c for c in cuts if c <= len(samples)]
    whole = DtmfDetector().feed(samples)
    assert isinstance(whole, list) and all(d in KEYS for d in whole)
    assert _feed_in_chunks(samples, cuts) == whole


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(SIG)), max_size=40))
def test_chunking_does_not_change_detected_digits(cuts):
    assert _feed_in_chunks(SIG, cuts) == ["1", "5", "9", "#", "D", "*"]


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=204), st.sampled_from(KEYS), st.integers(500, 16000))
def test_tone_detected_at_any_alignment(lead, digit, amp):
    from array import array

    sig = array("h", [0] * lead + _dtmf_signal(digit, tone_ms=50, gap_ms=30, amp=amp))
    assert DtmfDetector().feed(sig) == [digit]
    assert DtmfDetector().feed(memoryview(sig)) == [digit]


def test_extreme_inputs_do_not_trigger():
    for sig in ([32767] * 2000, [-32768] * 2000, [32767, -32768] * 1000,
                [32767 if (i // 4) % 2 else -32768 for i in range(2000)]):
        assert DtmfDetector().feed(sig) == []


def test_detector_rejects_bad_config():
    with pytest.raises(ValueError):
        DtmfDetector(rate=3000)
    with pytest.raises(ValueError):
        DtmfDetector(block=10)
