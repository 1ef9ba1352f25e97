"""Records made by the firmware, on both runtimes, verified independently with `cryptography`.

Also: every kind of tampering is caught by `doorstep verify`, each with its own test.
"""

import asyncio
import json
import os
import shutil

import pytest

from doorstep_tools.verify import verify
from scenarios.device import CODE, door_session


@pytest.fixture(scope="module")
def cpython_log(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("cpython-device"))
    asyncio.run(door_session(root))
    return root


@pytest.fixture(scope="module")
def micropython_log(tmp_path_factory, micropython):
    code = (
        "import sys, os\nsys.path.insert(0, '/lib')\nos.mkdir('/dev1')\n"
        "from scenarios.device import door_session\nawait door_session('/dev1')\n"
    )
    _, files = micropython.run(code, bundles=("firmware", "tests"), collect=["/dev1"], timeout=300)
    root = str(tmp_path_factory.mktemp("micropython-device"))
    for path, data in files.items():
        dest = os.path.join(root, path[len("/dev1/"):])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(data)
    return root


@pytest.mark.parametrize("which", ["cpython_log", "micropython_log"])
def test_signed_on_device_verifies_with_cryptography(which, request):
    root = request.getfixturevalue(which)
    res = verify(root)
    assert res.ok, [str(f) for f in res.findings]
    assert [r["ev"] for r in res.records] == ["genesis", "boot", "ring", "attempt", "attempt", "attempt", "heartbeat"]
    assert len(os.listdir(os.path.join(root, "photos"))) == 4
    for dirpath, _d, names in os.walk(root):
        for n in names:
            assert CODE not in n
            with open(os.path.join(dirpath, n), "rb") as f:
                assert CODE.encode() not in f.read()


def test_both_runtimes_sign_identically(cpython_log, micropython_log):
    """Same key, same events: Ed25519 is deterministic, so the records must match byte for byte
    except where time since boot differs."""
    a = [json.loads(x) for x in open(os.path.join(cpython_log, "records", "00000000.jsonl"))]
    b = [json.loads(x) for x in open(os.path.join(micropython_log, "records", "00000000.jsonl"))]
    assert a[0] == b[0]  # genesis: identical bytes, identical signature
    assert [r["ev"] for r in a] == [r["ev"] for r in b]


# Tampering: each kind is caught, and says where.

@pytest.fixture
def log(cpython_log, tmp_path):
    root = tmp_path / "log"
    shutil.copytree(cpython_log, root)
    return root


def lines(root):
    p = root / "records" / "00000000.jsonl"
    return p, p.read_bytes().split(b"\n")[:-1]


def write(p, ls):
    p.write_bytes(b"".join(x + b"\n" for x in ls))


def errors(root, **kw):
    res = verify(str(root), **kw)
    return [(f.seq, f.text) for f in res.errors]


def test_untouched_log_is_ok(log):
    assert errors(log) == []


def test_edited_field(log):
    p, ls = lines(log)
    rec = json.loads(ls[3])
    rec["outcome"] = "accepted"
    ls[3] = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
    write(p, ls)
    errs = errors(log)
    assert (3, "the signature does not verify: the record was altered or not made by this device") in errs
    assert any(s == 4 and "prev" in t for s, t in errs)


def test_deleted_record(log):
    p, ls = lines(log)
    del ls[2]
    write(p, ls)
    errs = errors(log)
    assert (3, "records 2 to 2 are missing (deleted)") in errs


def test_inserted_record(log):
    p, ls = lines(log)
    ls.insert(3, ls[2])
    write(p, ls)
    errs = errors(log)
    assert any(s == 2 and "reordered or inserted" in t for s, t in errs), errs


def test_reordered_records(log):
    p, ls = lines(log)
    ls[2], ls[3] = ls[3], ls[2]
    write(p, ls)
    errs = errors(log)
    assert any(s == 2 and "reordered" in t for s, t in errs), errs


def test_swapped_photo(log):
    ph = log / "photos"
    a, b = sorted(os.listdir(ph))[:2]
    da, db = (ph / a).read_bytes(), (ph / b).read_bytes()
    (ph / a).write_bytes(db)
    (ph / b).write_bytes(da)
    errs = errors(log)
    assert sum("swapped or edited" in t for _, t in errs) == 2, errs


def test_edited_photo(log):
    p = log / "photos" / "2.jpg"
    data = bytearray(p.read_bytes())
    data[100] ^= 1
    p.write_bytes(bytes(data))
    assert errors(log) == [(2, "photo photos/2.jpg does not match its record (swapped or edited)")]


def test_missing_photo(log):
    os.remove(log / "photos" / "3.jpg")
    assert errors(log) == [(3, "photo photos/3.jpg is missing")]


def test_truncated_tail_against_head(log):
    res = verify(str(log))
    head = {"seq": res.head[0], "hash": res.head[1]}
    p, ls = lines(log)
    write(p, ls[:-2])
    errs = errors(log, head=head)
    assert errs == [(6, "the log ends at seq 4 but the last pulled head is seq 6: the tail was truncated")]


def test_rewritten_history_against_checkpoint(log):
    cp = {"seq": 4, "hash": "0" * 64}  # a checkpoint from before: seq 4 had another hash
    assert errors(log, checkpoint=cp) == [(4, "the record at the checkpoint differs from the one seen before: the log was rewritten")]


def test_other_device_key(log):
    other = bytes(range(32))
    errs = errors(log, pub=other)
    assert (0, "the genesis key is not the pinned key: this is a different device or a forged log") in errs


def test_torn_tail_is_a_notice_not_an_error(log):
    p, ls = lines(log)
    with open(p, "ab") as f:
        f.write(ls[-1][:50])
    res = verify(str(log))
    assert res.ok
    assert any(f.level == "notice" and "torn tail: 50 bytes" in f.text for f in res.findings)


def test_pruned_photos_verify_and_say_why(tmp_path):
    from scenarios.prune import photo_pressure

    root = str(tmp_path)
    asyncio.run(photo_pressure(root))
    res = verify(root)
    assert res.ok, [str(f) for f in res.findings]
    gone = [s for r in res.records if r["ev"] == "photo_pruned" for s in r["seqs"]]
    assert gone and all(not os.path.exists(os.path.join(root, "photos", "%d.jpg" % s)) for s in gone)
    # The same missing photo without a photo_pruned record is an error.
    os.remove(os.path.join(root, "photos", "%d.jpg" % res.records[-1]["seq"]))
    bad = verify(root)
    assert not bad.ok and any(f.seq == res.records[-1]["seq"] for f in bad.findings), [str(f) for f in bad.findings]


def test_pruned_segments_verify_from_the_records_pruned_hash(tmp_path):
    from scenarios.prune import record_pressure

    root = str(tmp_path)
    dev, _hashes = asyncio.run(record_pressure(root))
    assert not verify(root).ok  # without genesis, only the pinned key can check the rest
    pub = dev.app.pub  # as pinned on the homeowner's PC at provisioning
    res = verify(root, pub=pub)
    assert res.ok, [str(f) for f in res.findings]
    assert res.records[0]["seq"] == 8
    assert any("records 0 to 7 were pruned" in str(f) for f in res.findings), [str(f) for f in res.findings]
    # Deleting the next segment too, without a record saying so, is caught.
    os.remove(os.path.join(root, "records", "00000008.jsonl"))
    bad = verify(root, pub=pub)
    assert not bad.ok, [str(f) for f in bad.findings]
