"""Ed25519 signing (RFC 8032, section 5.1) in plain Python, for MicroPython and CPython.

The device only signs; verification happens on the host (with the ``cryptography`` package).

    public_key(seed)              32-byte public key of a 32-byte secret seed
    public_key_async(seed)        the same, yielding between small steps
    keypair(rng)                  (seed, public key) from a random source
    sign(seed, msg, pub=None)     64-byte signature, computed in one go
    sign_async(seed, msg, ...)    the same, awaiting sleep_ms(0) between small steps
    sign_steps(seed, msg, ...)    the generator both are built on; its return value is the signature

How it computes (what matters for speed and RAM on an ESP32; `make bench` has the figures):

* Field elements are Python ints reduced with ``% p`` after each product; sums are left
  unreduced until the next product. On MicroPython the reduction is most of a product's cost,
  so the work is counted in products.
* Points are in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, x*y = T/Z. A doubling costs
  8 products, adding a table point 7, or 6 when a doubling follows (its T is not needed).
* k*B uses two signed combs of 5 teeth, 26 bits apart: 25 doublings and 52 additions for any
  scalar (538 products; the old 4-bit window needed 252 doublings and 64 additions, ~2,300).
  Every digit is +1 or -1 (k made odd by adding L, which does not change k*B), so each column
  adds one point per comb, always: the same sequence whatever the scalar. The tables are the
  16 sums B4 +- B0 +- B1 +- B2 +- B3 per comb, Br = 2^(26 r) B, in affine (y+x, y-x, 2dxy,
  -2dxy) form. They are the same for every key, so they are carried as 4 KB of bytes
  (ed25519_comb.py, made by tools/gen_ed25519_comb.py) and read in place: making them at boot
  took ~20 KB of heap at the boot's peak, and holding them as ints 7.6 KB.
* Inversion is Fermat's z^(p-2) by a fixed chain whose runs of squarings are pow(x, 2^n, p),
  done inside the int code with next to no garbage; it yields part way.
* The expanded secret (scalar, nonce prefix, public key) of the last seed is kept, so signing
  with the same seed again costs one base-point multiplication, not two.

Python ints are not constant-time, so this code resists only coarse timing observation (the
operation sequence is fixed); it assumes no attacker can time individual signatures precisely.
"""

from doorstep.compat import compare_digest, sleep_ms
from doorstep.ed25519_comb import COMB
from doorstep.sha512 import sha512

# Field prime p = 2^255 - 19 and group order L = 2^252 + 27742317777372353535851937790883648493.
_P = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED
_L = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED

_GAP = 26  # bits between the 5 teeth of each of the 2 combs: 2 * 5 * 26 = 260 >= the 254 bits of an odd scalar < 2L
_COLUMNS_PER_STEP = 2  # comb columns between two yields of the step generators
_COMB = memoryview(COMB)  # 2 x 16 comb points, 128 bytes each: read in place, no copy

_key = None  # (seed, scalar a mod L, nonce prefix, public key) of the last seed expanded


def _dbl(X, Y, Z):
    """2*(X:Y:Z:T) (RFC 8032 section 5.1.4 doubling), T included: an addition follows."""
    P = _P
    A = X * X % P
    B = Y * Y % P
    C = Z * Z % P << 1
    H = A + B
    E = H - (X + Y) * (X + Y) % P
    G = A - B
    F = C + G
    return E * F % P, G * H % P, F * G % P, E * H % P


def _sqn(x, n):
    """x^(2^n) mod p: n squarings. pow() does them in place, with next to no garbage."""
    return pow(x, 1 << n, _P)


