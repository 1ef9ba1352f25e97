"""The PC's side of the admin key: sealed commands, answers and acknowledgements.

The same construction as the device's firmware/doorstep/seal.py (see its docstring), made
here independently with Python's hmac module, so a mistake on one side shows as a refusal
in the tests instead of agreeing with itself:

    job key  = HMAC-SHA256(admin key, "doorstep " + job)     job: cmd, reply, enc, ack
    sealed   = hex(HMAC-SHA256(job key, body)) + " " + body  body: canonical JSON
    keystream block i of command n = HMAC-SHA256(enc key, "<dev> <n> <i>")
"""

import hashlib
import hmac
import json

JOBS = ("cmd", "reply", "enc", "ack")


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def derive(admin_key, job):
    return hmac.new(admin_key, b"doorstep " + job.encode(), hashlib.sha256).digest()


class Keys:
    def __init__(self, admin_key):
        if len(admin_key) != 32:
            raise ValueError("an admin key is 32 bytes")
        for job in JOBS:
            setattr(self, job, derive(admin_key, job))


def seal(key, obj):
    body = canonical(obj)
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode() + b" " + body


def unseal(key, msg):
    """The JSON object of a sealed message, or None if it is not sealed with key."""
    if len(msg) < 66 or msg[64:65] != b" ":
        return None
    body = bytes(msg[65:])
    if not hmac.compare_digest(msg[:64], hmac.new(key, body, hashlib.sha256).hexdigest().encode()):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def crypt(enc_key, dev, n, data):
    out = bytearray()
    for i in range(0, len(data), 32):
        block = hmac.new(enc_key, ("%s %d %d" % (dev, n, i // 32)).encode(), hashlib.sha256).digest()
        out += bytes(a ^ b for a, b in zip(data[i : i + 32], block))
    return bytes(out)


def command(keys, dev, n, op, args=None, secret=None):
    """The sealed command. secret: (argument name, bytes) to send encrypted (a code, a courier secret)."""
    args = dict(args or {})
    if secret is not None:
        name, data = secret
        args[name] = crypt(keys.enc, dev, n, data).hex()
    return seal(keys.cmd, {"dev": dev, "n": n, "op": op, "args": args})


def ack(keys, dev, seq, h, resend=False):
    """The collector's acknowledgement: it holds every record up to seq (hash h)."""
    return seal(keys.ack, {"dev": dev, "seq": seq, "hash": h, "resend": resend})
