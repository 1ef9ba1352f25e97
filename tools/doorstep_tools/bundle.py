"""The evidence bundle (`doorstep report --bundle FILE.zip`): what a third party needs to
check the report without trusting Doorstep's software.

It holds the whole signed log (the chain needs every record), the photos of the records
in the report's period (not every photo ever taken at the door), the public key as hex
and PEM, the RFC 3161 timestamp tokens kept beside the log, the report, the standalone
verifier (bundle_verify.py and its modules: the very code `doorstep verify` runs, needing
only the `cryptography` package) and a README with the same checks done by hand with OpenSSL and
coreutils, worked on a real record of this log. Device secrets (key.bin, secret.bin,
codes.json), if the folder has them, are never copied: only the listed folders and files.
"""

import json
import os
import zipfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from doorstep_tools.report import ReportError
from doorstep_tools.report_text import period_words, utc
from doorstep_tools.bundle_verify import MODULES, fingerprint
from doorstep_tools.verify import device_id, read_lines

HERE = os.path.dirname(os.path.abspath(__file__))
VERIFIER = os.path.join(HERE, "bundle_verify.py")

README = """\
DOORSTEP EVIDENCE BUNDLE
========================

Doorbell (device id) : {dev}
Public key (Ed25519) : {pub}
Period of the report : {period}
Made                 : {made} UTC

What is in here
---------------
  report.html        the report: what the doorbell recorded in the period, with photos
  records/*.jsonl    the doorbell's whole signed log, one JSON record per line
  photos/            the photos of the records in the period (each named by its record's seq)
  pub.hex, pub.pem   the doorbell's public key (hex, and PEM for OpenSSL)
  verify_bundle.py   the program that re-checks everything (needs Python 3 + cryptography),
                     with verify_chain.py, verify_format.py, verify_posture.py, verify_tsa.py, verify_sigs.py
  bundle.json        the period of the report (UTC Unix seconds)
{extra}
First compare the public key above with the one the homeowner noted when the doorbell was
set up (`doorstep provision` prints it). A valid signature only proves something if the
key is the doorbell's; the program below checks it for you when you give it that way:

  $ python3 verify_bundle.py --fingerprint "{fpr}"

How the log is protected
------------------------
Every record is signed by the doorbell with Ed25519. The signed bytes are the record's
canonical JSON without its "sig" field: keys sorted, no spaces, ASCII only - exactly the
line in the file with ,"sig":"..." taken out. Each record's "prev" is the SHA-256 of the
previous line's bytes (without the newline), so removing, adding or reordering a record
breaks the chain. A record with a photo holds the photo's SHA-256 and size. Times "t" are
UTC Unix seconds (null when the doorbell's clock was not set; "boot" and "ms", the time
since that start, still order it).

1. Check everything with the included program
---------------------------------------------
  $ python3 -m pip install cryptography      # if you do not have it
  $ python3 verify_bundle.py

It prints OK, or every problem it found. Without --fingerprint it uses pub.hex and says that
the key is not confirmed. With timestamp tokens (timestamps/) it also prints, for each, "the
log up to seq N existed at time T, attested by <TSA>" (needs `pip install rfc3161-client`;
without it the tokens are reported as NOT checked).

2. Check one record by hand with OpenSSL (1.1.1 or later)
--------------------------------------------------------
Record seq {seq} ({what}) is line {line} of records/{segment}. In this folder:

  $ sed -n {line}p records/{segment} | sed -E 's/,"sig":"[0-9a-f]{{128}}"//' | tr -d '\\n' > msg.bin
  $ sed -n {line}p records/{segment} | grep -oE '"sig":"[0-9a-f]{{128}}"' | cut -d'"' -f4 | xxd -r -p > sig.bin
  $ openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg.bin -sigfile sig.bin

For a genuine record OpenSSL prints "Signature Verified Successfully". Change one
character in msg.bin and it fails. Without xxd, `python3 verify_bundle.py --extract {seq}` writes the same two files.

3. Check the chain and a photo with coreutils
---------------------------------------------
{chain}{photo}
To read the records: each line is JSON; "ev" says what happened (ring, attempt = a code
typed at the keypad with its outcome and number of digits - never the digits themselves,
heartbeat = the doorbell was alive, boot = it started, and so on).
{stamp}"""

CHAIN = """\
The "prev" of seq {seq} must equal the SHA-256 of the line before it:

  $ sed -n {pline}p records/{psegment} | tr -d '\\n' | sha256sum
  $ sed -n {line}p records/{segment} | grep -oE '"prev":"[0-9a-f]{{64}}"'

"""

PHOTO = """\
The photo of seq {seq} must have the SHA-256 in its record:

  $ sha256sum {file}
  $ sed -n {line}p records/{segment} | grep -oE '"sha256":"[0-9a-f]{{64}}"'

"""


