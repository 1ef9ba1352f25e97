"""The posture (production, flash encryption, secure boot, hardware) the genesis and boot records
state, as both entry points of the verifier report it: `doorstep verify` and verify_bundle.py.

Device postures are made by re-signing the simulator's log with its key.bin, as the firmware on
a chip would sign them (the simulator itself always says "sim").
"""

import asyncio
import json
import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scenarios.device import door_session
from test_verifiers import canonical, fpr, line_hash, lines, write
from verifiers import ENTRY_POINTS, run

SEALED = {"hw": "esp32s3", "production": True, "flash_enc": True, "secure_boot": True}
OPEN = {"hw": "esp32", "production": False, "flash_enc": False, "secure_boot": "unknown"}


@pytest.fixture(scope="module")
def sim_log(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("sim"))
    asyncio.run(door_session(root))
    return root


@pytest.fixture
def log(sim_log, tmp_path):
    root = tmp_path / "log"
    shutil.copytree(sim_log, root)
    return root


def notices(out):
    return [x for x in out.splitlines() if x.startswith(("NOTICE", "WARNING"))]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_simulated_log_says_so(entry, log):
    rc, out = run(entry, log, "--fingerprint", fpr(log))
    assert rc == 0, out
    assert ('WARNING: seq 0: the records say "hw": "sim": this log was made by the Doorstep simulator on a PC, not by a'
            " doorbell, and is no evidence of anything that happened at a door") in out
    assert ("NOTICE: log: device posture, the same in every record that states it (seq 0 to 1): production off, flash NOT"
            " encrypted, secure boot off (sim)\n") in out


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_sealed_device_posture(entry, log):
    resign(log, 0, posture=SEALED)
    resign(log, 1, posture=SEALED)
    rc, out = run(entry, log, "--fingerprint", fpr(log))
    assert rc == 0, out
    assert notices(out)[1:] == ["NOTICE: log: device posture, the same in every record that states it (seq 0 to 1): production"
                                " on, flash encrypted, secure boot on (esp32s3)"], out


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_an_open_device_posture_says_what_follows(entry, log):
    resign(log, 0, posture=OPEN)
    resign(log, 1, posture=OPEN)
    rc, out = run(entry, log, "--fingerprint", fpr(log))
    assert rc == 0, out
    assert ("device posture, the same in every record that states it (seq 0 to 1): production off, flash NOT encrypted,"
            " secure unknown (esp32)."
            " Unless production, flash encryption and secure boot are all on, whoever holds the doorbell (its owner) can read"
            " its signing key and sign records of their own") in out


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_weaker_posture_at_a_later_boot_is_a_warning(entry, log):
    resign(log, 0, posture=SEALED)
    resign(log, 1, posture=dict(SEALED, production=False))
    rc, out = run(entry, log, "--fingerprint", fpr(log))
    assert rc == 0, out
    assert ("WARNING: seq 1: at boot 1 the doorbell's posture changed from production on, flash encrypted, secure boot on"
            " (esp32s3) to production off, flash encrypted, secure boot on (esp32s3)") in out
    assert ("device posture at seq 0: production on, flash encrypted, secure boot on (esp32s3); at its last start (seq 1, boot 1):"
            " production off") in out


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("bad,says", [
    ({"hw": "esp32s3", "production": "yes", "flash_enc": True, "secure_boot": True}, "its posture's production must be true, false or"),
    ({"hw": "esp32s3", "production": 1, "flash_enc": True, "secure_boot": True}, "its posture's production must be true, false or"),
    ({"hw": "", "production": True, "flash_enc": True, "secure_boot": True}, "its posture's hw must name the hardware"),
    ({"hw": "esp32s3", "production": True}, 'its posture must be {"hw"'),
    ("sealed", 'its posture must be {"hw"'),
])
def test_a_malformed_posture_fails(entry, log, bad, says):
    resign(log, 1, posture=bad)
    rc, out = run(entry, log, "--fingerprint", fpr(log))
    assert rc == 1 and "FAILED: record 1 (records/00000000.jsonl line 2): the record is malformed: " + says in out, out


def without_posture(root):
    """The log as firmware older than posture records wrote it: re-signed with key.bin."""
    resign(root, 0, posture=None)


def resign(root, i, posture):
    """Give record i this posture (None: none at all) and re-sign the chain from there with key.bin."""
    key = Ed25519PrivateKey.from_private_bytes((root / "key.bin").read_bytes())
    ls = lines(root)
    for j in range(i, len(ls)):
        rec = json.loads(ls[j])
        if j == i or (posture is None and "posture" in rec):
            rec.pop("posture", None)
            if posture is not None:
                rec["posture"] = posture
        if j:
            rec["prev"] = line_hash(ls[j - 1])
        rec.pop("sig")
        rec["sig"] = key.sign(canonical(rec)).hex()
        ls[j] = canonical(rec)
    write(root, ls)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_records_from_before_posture_say_unknown(entry, log):
    without_posture(log)
    rc, out = run(entry, log, "--fingerprint", fpr(log))
    assert rc == 0, out
    assert notices(out)[1:] == ["NOTICE: log: no record states the doorbell's posture (firmware older than posture records):"
                            " whether its key could be read by whoever holds it is unknown"], out
