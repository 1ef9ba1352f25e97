"""SHA-512 (FIPS 180-4) for runtimes whose hashlib has no sha512 (the ESP32's has none).

Ed25519 (RFC 8032) and HMAC-SHA512 TOTP need it. The interface is hashlib's: ``sha512(data)``,
``update(data)``, ``digest()``, ``hexdigest()``; ``update_steps`` and ``digest_steps`` are
generator forms for callers that must let an event loop run.

The block function is an engine chosen once, here: native code (sha512_viper) where the
runtime has the native emitter (compat.NATIVE: the ESP32, the unix port), else plain Python on
16-bit limbs (sha512_portable: the WebAssembly port, CPython). Neither allocates per block;
`doorstep deploy` copies only the engine the board can run.
"""

from binascii import hexlify

from doorstep.compat import NATIVE

_engine = None
if NATIVE:
    try:
        from doorstep import sha512_viper as _engine
    except ImportError:  # left out by deploy: the board's native code is not the .mpy's (ESP32-C3)
        pass
if _engine is None:
    from doorstep import sha512_portable as _engine

# Round constants: first 64 bits of the fractional parts of the cube roots of the first 80 primes.
_engine.init(
    b"\x42\x8a\x2f\x98\xd7\x28\xae\x22" b"\x71\x37\x44\x91\x23\xef\x65\xcd"
    b"\xb5\xc0\xfb\xcf\xec\x4d\x3b\x2f" b"\xe9\xb5\xdb\xa5\x81\x89\xdb\xbc"
    b"\x39\x56\xc2\x5b\xf3\x48\xb5\x38" b"\x59\xf1\x11\xf1\xb6\x05\xd0\x19"
    b"\x92\x3f\x82\xa4\xaf\x19\x4f\x9b" b"\xab\x1c\x5e\xd5\xda\x6d\x81\x18"
    b"\xd8\x07\xaa\x98\xa3\x03\x02\x42" b"\x12\x83\x5b\x01\x45\x70\x6f\xbe"
    b"\x24\x31\x85\xbe\x4e\xe4\xb2\x8c" b"\x55\x0c\x7d\xc3\xd5\xff\xb4\xe2"
    b"\x72\xbe\x5d\x74\xf2\x7b\x89\x6f" b"\x80\xde\xb1\xfe\x3b\x16\x96\xb1"
    b"\x9b\xdc\x06\xa7\x25\xc7\x12\x35" b"\xc1\x9b\xf1\x74\xcf\x69\x26\x94"
    b"\xe4\x9b\x69\xc1\x9e\xf1\x4a\xd2" b"\xef\xbe\x47\x86\x38\x4f\x25\xe3"
    b"\x0f\xc1\x9d\xc6\x8b\x8c\xd5\xb5" b"\x24\x0c\xa1\xcc\x77\xac\x9c\x65"
    b"\x2d\xe9\x2c\x6f\x59\x2b\x02\x75" b"\x4a\x74\x84\xaa\x6e\xa6\xe4\x83"
    b"\x5c\xb0\xa9\xdc\xbd\x41\xfb\xd4" b"\x76\xf9\x88\xda\x83\x11\x53\xb5"
    b"\x98\x3e\x51\x52\xee\x66\xdf\xab" b"\xa8\x31\xc6\x6d\x2d\xb4\x32\x10"
    b"\xb0\x03\x27\xc8\x98\xfb\x21\x3f" b"\xbf\x59\x7f\xc7\xbe\xef\x0e\xe4"
    b"\xc6\xe0\x0b\xf3\x3d\xa8\x8f\xc2" b"\xd5\xa7\x91\x47\x93\x0a\xa7\x25"
    b"\x06\xca\x63\x51\xe0\x03\x82\x6f" b"\x14\x29\x29\x67\x0a\x0e\x6e\x70"
    b"\x27\xb7\x0a\x85\x46\xd2\x2f\xfc" b"\x2e\x1b\x21\x38\x5c\x26\xc9\x26"
    b"\x4d\x2c\x6d\xfc\x5a\xc4\x2a\xed" b"\x53\x38\x0d\x13\x9d\x95\xb3\xdf"
    b"\x65\x0a\x73\x54\x8b\xaf\x63\xde" b"\x76\x6a\x0a\xbb\x3c\x77\xb2\xa8"
    b"\x81\xc2\xc9\x2e\x47\xed\xae\xe6" b"\x92\x72\x2c\x85\x14\x82\x35\x3b"
    b"\xa2\xbf\xe8\xa1\x4c\xf1\x03\x64" b"\xa8\x1a\x66\x4b\xbc\x42\x30\x01"
    b"\xc2\x4b\x8b\x70\xd0\xf8\x97\x91" b"\xc7\x6c\x51\xa3\x06\x54\xbe\x30"
    b"\xd1\x92\xe8\x19\xd6\xef\x52\x18" b"\xd6\x99\x06\x24\x55\x65\xa9\x10"
    b"\xf4\x0e\x35\x85\x57\x71\x20\x2a" b"\x10\x6a\xa0\x70\x32\xbb\xd1\xb8"
    b"\x19\xa4\xc1\x16\xb8\xd2\xd0\xc8" b"\x1e\x37\x6c\x08\x51\x41\xab\x53"
    b"\x27\x48\x77\x4c\xdf\x8e\xeb\x99" b"\x34\xb0\xbc\xb5\xe1\x9b\x48\xa8"
    b"\x39\x1c\x0c\xb3\xc5\xc9\x5a\x63" b"\x4e\xd8\xaa\x4a\xe3\x41\x8a\xcb"
    b"\x5b\x9c\xca\x4f\x77\x63\xe3\x73" b"\x68\x2e\x6f\xf3\xd6\xb2\xb8\xa3"
    b"\x74\x8f\x82\xee\x5d\xef\xb2\xfc" b"\x78\xa5\x63\x6f\x43\x17\x2f\x60"
    b"\x84\xc8\x78\x14\xa1\xf0\xab\x72" b"\x8c\xc7\x02\x08\x1a\x64\x39\xec"
    b"\x90\xbe\xff\xfa\x23\x63\x1e\x28" b"\xa4\x50\x6c\xeb\xde\x82\xbd\xe9"
    b"\xbe\xf9\xa3\xf7\xb2\xc6\x79\x15" b"\xc6\x71\x78\xf2\xe3\x72\x53\x2b"
    b"\xca\x27\x3e\xce\xea\x26\x61\x9c" b"\xd1\x86\xb8\xc7\x21\xc0\xc2\x07"
    b"\xea\xda\x7d\xd6\xcd\xe0\xeb\x1e" b"\xf5\x7d\x4f\x7f\xee\x6e\xd1\x78"
    b"\x06\xf0\x67\xaa\x72\x17\x6f\xba" b"\x0a\x63\x7d\xc5\xa2\xc8\x98\xa6"
    b"\x11\x3f\x98\x04\xbe\xf9\x0d\xae" b"\x1b\x71\x0b\x35\x13\x1c\x47\x1b"
    b"\x28\xdb\x77\xf5\x23\x04\x7d\x84" b"\x32\xca\xab\x7b\x40\xc7\x24\x93"
    b"\x3c\x9e\xbe\x0a\x15\xc9\xbe\xbc" b"\x43\x1d\x67\xc4\x9c\x10\x0d\x4c"
    b"\x4c\xc5\xd4\xbe\xcb\x3e\x42\xb6" b"\x59\x7f\x29\x9c\xfc\x65\x7e\x2a"
    b"\x5f\xcb\x6f\xab\x3a\xd6\xfa\xec" b"\x6c\x44\x19\x8c\x4a\x47\x58\x17"
)
# Initial hash value: first 64 bits of the fractional parts of the square roots of the first 8 primes.
_H0 = (
    b"\x6a\x09\xe6\x67\xf3\xbc\xc9\x08" b"\xbb\x67\xae\x85\x84\xca\xa7\x3b"
    b"\x3c\x6e\xf3\x72\xfe\x94\xf8\x2b" b"\xa5\x4f\xf5\x3a\x5f\x1d\x36\xf1"
    b"\x51\x0e\x52\x7f\xad\xe6\x82\xd1" b"\x9b\x05\x68\x8c\x2b\x3e\x6c\x1f"
    b"\x1f\x83\xd9\xab\xfb\x41\xbd\x6b" b"\x5b\xe0\xcd\x19\x13\x7e\x21\x79"
)