STAMP = """
4. Check a timestamp by hand with OpenSSL
-----------------------------------------
timestamps/{name}.tsr is a time-stamping authority's signed token over timestamps/{name}.json,
{statement}: it says that the doorbell's log up to seq {seq} existed at the time it names,
whatever the doorbell's clock said. The "hash" must be the SHA-256 of record {seq}'s line.

  $ openssl ts -verify -data timestamps/{name}.json -in timestamps/{name}.tsr -CAfile timestamps/tsa-ca.pem
  $ openssl ts -reply -in timestamps/{name}.tsr -text | grep "Time stamp"

The first prints "Verification: OK"; the second the time. Compare timestamps/tsa-ca.pem with the
CA certificate the TSA publishes: a token only proves something if that CA is the TSA's.
"""


def locate(root):
    """seq -> (segment name, line number from 1) for every complete record line."""
    where, counts = {}, {}
    for seg, line, complete in read_lines(root):
        counts[seg] = counts.get(seg, 0) + 1
        if not complete:
            continue
        try:
            seq = json.loads(line).get("seq")
        except (ValueError, AttributeError):
            continue
        if isinstance(seq, int):
            where[seq] = (seg, counts[seg])
    return where


def example_row(facts):
    """The record the README works through: a verified photo in the period if there is one."""
    good = [r for r in facts.rows if r.ok and isinstance(r.seq, int) and r.seq > 0]  # seq 0 has no line before it
    for r in good:
        if r.photo_uri:
            return r
    return good[0] if good else None


def pem(pub):
    key = Ed25519PublicKey.from_public_bytes(pub)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_bundle(path, facts, page):
    root = facts.root
    top = os.path.splitext(os.path.basename(path))[0] or "doorstep-evidence"
    if facts.pub is None:
        raise ReportError("no public key is known for this log (no device.json, no genesis record): give it with --key")
    wanted = {os.path.basename(str(r.rec["photo"].get("file"))) for r in facts.rows if r.photo_uri}
    files = []  # (name in the bundle, path on disk)
    for sub in ("records", "quarantine", "photos", "timestamps"):
        d = os.path.join(root, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if not os.path.isfile(p) or (sub == "photos" and name not in wanted):
                continue
            files.append(("%s/%s" % (sub, name), p))
    for name in ("device.json", "head.json"):
        if os.path.isfile(os.path.join(root, name)):
            files.append((name, os.path.join(root, name)))
    pub_hex = facts.pub.hex()
    tmp = path + ".tmp"
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for name, p in files:
                z.write(p, top + "/" + name)
            z.writestr(top + "/pub.hex", pub_hex + "\n")
            z.writestr(top + "/pub.pem", pem(facts.pub))
            z.writestr(top + "/report.html", page)
            period = {"from": facts.start, "to": facts.end, "dev": device_id(facts.pub), "pub": pub_hex}
            z.writestr(top + "/bundle.json", json.dumps(period, indent=1) + "\n")
            with open(VERIFIER, "rb") as f:
                z.writestr(top + "/verify_bundle.py", f.read())
            for name in MODULES:
                with open(os.path.join(HERE, name), "rb") as f:
                    z.writestr(top + "/" + name, f.read())
            z.writestr(top + "/README.txt", readme(facts, files))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def readme(facts, files):
    where = locate(facts.root)
    row = example_row(facts)
    if row is None:  # no verified record in the period: work through the log's last record
        seq = max(where)
        rec = next(r for r in facts.result.records if r.get("seq") == seq)
    else:
        seq, rec = row.seq, row.rec
    seg, line = where[seq]
    chain = photo = ""
    if seq - 1 in where:
        pseg, pline = where[seq - 1]
        chain = CHAIN.format(seq=seq, pline=pline, psegment=pseg, line=line, segment=seg)
    if row is not None and row.photo_uri:
        photo = PHOTO.format(seq=seq, file="photos/" + os.path.basename(rec["photo"]["file"]), line=line, segment=seg)
    extra = ""
    if any(n.startswith("quarantine/") for n, _ in files):
        extra += "  quarantine/        torn record tails the doorbell cut off after power cuts (unsigned)\n"
    if any(n in ("device.json", "head.json") for n, _ in files):
        extra += "  device.json, head.json  the homeowner's pinned key and last pulled head\n"
    if any(n.startswith("timestamps/") for n, _ in files):
        extra += "  timestamps/        RFC 3161 tokens: a time-stamping authority's signed word that the log up to a seq existed\n"
    period = period_words(facts.start, facts.end) if facts.start is not None and facts.end is not None else "the whole log"
    stamps, stamp = sorted(n for n, _ in files if n.startswith("timestamps/") and n.endswith(".tsr")), ""
    if stamps:
        name = stamps[-1][len("timestamps/"):-4]
        with open(dict(files)["timestamps/%s.json" % name], encoding="ascii", errors="replace") as f:
            statement = f.read()
        stamp = STAMP.format(name=name, statement=statement, seq=int(name.split("-")[0]))
    return README.format(
        dev=device_id(facts.pub), pub=facts.pub.hex(), fpr=fingerprint(facts.pub), period=period, made=utc(facts.generated),
        extra=extra, seq=seq, what=rec.get("ev"), line=line, segment=seg, chain=chain, photo=photo, stamp=stamp,
    )
