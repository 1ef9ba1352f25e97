"""Every tamper case against both entry points of the one verifier: `doorstep verify` and the
bundle's standalone verify_bundle.py must say the same thing, in the same words.

The log is the reference door session made by the firmware (genesis, boot, ring, three
attempts with photos, heartbeat). Some forgeries are re-signed with the device's own key.bin,
as an owner who read the flash could: the chain and signatures then hold, and only the
sequence, boot and time rules can catch them.
"""

import asyncio
import hashlib
import json
import os
import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from doorstep_tools.device_cmds import fingerprint as fingerprint_hex  # as `doorstep provision` prints it
from scenarios.device import door_session
from verifiers import ENTRY_POINTS, run

SEG = "00000000.jsonl"


@pytest.fixture(scope="module")
def device_log(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("door"))
    asyncio.run(door_session(root))
    return root


@pytest.fixture
def log(device_log, tmp_path):
    root = tmp_path / "log"
    shutil.copytree(device_log, root)
    return root


def canonical(rec):
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def line_hash(line):
    return hashlib.sha256(line).hexdigest()


def fingerprint(pub):
    return fingerprint_hex(pub.hex())


def lines(root):
    return (root / "records" / SEG).read_bytes().split(b"\n")[:-1]


def write(root, ls, name=SEG):
    (root / "records" / name).write_bytes(b"".join(x + b"\n" for x in ls))


def edit(root, i, **changes):
    """Change fields of record i without re-signing (what someone without the key can do)."""
    ls = lines(root)
    rec = json.loads(ls[i])
    rec.update(changes)
    ls[i] = canonical(rec)
    write(root, ls)


def resign(root, i, **changes):
    """Change record i and re-sign it and the chain after it with the device's key.bin."""
    key = Ed25519PrivateKey.from_private_bytes((root / "key.bin").read_bytes())
    ls = lines(root)
    for j in range(i, len(ls)):
        rec = json.loads(ls[j])
        if j == i:
            rec.update(changes)
        rec["prev"] = line_hash(ls[j - 1])
        rec.pop("sig")
        rec["sig"] = key.sign(canonical(rec)).hex()
        ls[j] = canonical(rec)
    write(root, ls)


def pub_of(root):
    return bytes.fromhex(json.loads(lines(root)[0])["pub"])


def fpr(root):
    return fingerprint(pub_of(root))


def signed_checkpoint(root, i):
    """The checkpoint the device publishes after record i: {seq, hash, t, dev, dropped, sig}."""
    key = Ed25519PrivateKey.from_private_bytes((root / "key.bin").read_bytes())
    ls = lines(root)
    rec = json.loads(ls[i])
    cp = {"dev": rec["dev"], "dropped": 0, "hash": line_hash(ls[i]), "seq": rec["seq"], "t": rec["t"]}
    cp["sig"] = key.sign(canonical(cp)).hex()
    return cp


def swap_lines(root, a, b):
    ls = lines(root)
    ls[a], ls[b] = ls[b], ls[a]
    write(root, ls)


def cut_tail(root, n):
    write(root, lines(root)[:-n])


def head_then_cut(root):
    ls = lines(root)
    (root / "head.json").write_text(json.dumps({"seq": 6, "hash": line_hash(ls[6]), "pulled_at": 0}))
    cut_tail(root, 2)


def checkpoint_then_cut(root):
    (root / "cp.json").write_text(json.dumps(signed_checkpoint(root, 6)))
    cut_tail(root, 2)
    return ["--checkpoint", root / "cp.json", "--fingerprint", fpr(root)]


def split_and_drop_first_segment(root):
    args, ls = ["--fingerprint", fpr(root)], lines(root)
    write(root, ls[4:], "00000004.jsonl")
    os.remove(root / "records" / SEG)
    return args


def swap_photos(root):
    a, b = root / "photos" / "2.jpg", root / "photos" / "3.jpg"
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)


def checkpoint_as_record(root):
    ls = lines(root)
    ls.insert(4, canonical(signed_checkpoint(root, 3)))
    write(root, ls)


def replace_line(i, data):
    def do(root):
        ls = lines(root)
        ls[i] = data
        write(root, ls)
    return do


def with_pub_hex(other):
    def do(root):
        (root / "pub.hex").write_text(pub_of(root).hex() + "\n")
        return ["--fingerprint", fingerprint(other)]
    return do


