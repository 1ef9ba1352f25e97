"""Messages between the homeowner's PC and the device, sealed with the per-device admin key.

The admin key (32 random bytes) is made at provisioning, over the cable, and kept only in
admin.bin on the device and in the profile of the PC that provisioned it. It never signs
records: the device's Ed25519 key does that. From it four keys are derived, one per job
(HMAC-SHA256 of the job's name), so a key used one way can never be replayed another way:

    cmd    authenticates commands (PC -> device)      reply  authenticates answers (device -> PC)
    enc    encrypts a code or secret inside a command  ack    authenticates the collector's acks

A sealed message is ``<64 hex HMAC-SHA256 of body> <body>``, body canonical JSON that names
the device. The MAC is checked, in constant time, before the body is parsed at all.
Encryption is HMAC-SHA256 in counter mode keyed with enc, the command's counter as nonce
(a counter is never used twice), then the MAC over the whole body: encrypt-then-MAC.
Written with the device's own HMAC (totp.hmac_digest, over the C sha256 on an ESP32), so
it runs unchanged on both runtimes; the PC side (doorstep_tools.sealing) uses Python's hmac.
"""

from binascii import hexlify, unhexlify

from doorstep.compat import compare_digest
from doorstep.totp import hmac_digest

ADMIN_FILE = "admin.bin"
MAX_MESSAGE = 1024  # longer inbound messages are refused before any work is done on them


def derive(admin_key, job):
    """The key for one job ("cmd", "reply", "enc", "ack")."""
    return hmac_digest(admin_key, b"doorstep " + job.encode(), "sha256")


def keys(storage):
    """{job: key} from admin.bin, or None on a device provisioned without an admin key."""
    try:
        k = storage.read(ADMIN_FILE)
    except OSError:
        return None
    if len(k) != 32:
        return None
    return {j: derive(k, j) for j in ("cmd", "reply", "enc", "ack")}


def seal(key, body):
    """The sealed message for body (bytes)."""
    return hexlify(hmac_digest(key, body, "sha256")) + b" " + body


def unseal(key, msg):
    """The body of a sealed message, or None when it is too long, malformed or not sealed with key."""
    if len(msg) > MAX_MESSAGE or len(msg) < 66 or msg[64:65] != b" ":
        return None
    body = bytes(msg[65:])
    want = hexlify(hmac_digest(key, body, "sha256"))
    if not compare_digest(bytes(msg[:64]), want):
        return None
    return body


def crypt(enc_key, dev, n, data):
    """XOR data with the keystream for command n of device dev (encrypts and decrypts)."""
    out = bytearray(len(data))
    block = b""
    for i in range(len(data)):
        if i % 32 == 0:
            block = hmac_digest(enc_key, ("%s %d %d" % (dev, n, i // 32)).encode(), "sha256")
        out[i] = data[i] ^ block[i % 32]
    return bytes(out)


def decrypt_hex(enc_key, dev, n, text):
    """crypt() of a hex string; ValueError when it is not hex."""
    if not isinstance(text, str):
        raise ValueError("not hex")
    return crypt(enc_key, dev, n, unhexlify(text))
