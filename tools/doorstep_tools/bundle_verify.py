#!/usr/bin/env python3
"""Check a Doorstep log yourself, without the Doorstep software.

    python3 verify_bundle.py [FOLDER] [--fingerprint "FPR"] [--key FILE] [--head FILE]
                             [--checkpoint FILE] [--tsa-ca FILE]
    python3 verify_bundle.py --extract SEQ [FOLDER]   msg.bin and sig.bin of record SEQ, for OpenSSL

FOLDER: an unzipped evidence bundle or a folder `doorstep pull` keeps (default: this file's
folder). Needs Python 3 and `cryptography`; the timestamp tokens also need `rfc3161-client`
(without it they are reported as NOT checked). This file with verify_chain.py, verify_format.py,
verify_posture.py, verify_sigs.py and verify_tsa.py beside it is the one Doorstep verifier: `doorstep verify` runs the same code.
It checks:
  - the key: the one given with --fingerprint (as `doorstep provision` printed it) or --key;
    a key the folder brings itself (pub.hex, the genesis record) is used, and said to be unconfirmed;
  - each record: a JSON object with the documented field types, its line its canonical JSON,
    its Ed25519 signature (lowercase hex, nothing else) over that JSON without "sig";
  - the chain ("prev" is the SHA-256 of the line before), seq (none missing, repeated or
    reordered; a log starts at 0 unless a signed records_pruned record says why not), boot and
    time order, and that no signed MQTT checkpoint stands in the log as a record;
  - each photo against the SHA-256 and size in its record;
  - the doorbell's posture as its genesis and boot records state it (production, flash
    encryption, secure boot, hardware; "sim" for the simulator);
  - that the log still reaches head.json, a checkpoint and each timestamp token, and each token
    against the TSA's CA certificate: "the log up to seq N existed at time T".
Records cut from the end after the last head, checkpoint or timestamp leave no trace: it says so.
"""

import argparse
import json
import os
import sys

if __package__:
    from doorstep_tools.verify_chain import verify
    from doorstep_tools.verify_format import ERROR, NOTICE, UNCHECKED, canonical, checkpoint_problem, device_id, is_hex, parse, segment_lines
else:  # run as verify_bundle.py, its modules beside it
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from verify_chain import verify
    from verify_format import ERROR, NOTICE, UNCHECKED, canonical, checkpoint_problem, device_id, is_hex, parse, segment_lines

MODULES = ("verify_chain.py", "verify_format.py", "verify_posture.py", "verify_sigs.py", "verify_tsa.py")  # what a bundle ships beside this file


class SetupError(Exception):
    """The check cannot start: a bad argument or an unreadable file. The message says which."""


def fingerprint(pub):
    """The key as `doorstep provision` prints it: its hex in groups of 8."""
    h = pub.hex()
    return " ".join(h[i:i + 8] for i in range(0, len(h), 8))


def _key_text(text, where):
    key = "".join(text.split()).lower()
    if not is_hex(key, 64):
        raise SetupError("%s is not an Ed25519 public key (64 hex digits, spaces allowed)" % where)
    return bytes.fromhex(key)


def read_key_file(path):
    """A key file: hex, or JSON with "pub" (device.json, a `doorstep provision` profile)."""
    try:
        with open(path) as f:
            text = f.read().strip()
        if text.startswith("{"):
            text = json.loads(text)["pub"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SetupError("cannot read a key from %s (%s)" % (path, e))
    return _key_text(text if isinstance(text, str) else "", path)


def find_key(folder, key_file=None, given=None):
    """(pub or None, where it came from, confirmed?). Only a key from outside the folder (or
    device.json, which `doorstep pull` writes from the pinned key) is confirmed."""
    bundle = os.path.exists(os.path.join(folder, "bundle.json"))
    fp = _key_text(given, "--fingerprint") if given else None
    if key_file:
        pub, source, confirmed = read_key_file(key_file), "the key in %s" % key_file, True
    else:
        pub, source, confirmed = None, "the key in the log's own genesis record", False
        for name, ok in (("device.json", not bundle), ("pub.hex", False)):
            if os.path.isfile(os.path.join(folder, name)):
                source = "the key pinned by `doorstep pull` (device.json)" if ok else "the key from " + name
                pub, confirmed = read_key_file(os.path.join(folder, name)), ok
                break
    if fp is not None:
        if pub is not None and pub != fp:
            raise SetupError("the key in %s (%s) is not the one given with --fingerprint: this folder is from another device,"
                             " or it was forged" % (source, fingerprint(pub)))
        pub, source, confirmed = fp, "the key given with --fingerprint", True
    return pub, source, confirmed


def read_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError, RecursionError) as e:
        raise SetupError("cannot read the %s %s (%s)" % (what, path, e))


def load_checkpoint(path, pub):
    """A checkpoint file: the device's signed one (checked here) or a plain {seq, hash}."""
    cp = read_json(path, "checkpoint")
    if isinstance(cp, dict) and "sig" in cp:
        if pub is None:
            raise SetupError("a signed checkpoint needs the device's key (--fingerprint or --key)")
        why = checkpoint_problem(cp, pub)
        if why:
            raise SetupError("checkpoint %s: %s" % (path, why))
    return cp