OTHER = bytes(range(32))
SIG_UPPER = lambda root: edit(root, 2, sig=json.loads(lines(root)[2])["sig"].upper())  # noqa: E731
SIG_SPACED = lambda root: edit(root, 2, sig=" ".join(json.loads(lines(root)[2])["sig"][i:i + 2] for i in range(0, 128, 2)))  # noqa: E731

# name: (tamper(root) -> extra args or None, exit status, what the output must say)
CASES = {
    "edited field": (lambda r: edit(r, 3, outcome="accepted"), 1,
                     ["FAILED: record 3 (records/00000000.jsonl line 4): the signature does not verify"]),
    "deleted record": (lambda r: write(r, lines(r)[:2] + lines(r)[3:]), 1, ["FAILED: record 3", "records 2 to 2 are missing (deleted)"]),
    "inserted record": (lambda r: write(r, lines(r)[:3] + lines(r)[2:]), 1, ["records reordered or inserted"]),
    "reordered records": (lambda r: swap_lines(r, 2, 3), 1, ["seq goes back from 3 to 2", "the chain is broken here"]),
    "swapped photos": (swap_photos, 1, ["photo photos/2.jpg does not match its record (swapped or edited)"]),
    "missing photo": (lambda r: os.remove(r / "photos" / "3.jpg"), 1, ["FAILED: record 3", "photo photos/3.jpg is missing"]),
    "cut tail, head.json kept": (head_then_cut, 1, ["the log ends at seq 4 but the last pulled head is seq 6: the tail was truncated"]),
    "cut tail, signed checkpoint": (checkpoint_then_cut, 1, ["the log ends at seq 4 but the checkpoint is seq 6: the tail was truncated"]),
    "cut tail, nothing to compare": (lambda r: cut_tail(r, 2), 0,
                                     ["had records been cut from its end, after seq 4, this could not be seen", "OK: 5 records verified"]),
    "first records deleted": (lambda r: [*("--fingerprint", fpr(r)), write(r, lines(r)[2:])][:2], 1,
                              ["records 0 to 1 are missing and no records_pruned record explains it"]),
    "first records deleted, no key": (lambda r: write(r, lines(r)[2:]), 1,
                                      ["the log does not start with its genesis record and no key is pinned"]),
    "first segment deleted": (split_and_drop_first_segment, 1, ["records 0 to 3 are missing and no records_pruned record explains it"]),
    "another device's key": (lambda r: ["--fingerprint", fingerprint(OTHER)], 1,
                             ["the genesis key is not the pinned key: this is a different device or a forged log"]),
    "pub.hex is not the fingerprint": (with_pub_hex(OTHER), 2, ["is not the one given with --fingerprint"]),
    "key the folder brings": (lambda r: None, 0, ["came with the log: whoever made this folder could have made it too",
                                                  "signed with the key in the log's own genesis record, NOT confirmed"]),
    "key given as fingerprint": (lambda r: ["--fingerprint", fpr(r)], 0, ["OK: 7 records verified (seq 0 to 6), signed with the key given"
                                                                          " with --fingerprint"]),
    "upper-case sig": (SIG_UPPER, 1, ["FAILED: record 2", "its 'sig' is the text", "it must be 128 lowercase hex digits"]),
    "spaced sig": (SIG_SPACED, 1, ["FAILED: record 2", "it must be 128 lowercase hex digits"]),
    "upper-case prev": (lambda r: edit(r, 4, prev=json.loads(lines(r)[4])["prev"].upper()), 1, ["FAILED: record 4", "its 'prev' is"]),
    "upper-case photo hash": (lambda r: edit(r, 2, photo=dict(json.loads(lines(r)[2])["photo"], sha256="A" * 64)), 1,
                              ["FAILED: record 2", "its 'photo' is an object; it must be null or"]),
    "photo outside photos/": (lambda r: edit(r, 2, photo=dict(json.loads(lines(r)[2])["photo"], file="../key.bin")), 1, ["its 'photo' is"]),
    "checkpoint as a record": (checkpoint_as_record, 1, ["records/00000000.jsonl line 5: this line is the device's signed MQTT checkpoint,"
                                                         " not a record"]),
    "boot goes back (re-signed)": (lambda r: resign(r, 6, boot=0), 1, ["FAILED: record 6", "boot counter goes back from 1 to 0"]),
    "boot without a boot record (re-signed)": (lambda r: resign(r, 6, boot=2), 1, ["boot 2 starts without a boot record"]),
    "time goes back (re-signed)": (lambda r: resign(r, 4, t=json.loads(lines(r)[3])["t"] - 600), 1,
                                   ["FAILED: record 4", "time goes back within boot 1 without a time_set record"]),
    "uptime goes back (re-signed)": (lambda r: resign(r, 5, ms=0), 1, ["time since boot goes back within boot 1"]),
    # Malformed fields and lines (issue 13): a clear finding each, never a traceback.
    "seq as text": (lambda r: edit(r, 3, seq="3"), 1, ["FAILED: records/00000000.jsonl line 4: the record is malformed: its 'seq' is"
                                                       ' the text "3"; it must be a whole number']),
    "boot as text": (lambda r: edit(r, 3, boot="1"), 1, ["FAILED: record 3 (records/00000000.jsonl line 4): the record is malformed: its"
                                                         " 'boot' is the text \"1\"; it must be a whole number"]),
    "photo.file as a number": (lambda r: edit(r, 2, photo=dict(json.loads(lines(r)[2])["photo"], file=7)), 1, ["FAILED: record 2", "'photo'"]),
    "seq as true": (lambda r: edit(r, 3, seq=True), 1, ["its 'seq' is true; it must be a whole number"]),
    "negative seq": (lambda r: edit(r, 3, seq=-3), 1, ["its 'seq' is the number -3"]),
    "no ev": (lambda r: replace_line(3, canonical({k: v for k, v in json.loads(lines(r)[3]).items() if k != "ev"}))(r), 1,
              ["FAILED: record 3", "it has no 'ev' field"]),
    "a number with a fraction": (replace_line(3, b'{"seq":3.5}'), 1, ["records hold whole numbers only"]),
    "NaN": (replace_line(3, b'{"seq":NaN}'), 1, ["records hold whole numbers only"]),
    "a list, not a record": (replace_line(3, b"[1,2,3]"), 1, ["line 4: it is not a record (a JSON object)"]),
    "not UTF-8": (replace_line(3, b'{"ev":"\xff"}'), 1, ["line 4: it is not valid JSON"]),
    "nested 20,000 deep": (replace_line(3, b"[" * 20000 + b"]" * 20000), 1, ["line 4: it is nested too deeply to be a record"]),
    "nested 100,000 deep": (replace_line(3, b"[" * 100000 + b"]" * 100000), 1,
                            ["line 4: this line is 200000 bytes long; no Doorstep record is longer than 64 KiB"]),
    "huge number": (replace_line(3, b'{"seq":' + b"9" * 5000 + b"}"), 1, ["line 4: it is not valid JSON"]),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("case", list(CASES))
def test_tamper_case(case, entry, log):
    tamper, status, says = CASES[case]
    args = tamper(log) or []
    rc, out = run(entry, log, *args)
    assert "Traceback" not in out, out
    assert rc == status, out
    for text in says:
        assert text in out, (text, out)
    if status == 1:
        assert out.strip().splitlines()[-1].startswith(("FAILED:", "doorstep verify:", "verify_bundle.py:")), out


@pytest.mark.parametrize("case", ["edited field", "upper-case sig", "checkpoint as a record", "boot goes back (re-signed)", "seq as text"])
def test_both_entry_points_say_the_same(case, device_log, tmp_path):
    """The same findings in the same words; `doorstep verify` only adds advice for a pulled folder."""
    outs = []
    for entry in ENTRY_POINTS:
        root = tmp_path / entry.replace(" ", "-")
        shutil.copytree(device_log, root)
        args = CASES[case][0](root) or []
        outs.append(run(entry, root, *args)[1].strip().splitlines())
    cli, standalone = outs
    assert cli[:-1] == standalone[:-1] and cli[-1].startswith(standalone[-1]), (cli, standalone)
    assert "pull a fresh copy into a new folder" in cli[-1]


def test_untouched_log_verifies_with_both(device_log):
    from pathlib import Path

    for entry in ENTRY_POINTS:
        rc, out = run(entry, device_log, "--fingerprint", fpr(Path(device_log)))
        assert rc == 0 and out.strip().splitlines()[-1].startswith("OK: 7 records verified (seq 0 to 6)"), out
        assert "4 photos match" in out
