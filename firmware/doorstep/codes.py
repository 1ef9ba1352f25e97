"""The homeowner's expected delivery codes, kept only as keyed hashes.

A code is stored as HMAC-SHA256(device secret, digits): a stolen codes file does not give
the codes away, not even 4-digit ones, without the secret that never leaves the device.
Every submitted code is compared with every stored hash in constant time, so the time a
verdict takes says nothing about which code, or how much of one, was right.
"""

from binascii import hexlify, unhexlify

from doorstep import totp
from doorstep.compat import compare_digest

CODES_FILE = "codes.json"
SECRET_FILE = "secret.bin"

MIN_DIGITS = 4
MAX_DIGITS = 12
MAX_LABEL = 32

ACCEPTED = "accepted"
WRONG = "wrong"
USED = "used"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
NO_CLOCK = "no_clock"


class CodeError(ValueError):
    """A code or label the homeowner gave cannot be registered. Never contains the code."""


def code_hash(secret, code):
    return totp.hmac_digest(secret, code, "sha256")


def _mask(secret, label, data):
    """XOR data with a pad derived from the device secret: a courier's TOTP secret must be
    usable on the device, but the codes file alone must not give it away."""
    pad = totp.hmac_digest(secret, b"courier:" + label.encode(), "sha256")
    return bytes(data[i] ^ pad[i] for i in range(len(data)))


def check_code(code):
    """Raise CodeError unless code (str or bytes) is 4-12 ASCII digits."""
    if isinstance(code, str):
        code = code.encode()
    ok = MIN_DIGITS <= len(code) <= MAX_DIGITS
    for c in code:
        if c < 48 or c > 57:
            ok = False
    if not ok:
        raise CodeError("a code must be %d to %d digits (0-9 only)" % (MIN_DIGITS, MAX_DIGITS))
    return code


def check_label(label):
    if not isinstance(label, str) or not label or len(label) > MAX_LABEL:
        raise CodeError("a label must be 1 to %d characters" % MAX_LABEL)
    for ch in label:
        if ord(ch) < 32 or ord(ch) > 126:
            raise CodeError("a label may use printable ASCII characters only")
    return label


def _int_or_none(v, what):
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise CodeError("%s must be a UTC Unix time in seconds" % what)
    return v