def _inv_steps(z):
    """Generator returning 1/z mod p, as z^(p-2) with p-2 = 2^255 - 21; yields every <= 25 squarings."""
    P = _P
    z2 = z * z % P
    z9 = _sqn(z2, 2) * z % P
    z11 = z9 * z2 % P
    z5 = z11 * z11 % P * z9 % P  # z^(2^5 - 1)
    z10 = _sqn(z5, 5) * z5 % P  # z^(2^10 - 1)
    x = _sqn(z10, 10) * z10 % P  # z^(2^20 - 1)
    yield
    x = _sqn(x, 20) * x % P  # z^(2^40 - 1)
    yield
    z50 = _sqn(x, 10) * z10 % P  # z^(2^50 - 1)
    yield
    x = z50
    for _ in range(2):
        x = _sqn(x, 25)
        yield
    z100 = x * z50 % P  # z^(2^100 - 1)
    x = z100
    for _ in range(4):
        x = _sqn(x, 25)
        yield
    x = x * z100 % P  # z^(2^200 - 1)
    for _ in range(2):
        x = _sqn(x, 25)
        yield
    x = x * z50 % P  # z^(2^250 - 1)
    return _sqn(x, 5) * z11 % P  # z^(2^255 - 32 + 11)


def _fe(o):
    """The table's number at byte offset o (32 bytes, little-endian)."""
    return int.from_bytes(_COMB[o : o + 32], "little")


def _comb_bits(k):
    """For 0 <= k < L: the bits b of the comb's +-1 digits, little-endian bytes.

    k is made odd (k + L has the same k*B); then k = sum(s_p 2^p, p < 260) with every digit
    s_p = 2*b_p - 1 in {-1, +1}, for b = (k + 2^260 - 1) / 2."""
    k += _L * (1 - (k & 1))
    return ((k + (1 << 260) - 1) >> 1).to_bytes(33, "little")


def _entry(b, p):
    """(table index, negate?) of the comb column whose lowest digit is bit p of b: the digits
    at p, p+26, ..., p+104; the top one gives the sign, the others the entry (complemented
    when the column's sum is negative)."""
    v = (b[p >> 3] >> (p & 7)) & 1
    p += _GAP
    v |= ((b[p >> 3] >> (p & 7)) & 1) << 1
    p += _GAP
    v |= ((b[p >> 3] >> (p & 7)) & 1) << 2
    p += _GAP
    v |= ((b[p >> 3] >> (p & 7)) & 1) << 3
    p += _GAP
    n = 1 - ((b[p >> 3] >> (p & 7)) & 1)
    return v ^ (15 * n), n


def _mul_base_steps(k):
    """Generator returning k*B as (X, Y, Z) for 0 <= k < L; yields every few columns."""
    P = _P
    b = _comb_bits(k)
    X, Y, Z, T = 0, 1, 1, 0
    for j in range(_GAP - 1, -1, -1):
        if j < _GAP - 1:
            X, Y, Z, T = _dbl(X, Y, Z)
        # -(x, y) = (-x, y): a negative point swaps y+x with y-x and takes -2dxy.
        # First comb: mixed addition with T (the second addition needs it) ...
        i, n = _entry(b, j)
        o = 128 * i
        A = (Y - X) * _fe(o + 32 - 32 * n) % P
        B = (Y + X) * _fe(o + 32 * n) % P
        C = T * _fe(o + 64 + 32 * n) % P  # 2dxy, or p - 2dxy when negative
        D = Z << 1
        E = B - A
        F = D - C
        G = D + C
        H = B + A
        X = E * F % P
        Y = G * H % P
        Z = F * G % P
        T = E * H % P
        # ... second comb (rows 5-9, table entries 16-31): without T, a doubling follows
        i, n = _entry(b, j + 5 * _GAP)
        o = 128 * (16 + i)
        A = (Y - X) * _fe(o + 32 - 32 * n) % P
        B = (Y + X) * _fe(o + 32 * n) % P
        C = T * _fe(o + 64 + 32 * n) % P
        D = Z << 1
        E = B - A
        F = D - C
        G = D + C
        H = B + A
        X = E * F % P
        Y = G * H % P
        Z = F * G % P
        if j % _COLUMNS_PER_STEP == 0:
            yield
    return X, Y, Z


