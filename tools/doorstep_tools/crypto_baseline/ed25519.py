"""Ed25519 signing (RFC 8032, section 5.1) in plain Python, for MicroPython and CPython.

The device only signs; verification happens on the host (with the ``cryptography`` package).

    public_key(seed)              32-byte public key of a 32-byte secret seed
    public_key_async(seed)        the same, yielding between small steps
    keypair(rng)                  (seed, public key) from a random source
    sign(seed, msg, pub=None)     64-byte signature, computed in one go
    sign_async(seed, msg, ...)    the same, awaiting sleep_ms(0) between small steps
    sign_steps(seed, msg, ...)    the generator both are built on; its return value is the signature

How it computes (the parts that matter for speed and RAM on an ESP32):

* Field elements are Python ints reduced with ``% p`` after each product (measured faster on
  MicroPython than shift-and-add reduction), sums are left unreduced until the next product.
  Squarings are pow(x, 2, p): as fast as x * x % p under MicroPython and, being done in place,
  they leave about a third of the garbage (64 bytes against 176).
* Points are in extended coordinates (X:Y:Z:T) with x = X/Z, y = Y/Z, x*y = T/Z; a doubling
  costs 7-8 field multiplications, an addition of a table point 7.
* Fixed-base multiplication uses signed 4-bit windows: 252 doublings and 64 additions for any
  scalar, the same sequence whatever its bits (no branch on a zero bit). The table is just
  1*B .. 8*B in affine (y+x, y-x, 2*d*x*y) form: 24 ints, about 1 KB, built on first use.
* Inversion is Fermat's z^(p-2) by a fixed chain of 254 squarings and 11 multiplications,
  the runs of squarings done by pow(x, 2^n, p) (in place inside MicroPython, so nearly no
  garbage); a bit faster than one pow(z, p-2, p), and it can yield part way.
* The expanded secret (scalar, nonce prefix, public key) of the last seed is kept, so signing
  with the same seed again costs one base-point multiplication, not two.

Python ints are not constant-time, so this code resists only coarse timing observation (the
operation sequence is fixed); it assumes no attacker can time individual signatures precisely.
"""

from doorstep.compat import compare_digest, sleep_ms
from crypto_baseline.sha512 import sha512

# Field prime p = 2^255 - 19 and group order L = 2^252 + 27742317777372353535851937790883648493.
_P = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED
_L = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED
# 2*d mod p, with d = -121665/121666 the curve constant of -x^2 + y^2 = 1 + d*x^2*y^2.
_D2 = 16295367250680780974490674513165176452449235426866156013048779062215315747161
# The base point B: y = 4/5 mod p, x its even square root.
_BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960

_table = None  # (0*B .. 8*B) as (y+x, y-x, 2*d*x*y), made by _table_steps on first use
_key = None  # (seed, scalar a mod L, nonce prefix, public key) of the last seed expanded


def _dbl(X, Y, Z):
    """2*(X:Y:Z) without its T (RFC 8032 section 5.1.4 doubling); for a doubling followed by another."""
    P = _P
    A = pow(X, 2, P)
    B = pow(Y, 2, P)
    C = pow(Z, 2, P) << 1
    H = A + B
    E = H - pow(X + Y, 2, P)
    G = A - B
    F = C + G
    return E * F % P, G * H % P, F * G % P


def _dbl_t(X, Y, Z):
    """2*(X:Y:Z) with T, for a doubling followed by an addition."""
    P = _P
    A = pow(X, 2, P)
    B = pow(Y, 2, P)
    C = pow(Z, 2, P) << 1
    H = A + B
    E = H - pow(X + Y, 2, P)
    G = A - B
    F = C + G
    return E * F % P, G * H % P, F * G % P, E * H % P


def _madd(X, Y, Z, T, ypx, ymx, t2d):
    """(X:Y:Z:T) + the affine point given as (y+x, y-x, 2*d*x*y); complete for all inputs."""
    P = _P
    A = (Y - X) * ymx % P
    B = (Y + X) * ypx % P
    C = T * t2d % P
    D = Z << 1
    E = B - A
    F = D - C
    G = D + C
    H = B + A
    return E * F % P, G * H % P, F * G % P, E * H % P


def _sqn(x, n):
    """x^(2^n) mod p: n squarings. pow() does them in place, twice as fast and with no garbage."""
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


def _table_steps():
    """Generator returning the table of j*B, j = 0..8, as (y+x, y-x, 2*d*x*y); made once."""
    global _table
    if _table is not None:
        return _table
    P = _P
    bx, by = _BX, _BY
    b = ((by + bx) % P, (by - bx) % P, bx * by % P * _D2 % P)
    pts = [(bx, by, 1, bx * by % P)]
    for _ in range(7):
        X, Y, Z, T = pts[-1]
        pts.append(_madd(X, Y, Z, T, b[0], b[1], b[2]))
        yield
    # One inversion for all eight Z (Montgomery's trick): prefix products, then walk back.
    pre = [1] * 8
    acc = 1
    for i in range(8):
        pre[i] = acc
        acc = acc * pts[i][2] % P
    inv = yield from _inv_steps(acc)
    tab = [None] * 9
    tab[0] = (1, 1, 0)  # the neutral point (0, 1)
    for i in range(7, -1, -1):
        X, Y, Z, _ = pts[i]
        zi = inv * pre[i] % P
        inv = inv * Z % P
        x = X * zi % P
        y = Y * zi % P
        tab[i + 1] = ((y + x) % P, (y - x) % P, x * y % P * _D2 % P)
    _table = tuple(tab)
    return _table


def _mul_base_steps(k):
    """Generator returning k*B as (X, Y, Z), for 0 <= k < 2^253; yields after every 4 doublings + 1 addition."""
    tab = yield from _table_steps()
    P = _P
    kb = k.to_bytes(32, "little")
    # Signed base-16 digits in -8..7, least significant first; k < 2^253 leaves no final carry.
    e = [0] * 64
    c = 0
    for i in range(64):
        v = ((kb[i >> 1] >> ((i & 1) << 2)) & 15) + c
        c = (v + 8) >> 4
        e[i] = v - (c << 4)
    X, Y, Z, T = 0, 1, 1, 0
    for i in range(63, -1, -1):
        if i != 63:
            X, Y, Z = _dbl(X, Y, Z)
            X, Y, Z = _dbl(X, Y, Z)
            X, Y, Z = _dbl(X, Y, Z)
            X, Y, Z, T = _dbl_t(X, Y, Z)
        v = e[i]
        if v >= 0:
            ypx, ymx, t2d = tab[v]
        else:  # -(x, y) = (-x, y): swap y+x and y-x, negate x*y
            ymx, ypx, t2d = tab[-v]
            t2d = P - t2d
        X, Y, Z, T = _madd(X, Y, Z, T, ypx, ymx, t2d)
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
    a %= _L  # a*B only depends on a mod L, and the window code wants k < 2^253
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
