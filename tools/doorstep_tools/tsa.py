"""Independent time for the log: RFC 3161 timestamp tokens for its signed head.

The doorbell's clock is the owner's to set, so its records' times prove nothing to a third
party by themselves. A time-stamping authority (TSA) the homeowner chooses signs "these bytes
existed at T". Doorstep asks it for a token over a small statement, {"dev", "hash", "seq"} of
the head record (verify_tsa.statement): the hash is the chain hash of record seq, so the token
dates the whole log up to there. Only that statement's SHA-256 leaves this PC, never a record.
Tokens go beside the log, timestamps/<seq>-<hash prefix>.tsr with the statement as .json, and
into evidence bundles; `doorstep verify` and verify_bundle.py check them (verify_tsa.py).

`doorstep timestamp DIR --tsa URL --tsa-ca FILE` configures a folder (timestamps/tsa.json and
tsa-ca.pem) and stamps its head; after that every successful `doorstep pull` stamps the new
head, and the collector calls stamp_head(out_dir) at least hourly.

Library: rfc3161-client (Trail of Bits, the RFC 3161 code of sigstore-python; Apache-2.0;
depends only on `cryptography`). `cryptography` alone cannot parse RFC 3161. rfc3161-client
builds the request and checks the answer fully: the CMS signature, the TSA certificate's chain
to the CA we give at the token's own time (so an expired TSA certificate fails), its critical
timeStamping key usage, the nonce and the message imprint. asn1crypto only parses (all those
checks would be ours to write) and has had no release since 2022; rfc3161ng and rfc3161
(pyasn1) none since 2020 and 2016.
"""

import json
import os
import shutil
import sys
import urllib.error
import urllib.request

from doorstep_tools import verify_tsa
from doorstep_tools.verify_format import is_hex, whole

CONFIG = "tsa.json"
TIMEOUT = 20


class TsaError(Exception):
    """No token could be had or kept; the message says why and what to do."""


def folder(out_dir):
    return os.path.join(out_dir, verify_tsa.DIR)


