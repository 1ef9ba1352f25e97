"""Independent time: RFC 3161 tokens for the log's head from a real local TSA (openssl ts).

The homeowner configures a TSA for a pulled folder (`doorstep timestamp --tsa`), each pull
then stamps its new head, and both verifiers check every token: "the log up to seq N existed
at T, attested by <TSA>". Forged tokens, tokens for another head, an expired TSA certificate,
the wrong CA and a cut tail are each caught, by both entry points.
"""

import asyncio
import contextlib
import io
import json
import os
import re
import subprocess
import time
import zipfile

import pytest

from doorstep_tools import tsa as tsamod
from doorstep_tools.cli import main
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from scenarios.device import door_session, new_device
from tsa_server import LocalTSA
from verifiers import ENTRY_POINTS, run


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    server = LocalTSA(tmp_path_factory.mktemp("tsa"))
    yield server
    server.close()


@pytest.fixture(autouse=True)
def good_tsa(tsa, tmp_path, monkeypatch):
    tsa.mode = "good"
    monkeypatch.setenv("DOORSTEP_HOME", str(tmp_path / "home"))


def doorstep(*args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = main([str(a) for a in args])
    return rc, out.getvalue()


async def more_records(root, t):
    """The doorbell starts again and the bell rings: two new records."""
    dev = VirtualDevice(root, VirtualBoard(t, "host"))
    await dev.boot()
    await dev.ring()
    dev.app.stop()


@pytest.fixture
def pulled(tmp_path):
    """(device folder, pulled folder): the door session, provisioned, pinned and pulled."""
    dev, log = tmp_path / "dev", tmp_path / "log"
    dev.mkdir()
    asyncio.run(door_session(str(dev)))
    for args in (("provision", "--device", "sim:%s" % dev), ("pull", "--device", "sim:%s" % dev, "--out", log)):
        rc, out = doorstep(*args)
        assert rc == 0, out
    return dev, log


@pytest.fixture
def stamped(pulled, tsa):
    """pulled, with the TSA configured and the head (seq 6) stamped."""
    rc, out = doorstep("timestamp", pulled[1], "--tsa", tsa.url, "--tsa-ca", tsa.ca_file)
    assert rc == 0, out
    assert re.search(r"Timestamped: the log up to seq 6 existed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\+-1 s\), attested by "
                     r"CN=Doorstep test TSA,O=Doorstep tests \(timestamps/00000006-[0-9a-f]{16}\.tsr\)\.", out), out
    return pulled


def tokens(log):
    return sorted(n for n in os.listdir(log / "timestamps") if n.endswith(".tsr"))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_each_pull_stamps_its_head_and_both_verifiers_report_the_attested_time(stamped, tsa, entry):
    dev, log = stamped
    asyncio.run(more_records(str(dev), 1782400000))
    before = tsa.requests
    rc, out = doorstep("pull", "--device", "sim:%s" % dev, "--out", log)
    assert rc == 0 and "Timestamped: the log up to seq 8 existed at" in out, out
    assert tsa.requests == before + 1 and len(tokens(log)) == 2
    rc, out = run(entry, log)
    assert rc == 0, out
    for seq in (6, 8):
        assert re.search(r"ATTESTED: the log up to seq %d existed at [0-9: -]+ UTC \(\+-1 s\), attested by CN=Doorstep test TSA" % seq, out), out
    assert "checked against the CA certificate kept with the log (timestamps/tsa-ca.pem: CN=Doorstep test CA" in out
    assert "come after the last head" not in out and "nothing here says how long" not in out
    assert out.strip().splitlines()[-1].startswith("OK: 9 records verified (seq 0 to 8)")


def test_a_head_already_stamped_is_not_stamped_again(stamped, tsa):
    _, log = stamped
    before = tsa.requests
    tok = tsamod.stamp_head(str(log))
    assert tsa.requests == before and tok.seq == 6 and len(tokens(log)) == 1


def test_the_collector_stamps_a_checkpoint_head_it_was_given(pulled, tsa):
    """stamp_head(out_dir, url, ca, head=checkpoint): what `doorstep collect` calls hourly."""
    _, log = pulled
    head = json.loads((log / "head.json").read_text())
    dev = json.loads((log / "device.json").read_text())["dev"]
    tok = tsamod.stamp_head(str(log), tsa.url, tsa.ca_file, head={"seq": head["seq"], "hash": head["hash"], "dev": dev})
    assert (tok.seq, tok.hash, tok.dev) == (head["seq"], head["hash"], dev)
    assert abs(tok.time - time.time()) < 60 and tok.tsa == "CN=Doorstep test TSA,O=Doorstep tests"


def test_a_token_checks_by_hand_with_openssl(stamped, tsa):
    _, log = stamped
    name = tokens(log)[0][:-4]
    r = subprocess.run(["openssl", "ts", "-verify", "-data", "timestamps/%s.json" % name, "-in", "timestamps/%s.tsr" % name,
                        "-CAfile", "timestamps/tsa-ca.pem"], cwd=log, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "Verification: OK" in r.stdout, r.stdout + r.stderr


def forge_time(log):
    """Backdate a token by two hours, as someone would to make the log look older."""
    import datetime

    path = log / "timestamps" / tokens(log)[0]
    data = path.read_bytes()
    m = re.search(rb"\x18\x0f(\d{14})Z", data)
    t = datetime.datetime.strptime(m.group(1).decode(), "%Y%m%d%H%M%S") - datetime.timedelta(hours=2)
    path.write_bytes(data[: m.start(1)] + t.strftime("%Y%m%d%H%M%S").encode() + data[m.end(1):])


def relabel(log):
    """Put the token of seq 6 beside a statement for seq 5 (a real record of this log)."""
    name = tokens(log)[0][:-4]
    lines = (log / "records" / "00000000.jsonl").read_bytes().split(b"\n")
    import hashlib

    st = json.loads((log / "timestamps" / (name + ".json")).read_bytes())
    st.update(seq=5, hash=hashlib.sha256(lines[5]).hexdigest())
    new = "00000005-%s" % st["hash"][:16]
    (log / "timestamps" / (new + ".json")).write_bytes(json.dumps(st, sort_keys=True, separators=(",", ":")).encode())
    os.replace(log / "timestamps" / (name + ".tsr"), log / "timestamps" / (new + ".tsr"))
    os.remove(log / "timestamps" / (name + ".json"))


def other_head(log, tsa):
    """A genuine token, but for a head this log never had at seq 6 (a rewritten log's)."""
    for n in os.listdir(log / "timestamps"):
        if n.endswith((".tsr", ".json")) and n[0].isdigit():
            os.remove(log / "timestamps" / n)
    dev = json.loads((log / "device.json").read_text())["dev"]
    tsamod.stamp_head(str(log), tsa.url, tsa.ca_file, head={"seq": 6, "hash": "ab" * 32, "dev": dev})


def cut_after_stamp(log, tsa):
    lines = (log / "records" / "00000000.jsonl").read_bytes().split(b"\n")[:-1]
    (log / "records" / "00000000.jsonl").write_bytes(b"".join(x + b"\n" for x in lines[:5]))
    os.remove(log / "head.json")  # the copy's own head would say it too: the token alone must


def expired_token(log, tsa):
    path = log / "timestamps" / tokens(log)[0]
    st = (log / "timestamps" / (tokens(log)[0][:-4] + ".json")).read_bytes()
    import rfc3161_client as lib

    req = lib.TimestampRequestBuilder().data(st).hash_algorithm(lib.HashAlgorithm.SHA256).build()
    path.write_bytes(tsa.reply(req.as_bytes(), mode="expired"))


CASES = {
    "forged token": (lambda log, tsa: forge_time(log), [], "does not verify: its signature does not verify: it was altered or forged"),
    "token beside another statement": (lambda log, tsa: relabel(log), [], "is not over the statement beside it"),
    "token for another head": (other_head, [], "names another record at seq 6 than this log's"),
    "cut tail after the stamp": (cut_after_stamp, [], "the TSA attested that the log reached seq 6"),
    "expired TSA certificate": (expired_token, [], "the TSA's certificate had expired when the token was made"),
    "wrong CA": (lambda log, tsa: None, ["--tsa-ca", "OTHER"], "the TSA's certificate was not issued by the CA it is checked against"),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_token_fails_verification(case, entry, stamped, tsa):
    _, log = stamped
    damage, args, says = CASES[case]
    damage(log, tsa)
    args = [tsa.other_ca_file if a == "OTHER" else a for a in args]
    rc, out = run(entry, log, *args)
    assert rc == 1 and says in out, out
    assert "Traceback" not in out and out.strip().splitlines()[-1].startswith("FAILED:"), out
    assert "ATTESTED" not in out


@pytest.mark.parametrize("mode,says", [("expired", "had expired when the token was made"),
                                       ("rogue", "was not issued by the CA it is checked against")])
def test_a_bad_answer_from_the_tsa_is_not_kept(pulled, tsa, mode, says):
    _, log = pulled
    tsa.mode = mode
    rc, out = doorstep("timestamp", log, "--tsa", tsa.url, "--tsa-ca", tsa.ca_file)
    assert rc == 1 and says in out and "Traceback" not in out, out
    assert tokens(log) == []


def test_an_unreachable_tsa_does_not_undo_the_pull(stamped, tmp_path):
    dev, log = stamped
    cfg = log / "timestamps" / "tsa.json"
    cfg.write_text(json.dumps({"url": "http://127.0.0.1:9/tsa"}))  # the discard port: nothing listens
    asyncio.run(more_records(str(dev), 1782400000))
    rc, out = doorstep("pull", "--device", "sim:%s" % dev, "--out", log)
    assert rc == 0 and "OK: 9 records up to seq 8 verified" in out, out
    assert "not timestamped: cannot reach the time-stamping authority at http://127.0.0.1:9/tsa" in out
    assert "Run `doorstep timestamp %s` when the TSA can be reached" % log in out


def test_a_clock_that_contradicts_the_attested_time_is_flagged(tmp_path, tsa):
    root = tmp_path / "log"
    root.mkdir()

    async def future():
        dev = await new_device(str(root), t=int(time.time()) + 2 * 86400)  # the doorbell's clock is two days ahead
        await dev.ring()
        dev.app.stop()

    asyncio.run(future())
    recs = [json.loads(x) for x in (root / "records" / "00000000.jsonl").read_bytes().split(b"\n")[:-1]]
    last = (root / "records" / "00000000.jsonl").read_bytes().split(b"\n")[-2]
    import hashlib

    tsamod.configure(str(root), tsa.url, tsa.ca_file)
    tsamod.stamp_head(str(root), head={"seq": recs[-1]["seq"], "hash": hashlib.sha256(last).hexdigest(), "dev": recs[0]["dev"]})
    for entry in ENTRY_POINTS:
        rc, out = run(entry, root)
        assert rc == 0, out
        warned = [x for x in out.splitlines() if x.startswith("WARNING: seq ") and ": its time " in x]  # not the "sim" warning
        assert len(warned) == len(recs), out
        assert "when CN=Doorstep test TSA,O=Doorstep tests attested that the log up to seq %d already existed: the doorbell's clock" \
               " was wrong (or set forward) here" % recs[-1]["seq"] in warned[-1]


def test_without_the_tsa_library_the_tokens_are_not_checked_and_not_ok(stamped):
    _, log = stamped
    rc, out = run("verify_bundle.py", log, no_tsa=True)
    assert rc == 1 and "Traceback" not in out, out
    assert "NOT CHECKED: log: the 1 timestamp token(s) in timestamps/ were NOT checked: this Python lacks the rfc3161-client package" in out
    assert out.strip().splitlines()[-1].startswith("NOT FULLY CHECKED: 7 records verified (seq 0 to 6)")


def test_the_bundle_carries_the_tokens_and_its_verifier_checks_them(stamped, tmp_path):
    _, log = stamped
    zpath = tmp_path / "evidence.zip"
    rc, out = doorstep("report", log, "-o", tmp_path / "r.html", "--bundle", zpath)
    assert rc == 0, out
    with zipfile.ZipFile(zpath) as z:
        names = z.namelist()
        z.extractall(tmp_path / "x")
    name = tokens(log)[0]
    for n in (name, name[:-4] + ".json", "tsa-ca.pem"):
        assert "evidence/timestamps/" + n in names, names
    folder = tmp_path / "x" / "evidence"
    assert "timestamps/" in (folder / "README.txt").read_text()
    rc, out = run("verify_bundle.py", folder)
    assert rc == 0 and "ATTESTED: the log up to seq 6 existed at" in out, out
    readme = (folder / "README.txt").read_text()
    cmds = [x.strip()[2:] for x in readme.split("\n4. ", 1)[1].splitlines() if x.strip().startswith("$ ")]
    r = subprocess.run(["bash", "-ec", "\n".join(cmds)], cwd=folder, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Verification: OK" in r.stdout and "Time stamp: " in r.stdout, r.stdout + r.stderr


def test_the_report_says_what_the_timestamp_attests(stamped, tmp_path):
    """The report's limits and its --claim section name the attested time, not the doorbell's clock."""
    from test_report import norm

    out = tmp_path / "r.html"
    rc, said = doorstep("report", stamped[1], "--claim", "2026-06-25T09:00Z", "-o", out)
    assert rc == 0, said
    page = norm(re.sub(r"<[^>]+>", " ", out.read_text()))
    m = re.search(r"CN=Doorstep test TSA,O=Doorstep tests \(a time-stamping authority\) attests that the log up to record 6"
                  r" existed at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC: nothing up to there was written later than that\.", page)
    assert m, page
    assert "CN=Doorstep test TSA,O=Doorstep tests attests that the log up to record 6 existed at %s UTC," % m.group(1) in page
    assert "The log is confirmed to reach its last record (6) by the last pull, a checkpoint or a timestamp" in page
    assert "No independent timestamp" not in page
