"""Host-only checks of the firmware's SHA-512, Ed25519 and canonical JSON against reference code.

References: CPython's hashlib and json, and the ``cryptography`` package (OpenSSL) for Ed25519.
The same modules also run under MicroPython in scenarios/crypto.py (fixed vectors only).
"""

import asyncio
import hashlib
import json
import os
import random
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
if FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)

from doorstep import canon, ed25519  # noqa: E402
from doorstep.sha512 import sha512  # noqa: E402


def ref_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def raw_pub(sk):
    return sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# ---------------------------------------------------------------- SHA-512


def test_sha512_random_lengths():
    rnd = random.Random(512)
    for n in list(range(301)) + [111, 112, 127, 128, 129, 239, 240, 255, 256, 257, 1000, 4097]:
        data = rnd.randbytes(n)
        ours = sha512(data)
        assert ours.digest() == hashlib.sha512(data).digest(), n
        assert ours.hexdigest() == hashlib.sha512(data).hexdigest(), n


def test_sha512_multi_update():
    rnd = random.Random(1)
    for _ in range(300):
        data = rnd.randbytes(rnd.randrange(0, 700))
        h = sha512()
        o = 0
        while o < len(data):
            step = rnd.choice((0, 1, 7, 111, 112, 127, 128, 129, 200))
            chunk = data[o : o + step]
            h.update(rnd.choice((bytes, bytearray, memoryview))(chunk))
            o += step
        assert h.digest() == hashlib.sha512(data).digest()


def test_sha512_digest_does_not_finalise():
    h = sha512(b"a" * 100)
    first = h.digest()
    assert h.digest() == first
    h.update(b"b" * 50)
    assert h.digest() == hashlib.sha512(b"a" * 100 + b"b" * 50).digest()


def test_sha512_step_generators_yield_every_8_rounds_and_after_each_block():
    # rounds 0-7 | 8-15 | expand | 16-23 | 24-31 | expand ... | 72-79, then a yield after the block
    data = os.urandom(128 * 5 + 120)
    h = sha512()
    steps = sum(1 for _ in h.update_steps(data))
    assert steps == 5 * 14  # the portable engine: 13 times within a block (80 rounds), once after
    g = h.digest_steps()
    assert sum(1 for _ in g) == 13 + 1 + 13  # 120 bytes left: the padding spills into a second block
    assert h.digest() == hashlib.sha512(data).digest()


def test_sha512_refuses_str():
    with pytest.raises(TypeError):
        sha512("abc")


# ---------------------------------------------------------------- Ed25519

# The naive affine reference is the comb table's generator (tools/gen_ed25519_comb.py): plain
# affine formulas, independent of the firmware's projective ones.
sys.path.insert(0, os.path.join(os.path.dirname(FIRMWARE), "tools"))
import gen_ed25519_comb as gen  # noqa: E402

sys.path.pop(0)
_P = gen.P
_B = (gen._x_of(gen.BY), gen.BY)
_affine_add, _affine_mul = gen.add, gen.times


def _encode(pt):
    x, y = pt
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _mul_base(k):
    X, Y, Z = ed25519._run(ed25519._mul_base_steps(k))
    return ed25519._run(ed25519._encode_steps(X, Y, Z))


def test_base_multiplication_matches_naive_affine_arithmetic():
    L = ed25519._L
    rnd = random.Random(25519)
    ks = list(range(40)) + [L - 1, L - 8, 2**252, 2**252 + 7, (1 << 253) - 1]
    ks += [rnd.randrange(L) for _ in range(30)]
    for k in ks:
        assert _mul_base(k) == _encode(_affine_mul(k, _B)), k


def test_carried_comb_table_is_what_the_generator_makes():
    """ed25519_comb.py is generated (affine arithmetic, independent of the firmware's formulas);
    a hand edit or a stale copy shows here, a wrong point also in the test above."""
    with open(os.path.join(FIRMWARE, "doorstep", "ed25519_comb.py")) as f:
        assert f.read() == gen.source()
    from doorstep.ed25519_comb import COMB

    assert _B == (  # RFC 8032's base point
        15112221349535400772501151409588531511454012693041857206046113283949847762202,
        46316835694926478169428394003475163141307993866256225615783033603165251855960,
    )
    assert COMB == gen.table() and len(COMB) == 32 * 128
    for x, y in gen.points():  # every point is on the curve -x^2 + y^2 = 1 + d x^2 y^2
        assert (-x * x + y * y - 1 - gen.D * x * x * y * y) % _P == 0


