"""SHA-512's block function as native code (@micropython.viper): the engine doorstep.sha512
uses where the runtime has the native emitter (compat.NATIVE: the ESP32, the unix port).
Elsewhere this file does not compile (the WebAssembly port has no native emitter) and is never
imported; sha512_portable is used instead.

A 64-bit word is two 32-bit machine words (hi, lo), kept in arrays of native words. A block
costs a few thousand machine instructions and allocates nothing, so it does not yield.
"""

import struct
from array import array

import micropython

_K = None  # the 80 round constants as 160 native 32-bit words (hi, lo), from init()
_W = None  # the message schedule's scratch, shared (see state)


def init(k):
    """Take the round constants (640 big-endian bytes)."""
    global _K
    _K = array("I", struct.unpack(">160I", k))


def state(h0):
    """A fresh state (16 words, hi and lo) and the scratch for 80 words. Every hash shares one
    scratch: a block is mixed in one call that never yields and fills the scratch before
    reading it, so no other hash can see it half done. A fresh 640 bytes per hash was the
    allocation a fragmented heap refused first."""
    global _W
    if _W is None:
        _W = bytearray(640)
    return array("I", struct.unpack(">16I", h0)), _W


def digest(h):
    return struct.pack(">16I", *h)


def compress_steps(h, w, block, o):
    """Mix block[o:o+128] into h; a generator like the portable engine's, without steps."""
    _compress(h, w, memoryview(block)[o : o + 128], _K)
    return
    yield


@micropython.viper
def _compress(h: ptr32, w: ptr32, blk: ptr8, k: ptr32):
    """Mix the 128 bytes at blk into the state h (16 words); w: scratch for 160 words."""
    for i in range(32):
        j = 4 * i
        w[i] = (blk[j] << 24) | (blk[j + 1] << 16) | (blk[j + 2] << 8) | blk[j + 3]
    for i in range(32, 160, 2):
        # W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16]   (i = 2t)
        xh = uint(w[i - 30])
        xl = uint(w[i - 29])
        sh = ((xh >> 1) | (xl << 31)) ^ ((xh >> 8) | (xl << 24)) ^ (xh >> 7)
        sl = ((xl >> 1) | (xh << 31)) ^ ((xl >> 8) | (xh << 24)) ^ ((xl >> 7) | (xh << 25))
        xh = uint(w[i - 4])
        xl = uint(w[i - 3])
        th = ((xh >> 19) | (xl << 13)) ^ ((xl >> 29) | (xh << 3)) ^ (xh >> 6)
        tl = ((xl >> 19) | (xh << 13)) ^ ((xh >> 29) | (xl << 3)) ^ ((xl >> 6) | (xh << 26))
        lo = sl + tl
        hi = sh + th + (1 if lo < sl else 0)
        x = uint(w[i - 13])
        lo2 = lo + x
        hi = hi + uint(w[i - 14]) + (1 if lo2 < lo else 0)
        x = uint(w[i - 31])
        lo = lo2 + x
        w[i] = hi + uint(w[i - 32]) + (1 if lo < lo2 else 0)
        w[i + 1] = lo
    ah = uint(h[0])
    al = uint(h[1])
    bh = uint(h[2])
    bl = uint(h[3])
    ch = uint(h[4])
    cl = uint(h[5])
    dh = uint(h[6])
    dl = uint(h[7])
    eh = uint(h[8])
    el = uint(h[9])
    fh = uint(h[10])
    fl = uint(h[11])
    gh = uint(h[12])
    gl = uint(h[13])
    hh = uint(h[14])
    hl = uint(h[15])
    for i in range(0, 160, 2):
        # T1 = h + Sigma1(e) + Ch(e, f, g) + K + W; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
        sh = ((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23))
        sl = ((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14)) ^ ((eh >> 9) | (el << 23))
        lo = hl + sl
        t1h = hh + sh + (1 if lo < hl else 0)
        x = gl ^ (el & (fl ^ gl))
        lo2 = lo + x
        t1h += (gh ^ (eh & (fh ^ gh))) + (1 if lo2 < lo else 0)
        x = uint(k[i + 1])
        lo = lo2 + x
        t1h += uint(k[i]) + (1 if lo < lo2 else 0)
        x = uint(w[i + 1])
        t1l = lo + x
        t1h += uint(w[i]) + (1 if t1l < lo else 0)
        # T2 = Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39
        sh = ((ah >> 28) | (al << 4)) ^ ((al >> 2) | (ah << 30)) ^ ((al >> 7) | (ah << 25))
        sl = ((al >> 28) | (ah << 4)) ^ ((ah >> 2) | (al << 30)) ^ ((ah >> 7) | (al << 25))
        x = (bl & cl) ^ (al & (bl ^ cl))
        t2l = sl + x
        t2h = sh + ((bh & ch) ^ (ah & (bh ^ ch))) + (1 if t2l < sl else 0)
        hh = gh
        hl = gl
        gh = fh
        gl = fl
        fh = eh
        fl = el
        el = dl + t1l
        eh = dh + t1h + (1 if el < dl else 0)
        dh = ch
        dl = cl
        ch = bh
        cl = bl
        bh = ah
        bl = al
        al = t1l + t2l
        ah = t1h + t2h + (1 if al < t1l else 0)
    # h += (a, ..., h), back into limbs
    w[0] = ah
    w[1] = al
    w[2] = bh
    w[3] = bl
    w[4] = ch
    w[5] = cl
    w[6] = dh
    w[7] = dl
    w[8] = eh
    w[9] = el
    w[10] = fh
    w[11] = fl
    w[12] = gh
    w[13] = gl
    w[14] = hh
    w[15] = hl
    for i in range(0, 16, 2):
        x = uint(h[i + 1])
        lo = x + uint(w[i + 1])
        h[i] = uint(h[i]) + uint(w[i]) + (1 if lo < x else 0)
        h[i + 1] = lo
