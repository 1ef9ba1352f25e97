"""Checking the RFC 3161 timestamp tokens kept beside a Doorstep log (timestamps/).

Part of the standalone verifier (see bundle_verify.py). A token is a time-stamping authority's
signed statement that some bytes existed at a time. Doorstep asks for one over a statement,
N-H.json = {"dev": device id, "hash": SHA-256 of record N's line, "seq": N} (canonical JSON);
that hash is the chain hash every later record builds on, so a good token N-H.tsr over it says:
this doorbell's log up to seq N existed at time T, whatever the doorbell's clock said. By hand:
openssl ts -verify -data timestamps/N-H.json -in timestamps/N-H.tsr -CAfile timestamps/tsa-ca.pem
Tokens are checked with the `rfc3161-client` package (tsa.py says why that one) against the
CA certificate(s) in timestamps/tsa-ca.pem or given with --tsa-ca. Without the package they are
reported as NOT checked, never as good.
"""

import hashlib
import os
import re

if __package__:
    from doorstep_tools.verify_format import canonical, is_hex, parse, utc, whole
else:  # in a bundle, beside verify_bundle.py
    from verify_format import canonical, is_hex, parse, utc, whole

ERROR, UNCHECKED = "error", "unchecked"
DIR = "timestamps"
CA_FILE = "tsa-ca.pem"
MAX_TOKEN = 1 << 20


class Token:
    """A checked token: device dev's log up to seq (whose line hashes to hash) existed at time (Unix s)."""

    def __init__(self, statement, when, accuracy, tsa, file):
        self.dev, self.seq, self.hash = statement["dev"], statement["seq"], statement["hash"]
        self.time, self.accuracy, self.tsa, self.file = when, accuracy, tsa, file
        self.latest = when + accuracy  # the latest the TSA's own clock allows

    def __str__(self):
        acc = " (+-%d s)" % self.accuracy if self.accuracy else ""
        return "the log up to seq %d existed at %s%s, attested by %s (%s)" % (self.seq, utc(self.time), acc, self.tsa, self.file)


def statement(dev, seq, digest):
    """The bytes a token is asked for: what it covers, as canonical JSON."""
    return canonical({"dev": dev, "hash": digest, "seq": seq})


def read_statement(data):
    """The statement in data, or None if it is not one (exactly these fields, canonical)."""
    st = parse(data)[0] if len(data) < 4096 else None
    if not (isinstance(st, dict) and sorted(st) == ["dev", "hash", "seq"] and is_hex(st["dev"], 16)
            and whole(st["seq"]) and is_hex(st["hash"], 64) and canonical(st) == data):
        return None
    return st


def token_names(root):
    d = os.path.join(root, DIR)
    return sorted(n for n in os.listdir(d) if n.endswith(".tsr")) if os.path.isdir(d) else []


def ca_certificates(path):
    """The certificates in a PEM file, or ValueError saying why not."""
    from cryptography import x509

    try:
        with open(path, "rb") as f:
            return x509.load_pem_x509_certificates(f.read())
    except (OSError, ValueError) as e:
        raise ValueError("%s is not a readable PEM certificate file (%s)" % (path, e))


def describe_ca(certs):
    from cryptography.hazmat.primitives.serialization import Encoding

    c = certs[0]
    return "%s, SHA-256 %s" % (c.subject.rfc4514_string(), hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest())


def load(root, res, tsa_ca=None):
    """Check every token under root/timestamps; the good ones as Tokens, in seq order.

    A bad token is an error; tokens that cannot be checked at all are UNCHECKED findings."""
    names = token_names(root)
    res.tsa_ca = None
    if not names:
        return []
    try:
        import rfc3161_client
    except ImportError:
        res.add(UNCHECKED, None, "the %d timestamp token(s) in %s/ were NOT checked: this Python lacks the rfc3161-client"
                " package (pip install rfc3161-client). Until they are, nothing here attests when the log existed, and a"
                " cut tail they would show is not looked for" % (len(names), DIR))
        return []
    path = tsa_ca or os.path.join(root, DIR, CA_FILE)
    if not os.path.isfile(path):
        res.add(UNCHECKED, None, "the %d timestamp token(s) in %s/ were NOT checked: there is no CA certificate to check them"
                " against (%s/%s, or give the TSA's CA certificate with --tsa-ca FILE)" % (len(names), DIR, DIR, CA_FILE))
        return []
    try:
        roots = ca_certificates(path)
    except ValueError as e:
        res.add(UNCHECKED, None, "the timestamp tokens were NOT checked: %s" % e)
        return []
    res.tsa_ca = (path, describe_ca(roots), tsa_ca is not None)
    good = []
    for name in names:
        tok = check_file(rfc3161_client, roots, root, name, res)
        if tok:
            good.append(tok)
    return sorted(good, key=lambda t: t.seq)


