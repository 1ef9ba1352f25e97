"""SHA-512 in plain Python (FIPS 180-4, sections 5.3.5 and 6.4), for runtimes without hashlib.sha512.

The MicroPython builds Doorstep runs on only have sha256 in hashlib; Ed25519 (RFC 8032) and
HMAC-SHA512 TOTP need SHA-512, so this module supplies it with the hashlib-style interface:
``sha512(data=b"")``, ``update(data)``, ``digest()``, ``hexdigest()``.

Speed notes (measured under the MicroPython 1.27 WebAssembly port): words are whole 64-bit
ints rather than 32-bit hi/lo halves. Both runtimes' small ints are 31/63-bit, so either choice
allocates long ints, and the halves version needs well over twice the operations (its rotations
and carries are split in two); it ran 2 to 3 times slower. A 64-bit rotation is done by doubling
the word once, ``x | x << 64``, after which each rotate-right is a single shift. The Sigma and
sigma sums are not masked: the bits above 64 they carry never reach the low 64 bits of a sum, and
every word that is kept is masked once. Maj reuses the previous round's a ^ b. Round variables
are shuffled with plain assignments (a tuple swap of eight names would allocate a tuple per
round), unrolling the rounds measured no faster, and the 80-word schedule list is allocated once
per hash object. One block costs about 0.5 ms and 120 KB of short-lived ints under WebAssembly.
"""

from binascii import hexlify

_M = 0xFFFFFFFFFFFFFFFF

# Round constants: first 64 bits of the fractional parts of the cube roots of the first 80 primes.
_K = (
    0x428A2F98D728AE22, 0x7137449123EF65CD, 0xB5C0FBCFEC4D3B2F, 0xE9B5DBA58189DBBC,
    0x3956C25BF348B538, 0x59F111F1B605D019, 0x923F82A4AF194F9B, 0xAB1C5ED5DA6D8118,
    0xD807AA98A3030242, 0x12835B0145706FBE, 0x243185BE4EE4B28C, 0x550C7DC3D5FFB4E2,
    0x72BE5D74F27B896F, 0x80DEB1FE3B1696B1, 0x9BDC06A725C71235, 0xC19BF174CF692694,
    0xE49B69C19EF14AD2, 0xEFBE4786384F25E3, 0x0FC19DC68B8CD5B5, 0x240CA1CC77AC9C65,
    0x2DE92C6F592B0275, 0x4A7484AA6EA6E483, 0x5CB0A9DCBD41FBD4, 0x76F988DA831153B5,
    0x983E5152EE66DFAB, 0xA831C66D2DB43210, 0xB00327C898FB213F, 0xBF597FC7BEEF0EE4,
    0xC6E00BF33DA88FC2, 0xD5A79147930AA725, 0x06CA6351E003826F, 0x142929670A0E6E70,
    0x27B70A8546D22FFC, 0x2E1B21385C26C926, 0x4D2C6DFC5AC42AED, 0x53380D139D95B3DF,
    0x650A73548BAF63DE, 0x766A0ABB3C77B2A8, 0x81C2C92E47EDAEE6, 0x92722C851482353B,
    0xA2BFE8A14CF10364, 0xA81A664BBC423001, 0xC24B8B70D0F89791, 0xC76C51A30654BE30,
    0xD192E819D6EF5218, 0xD69906245565A910, 0xF40E35855771202A, 0x106AA07032BBD1B8,
    0x19A4C116B8D2D0C8, 0x1E376C085141AB53, 0x2748774CDF8EEB99, 0x34B0BCB5E19B48A8,
    0x391C0CB3C5C95A63, 0x4ED8AA4AE3418ACB, 0x5B9CCA4F7763E373, 0x682E6FF3D6B2B8A3,
    0x748F82EE5DEFB2FC, 0x78A5636F43172F60, 0x84C87814A1F0AB72, 0x8CC702081A6439EC,
    0x90BEFFFA23631E28, 0xA4506CEBDE82BDE9, 0xBEF9A3F7B2C67915, 0xC67178F2E372532B,
    0xCA273ECEEA26619C, 0xD186B8C721C0C207, 0xEADA7DD6CDE0EB1E, 0xF57D4F7FEE6ED178,
    0x06F067AA72176FBA, 0x0A637DC5A2C898A6, 0x113F9804BEF90DAE, 0x1B710B35131C471B,
    0x28DB77F523047D84, 0x32CAAB7B40C72493, 0x3C9EBE0A15C9BEBC, 0x431D67C49C100D4C,
    0x4CC5D4BECB3E42B6, 0x597F299CFC657E2A, 0x5FCB6FAB3AD6FAEC, 0x6C44198C4A475817,
)
# Initial hash value: first 64 bits of the fractional parts of the square roots of the first 8 primes.
_H0 = (
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
)