class CodeBook:
    """One-time codes: add, revoke, list (never values) and verify."""

    def __init__(self, storage, secret=None):
        self.storage = storage
        self.secret = secret if secret is not None else storage.read(SECRET_FILE)
        if len(self.secret) < 16:
            raise CodeError("the device secret is missing or too short: provision the device")
        self.codes = self._load()

    def _load(self):
        data = self.storage.read_json(CODES_FILE, {"codes": []})
        codes = data.get("codes") if isinstance(data, dict) else None
        if not isinstance(codes, list):
            raise CodeError("%s is damaged: no list of codes" % CODES_FILE)
        # Every field verify() reads is checked here: a damaged entry must not surface as an
        # exception when the right code is typed (the attempt would go unrecorded).
        for c in codes:
            if not isinstance(c, dict) or not isinstance(c.get("h"), str) or len(c["h"]) != 64:
                raise CodeError("%s is damaged: an entry has no valid hash" % CODES_FILE)
            check_label(c.get("label"))
            for k in ("from", "until", "used"):
                v = c.get(k, -1)  # missing is damaged too
                if v is None or (v is True and k == "used"):  # used while the clock was unset
                    continue
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise CodeError("%s is damaged: the entry %r has no valid %r" % (CODES_FILE, c["label"], k))
        couriers = data.get("couriers", [])
        if not isinstance(couriers, list):
            raise CodeError("%s is damaged: couriers is not a list" % CODES_FILE)
        for c in couriers:
            try:
                ok = 10 <= len(unhexlify(c["s"])) <= 64
                last = c.get("last", False)
                ok = ok and (last is None or (isinstance(last, int) and not isinstance(last, bool) and last >= 0))
            except Exception:  # noqa: BLE001  -- not a dict, no secret, not hex
                ok = False
            if not ok:
                raise CodeError("%s is damaged: a courier entry has no valid secret" % CODES_FILE)
            check_label(c.get("label"))
        self.couriers = couriers
        return codes

    def _save(self):
        self.storage.write_json(CODES_FILE, {"codes": self.codes, "couriers": self.couriers})

    def find(self, label):
        for c in self.codes + self.couriers:
            if c["label"] == label:
                return c
        return None

    def add_courier(self, label, secret):
        """Register a courier's TOTP secret (bytes, 10-64): 6-digit codes, 30 s, +-1 step."""
        check_label(label)
        if not isinstance(secret, bytes) or not 10 <= len(secret) <= 64:
            raise CodeError("a courier secret must be 10 to 64 bytes")
        if self.find(label):
            raise CodeError("the label %r is already in use: choose another or revoke it first" % label)
        entry = {"label": label, "s": hexlify(_mask(self.secret, label, secret)).decode(), "last": None}
        self.couriers.append(entry)
        self._save()
        return {"label": label, "courier": True}

    def add(self, code, label, t_from=None, t_until=None):
        """Register a code. Returns the public description (label and window, no code)."""
        code = check_code(code)
        check_label(label)
        if code.decode() in label:
            raise CodeError("a label must not contain the code: labels appear in records, reports and Home Assistant")
        t_from = _int_or_none(t_from, "from")
        t_until = _int_or_none(t_until, "until")
        if t_from is not None and t_until is not None and t_until <= t_from:
            raise CodeError("the end of the validity window must be after its start")
        if self.find(label):
            raise CodeError("the label %r is already in use: choose another or revoke it first" % label)
        h = hexlify(code_hash(self.secret, code)).decode()
        for c in self.codes:
            if c["used"] is None and compare_digest(c["h"].encode(), h.encode()):
                raise CodeError("this code is already registered (label %r)" % c["label"])
        entry = {"label": label, "h": h, "from": t_from, "until": t_until, "used": None}
        self.codes.append(entry)
        self._save()
        return self.describe(entry)

    def revoke(self, label):
        entry = self.find(label)
        if entry is None:
            raise CodeError("no code has the label %r" % label)
        if entry in self.codes:
            self.codes.remove(entry)
        else:
            self.couriers.remove(entry)
        self._save()
        return self.describe(entry)

    @staticmethod
    def describe(entry):
        if "s" in entry:
            return {"label": entry["label"], "courier": True, "last_used_step": entry["last"]}
        return {"label": entry["label"], "from": entry["from"], "until": entry["until"], "used": entry["used"]}

    def list(self):
        return [self.describe(c) for c in self.codes + self.couriers]

    def _courier(self, code, now):
        """(courier entry, time step) whose TOTP value is code now, else (None, None).

        Every courier is computed, so timing does not tell which one matched."""
        if now is None or len(code) != 6 or not self.couriers:
            return None, None
        found, step = None, None
        text = code.decode()
        for c in self.couriers:
            secret = _mask(self.secret, c["label"], unhexlify(c["s"]))
            st = totp.match(secret, text, now)
            if st is not None:
                found, step = c, st
        return found, step

    def verify(self, code, now):
        """Verdict for a code typed at the keypad: (outcome, label or None, detail or None).

        now is UTC Unix seconds or None when the clock was never set. An accepted code is
        marked used on flash before this returns, so it cannot be accepted twice, even
        across a power cut.
        """
        h = code_hash(self.secret, code)
        hexh = hexlify(h)
        match = None
        for c in self.codes:  # no early exit: every entry costs the same
            if compare_digest(c["h"].encode(), hexh):
                match = c
        courier, step = self._courier(code, now)
        if match is None:
            if courier is None:
                return WRONG, None, None
            if courier["last"] is not None and step <= courier["last"]:
                return USED, courier["label"], None  # a TOTP value is single use too
            old = courier["last"]
            courier["last"] = step
            try:
                self._save()
            except OSError:
                courier["last"] = old
                raise
            return ACCEPTED, courier["label"], None
        label = match["label"]
        if match["used"] is not None:
            return USED, label, match["used"]
        if match["from"] is not None or match["until"] is not None:
            if now is None:
                return NO_CLOCK, label, None
            if match["from"] is not None and now < match["from"]:
                return NOT_YET_VALID, label, match["from"]
            if match["until"] is not None and now >= match["until"]:
                return EXPIRED, label, match["until"]
        match["used"] = now if now is not None else True
        try:
            self._save()
        except OSError:
            match["used"] = None  # not on flash: not used, and not accepted
            raise
        return ACCEPTED, label, None


def new_secret(rng):
    return rng(32)


def secret_from_hex(s):
    return unhexlify(s)
