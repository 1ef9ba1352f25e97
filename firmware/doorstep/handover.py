"""Handover codes: the carrier's code, kept on the device to be shown to the person at the door.

A handover entry is the code the carrier's driver needs (typed into the driver's own
handset), a label, a validity window and a short challenge that only someone holding the
parcel knows (by default the last 4 digits of its tracking number). The code must be shown
later, so it cannot be hashed: it is encrypted at rest. The challenge only has to be
checked, so it is kept as a salted keyed hash and compared in constant time.

Keys (all derived on the device from secret.bin, never leaving it), one per job:
    HMAC(secret, "doorstep handover enc")        keystream for the code (seal.crypt style)
    HMAC(secret, "doorstep handover mac")        MAC over label, salt and ciphertext
    HMAC(secret, "doorstep handover challenge")  keyed hash of salt + challenge
Each entry has 16 random bytes of salt: it is the nonce of the keystream too, so no two
entries ever share keystream, even after the file was deleted and made again.

What this protects against: a copy of handover.json alone (a pulled file, a bundle, a
backup, a bug that prints it) gives neither the code nor the challenge. What it does NOT
protect against without ESP32 flash encryption: whoever reads the whole flash (the board in
hand, esptool read_flash) has secret.bin beside the file and can decrypt the code. Turn on
flash encryption (docs/threat-model.md) for that; the code is also short-lived and only
works for one parcel.

Released once: release() marks the entry released on flash BEFORE it returns the code, so
a power cut while the code is on the display cannot show it twice. Only the homeowner can
make it showable again (reset, or revoke and add it again).
"""

from binascii import hexlify, unhexlify

from doorstep import codes as C
from doorstep import seal
from doorstep.compat import compare_digest
from doorstep.totp import hmac_digest

FILE = "handover.json"
MAX_CODE = 16
MIN_CHALLENGE = 4
MAX_CHALLENGE = 8
MAX_ENTRIES = 16
RELEASED = "released"  # outcome of release() when the code is to be shown
DAMAGED = "damaged"


class HandoverError(C.CodeError):
    """What the homeowner gave cannot be registered. Never contains a code or a challenge."""


def check_code(code):
    """A carrier code: 4-16 letters, digits or '-' (bytes or str). Returns bytes."""
    if isinstance(code, str):
        code = code.encode()
    ok = C.MIN_DIGITS <= len(code) <= MAX_CODE
    for c in code:
        if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c == 45):
            ok = False
    if not ok:
        raise HandoverError("a carrier code must be %d to %d letters, digits or '-'" % (C.MIN_DIGITS, MAX_CODE))
    return code


def check_challenge(ch):
    """A challenge is typed at the keypad: 4-8 digits. Returns bytes."""
    if isinstance(ch, str):
        ch = ch.encode()
    ok = MIN_CHALLENGE <= len(ch) <= MAX_CHALLENGE
    for c in ch:
        if c < 48 or c > 57:
            ok = False
    if not ok:
        raise HandoverError("a challenge must be %d to %d digits (e.g. the last 4 of the tracking number)" % (MIN_CHALLENGE, MAX_CHALLENGE))
    return ch


def _when(v, what):
    if v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
        return v
    raise HandoverError("%s must be a UTC Unix time in seconds" % what)


