"""SHA-512's block function in plain Python, on 16-bit limbs: the portable engine of
doorstep.sha512 (runtimes without the native emitter: the WebAssembly port, CPython).

A 64-bit word is four 16-bit limbs, most significant first, so every value stays a small int
(31 bits on a 32-bit MicroPython) and nothing is allocated per operation: whole 64-bit Python
ints left ~120 KB of garbage per block. Rotations become constant shifts of neighbouring limbs,
xored together and masked once; sums are carried limb by limb. A block yields every 8 rounds
(and around each schedule expansion).
"""

_K = None  # the 80 round constants as 320 limbs (a tuple: the fastest to index), from init()


def init(k):
    """Take the round constants (640 big-endian bytes)."""
    global _K
    _K = tuple((k[i] << 8) | k[i + 1] for i in range(0, 640, 2))


def state(h0):
    """A fresh (state, scratch) pair from the 64-byte initial hash value."""
    return [(h0[i] << 8) | h0[i + 1] for i in range(0, 64, 2)], [0] * 64


def digest(h):
    """The 64-byte big-endian form of the state h."""
    out = bytearray(64)
    for i in range(32):
        out[2 * i] = h[i] >> 8
        out[2 * i + 1] = h[i] & 0xFF
    return bytes(out)


def _load(w, block, o):
    """w[0:64] = the 16 big-endian words of block[o:o+128], as limbs."""
    for i in range(64):
        j = o + 2 * i
        w[i] = (block[j] << 8) | block[j + 1]


def _expand(w):
    """Replace the 16 schedule words in w by the next 16, in place:
    W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16], slot t % 16 holding W[t-16]."""
    M = 0xFFFF
    for t in range(16):
        i = 4 * t
        j = 4 * ((t + 1) & 15)  # W[t-15]
        x0 = w[j]
        x1 = w[j + 1]
        x2 = w[j + 2]
        x3 = w[j + 3]
        j = 4 * ((t + 14) & 15)  # W[t-2]
        y0 = w[j]
        y1 = w[j + 1]
        y2 = w[j + 2]
        y3 = w[j + 3]
        j = 4 * ((t + 9) & 15)  # W[t-7]
        # sigma0 = ROTR1 ^ ROTR8 ^ SHR7, sigma1 = ROTR19 ^ ROTR61 ^ SHR6, limb by limb
        s3 = (w[i + 3] + w[j + 3]
              + (((x3 >> 1) ^ ((x2 & 1) << 15) ^ (x3 >> 8) ^ (x2 << 8) ^ (x3 >> 7) ^ (x2 << 9)) & M)
              + (((y2 >> 3) ^ (y1 << 13) ^ (y0 >> 13) ^ (y3 << 3) ^ (y3 >> 6) ^ (y2 << 10)) & M))
        s2 = (w[i + 2] + w[j + 2] + (s3 >> 16)
              + (((x2 >> 1) ^ ((x1 & 1) << 15) ^ (x2 >> 8) ^ (x1 << 8) ^ (x2 >> 7) ^ (x1 << 9)) & M)
              + (((y1 >> 3) ^ (y0 << 13) ^ (y3 >> 13) ^ (y2 << 3) ^ (y2 >> 6) ^ (y1 << 10)) & M))
        s1 = (w[i + 1] + w[j + 1] + (s2 >> 16)
              + (((x1 >> 1) ^ ((x0 & 1) << 15) ^ (x1 >> 8) ^ (x0 << 8) ^ (x1 >> 7) ^ (x0 << 9)) & M)
              + (((y0 >> 3) ^ (y3 << 13) ^ (y2 >> 13) ^ (y1 << 3) ^ (y1 >> 6) ^ (y0 << 10)) & M))
        w[i] = (w[i] + w[j] + (s1 >> 16)
                + (((x0 >> 1) ^ ((x3 & 1) << 15) ^ (x0 >> 8) ^ (x3 << 8) ^ (x0 >> 7)) & M)
                + (((y3 >> 3) ^ (y2 << 13) ^ (y1 >> 13) ^ (y0 << 3) ^ (y0 >> 6)) & M)) & M
        w[i + 1] = s1 & M
        w[i + 2] = s2 & M
        w[i + 3] = s3 & M


