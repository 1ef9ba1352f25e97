"""SHA-1 in plain Python, for runtimes whose hashlib has no sha1 (FIPS 180-4, section 6.1).

Only the TOTP code uses it (RFC 6238 authenticator apps default to HMAC-SHA1), and only where
``hashlib.sha1`` is missing: the ESP32 build has a native one, the WebAssembly test runtime
does not.
SHA-1 is fine inside HMAC; nothing else in Doorstep should pick it.
"""

_M = 0xFFFFFFFF
_H0 = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)


def _compress(h, block, o, w):
    """Mix the 64 bytes block[o:o+64] into the five-word state h (a list, updated in place).

    Round variables move by plain assignments: a five-name tuple swap allocates on MicroPython.
    """
    for t in range(16):
        j = o + 4 * t
        w[t] = (block[j] << 24) | (block[j + 1] << 16) | (block[j + 2] << 8) | block[j + 3]
    for t in range(16, 80):
        x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
        w[t] = ((x << 1) | (x >> 31)) & _M
    a, b, c, d, e = h
    for t in range(20):
        x = (((a << 5) | (a >> 27)) + (d ^ (b & (c ^ d))) + e + 0x5A827999 + w[t]) & _M
        e = d
        d = c
        c = ((b << 30) | (b >> 2)) & _M
        b = a
        a = x
    for t in range(20, 40):
        x = (((a << 5) | (a >> 27)) + (b ^ c ^ d) + e + 0x6ED9EBA1 + w[t]) & _M
        e = d
        d = c
        c = ((b << 30) | (b >> 2)) & _M
        b = a
        a = x
    for t in range(40, 60):
        x = (((a << 5) | (a >> 27)) + ((b & c) | (d & (b | c))) + e + 0x8F1BBCDC + w[t]) & _M
        e = d
        d = c
        c = ((b << 30) | (b >> 2)) & _M
        b = a
        a = x
    for t in range(60, 80):
        x = (((a << 5) | (a >> 27)) + (b ^ c ^ d) + e + 0xCA62C1D6 + w[t]) & _M
        e = d
        d = c
        c = ((b << 30) | (b >> 2)) & _M
        b = a
        a = x
    h[0] = (h[0] + a) & _M
    h[1] = (h[1] + b) & _M
    h[2] = (h[2] + c) & _M
    h[3] = (h[3] + d) & _M
    h[4] = (h[4] + e) & _M


class sha1:
    """hashlib-style SHA-1: sha1(data=b''), update(), digest(), hexdigest(), copy()."""

    name = "sha1"
    digest_size = 20
    block_size = 64

    def __init__(self, data=b""):
        self._h = list(_H0)
        self._buf = b""  # fewer than 64 bytes not yet compressed
        self._len = 0  # bytes hashed so far
        self._w = [0] * 80
        if data:
            self.update(data)

    def update(self, data):
        n = len(data)
        self._len += n
        buf = self._buf
        if buf:
            take = 64 - len(buf)
            if n < take:
                self._buf = buf + bytes(data)
                return
            _compress(self._h, buf + bytes(data[:take]), 0, self._w)
            o = take
        else:
            o = 0
        while n - o >= 64:
            _compress(self._h, data, o, self._w)
            o += 64
        self._buf = bytes(data[o:])

    def digest(self):
        """The digest of everything so far; the object can still be updated afterwards."""
        h = list(self._h)
        n = len(self._buf)
        pad = 64 - n if n < 56 else 128 - n
        tail = self._buf + b"\x80" + bytes(pad - 9) + (self._len * 8).to_bytes(8, "big")
        for o in range(0, len(tail), 64):
            _compress(h, tail, o, self._w)
        out = b""
        for v in h:
            out += v.to_bytes(4, "big")
        return out

    def hexdigest(self):
        return "".join("%02x" % b for b in self.digest())

    def copy(self):
        c = sha1()
        c._h = list(self._h)
        c._buf = self._buf
        c._len = self._len
        return c