def _encode_steps(X, Y, Z):
    """Generator returning the 32-byte encoding of (X:Y:Z): y little-endian, sign of x in the top bit."""
    zi = yield from _inv_steps(Z)
    x = X * zi % _P
    y = Y * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _expand_steps(seed):
    """Generator returning (seed, a, prefix, pub) for a 32-byte seed (RFC 8032 section 5.1.5)."""
    global _key
    if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes")
    k = _key
    if k is not None and compare_digest(k[0], seed):
        return k
    seed = bytes(seed)
    h = yield from sha512(seed).digest_steps()
    a = int.from_bytes(h[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)  # clear the low 3 bits and bit 255, set bit 254
    a %= _L  # a*B only depends on a mod L, and the comb wants k < L
    X, Y, Z = yield from _mul_base_steps(a)
    pub = yield from _encode_steps(X, Y, Z)
    k = (seed, a, h[32:], pub)
    _key = k
    return k


def _run(gen):
    """Drive a step generator to the end and give its return value."""
    try:
        while True:
            next(gen)
    except StopIteration as e:
        return e.value


def public_key(seed32):
    """The 32-byte Ed25519 public key of a 32-byte seed."""
    return _run(_expand_steps(seed32))[3]


def keypair(rng):
    """A new (seed, public key); rng(n) must return n bytes from a cryptographic random source.

    The device passes os.urandom. The ESP32 RNG caveat: on the ESP32 os.urandom reads the
    hardware RNG, which is only truly random while the RF subsystem (Wi-Fi or Bluetooth) is
    enabled, or while the bootloader's entropy source (the SAR ADC noise it switches on during
    early boot) is still active; otherwise its output is only pseudo-random and must not be
    used for keys. Make keys with Wi-Fi (or Bluetooth) switched on.
    """
    seed = rng(32)
    if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
        raise ValueError("the random source did not give 32 bytes")
    seed = bytes(seed)
    return seed, public_key(seed)


def sign_steps(seed32, msg, pub=None):
    """Generator signing msg (bytes) with seed32; yields often, returns the 64-byte signature.

    Each step is at most five point operations, 25 field squarings or a third of a SHA-512
    block, so a caller can let an event loop run between steps. pub, if given, must be this seed's public key: it is checked
    against the one derived from the seed (signing with a wrong pub would leak the secret key),
    and the derivation is remembered, so passing pub costs nothing after the first signature.
    """
    _, a, prefix, A = yield from _expand_steps(seed32)
    if pub is not None and not compare_digest(bytes(pub), A):
        raise ValueError("pub is not the public key of this seed")
    yield
    h = sha512(prefix)
    yield from h.update_steps(msg)
    r = int.from_bytes((yield from h.digest_steps()), "little") % _L
    yield
    X, Y, Z = yield from _mul_base_steps(r)
    R = yield from _encode_steps(X, Y, Z)
    h = sha512(R)
    h.update(A)
    yield from h.update_steps(msg)
    k = int.from_bytes((yield from h.digest_steps()), "little") % _L
    s = (r + k * a) % _L
    return R + s.to_bytes(32, "little")


def sign(seed32, msg, pub=None):
    """The 64-byte Ed25519 signature of msg under seed32 (blocks until done)."""
    return _run(sign_steps(seed32, msg, pub))


async def _run_async(gen):
    """_run(), awaiting sleep_ms(0) between steps: other tasks run, and MicroPython-WASM
    (which collects garbage only when control returns to JS) keeps a small heap."""
    while True:
        try:
            next(gen)
        except StopIteration as e:
            return e.value
        await sleep_ms(0)


async def sign_async(seed32, msg, pub=None):
    """sign(), awaiting sleep_ms(0) between steps so other tasks (keypad scanning) keep running."""
    return await _run_async(sign_steps(seed32, msg, pub))


async def public_key_async(seed32):
    """public_key(), yielding between steps (the door app derives it at every boot)."""
    return (await _run_async(_expand_steps(seed32)))[3]