def _rounds(s, w, k, lo, hi):
    """Rounds on the working variables s (32 limbs: a..h): schedule words w[lo:hi] (limbs),
    constants _K[k+lo:k+hi]."""
    M = 0xFFFF
    K = _K
    a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3 = s[:16]
    e0, e1, e2, e3, f0, f1, f2, f3, g0, g1, g2, g3, h0, h1, h2, h3 = s[16:]
    for i in range(lo, hi, 4):
        j = k + i
        # T1 = h + Sigma1(e) + Ch(e, f, g) + K + W; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
        t3 = (h3 + K[j + 3] + w[i + 3] + (g3 ^ (e3 & (f3 ^ g3)))
              + (((e3 >> 14) ^ (e2 << 2) ^ (e2 >> 2) ^ (e1 << 14) ^ (e1 >> 9) ^ (e0 << 7)) & M))
        t2 = (h2 + K[j + 2] + w[i + 2] + (g2 ^ (e2 & (f2 ^ g2)))
              + (((e2 >> 14) ^ (e1 << 2) ^ (e1 >> 2) ^ (e0 << 14) ^ (e0 >> 9) ^ (e3 << 7)) & M))
        t1 = (h1 + K[j + 1] + w[i + 1] + (g1 ^ (e1 & (f1 ^ g1)))
              + (((e1 >> 14) ^ (e0 << 2) ^ (e0 >> 2) ^ (e3 << 14) ^ (e3 >> 9) ^ (e2 << 7)) & M))
        t0 = (h0 + K[j] + w[i] + (g0 ^ (e0 & (f0 ^ g0)))
              + (((e0 >> 14) ^ (e3 << 2) ^ (e3 >> 2) ^ (e2 << 14) ^ (e2 >> 9) ^ (e1 << 7)) & M))
        h0 = g0
        h1 = g1
        h2 = g2
        h3 = g3
        g0 = f0
        g1 = f1
        g2 = f2
        g3 = f3
        f0 = e0
        f1 = e1
        f2 = e2
        f3 = e3
        # e = d + T1, carried from the low limb up (T1's limbs are left uncarried until here)
        x = d3 + t3
        e3 = x & M
        x = d2 + t2 + (x >> 16)
        e2 = x & M
        x = d1 + t1 + (x >> 16)
        e1 = x & M
        e0 = (d0 + t0 + (x >> 16)) & M
        # T2 = Sigma0(a) + Maj(a, b, c), with Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39. b, c move
        # down first, so here c and d hold the old b and c, and a's limbs are replaced low to
        # high (b takes each old limb as it goes).
        d0 = c0
        d1 = c1
        d2 = c2
        d3 = c3
        c0 = b0
        c1 = b1
        c2 = b2
        c3 = b3
        x = (t3 + ((c3 & d3) ^ (a3 & (c3 ^ d3)))
             + (((a2 >> 12) ^ (a1 << 4) ^ (a1 >> 2) ^ (a0 << 14) ^ (a1 >> 7) ^ (a0 << 9)) & M))
        b3 = a3
        a3 = x & M
        x = (t2 + (x >> 16) + ((c2 & d2) ^ (a2 & (c2 ^ d2)))
             + (((a1 >> 12) ^ (a0 << 4) ^ (a0 >> 2) ^ (b3 << 14) ^ (a0 >> 7) ^ (b3 << 9)) & M))
        b2 = a2
        a2 = x & M
        x = (t1 + (x >> 16) + ((c1 & d1) ^ (a1 & (c1 ^ d1)))
             + (((a0 >> 12) ^ (b3 << 4) ^ (b3 >> 2) ^ (b2 << 14) ^ (b3 >> 7) ^ (b2 << 9)) & M))
        b1 = a1
        a1 = x & M
        x = (t0 + (x >> 16) + ((c0 & d0) ^ (a0 & (c0 ^ d0)))
             + (((b3 >> 12) ^ (b2 << 4) ^ (b2 >> 2) ^ (b1 << 14) ^ (b2 >> 7) ^ (b1 << 9)) & M))
        b0 = a0
        a0 = x & M
    s[:] = (a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3,
            e0, e1, e2, e3, f0, f1, f2, f3, g0, g1, g2, g3, h0, h1, h2, h3)


def _add(h, s):
    """h += s, word by word (mod 2^64), both as limbs."""
    for i in range(0, 32, 4):
        x = h[i + 3] + s[i + 3]
        h[i + 3] = x & 0xFFFF
        x = h[i + 2] + s[i + 2] + (x >> 16)
        h[i + 2] = x & 0xFFFF
        x = h[i + 1] + s[i + 1] + (x >> 16)
        h[i + 1] = x & 0xFFFF
        h[i] = (h[i] + s[i] + (x >> 16)) & 0xFFFF


def compress_steps(h, w, block, o):
    """Generator mixing the 128 bytes block[o:o+128] into the state h (32 limbs, updated in
    place); yields every 8 rounds and around each schedule expansion (~0.3 ms apart under
    warmed WebAssembly).
    w: a scratch list of 64 limbs (16 schedule words)."""
    _load(w, block, o)
    s = list(h)
    for k in range(0, 320, 64):
        if k:
            yield
            _expand(w)  # about as long as 8 rounds
            yield
        _rounds(s, w, k, 0, 32)
        yield
        _rounds(s, w, k, 32, 64)
    _add(h, s)