class sha512:
    """hashlib-style SHA-512: sha512(data=b''), update(), digest(), hexdigest().

    ``update_steps(data)`` and ``digest_steps()`` are generator variants that yield after each
    block (and, in the portable engine, within it, every 16 rounds); digest_steps() returns
    the digest. A caller that abandons update_steps() part way leaves the object unusable.
    """

    name = "sha512"
    digest_size = 64
    block_size = 128

    def __init__(self, data=b""):
        self._h, self._w = _engine.state(_H0)
        self._buf = b""  # fewer than 128 bytes not yet compressed
        self._len = 0  # bytes hashed so far
        if data:
            self.update(data)

    def update(self, data):
        for _ in self.update_steps(data):
            pass

    def update_steps(self, data):
        """Generator: hash data, yielding within and after every 128-byte block."""
        if isinstance(data, str):
            raise TypeError("sha512 hashes bytes, not str")
        compress = _engine.compress_steps
        n = len(data)
        self._len += n
        buf = self._buf
        o = 0
        if buf:
            o = 128 - len(buf)
            if n < o:
                self._buf = buf + bytes(data)
                return
            yield from compress(self._h, self._w, buf + bytes(data[:o]), 0)
            yield
        while n - o >= 128:
            yield from compress(self._h, self._w, data, o)
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
        h = self._h[:]
        n = len(self._buf)
        pad = 128 - n if n < 112 else 256 - n
        # 0x80, zeros, then the message length in bits as a 128-bit big-endian number
        tail = self._buf + b"\x80" + bytes(pad - 17) + (self._len * 8).to_bytes(16, "big")
        yield from _engine.compress_steps(h, self._w, tail, 0)
        if len(tail) > 128:
            yield
            yield from _engine.compress_steps(h, self._w, tail, 128)
        return _engine.digest(h)

    def hexdigest(self):
        return hexlify(self.digest()).decode()