def _write(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def configure(out_dir, url, ca_file):
    """Remember the TSA (its URL and its CA certificate, copied) for the log in out_dir."""
    if not url.startswith(("http://", "https://")):
        raise TsaError("the TSA's address must be an http:// or https:// URL, not %r" % url)
    try:
        verify_tsa.ca_certificates(ca_file)
    except ValueError as e:
        raise TsaError("the TSA's CA certificate: %s" % e)
    os.makedirs(folder(out_dir), exist_ok=True)
    shutil.copyfile(ca_file, os.path.join(folder(out_dir), verify_tsa.CA_FILE + ".tmp"))
    os.replace(os.path.join(folder(out_dir), verify_tsa.CA_FILE + ".tmp"), os.path.join(folder(out_dir), verify_tsa.CA_FILE))
    _write(os.path.join(folder(out_dir), CONFIG), json.dumps({"url": url}, indent=1).encode() + b"\n")


def configured_url(out_dir):
    """The TSA URL configured for out_dir, or None."""
    try:
        with open(os.path.join(folder(out_dir), CONFIG)) as f:
            url = json.load(f).get("url")
    except (OSError, ValueError, AttributeError):
        return None
    return url if isinstance(url, str) else None


def _head(out_dir, head):
    """(dev, seq, hash) to stamp: the given head (a checkpoint, say) or the last pulled one."""
    if head is None:
        try:
            with open(os.path.join(out_dir, "head.json")) as f:
                head = json.load(f)
        except (OSError, ValueError) as e:
            raise TsaError("%s has no readable head.json (%s): pull the log first" % (out_dir, e))
    dev = head.get("dev") if isinstance(head, dict) else None
    if dev is None:
        try:
            with open(os.path.join(out_dir, "device.json")) as f:
                dev = json.load(f).get("dev")
        except (OSError, ValueError, AttributeError):
            dev = None
    if not (isinstance(head, dict) and whole(head.get("seq")) and is_hex(head.get("hash"), 64) and is_hex(dev, 16)):
        raise TsaError("the head to timestamp must have a seq, a SHA-256 hash and the device id (device.json)")
    return dev, head["seq"], head["hash"]


def request(url, message, timeout=TIMEOUT):
    """POST an RFC 3161 request for message to url: (request, the TSA's answer bytes)."""
    import rfc3161_client as lib

    req = lib.TimestampRequestBuilder().data(message).hash_algorithm(lib.HashAlgorithm.SHA256).nonce(nonce=True) \
        .cert_request(cert_request=True).build()
    http = urllib.request.Request(url, data=req.as_bytes(), method="POST",
                                  headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"})
    try:
        with urllib.request.urlopen(http, timeout=timeout) as r:
            data = r.read(verify_tsa.MAX_TOKEN + 1)
    except urllib.error.HTTPError as e:
        raise TsaError("the time-stamping authority at %s refused the request (HTTP %d %s)" % (url, e.code, e.reason))
    except (urllib.error.URLError, OSError) as e:
        raise TsaError("cannot reach the time-stamping authority at %s (%s)" % (url, getattr(e, "reason", e)))
    if len(data) > verify_tsa.MAX_TOKEN:
        raise TsaError("the time-stamping authority at %s sent more than %d bytes: that is no timestamp" % (url, verify_tsa.MAX_TOKEN))
    return req, data


def stamp_head(out_dir, tsa_url=None, ca_file=None, head=None, timeout=TIMEOUT):
    """Get, check and keep a token for the head of the log in out_dir; returns a verify_tsa.Token.

    tsa_url / ca_file: default the folder's configuration (`doorstep timestamp --tsa`); head:
    {"seq", "hash"[, "dev"]} such as a verified checkpoint, default the last pulled head.json.
    A head already stamped is not stamped again (the earliest token is the strongest). TsaError
    when no token could be had; nothing is written then."""
    import rfc3161_client as lib

    url = tsa_url or configured_url(out_dir)
    if not url:
        raise TsaError("no time-stamping authority is configured for %s: run `doorstep timestamp %s --tsa URL --tsa-ca FILE`" % (out_dir, out_dir))
    ca_file = ca_file or os.path.join(folder(out_dir), verify_tsa.CA_FILE)
    try:
        roots = verify_tsa.ca_certificates(ca_file)
    except ValueError as e:
        raise TsaError("the TSA's CA certificate: %s" % e)
    dev, seq, digest = _head(out_dir, head)
    message = verify_tsa.statement(dev, seq, digest)
    base = os.path.join(folder(out_dir), "%08d-%s" % (seq, digest[:16]))
    if os.path.exists(base + ".tsr"):
        try:
            with open(base + ".tsr", "rb") as f:
                resp = verify_tsa.check_token(lib, roots, f.read(), message)
        except (OSError, ValueError) as e:
            raise TsaError("the token kept for this head (%s.tsr) does not verify: %s; move it aside to stamp again" % (base, e))
        return verify_tsa.Token(json.loads(message), *verify_tsa.when_and_who(resp), os.path.relpath(base + ".tsr", out_dir))
    req, data = request(url, message, timeout)
    try:
        resp = verify_tsa.check_token(lib, roots, data, message, nonce=req.nonce)
    except ValueError as e:
        raise TsaError("the answer of the time-stamping authority at %s is not a good timestamp for this head: %s" % (url, e))
    os.makedirs(folder(out_dir), exist_ok=True)
    _write(base + ".json", message)
    _write(base + ".tsr", data)
    return verify_tsa.Token(json.loads(message), *verify_tsa.when_and_who(resp), os.path.relpath(base + ".tsr", out_dir))


def after_pull(out_dir, say=print):
    """`doorstep pull`'s last step: stamp the new head if a TSA is configured. A TSA that cannot
    be reached does not undo the pull; it says so and how to stamp later."""
    if not configured_url(out_dir):
        return None
    try:
        tok = stamp_head(out_dir)
    except (TsaError, ValueError) as e:
        say("The log was pulled and verified, but not timestamped: %s. Run `doorstep timestamp %s` when the TSA can be reached." % (e, out_dir))
        return None
    say("Timestamped: %s." % tok)
    return tok


def cmd_timestamp(args):
    if not os.path.isdir(args.dir):
        print("doorstep timestamp: %s is not a folder. Give the folder `doorstep pull --out` keeps." % args.dir, file=sys.stderr)
        return 2
    try:
        if args.tsa:
            if not args.tsa_ca:
                raise TsaError("give the TSA's CA certificate with --tsa-ca FILE: without it no one could check the tokens")
            configure(args.dir, args.tsa, args.tsa_ca)
        tok = stamp_head(args.dir)
    except TsaError as e:
        print("doorstep timestamp: %s" % e, file=sys.stderr)
        return 1
    print("Timestamped: %s." % tok)
    print("Token kept in %s; `doorstep verify %s` checks it, and bundles include it." % (os.path.join(args.dir, tok.file), args.dir))
    return 0


def add_parser(sub):
    p = sub.add_parser("timestamp", help="get an RFC 3161 timestamp for the pulled log's head from a time-stamping authority")
    p.add_argument("dir", help="the folder `doorstep pull --out` keeps")
    p.add_argument("--tsa", metavar="URL", help="the time-stamping authority's URL; remembered for this folder, so each pull stamps its new head")
    p.add_argument("--tsa-ca", metavar="FILE", help="the TSA's CA certificate (PEM), kept as DIR/timestamps/tsa-ca.pem (needed with --tsa)")
    p.set_defaults(func=cmd_timestamp)

