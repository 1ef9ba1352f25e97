"""The verifier on logs too big or too hostile to hold in memory, and on random damage.

Memory is measured for real: `doorstep verify` runs in a child Python that reports its own
peak resident size (ru_maxrss) and that of its signature workers. A small log gives the
baseline; a log of tens of MB must not raise it by more than a few MB. (Speed is measured
in `make bench`, not here.)
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import doorstep_tools
from doorstep_tools.synthlog import write_log
from scenarios.device import door_session
from verifiers import run

MEASURE = """
import resource, sys
from doorstep_tools.cli import main
rc = main(sys.argv[1:])
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("PEAK", rc, me // 1024, kids // 1024)
"""
GROWTH_MB = 25  # what a log of any size may add to the verifier's peak memory


def peak(root, key_file):
    """(exit status, printed lines, peak MB of the verifier, peak MB of its largest worker)."""
    tools = os.path.dirname(os.path.dirname(doorstep_tools.__file__))  # the code this test imports
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tools, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", MEASURE, "verify", str(root), "--key", str(key_file)],
                       capture_output=True, text=True, timeout=300, env=env)
    lines = r.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("PEAK"), r.stdout + r.stderr
    _, rc, me, kids = lines[-1].split()
    return int(rc), lines[:-1], int(me), int(kids)


def synthetic(root, n, pad=0):
    w = write_log(str(root), n, pad=pad)
    (root / "pub.txt").write_text(w.pub.hex())
    return root / "pub.txt"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    rc, lines, me, kids = peak(root, synthetic(root, 10))
    assert rc == 0, lines
    return me, kids


def test_a_large_log_is_verified_in_bounded_memory(baseline, tmp_path):
    key = synthetic(tmp_path, 3000, pad=20000)  # 60 MB of records, 20 KB each
    size = sum(os.path.getsize(tmp_path / "records" / n) for n in os.listdir(tmp_path / "records"))
    assert size > 55 * 2 ** 20
    rc, lines, me, kids = peak(tmp_path, key)
    assert rc == 0 and lines[-1].startswith("OK: 3000 records verified"), lines
    assert me - baseline[0] < GROWTH_MB, (me, baseline)
    assert kids < baseline[0] + GROWTH_MB, (kids, baseline)


def test_a_400_mb_line_is_refused_unread(baseline, tmp_path):
    key = synthetic(tmp_path, 6)
    seg = tmp_path / "records" / "00000000.jsonl"
    good = seg.read_bytes().split(b"\n")[:-1]
    with open(seg, "wb") as f:  # a sparse file: 400 MB of zeros that take no disk
        f.write(b"\n".join(good[:3]) + b"\n")
        f.seek(400 * 2 ** 20, os.SEEK_CUR)
        f.write(b"\n" + b"\n".join(good[3:]) + b"\n")
    rc, lines, me, _ = peak(tmp_path, key)
    assert rc == 1
    assert ("FAILED: records/00000000.jsonl line 4: this line is %d bytes long; no Doorstep record is longer than 64 KiB,"
            " so it was refused unread" % (400 * 2 ** 20)) in lines, lines
    assert lines[-1].startswith("FAILED: 1 problem(s) found in 7 records."), lines  # the records around it verify
    assert me - baseline[0] < GROWTH_MB, (me, baseline)


def test_findings_of_a_ruined_long_log_are_capped(tmp_path):
    from doorstep_tools.bundle_verify import check_folder, summary

    write_log(str(tmp_path), 2500)
    res = check_folder(str(tmp_path), fingerprint_=bytes(range(32)).hex())  # every signature fails
    lines, code = summary(res)
    assert code == 1 and res.error_count >= 2500 and len(res.findings) == 1000
    assert "... and %d more findings (only the first 1000 are shown)" % res.dropped in lines
    assert lines[-1] == "FAILED: %d problem(s) found in 2500 records." % res.error_count


def test_findings_come_in_record_order_when_signatures_are_checked_in_parallel(tmp_path):
    """Past the first records signatures go to worker processes; the findings keep their order."""
    from doorstep_tools.verify import verify

    w = write_log(str(tmp_path), 4000)
    seg = tmp_path / "records" / "00003000.jsonl"
    ls = seg.read_bytes().split(b"\n")[:-1]
    for i in (10, 500):
        rec = json.loads(ls[i])
        rec["ev"] = "rang"
        ls[i] = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
    seg.write_bytes(b"".join(x + b"\n" for x in ls))
    res = verify(str(tmp_path), pub=w.pub)
    assert [(f.seq, f.text.split(":")[0]) for f in res.errors] == [
        (3010, "the signature does not verify"), (3011, "prev does not match the record before it"),
        (3500, "the signature does not verify"), (3501, "prev does not match the record before it")]


# Random damage: whatever a line becomes, the verifier gives findings, never a traceback.

@pytest.fixture(scope="module")
def door_log(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("door"))
    asyncio.run(door_session(root))
    return root


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
FIELD = st.sampled_from(["v", "dev", "seq", "boot", "t", "tq", "ms", "ev", "prev", "sig", "photo", "pub", "seqs", "from", "to", "last_hash"])
DAMAGE = st.one_of(
    st.tuples(st.just("field"), st.integers(0, 6), FIELD, JSON),
    st.tuples(st.just("bytes"), st.integers(0, 6), st.binary(max_size=200)),
    st.tuples(st.just("ev"), st.integers(1, 6), st.sampled_from(["genesis", "records_pruned", "photo_pruned", "recovered", "boot", "time_set"])),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=st.lists(DAMAGE, min_size=1, max_size=3))
def test_random_damage_gives_findings_never_a_traceback(door_log, damage):
    with tempfile.TemporaryDirectory() as d:
        root = os.path.join(d, "log")
        shutil.copytree(door_log, root)
        seg = os.path.join(root, "records", "00000000.jsonl")
        ls = open(seg, "rb").read().split(b"\n")[:-1]
        for kind, i, *what in damage:
            if kind == "bytes":
                ls[i] = what[0].replace(b"\n", b" ")
                continue
            try:
                rec = json.loads(ls[i])
            except ValueError:  # an earlier damage made it unreadable: start from nothing
                rec = {}
            if not isinstance(rec, dict):
                rec = {}
            if kind == "field":
                rec[what[0]] = what[1]
            else:
                rec["ev"] = what[0]
            ls[i] = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
        with open(seg, "wb") as f:
            f.write(b"".join(x + b"\n" for x in ls))
        rc, out = run("doorstep verify", root)
    assert "Traceback" not in out
    last = out.strip().splitlines()[-1]
    assert rc in (0, 1) and last.startswith(("OK:", "FAILED:")), out
    for line in out.strip().splitlines():
        assert line.startswith(("FAILED:", "NOTICE:", "WARNING:", "OK:", "NOT CHECKED:")), out


def test_bench_prints_the_verifiers_speed_and_memory(capsys):
    """`make bench` measures the verifier (300,000 records there; a small log here)."""
    from doorstep_tools import bench

    bench.verifier_figures(sizes=(500,))
    out = capsys.readouterr().out
    assert re.search(r"500 records \(0 MB\): verified in [0-9.]+ s, \d+ records/s; peak memory \d+ MB", out), out
    assert re.search(r"a 400 MB line: refused in [0-9.]+ s, peak memory \d+ MB", out), out