def check_file(lib, roots, root, name, res):
    label = "%s/%s" % (DIR, name)
    try:
        with open(os.path.join(root, DIR, name[:-4] + ".json"), "rb") as f:
            st_bytes = f.read(4096)
        with open(os.path.join(root, DIR, name), "rb") as f:
            data = f.read(MAX_TOKEN)
    except OSError:
        st_bytes = b""
    st = read_statement(st_bytes)
    if st is None:
        res.add(ERROR, None, "%s cannot be used: %s, which says what it covers, is missing or damaged" % (label, label[:-4] + ".json"))
        return None
    try:
        resp = check_token(lib, roots, data, st_bytes)
    except ValueError as e:
        res.add(ERROR, st["seq"], "the timestamp token %s does not verify: %s" % (label, e))
        return None
    return Token(st, *when_and_who(resp), label)


def check_token(lib, roots, data, message, nonce=None):
    """The decoded response if data is a granted token over message (by SHA-256) that chains to
    one of roots and was made while the TSA's certificate was valid; else ValueError in plain words."""
    try:
        resp = lib.decode_timestamp_response(data)
        if resp.tst_info.message_imprint.hash_algorithm.dotted_string != "2.16.840.1.101.3.4.2.1":
            raise ValueError("it is not over a SHA-256")
        builder = lib.VerifierBuilder(nonce=nonce)
        for c in roots:
            builder = builder.add_root_certificate(c)
        builder.build().verify_message(resp, message)
        return resp
    except Exception as e:  # noqa: BLE001  the library raises its own kinds, and ValueError for bad DER
        raise ValueError(plain_reason(str(e)))
    except BaseException as e:  # a panic in the library's Rust parser on hostile bytes
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise ValueError("it is not a timestamp token (unreadable: %s)" % type(e).__name__)


REASONS = (
    ("Mismatch between messages", "it is not over the statement beside it (it was made for another head or another log)"),
    ("Nonce mismatch", "it does not answer this request (an old token replayed)"),
    ("certificate has expired", "the TSA's certificate had expired when the token was made"),
    ("certificate is not yet valid", "the TSA's certificate was not yet valid when the token was made"),
    ("unable to get local issuer", "the TSA's certificate was not issued by the CA it is checked against"),
    ("self-signed certificate", "the TSA's certificate was not issued by the CA it is checked against"),
    ("signature failure", "its signature does not verify: it was altered or forged"),
    ("digest failure", "its signature does not verify: it was altered or forged"),
    ("parse error", "it is not a timestamp token (damaged)"),
    ("PKIStatus is not GRANTED", "the TSA refused the request"),
)


def plain_reason(text):
    for needle, words in REASONS:
        if needle.lower() in text.lower():
            return words
    m = re.search(r'Verify error: ([^"]+)', text)
    return "it failed the check (%s)" % (m.group(1) if m else text[:200])


def when_and_who(resp):
    """(Unix time, accuracy in whole seconds, the TSA's name) of a verified response."""
    from cryptography import x509

    info = resp.tst_info
    when = int(info.gen_time.timestamp())
    try:
        a = info.accuracy
        acc = (a.seconds or 0) + (1 if (a.millis or a.micros) else 0)
    except (AttributeError, ValueError):
        acc = 0
    who = None
    signer = next(iter(resp.signed_data.signer_infos))
    for der in resp.signed_data.certificates:
        cert = x509.load_der_x509_certificate(der)
        if cert.issuer == signer.issuer and cert.serial_number == signer.serial_number:
            who = cert.subject.rfc4514_string()
    if who is None and isinstance(info.name, x509.DirectoryName):
        who = info.name.value.rfc4514_string()
    return when, acc, who or "an unnamed TSA"


def bounds(tokens):
    """(seq, latest time, token) per token in seq order: records up to seq existed by that time,
    the earliest any token at or after seq attests."""
    out, best = [], None
    for tok in sorted(tokens, key=lambda t: t.seq, reverse=True):
        if best is None or tok.latest < best.latest:
            best = tok
        out.append((tok.seq, best.latest, best))
    return out[::-1]