class HandoverBook:
    def __init__(self, storage, secret=None):
        self.storage = storage
        secret = secret if secret is not None else storage.read(C.SECRET_FILE)
        if len(secret) < 16:
            raise HandoverError("the device secret is missing or too short: provision the device")
        self._enc = hmac_digest(secret, b"doorstep handover enc", "sha256")
        self._mac = hmac_digest(secret, b"doorstep handover mac", "sha256")
        self._chk = hmac_digest(secret, b"doorstep handover challenge", "sha256")
        secret = None
        self.entries = self._load()

    def _load(self):
        data = self.storage.read_json(FILE, {"h": []})
        items = data.get("h") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise HandoverError("%s is damaged: no list of handovers" % FILE)
        for e in items:
            ok = isinstance(e, dict)
            try:
                ok = ok and len(unhexlify(e["salt"])) == 16 and len(unhexlify(e["ch"])) == 32
                ok = ok and len(unhexlify(e["mac"])) == 32 and 4 <= len(unhexlify(e["ct"])) <= MAX_CODE
                for k in ("from", "until", "released"):
                    v = e[k]
                    ok = ok and (v is None or v is True or (isinstance(v, int) and not isinstance(v, bool) and v >= 0))
                ok = ok and not (e["from"] is True or e["until"] is True)
            except Exception:  # noqa: BLE001  -- missing field, not hex
                ok = False
            if not ok:
                raise HandoverError("%s is damaged: an entry is incomplete" % FILE)
            C.check_label(e.get("label"))
        return items

    def _save(self):
        self.storage.write_json(FILE, {"h": self.entries})

    def _hash(self, salt, challenge):
        return hexlify(hmac_digest(self._chk, salt + challenge, "sha256"))

    def _tag(self, label, salt, ct):
        return hexlify(hmac_digest(self._mac, label.encode() + b"\x00" + salt + ct, "sha256"))

    def find(self, label):
        for e in self.entries:
            if e["label"] == label:
                return e
        return None

    def add(self, label, code, challenge, t_from, t_until, rng):
        """Register a handover. Returns its public description (no code, no challenge)."""
        C.check_label(label)
        code = check_code(code)
        challenge = check_challenge(challenge)
        if code.decode() in label or challenge.decode() in label:
            raise HandoverError("a label must not contain the code or the challenge: labels appear in records, reports and Home Assistant")
        t_from, t_until = _when(t_from, "from"), _when(t_until, "until")
        if t_from is not None and t_until is not None and t_until <= t_from:
            raise HandoverError("the end of the validity window must be after its start")
        if self.find(label):
            raise HandoverError("the label %r is already in use: choose another or revoke it first" % label)
        if len(self.entries) >= MAX_ENTRIES:
            raise HandoverError("%d handovers are registered already: revoke the old ones first" % MAX_ENTRIES)
        for e in self.entries:
            if e["released"] is None and compare_digest(self._hash(unhexlify(e["salt"]), challenge), e["ch"].encode()):
                raise HandoverError("another waiting handover (%r) has this challenge: the door could not tell them apart" % e["label"])
        salt = rng(16)
        ct = seal.crypt(self._enc, "handover " + hexlify(salt).decode(), 0, code)
        code = None
        e = {"label": label, "from": t_from, "until": t_until, "released": None, "salt": hexlify(salt).decode(),
             "ch": self._hash(salt, challenge).decode(), "ct": hexlify(ct).decode(), "mac": self._tag(label, salt, ct).decode()}
        self.entries.append(e)
        self._save()
        return self.describe(e)

    @staticmethod
    def describe(e):
        return {"label": e["label"], "from": e["from"], "until": e["until"], "released": e["released"]}

    def list(self):
        return [self.describe(e) for e in self.entries]

    def revoke(self, label):
        e = self.find(label)
        if e is None:
            raise HandoverError("no handover has the label %r" % label)
        self.entries.remove(e)
        self._save()
        return self.describe(e)

    def reset(self, label):
        """The homeowner makes a released code showable once more."""
        e = self.find(label)
        if e is None:
            raise HandoverError("no handover has the label %r" % label)
        e["released"] = None
        self._save()
        return self.describe(e)

    def waiting(self):
        return any(e["released"] is None for e in self.entries)

    def release(self, challenge, now):
        """(outcome, label or None, code bytes or None) for a challenge typed at the door.

        Every entry's hash is computed and compared (no early exit). The code is returned
        only with RELEASED, after "released" is on flash (OSError if flash refused it: then
        it is not released and not shown)."""
        match = None
        for e in self.entries:
            if compare_digest(self._hash(unhexlify(e["salt"]), challenge), e["ch"].encode()):
                match = e
        if match is None:
            return C.WRONG, None, None
        label = match["label"]
        if match["released"] is not None:
            return C.USED, label, None
        if match["from"] is not None or match["until"] is not None:
            if now is None:
                return C.NO_CLOCK, label, None
            if match["from"] is not None and now < match["from"]:
                return C.NOT_YET_VALID, label, None
            if match["until"] is not None and now >= match["until"]:
                return C.EXPIRED, label, None
        salt, ct = unhexlify(match["salt"]), unhexlify(match["ct"])
        if not compare_digest(self._tag(label, salt, ct), match["mac"].encode()):
            return DAMAGED, label, None
        match["released"] = now if now is not None else True
        try:
            self._save()
        except OSError:
            match["released"] = None
            raise
        return RELEASED, label, seal.crypt(self._enc, "handover " + match["salt"], 0, ct)