def test_inverse_matches_pow():
    rnd = random.Random(3)
    for z in [1, 2, _P - 1] + [rnd.randrange(1, _P) for _ in range(50)]:
        assert ed25519._run(ed25519._inv_steps(z)) == pow(z, _P - 2, _P)


def test_sign_matches_cryptography_on_random_keys():
    rnd = random.Random(8032)
    for i in range(1000):
        seed = rnd.randbytes(32)
        msg = rnd.randbytes(rnd.randrange(0, 201))
        sk = Ed25519PrivateKey.from_private_bytes(seed)
        pub = ed25519.public_key(seed)
        assert pub == raw_pub(sk), i
        sig = ed25519.sign(seed, msg, pub if i % 2 else None)
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)  # raises InvalidSignature
        assert sig == sk.sign(msg), i  # Ed25519 is deterministic: byte-identical


def test_sign_variants_agree():
    seed = bytes(range(32))
    msg = b"x" * 300
    want = Ed25519PrivateKey.from_private_bytes(seed).sign(msg)
    assert ed25519.sign(seed, msg) == want
    assert ed25519.sign(bytearray(seed), bytearray(msg)) == want
    assert ed25519.sign(seed, memoryview(msg)) == want
    assert asyncio.run(ed25519.sign_async(seed, msg)) == want
    gen = ed25519.sign_steps(seed, msg)
    steps = 0
    try:
        while True:
            next(gen)
            steps += 1
    except StopIteration as e:
        assert e.value == want
    assert steps > 40  # SHA-512 every 16 rounds, the comb every few columns, the inversion every 25 squarings


def test_sign_refuses_bad_inputs():
    seed = bytes(32)
    pub = ed25519.public_key(seed)
    other = ed25519.public_key(bytes([1] * 32))
    with pytest.raises(ValueError):
        ed25519.sign(seed, b"m", other)  # a wrong pub would leak the key: refused
    with pytest.raises(ValueError):
        ed25519.sign(seed, b"m", pub[:31])
    with pytest.raises(ValueError):
        ed25519.sign(bytes(31), b"m")
    with pytest.raises(ValueError):
        ed25519.public_key(bytes(33))
    with pytest.raises(TypeError):
        ed25519.sign(seed, "text is not bytes")


def test_keypair():
    seed, pub = ed25519.keypair(os.urandom)
    assert len(seed) == 32
    assert pub == raw_pub(Ed25519PrivateKey.from_private_bytes(seed))
    with pytest.raises(ValueError):
        ed25519.keypair(lambda n: bytes(n - 1))


# ---------------------------------------------------------------- canonical JSON

_text = st.text(max_size=12) | st.text(
    alphabet=st.sampled_from('\x00\x01\x08\x09\x0a\x0c\x0d\x1f\x20\x7e\x7f\x80"\\/aZ\u00e9\u07ff\u0800\u20ac\uffff\U00010000\U0001f600\U0010ffff'),
    max_size=12,
)
_scalar = st.none() | st.booleans() | st.integers(min_value=-(2**200), max_value=2**200) | _text
_record = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=6),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None)
@given(_record)
def test_canon_matches_json_dumps(obj):
    assert canon.dumps(obj) == ref_json(obj)
    assert canon.dumpb(obj) == ref_json(obj).encode("ascii")


def test_canon_every_bmp_char_and_some_astral():
    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    chars += [chr(c) for c in (0x10000, 0x1F600, 0x10FFFF)]
    for i in range(0, len(chars), 500):
        s = "".join(chars[i : i + 500])
        assert canon.dumps(s) == ref_json(s)
    assert canon.dumps({"k": "\x7f"}) == '{"k":"\\u007f"}'


def test_canon_tuple_is_a_list():
    assert canon.dumps({"a": (1, "b")}) == ref_json({"a": (1, "b")}) == '{"a":[1,"b"]}'


@pytest.mark.parametrize(
    "bad",
    [1.0, float("nan"), {"a": [0.5]}, [1, 2.5], {1: "x"}, {None: 1}, b"bytes", {1, 2}, object(), {"a": bytearray(1)}],
)
def test_canon_refuses_other_types(bad):
    with pytest.raises(TypeError) as exc:
        canon.dumps(bad)
    if isinstance(bad, float) or bad == [1, 2.5]:
        assert "float" in str(exc.value)
