"""Ed25519 signatures made under real MicroPython (the WebAssembly port, so the portable
engines) verified by the ``cryptography`` package: 1,000 random keys and messages in one VM run.
The RFC 8032 vectors run on both runtimes in scenarios/crypto.py; the native engine on the
unix port is checked in test_native_unix.py.
"""

import random
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGN_ALL = r"""
import sys
sys.path.insert(0, '/lib')
from doorstep import compat, ed25519
assert not compat.NATIVE  # this port has no native emitter: the portable engines run
data = open('/cases.bin', 'rb').read()
out = open('/out/sigs.bin', 'wb')
o = 0
i = 0
while o < len(data):
    n = data[o] | (data[o + 1] << 8)
    seed = data[o + 2 : o + 34]
    msg = data[o + 34 : o + 34 + n]
    o += 34 + n
    pub = ed25519.public_key(seed)
    out.write(pub)
    out.write(ed25519.sign(seed, msg, pub if i % 2 else None))
    i += 1
out.close()
print('signed', i)
"""


def cases(count, seed=16):
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        n = rnd.choice((0, 1, 111, 112, 127, 128, 129, 300)) if i < 40 else rnd.randrange(0, 600)
        out.append((rnd.randbytes(32), rnd.randbytes(n)))
    return out


def test_1000_random_signatures_from_micropython_verify_with_cryptography(micropython):
    todo = cases(1000)
    blob = b"".join(struct.pack("<H", len(m)) + s + m for s, m in todo)
    out, got = micropython.run(SIGN_ALL, bundles=("firmware",), files={"/cases.bin": blob, "/out/.keep": b""},
                               collect=["/out"], timeout=600)
    assert "signed 1000" in out, out
    sigs = got["/out/sigs.bin"]
    assert len(sigs) == 1000 * 96
    for i, (seed, msg) in enumerate(todo):
        pub, sig = sigs[96 * i : 96 * i + 32], sigs[96 * i + 32 : 96 * i + 96]
        sk = Ed25519PrivateKey.from_private_bytes(seed)
        assert pub == sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw), i
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)  # raises InvalidSignature
        assert sig == sk.sign(msg), i  # deterministic: byte for byte what OpenSSL signs