def _schedule(block, o, w, lo, hi):
    """Fill w[lo:hi] (w: a list of 80 ints, reused) with the message schedule of the 128 bytes
    block[o:o+128]; lo is 0 or follows an earlier call's hi."""
    M = _M
    if lo == 0:
        frombytes = int.from_bytes
        for t in range(16):
            j = o + 8 * t
            w[t] = frombytes(block[j : j + 8], "big")
        lo = 16
    for t in range(lo, hi):
        x = w[t - 15]
        y = w[t - 2]
        xx = x | (x << 64)
        yy = y | (y << 64)
        # sigma0 = ROTR1 ^ ROTR8 ^ SHR7, sigma1 = ROTR19 ^ ROTR61 ^ SHR6 (high junk masked off once)
        w[t] = (w[t - 16] + w[t - 7] + ((xx >> 1) ^ (xx >> 8) ^ (x >> 7)) + ((yy >> 19) ^ (yy >> 61) ^ (y >> 6))) & M


def _rounds(s, w, lo, hi):
    """Rounds lo..hi-1 on the working variables s = [a, b, c, d, e, f, g, h] (updated in place)."""
    M = _M
    K = _K
    a = s[0]
    b = s[1]
    c = s[2]
    d = s[3]
    e = s[4]
    f = s[5]
    g = s[6]
    hh = s[7]
    bc = b ^ c
    for t in range(lo, hi):
        x = e | (e << 64)
        # T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
        t1 = hh + ((x >> 14) ^ (x >> 18) ^ (x >> 41)) + (g ^ (e & (f ^ g))) + K[t] + w[t]
        x = a | (a << 64)
        ab = a ^ b
        # T2 = Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39; Maj = b ^ ((a ^ b) & (b ^ c))
        t2 = ((x >> 28) ^ (x >> 34) ^ (x >> 39)) + (b ^ (ab & bc))
        bc = ab  # next round's b ^ c
        hh = g
        g = f
        f = e
        e = (d + t1) & M
        d = c
        c = b
        b = a
        a = (t1 + t2) & M
    s[0] = a
    s[1] = b
    s[2] = c
    s[3] = d
    s[4] = e
    s[5] = f
    s[6] = g
    s[7] = hh


def _add(h, s):
    M = _M
    for i in range(8):
        h[i] = (h[i] + s[i]) & M


def _compress_steps(h, block, o, w):
    """Generator mixing the 128 bytes block[o:o+128] into the eight-word state h (a list, updated
    in place); it yields five times, splitting the block's work into sixths. On MicroPython every
    64-bit value is a heap object, so a step's garbage (about 16 KB) is what must fit between
    two yields. w is a scratch list of 80 ints (the message schedule), reused from block to block.
    """
    _schedule(block, o, w, 0, 48)
    yield
    _schedule(block, o, w, 48, 80)
    yield
    s = list(h)
    for lo in (0, 20, 40, 60):
        _rounds(s, w, lo, lo + 20)
        if lo < 60:
            yield
    _add(h, s)


class sha512:
    """hashlib-style SHA-512: sha512(data=b''), update(), digest(), hexdigest().

    ``update_steps(data)`` and ``digest_steps()`` are generator variants of update() and digest()
    that yield six times per 128-byte block, for callers that must not block an event loop for
    long; digest_steps() returns the digest. A caller that abandons
    update_steps() part way leaves the object unusable.
    """

    name = "sha512"
    digest_size = 64
    block_size = 128

    def __init__(self, data=b""):
        self._h = list(_H0)
        self._buf = b""  # fewer than 128 bytes not yet compressed
        self._len = 0  # bytes hashed so far
        self._w = [0] * 80
        if data:
            self.update(data)

    def update(self, data):
        for _ in self.update_steps(data):
            pass

    def update_steps(self, data):
        """Generator: hash data, yielding three times per 128-byte block (a third of a block apart)."""
        if isinstance(data, str):
            raise TypeError("sha512 hashes bytes, not str")
        n = len(data)
        self._len += n
        buf = self._buf
        if buf:
            take = 128 - len(buf)
            if n < take:
                self._buf = buf + bytes(data)
                return
            yield from _compress_steps(self._h, buf + bytes(data[:take]), 0, self._w)
            o = take
            yield
        else:
            o = 0
        while n - o >= 128:
            yield from _compress_steps(self._h, data, o, self._w)
            o += 128
            yield
        self._buf = bytes(data[o:])

    def digest(self):
        """The digest of everything so far; the object can still be updated afterwards."""
        g = self.digest_steps()
        try:
            while True:
                next(g)
        except StopIteration as e:
            return e.value

    def digest_steps(self):
        """Generator form of digest(): yields within and between its final blocks, returns the digest."""
        h = list(self._h)
        n = len(self._buf)
        pad = 128 - n if n < 112 else 256 - n
        # 0x80, zeros, then the message length in bits as a 128-bit big-endian number
        tail = self._buf + b"\x80" + bytes(pad - 17) + (self._len * 8).to_bytes(16, "big")
        yield from _compress_steps(h, tail, 0, self._w)
        if len(tail) > 128:
            yield
            yield from _compress_steps(h, tail, 128, self._w)
        out = bytearray(64)
        for i in range(8):
            out[8 * i : 8 * i + 8] = h[i].to_bytes(8, "big")
        return bytes(out)

    def hexdigest(self):
        return hexlify(self.digest()).decode()
