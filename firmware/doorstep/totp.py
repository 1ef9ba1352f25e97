"""One-time codes: HOTP (RFC 4226) and TOTP (RFC 6238), plus the base32 secrets apps share.

Codes are strings of ``digits`` decimal digits (leading zeros kept). ``match`` computes every
candidate in the window and compares each with the offered code in constant time, so how long it
takes says nothing about whether, or where, a code matched. Nothing here logs a code or a secret.

HMAC is done here (a few lines over the hash's block) rather than with the ``hmac`` module, so
the hash can be a native hashlib one or one of Doorstep's pure-Python ones on any runtime.
Times are integer Unix seconds: a single-precision float (ESP32) cannot hold one to the second.
"""

import hashlib

from doorstep.compat import compare_digest

_BLOCK = {"sha1": 64, "sha256": 64, "sha512": 128}
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _hash(algo):
    """The hashlib-style constructor for algo ('sha1', 'sha256' or 'sha512')."""
    if algo == "sha1":
        h = getattr(hashlib, "sha1", None)
        if h is None:
            from doorstep.sha1 import sha1 as h
        return h
    if algo == "sha256":
        return hashlib.sha256
    if algo == "sha512":
        from doorstep.sha512 import sha512

        return sha512
    raise ValueError("unsupported hash algorithm")


def hmac_digest(key, msg, algo="sha1"):
    """HMAC (RFC 2104) of msg under key with the named hash."""
    h = _hash(algo)
    bs = _BLOCK[algo]
    if len(key) > bs:
        key = h(key).digest()
    ipad = bytearray(bs)
    opad = bytearray(bs)
    for i in range(bs):
        k = key[i] if i < len(key) else 0
        ipad[i] = k ^ 0x36
        opad[i] = k ^ 0x5C
    inner = h(ipad)
    inner.update(msg)
    outer = h(opad)
    outer.update(inner.digest())
    return outer.digest()


def hotp(secret, counter, digits=6, algo="sha1"):
    """RFC 4226 HOTP value of secret (bytes) at counter, as a zero-padded string."""
    if not 6 <= digits <= 10:
        raise ValueError("digits must be 6-10")
    if counter < 0 or counter >= 1 << 64:
        raise ValueError("counter out of range")
    mac = hmac_digest(secret, counter.to_bytes(8, "big"), algo)
    o = mac[-1] & 0x0F
    v = ((mac[o] & 0x7F) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3]
    s = str(v % 10**digits)
    return "0" * (digits - len(s)) + s


def _step(unix_time, step):
    if step <= 0:
        raise ValueError("step must be positive")
    t = int(unix_time)
    if t < 0:
        raise ValueError("time before 1970")
    return t // step


def totp(secret, unix_time, step=30, digits=6, algo="sha1"):
    """RFC 6238 TOTP value of secret (bytes) at unix_time (integer seconds)."""
    return hotp(secret, _step(unix_time, step), digits, algo)


def match(secret, code_str, unix_time, window=1, step=30, digits=6, algo="sha1"):
    """The time-step counter whose TOTP equals code_str, within +-window steps of now; else None.

    Every candidate is computed and compared (constant time each) whatever the outcome, so the
    work done does not depend on the code. If two steps happen to share the code, the one
    nearest to now wins (the current step first, then -1, +1, -2, ...).
    """
    if window < 0:
        raise ValueError("window must be >= 0")
    now = _step(unix_time, step)
    given = code_str.encode() if isinstance(code_str, str) else bytes(code_str)
    found = None
    for i in range(2 * window + 1):
        d = (i + 1) // 2
        n = now - d if i & 1 else now + d
        if n < 0:
            continue
        ok = compare_digest(hotp(secret, n, digits, algo).encode(), given)
        if ok and found is None:
            found = n
    return found


def b32decode(s):
    """Decode RFC 4648 base32 (an otpauth:// secret): any case, '=' padding optional, spaces
    ignored.

    Raises ValueError for a character outside the alphabet or a length no byte string encodes to.
    """
    if not isinstance(s, str):
        s = bytes(s).decode()
    out = bytearray()
    acc = 0
    bits = 0
    n = 0
    pad = False
    for ch in s.upper():
        if ch == " ":
            continue
        if ch == "=":
            pad = True
            continue
        if pad:
            raise ValueError("base32 data after padding")
        v = _B32.find(ch)
        if v < 0:
            raise ValueError("not base32")
        acc = ((acc << 5) | v) & 0xFFF
        bits += 5
        n += 1
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if n % 8 in (1, 3, 6):
        raise ValueError("bad base32 length")
    return bytes(out)
