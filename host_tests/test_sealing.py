"""The PC's sealing (doorstep_tools.sealing, Python's hmac) and the device's (firmware seal.py,
its own HMAC) agree byte for byte, on CPython and under MicroPython 1.27."""

import json
import os
import random

from doorstep import seal
from doorstep_tools import sealing

KEY = bytes(range(32))
DEV = "5b498c43719d4848"


def test_host_commands_open_on_the_device_and_device_answers_open_on_the_host():
    rnd = random.Random(4)
    keys = sealing.Keys(KEY)
    for _ in range(200):
        n = rnd.randrange(1, 10 ** 9)
        code = "".join(rnd.choice("0123456789") for _ in range(rnd.randrange(4, 13)))
        msg = sealing.command(keys, DEV, n, "add_code", {"label": "p-%d" % n, "from": None, "until": None}, ("code", code.encode()))
        body = seal.unseal(seal.derive(KEY, "cmd"), msg)
        assert body is not None
        cmd = json.loads(body)
        assert (cmd["dev"], cmd["n"], cmd["op"]) == (DEV, n, "add_code")
        assert seal.decrypt_hex(seal.derive(KEY, "enc"), DEV, n, cmd["args"]["code"]) == code.encode()
        assert code not in msg.decode()
        answer = seal.seal(seal.derive(KEY, "reply"), json.dumps({"dev": DEV, "n": n, "ok": True}).encode())
        assert sealing.unseal(keys.reply, answer) == {"dev": DEV, "n": n, "ok": True}
        # a key for one job never opens another job's message
        assert seal.unseal(seal.derive(KEY, "reply"), msg) is None and sealing.unseal(keys.cmd, answer) is None


def test_any_change_to_a_sealed_message_is_refused():
    msg = sealing.command(sealing.Keys(KEY), DEV, 7, "list")
    k = seal.derive(KEY, "cmd")
    assert seal.unseal(k, msg) is not None
    for i in range(len(msg)):
        bad = bytearray(msg)
        bad[i] ^= 0x01
        assert seal.unseal(k, bytes(bad)) is None, i
    assert seal.unseal(k, msg[:-1]) is None and seal.unseal(k, msg + b" ") is None
    assert seal.unseal(k, b"") is None and seal.unseal(k, msg[:64]) is None
    assert seal.unseal(k, msg[:65] + b"x" * seal.MAX_MESSAGE) is None


def test_long_secrets_span_keystream_blocks():
    keys = sealing.Keys(KEY)
    data = os.urandom(100)
    enc = sealing.crypt(keys.enc, DEV, 3, data)
    assert seal.crypt(seal.derive(KEY, "enc"), DEV, 3, enc) == data
    assert sealing.crypt(keys.enc, DEV, 4, data) != enc  # another counter, another keystream


MP = r"""
import sys
sys.path.insert(0, '/lib')
from binascii import hexlify
from doorstep import seal
k = bytes(range(32))
print(hexlify(seal.seal(seal.derive(k, 'ack'), b'{"a":1}')).decode())
print(hexlify(seal.crypt(seal.derive(k, 'enc'), '%s', 9, b'0123456789' * 7)).decode())
""" % DEV


def test_micropython_seals_exactly_as_the_host(micropython):
    out, _ = micropython.run(MP, bundles=("firmware",))
    a, c = out.split()
    keys = sealing.Keys(KEY)
    assert bytes.fromhex(a) == keys_seal(keys.ack, b'{"a":1}')
    assert bytes.fromhex(c) == sealing.crypt(keys.enc, DEV, 9, b"0123456789" * 7)


def keys_seal(key, body):
    import hashlib
    import hmac

    return hmac.new(key, body, hashlib.sha256).hexdigest().encode() + b" " + body