def check_folder(folder, key_file=None, fingerprint_=None, head_file=None, checkpoint=None, checkpoint_file=None, tsa_ca=None):
    """Find the key, head and period for folder, then verify it streaming. The Result says
    where the key came from; SetupError when an argument is unusable."""
    if not os.path.isdir(folder):
        raise SetupError("%s is not a folder" % folder)
    pub, source, confirmed = find_key(folder, key_file, fingerprint_)
    head_file = head_file or (os.path.join(folder, "head.json") if os.path.isfile(os.path.join(folder, "head.json")) else None)
    head = read_json(head_file, "last pulled head") if head_file else None
    if checkpoint is None and checkpoint_file:
        checkpoint = load_checkpoint(checkpoint_file, pub)
    period = None
    if os.path.isfile(os.path.join(folder, "bundle.json")):
        b = read_json(os.path.join(folder, "bundle.json"), "bundle description")
        period = (b.get("from"), b.get("to")) if isinstance(b, dict) else (None, None)
    res = verify(folder, pub=pub, head=head, checkpoint=checkpoint, keep_records=False, tsa_ca=tsa_ca, period=period)
    res.key_source, res.key_confirmed = source, confirmed and res.pub is not None
    notes = []
    if res.pub is not None and not res.key_confirmed:
        notes.append("%s came with the log: whoever made this folder could have made it too."
                     " Compare its fingerprint, %s, with the one `doorstep provision` printed when the doorbell was set up,"
                     " or run again with --fingerprint \"...\"" % (source[0].upper() + source[1:], fingerprint(res.pub)))
    if res.tsa_ca and not res.tsa_ca[2]:
        notes.append("the timestamp tokens were checked against the CA certificate kept with the log (%s: %s): make sure it"
                     " is the one the TSA publishes, or give that with --tsa-ca FILE" % (os.path.relpath(res.tsa_ca[0], folder), res.tsa_ca[1]))
    if res.head and res.reach is None:
        notes.append("nothing here says how long the log should be (no head.json from a pull, no checkpoint, no timestamp"
                     " token): had records been cut from its end, after seq %d, this could not be seen" % res.head[0])
    elif res.head and res.reach < res.head[0]:
        notes.append("records %d to %d come after the last head, checkpoint or timestamp this log was checked against: had"
                     " some of them been cut from its end, this could not be seen" % (res.reach + 1, res.head[0]))
    for text in reversed(notes):
        res.add(NOTICE, None, text)
        res.findings.insert(0, res.findings.pop())
    return res


def summary(res):
    """The lines both entry points print, and the exit status: 0 verified, 1 not."""
    lines = [str(f) for f in res.findings]
    if res.dropped:
        lines.append("... and %d more findings (only the first %d are shown)" % (res.dropped, len(res.findings)))
    lines += ["ATTESTED: %s" % tok for tok in res.attested]
    span = "seq %s to %s" % (res.first, res.head[0]) if res.head else "no records"
    if res.n[ERROR]:
        lines.append("FAILED: %d problem(s) found in %d records." % (res.n[ERROR], res.count))
        return lines, 1
    if res.n[UNCHECKED]:
        lines.append("NOT FULLY CHECKED: %d records verified (%s), but what is marked NOT CHECKED above could not be checked."
                     % (res.count, span))
        return lines, 1
    key = res.key_source if res.key_confirmed else "%s, NOT confirmed" % res.key_source
    left = "; %d photos of records outside the bundle's period are not in it" % res.photos_left_out if res.photos_left_out else ""
    lines.append("OK: %d records verified (%s), signed with %s (%s, device %s); signatures, chain and photos intact;"
                 " %d photos match%s." % (res.count, span, key, fingerprint(res.pub), device_id(res.pub), res.photos, left))
    return lines, 0


def extract(folder, seq):
    """msg.bin (the signed bytes) and sig.bin (the 64-byte signature) of record seq, for OpenSSL."""
    for _seg, _no, line, complete, _size in segment_lines(folder):
        rec = parse(line)[0] if line is not None and complete else None
        if isinstance(rec, dict) and rec.get("seq") == seq and is_hex(rec.get("sig"), 128):
            with open("msg.bin", "wb") as f:
                f.write(canonical({k: v for k, v in rec.items() if k != "sig"}))
            with open("sig.bin", "wb") as f:
                f.write(bytes.fromhex(rec["sig"]))
            print("wrote msg.bin and sig.bin for seq %d" % seq)
            return 0
    print("no record with seq %d" % seq)
    return 1


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(prog="verify_bundle.py", description="Check a Doorstep log or evidence bundle.")
    p.add_argument("folder", nargs="?", default=here, help="the unzipped bundle or pulled folder (default: this file's folder)")
    p.add_argument("--fingerprint", help="the doorbell's key as `doorstep provision` printed it (8 groups of 8 hex digits)")
    p.add_argument("--key", help="a file with the doorbell's public key (hex, or JSON with \"pub\")")
    p.add_argument("--head", help="the last head seen, as JSON {seq, hash} (default: FOLDER/head.json)")
    p.add_argument("--checkpoint", help="the device's checkpoint as a JSON file (its signature is checked)")
    p.add_argument("--tsa-ca", help="the time-stamping authority's CA certificate, PEM (default: FOLDER/timestamps/tsa-ca.pem)")
    p.add_argument("--extract", type=int, metavar="SEQ", help="write msg.bin and sig.bin of record SEQ for OpenSSL")
    a = p.parse_args(argv)
    if a.extract is not None:
        return extract(a.folder, a.extract)
    try:
        res = check_folder(a.folder, a.key, a.fingerprint, a.head, checkpoint_file=a.checkpoint, tsa_ca=a.tsa_ca)
    except SetupError as e:
        print("verify_bundle.py: %s" % e, file=sys.stderr)
        return 2
    lines, code = summary(res)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
