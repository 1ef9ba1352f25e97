"""The homeowner's `doorstep` subcommands, each run as the real command against a `sim:`
device: provision, codes add/list/revoke, courier add, pull, verify, report --bundle.

Every change must leave a signed record on the device; every bad input must give one
message saying what to do, a non-zero exit, and leave the device's files as they were.
The digits of a code must never reach a file on the device or the PC, or any output.
"""

import json
import os
import stat
import subprocess
import sys
import time
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOORSTEP = os.path.join(ROOT, ".venv", "bin", "doorstep")
if not os.path.exists(DOORSTEP):
    DOORSTEP = os.path.join(os.path.dirname(sys.executable), "doorstep")
# Long codes: 10-12 digits cannot turn up by chance in hex hashes, signatures or base64.
CODE = "482913770561"
TYPED = "7315086429"  # given on stdin with `codes add -`
DAY = "2026-06-25"
CLOCK = "clock %sT10:00:00Z" % DAY


class Home:
    """A homeowner's PC ($DOORSTEP_HOME) and one simulated doorbell, driven by the command."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.state = tmp / "dev"
        self.dev = "sim:" + str(self.state)
        self.env = dict(os.environ, DOORSTEP_HOME=str(tmp / "home"))
        self.said = []  # everything the commands printed
        self.scripts = 0

    def run(self, *args, ok=True, stdin=None):
        r = subprocess.run([DOORSTEP, *map(str, args)], capture_output=True, text=True, input=stdin, env=self.env, cwd=str(self.tmp), timeout=120)
        self.said.append(r.stdout + r.stderr)
        if ok:
            assert r.returncode == 0, "doorstep %s:\n%s%s" % (" ".join(map(str, args)), r.stdout, r.stderr)
        return r

    def refused(self, *args, says, stdin=None):
        """A bad input: non-zero exit, one message on stderr (saying `says`), device untouched."""
        before = files(self.state)
        r = self.run(*args, ok=False, stdin=stdin)
        assert r.returncode != 0, r.stdout
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("doorstep "), r.stderr
        assert says in lines[0], lines[0]
        assert "Traceback" not in r.stdout + r.stderr
        assert files(self.state) == before
        return lines[0]

    def sim(self, *lines):
        """Run the doorbell through a door scenario (kept apart: it holds typed codes)."""
        self.scripts += 1
        script = self.tmp / "scripts" / ("s%d.txt" % self.scripts)
        script.parent.mkdir(exist_ok=True)
        script.write_text("\n".join(lines) + "\n")
        return self.run("sim", "--state", self.state, "--script", script).stdout

    def records(self):
        return records(self.state)

    def profile(self):
        with open(self.tmp / "home" / "devices.json") as f:
            return json.load(f)["sim:" + os.path.abspath(self.state)]

    def assert_no_digits(self, *codes):
        """No code in any output, nor in any file here (zip members included) but the scripts."""
        for code in codes:
            assert not [s for s in self.said if code in s]
            for base, dirs, names in os.walk(self.tmp):
                dirs[:] = [d for d in dirs if d != "scripts"]
                for n in names:
                    path = os.path.join(base, n)
                    with open(path, "rb") as f:
                        data = [f.read()]
                    if n.endswith(".zip"):
                        with zipfile.ZipFile(path) as z:
                            data += [z.read(m) for m in z.namelist()]
                    assert not [d for d in data if code.encode() in d], "%s holds a code" % path


def files(root):
    """Every file under root with its bytes: to show that nothing changed."""
    out = {}
    for base, _, names in os.walk(root):
        for n in names:
            with open(os.path.join(base, n), "rb") as f:
                out[os.path.relpath(os.path.join(base, n), root)] = f.read()
    return out


def records(root):
    recs = []
    rdir = os.path.join(root, "records")
    for n in sorted(os.listdir(rdir)):
        with open(os.path.join(rdir, n)) as f:
            recs += [json.loads(line) for line in f if line.endswith("\n")]
    return recs


@pytest.fixture
def home(tmp_path):
    """A new simulated doorbell, made by the simulator, then provisioned and pinned."""
    h = Home(tmp_path)
    h.sim(CLOCK)
    h.run("provision", "--device", h.dev)
    return h


def test_a_new_sim_device_starts_in_the_simulator_then_provision_pins_its_key(tmp_path):
    h = Home(tmp_path)
    h.refused("provision", "--device", h.dev, says="doorstep sim --state")
    assert not h.state.exists()
    assert "provisioned a new simulated device" in h.sim(CLOCK)
    out = h.run("provision", "--device", h.dev, "--heartbeat-min", "30").stdout
    genesis = h.records()[0]
    assert genesis["ev"] == "genesis"
    prof = h.profile()
    assert (prof["pub"], prof["dev"]) == (genesis["pub"], genesis["dev"])
    fp = " ".join(genesis["pub"][i : i + 8] for i in range(0, 64, 8))
    assert fp in out and genesis["dev"] in out and "codes add" in out
    with open(h.state / "config.json") as f:
        assert json.load(f) == {"heartbeat_min": 30}

    assert bytes.fromhex(prof["admin"]) == (h.state / "admin.bin").read_bytes() and prof["admin_n"] == 0
    assert stat.S_IMODE(os.stat(tmp_path / "home" / "devices.json").st_mode) == 0o600  # it holds the admin key

    # Provisioning again without settings pins the same key and keeps the configuration and
    # the log, and makes a new admin key (how a lost PC is replaced): the old one is gone.
    before = files(h.state)
    assert fp in h.run("provision", "--device", h.dev).stdout
    after = files(h.state)
    assert {k: v for k, v in after.items() if k != "admin.bin"} == {k: v for k, v in before.items() if k != "admin.bin"}
    assert h.profile()["pub"] == prof["pub"] and h.profile()["admin"] != prof["admin"]
    assert bytes.fromhex(h.profile()["admin"]) == after["admin.bin"] != before["admin.bin"]

    # A configuration from a file; a bad one is refused before anything is written.
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"heartbeat_min": 15, "relay_policy": "flag"}))
    h.run("provision", "--device", h.dev, "--config", cfg)
    with open(h.state / "config.json") as f:
        assert json.load(f) == {"heartbeat_min": 15, "relay_policy": "flag"}
    h.refused("provision", "--device", h.dev, "--heartbeat-min", "0", says="heartbeat_min must be")
    h.refused("provision", "--device", h.dev, "--wifi-ssid", "Home", says="--wifi-password")
    cfg.write_text("{not json")
    h.refused("provision", "--device", h.dev, "--config", cfg, says="cannot read the configuration file")
    # Board settings are checked by the code the board runs at boot: a clash is named now.
    cfg.write_text(json.dumps({"board": {"profile": "freenove-s3", "pins": {"bell": 4}}}))
    h.refused("provision", "--device", h.dev, "--config", cfg, says="GPIO 4")
    h.refused("provision", "--device", h.dev, "--board", "esp32-nope", says="board.profile must be one of")
    h.refused("provision", "--device", h.dev, "--wifi-ssid", "Home", "--wifi-password", "short", says="8 characters or more")
    with open(h.state / "config.json") as f:
        assert json.load(f) == {"heartbeat_min": 15, "relay_policy": "flag"}
    h.run("provision", "--device", h.dev, "--board", "ai-thinker", "--wifi-ssid", "Home", "--wifi-password", "correct horse")
    # Flags change only what they name: adding MQTT later keeps Wi-Fi and the rest.
    h.run("provision", "--device", h.dev, "--mqtt", "192.168.1.10:1883", "--mqtt-user", "bell", "--mqtt-password", "s3cret-pass")
    with open(h.state / "config.json") as f:
        got = json.load(f)
    assert got["board"] == {"profile": "ai-thinker"} and got["wifi"]["ssid"] == "Home" and got["heartbeat_min"] == 15
    assert got["mqtt"] == {"host": "192.168.1.10", "port": 1883, "user": "bell", "password": "s3cret-pass"}
    h.refused("provision", "--device", h.dev, "--mqtt", "broker:abc", "--mqtt-user", "u", "--mqtt-password", "p", says="--mqtt must look like")
    cfg.write_text(json.dumps({"mqtt": {"host": "broker", "user": "bell"}}))
    h.refused("provision", "--device", h.dev, "--config", cfg, says="password")
    # Passwords can stay off the command line (and out of the shell history).
    h.env = dict(h.env, DOORSTEP_WIFI_PASSWORD="from-the-environment", DOORSTEP_MQTT_PASSWORD="mqtt-from-env")
    out = h.run("provision", "--device", h.dev, "--wifi-ssid", "Attic", "--mqtt", "broker", "--mqtt-user", "bell").stdout
    with open(h.state / "config.json") as f:
        got = json.load(f)
    assert got["wifi"] == {"ssid": "Attic", "password": "from-the-environment"} and got["mqtt"]["password"] == "mqtt-from-env"
    assert "from-the-environment" not in out and "mqtt-from-env" not in out


def test_provision_makes_the_key_on_the_device_and_stamps_genesis_with_the_pcs_clock(tmp_path):
    """A blank device (as a board after `doorstep deploy`): the key is made there."""
    h = Home(tmp_path)
    h.state.mkdir()
    h.refused("codes", "list", "--device", h.dev, says="doorstep provision --device")
    t0 = int(time.time())
    out = h.run("provision", "--device", h.dev).stdout
    assert (h.state / "key.bin").exists() and (h.state / "secret.bin").exists()
    [genesis] = h.records()
    assert genesis["ev"] == "genesis" and genesis["tq"] == "host" and genesis["dev"] in out
    assert t0 <= genesis["t"] <= time.time()
    # genesis names the firmware: SHA-256 over boot.py, main.py and every doorstep/ file
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    from doorstep.provision import firmware_hash

    fw = firmware_hash(os.path.join(ROOT, "firmware"))
    assert genesis["fw"] == fw and fw != "0" * 64
    changed = tmp_path / "fw"
    import shutil

    shutil.copytree(os.path.join(ROOT, "firmware"), changed, ignore=shutil.ignore_patterns("__pycache__", ".mypy_cache"))
    assert firmware_hash(str(changed)) == fw
    with open(changed / "doorstep" / "board" / "net.py", "a") as f:
        f.write("# changed\n")
    assert firmware_hash(str(changed)) != fw  # the board layer counts too
    assert " ring " in h.sim(CLOCK, "ring")  # the simulator boots it as it is
    assert "OK: " in h.run("verify", h.state).stdout


def test_codes_and_couriers_are_signed_records_and_never_show_their_digits(home):
    h = home
    n0 = len(h.records())
    out = h.run("codes", "add", CODE, "--label", "amazon-0625", "--from", DAY, "--until", DAY, "--device", h.dev).stdout
    assert "'amazon-0625' valid 2026-06-25 00:00:00 UTC to 2026-06-26 00:00:00 UTC" in out
    # `-` reads the code from stdin: it stays out of the shell history and `ps`.
    h.run("codes", "add", "-", "--label", "dhl-box", "--device", h.dev, stdin=TYPED + "\n")
    out = h.run("courier", "add", "--label", "ups", "--device", h.dev).stdout
    [uri] = [line for line in out.splitlines() if line.startswith("otpauth://totp/Doorstep:ups?secret=")]
    listed = h.run("codes", "list", "--device", h.dev).stdout
    assert "amazon-0625" in listed and "valid 2026-06-25 00:00:00 UTC .. 2026-06-26 00:00:00 UTC" in listed
    assert "dhl-box" in listed and "unused" in listed and "ups" in listed and "courier (TOTP)" in listed
    assert uri not in listed  # shown once, at `courier add` only

    h.run("codes", "revoke", "amazon-0625", "--device", h.dev)
    assert "amazon-0625" not in h.run("codes", "list", "--device", h.dev).stdout
    new = [{k: r.get(k) for k in ("ev", "label", "from", "until", "courier", "tq")} for r in h.records()[n0:]]
    t0, t1 = 1782345600, 1782432000  # 2026-06-25 and -26, 00:00 UTC
    assert new == [
        {"ev": "code_added", "label": "amazon-0625", "from": t0, "until": t1, "courier": None, "tq": "host"},
        {"ev": "code_added", "label": "dhl-box", "from": None, "until": None, "courier": None, "tq": "host"},
        {"ev": "code_added", "label": "ups", "from": None, "until": None, "courier": True, "tq": "host"},
        {"ev": "code_revoked", "label": "amazon-0625", "from": None, "until": None, "courier": None, "tq": "host"},
    ]
    assert "OK: " in h.run("verify", h.state).stdout  # signed by the device's key, chained

    # The code given on stdin is the one the door accepts; the revoked one is not.
    out = h.sim(CLOCK, "keys %s#" % CODE, "keys %s#" % TYPED)
    assert out.count("door shows: wrong") == 1 and out.count("door shows: accepted") == 1
    assert "outcome=accepted label=dhl-box digits=10" in out
    assert "dhl-box                  used at 2026-06-25 10:00" in h.run("codes", "list", "--device", h.dev).stdout
    h.assert_no_digits(CODE, TYPED)


@pytest.mark.parametrize(
    "argv, says",
    [
        (["codes", "add", "123", "--label", "x"], "4 to 12 digits"),
        (["codes", "add", "1234567890123", "--label", "x"], "4 to 12 digits"),
        (["codes", "add", "12ab34", "--label", "x"], "4 to 12 digits"),
        (["codes", "add", "１２３４５", "--label", "x"], "4 to 12 digits"),  # full-width digits
        (["codes", "add", "-", "--label", "x"], "4 to 12 digits"),  # nothing on stdin
        (["codes", "add", "90817263", "--label", "in-use"], "already in use: choose another or revoke it first"),
        (["courier", "add", "--label", "in-use"], "already in use"),
        (["codes", "add", CODE, "--label", "x"], "already registered (label 'in-use')"),
        (["codes", "add", "90817263", "--label", "y" * 33], "a label must be 1 to 32 characters"),
        (["codes", "add", "90817263", "--label", "x", "--from", "2026-06-26", "--until", DAY], "must be after its start"),
        (["codes", "add", "90817263", "--label", "x", "--from", "tomorrow"], "write it like 2026-06-25T09:00Z"),
        (["codes", "revoke", "no-such"], "`doorstep codes list --device"),
        (["codes", "add", "90817263", "--label", "box-90817263"], "the label must not contain the code"),
    ],
)
def test_bad_codes_and_labels_change_nothing_on_the_device(home, argv, says):
    home.run("codes", "add", CODE, "--label", "in-use", "--device", home.dev)
    home.refused(*argv, "--device", home.dev, says=says, stdin="")
    home.assert_no_digits(CODE, "90817263")


@pytest.mark.parametrize("argv", [["provision"], ["codes", "add", "4711", "--label", "x"], ["codes", "list"], ["codes", "revoke", "x"], ["courier", "add", "--label", "x"], ["pull", "--out", "log"]])
def test_an_unreachable_device_is_named_and_nothing_is_made(tmp_path, argv):
    h = Home(tmp_path)
    h.refused(*argv, "--device", "sim:" + str(tmp_path / "nowhere"), says="start it once with `doorstep sim --state")
    h.refused(*argv, "--device", "/dev/ttyDOORSTEP9", says="cannot reach a device at /dev/ttyDOORSTEP9")
    assert sorted(os.listdir(tmp_path)) == []


def test_a_different_device_than_the_pinned_one_is_refused_until_repinned(home):
    h = home
    h.run("pull", "--device", h.dev, "--out", h.tmp / "log")
    old = h.profile()
    log_before = files(h.tmp / "log")
    os.rename(h.state, h.tmp / "old-dev")  # the doorbell is swapped (or reset) at the same place
    h.sim(CLOCK)
    for argv in (["provision"], ["codes", "add", "4711", "--label", "x"], ["codes", "list"], ["codes", "revoke", "x"], ["courier", "add", "--label", "x"], ["pull", "--out", h.tmp / "log"]):
        msg = h.refused(*argv, "--device", h.dev, says="not device %s whose key you pinned" % old["dev"])
        assert "doorstep provision --device %s --repin" % h.dev in msg
    assert h.profile() == old and files(h.tmp / "log") == log_before

    out = h.run("provision", "--device", h.dev, "--repin").stdout
    assert h.profile()["pub"] == h.records()[0]["pub"] != old["pub"] and h.profile()["dev"] in out
    h.refused("pull", "--device", h.dev, "--out", h.tmp / "log", says="holds records of device %s" % old["dev"])
    assert files(h.tmp / "log") == log_before
    h.run("pull", "--device", h.dev, "--out", h.tmp / "log2")


def test_pull_is_incremental_verifies_and_remembers_the_head(home):
    h = home
    log = h.tmp / "log"
    h.sim(CLOCK, "ring", "advance 1h")
    out = h.run("pull", "--device", h.dev, "--out", log).stdout
    recs = h.records()
    assert "Pulling 2 new or grown file(s)" in out and "OK: %d records up to seq %d" % (len(recs), recs[-1]["seq"]) in out
    assert files(log / "records") == files(h.state / "records") and files(log / "photos") == files(h.state / "photos")
    with open(log / "head.json") as f:
        head = json.load(f)
    with open(h.state / "pulled.json") as f:
        assert json.load(f) == {"seq": recs[-1]["seq"], "hash": head["hash"]}  # the device may prune up to here
    assert head["seq"] == recs[-1]["seq"]
    assert "Nothing new on the device." in h.run("pull", "--device", h.dev, "--out", log).stdout

    [photo] = os.listdir(log / "photos")
    first_photo = os.stat(log / "photos" / photo)
    h.sim(CLOCK, "ring", "keys 1234#", "advance 30m")
    out = h.run("pull", "--device", h.dev, "--out", log).stdout
    # The segment grew and two photos are new; the first photo is not copied again.
    assert "Pulling 3 new or grown file(s)" in out and "OK: " in out
    again = os.stat(log / "photos" / photo)
    assert (again.st_ino, again.st_mtime_ns) == (first_photo.st_ino, first_photo.st_mtime_ns)
    with open(log / "head.json") as f:
        assert json.load(f)["seq"] == h.records()[-1]["seq"] > head["seq"]
    assert files(log / "records") == files(h.state / "records")
    out = h.run("verify", log).stdout
    assert "OK: %d records verified" % len(h.records()) in out


def _edit(path, old, new):
    data = path.read_bytes()
    assert old in data and len(old) == len(new)
    path.write_bytes(data.replace(old, new, 1))


def test_a_damaged_or_partial_copy_is_reported_and_the_device_keeps_everything(home):
    h = home
    log = h.tmp / "log"
    h.sim(CLOCK, "ring", "advance 1h")
    h.run("pull", "--device", h.dev, "--out", log)
    seg = log / "records" / "00000000.jsonl"
    good = files(log)
    del good["head.json"]  # rewritten by every pull (pulled_at)

    # A partial copy (an interrupted copy, a full disk) is fetched again.
    seg.write_bytes(seg.read_bytes()[:-50])
    assert "FAILED" in h.run("verify", log, ok=False).stdout
    assert "Pulling 1 new or grown file(s)" in h.run("pull", "--device", h.dev, "--out", log).stdout
    os.remove(log / "photos" / os.listdir(log / "photos")[0])
    h.run("pull", "--device", h.dev, "--out", log)
    assert {k: v for k, v in files(log).items() if k != "head.json"} == good

    # A record edited in the copy: verify and pull say so and what to do; nothing is lost.
    device, head = files(h.state), (log / "head.json").read_bytes()
    _edit(seg, b'"ev":"ring"', b'"ev":"rinG"')
    r = h.run("verify", log, ok=False)
    assert r.returncode == 1 and "the signature does not verify" in r.stdout
    assert "pull a fresh copy into a new folder" in r.stdout.splitlines()[-1]
    r = h.run("pull", "--device", h.dev, "--out", log, ok=False)
    assert r.returncode == 1 and "the signature does not verify" in r.stdout
    assert "Nothing was changed on the device" in r.stdout and "--out NEW-FOLDER" in r.stdout
    assert files(h.state) == device and (log / "head.json").read_bytes() == head
    h.run("pull", "--device", h.dev, "--out", h.tmp / "fresh")
    assert "OK: " in h.run("verify", h.tmp / "fresh").stdout

    # A log cut short on the device must not replace the good copy on the PC.
    seg.write_bytes(good["records/00000000.jsonl"])
    lines = (h.state / "records" / "00000000.jsonl").read_bytes().splitlines(keepends=True)
    (h.state / "records" / "00000000.jsonl").write_bytes(b"".join(lines[:-1]))
    device, before = files(h.state), files(log)
    r = h.run("pull", "--device", h.dev, "--out", log, ok=False)
    assert r.returncode == 1 and "the tail was truncated" in r.stdout
    assert files(h.state) == device
    kept = files(log)
    assert {k: v for k, v in kept.items() if not k.startswith("rejected")} == before
    [(sent, data)] = [(k, v) for k, v in kept.items() if k.startswith("rejected")]
    assert sent.endswith("records/00000000.jsonl") and data == b"".join(lines[:-1])


def test_pull_into_a_file_and_verify_of_no_folder_are_clear_messages(home):
    (home.tmp / "notes.txt").write_text("mine")
    home.refused("pull", "--device", home.dev, "--out", home.tmp / "notes.txt", says="is a file: give --out the folder")
    assert (home.tmp / "notes.txt").read_text() == "mine"
    r = home.run("verify", home.tmp / "nothing-here", ok=False)
    assert r.returncode == 2 and "is not a folder" in r.stderr


def test_report_and_bundle_for_the_retailer(home):
    h = home
    h.run("codes", "add", CODE, "--label", "amazon-0625", "--device", h.dev)
    h.sim(CLOCK, "ring", "keys %s#" % CODE, "advance 2h")
    log = h.tmp / "log"
    h.run("pull", "--device", h.dev, "--out", log)
    out = h.run("report", log, "--from", DAY, "--to", DAY, "-o", h.tmp / "report.html", "--bundle", h.tmp / "evidence.zip").stdout
    assert "Report written to" in out and "Evidence bundle written to" in out
    page = (h.tmp / "report.html").read_text()
    assert "amazon-0625" in page and h.profile()["pub"][:8] in page.replace(" ", "")
    with zipfile.ZipFile(h.tmp / "evidence.zip") as z:
        names = z.namelist()
    assert any(n.endswith(".jsonl") for n in names) and any(n.endswith(".html") for n in names)

    for frm, to in ((DAY + "T10:00Z", DAY + "T10:00Z"), ("2026-06-26", DAY)):
        r = h.run("report", log, "--from", frm, "--to", to, "-o", h.tmp / "empty.html", ok=False)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "the period is reversed or empty" in r.stderr
    r = h.run("report", log, "--from", "25/06/2026", "-o", h.tmp / "empty.html", ok=False)
    assert r.returncode == 2 and "write it in UTC like 2026-06-25T09:00Z" in r.stderr
    assert not (h.tmp / "empty.html").exists()
    h.assert_no_digits(CODE)


def test_pull_refuses_a_device_that_lists_paths_outside_the_log(tmp_path, monkeypatch):
    """A tampered device must not make `pull` write outside --out."""
    import types

    from doorstep_tools import device_cmds as dc
    from doorstep_tools import pull_cmd

    class Tampered:
        name = "sim:tampered"

        def call(self, fn, *a):
            assert fn == "manifest"
            return {"records": [["00000000.jsonl", 10], ["../../escape.jsonl", 10]], "photos": [], "quarantine": []}

        def fetch(self, *a):
            raise AssertionError("fetched from a device that listed a path")

    monkeypatch.setenv("DOORSTEP_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(pull_cmd, "connected", lambda args: (Tampered(), {"pub": "00" * 32, "dev": "0" * 16}))
    with pytest.raises(dc.DeviceError, match="tampered with"):
        pull_cmd.cmd_pull(types.SimpleNamespace(out=str(tmp_path / "log"), device="sim:x"))
    assert os.listdir(tmp_path / "log") == [] and not (tmp_path / "escape.jsonl").exists()
    for bad in ("..", "a/b", "a\\b", "c:x", ""):
        assert not pull_cmd._plain_name(bad)
    assert pull_cmd._plain_name("00000012.jsonl") and pull_cmd._plain_name("12.jpg")


def test_a_code_typed_where_a_time_goes_is_not_repeated(home):
    home.refused("codes", "add", CODE, "--label", "x", "--until", TYPED, "--device", home.dev, says="a plain number is not a UTC time")
    assert all(TYPED not in s for s in home.said)


def test_until_a_date_means_the_end_of_that_day(home):
    """The README: a date alone means the whole day; --until 2026-12-02 was refused."""
    out = home.run("codes", "add", CODE, "--label", "dec-2", "--from", "2026-12-02", "--until", "2026-12-02", "--device", home.dev).stdout
    assert "valid 2026-12-02 00:00:00 UTC to 2026-12-03 00:00:00 UTC" in out, out
    added = home.records()[-1]
    assert (added["from"], added["until"]) == (1796169600, 1796169600 + 86400)
    out = home.run("codes", "add", TYPED, "--label", "noon", "--until", "2026-12-02T12:00Z", "--device", home.dev).stdout
    assert "to 2026-12-02 12:00:00 UTC" in out, out  # a time is taken as it is


@pytest.mark.parametrize("label", ["dhl #2", "ups?night", "a&b=c+d", "50% off", "x/y:z", "~!@$^*()[]{}|;'\",.<>`"])
def test_courier_uri_parses_back_to_its_label_and_secret(label):
    import base64
    from urllib.parse import parse_qs, unquote, urlsplit

    from doorstep_tools.codes_cmds import otpauth_uri

    secret = bytes(range(20))
    u = urlsplit(otpauth_uri(label, secret))
    assert (u.scheme, u.netloc, u.fragment) == ("otpauth", "totp", "")
    issuer, _, name = unquote(u.path[1:]).partition(":")
    assert (issuer, name) == ("Doorstep", label)
    q = parse_qs(u.query)
    b32 = q["secret"][0]
    assert base64.b32decode(b32 + "=" * (-len(b32) % 8)) == secret
    assert (q["issuer"], q["digits"], q["period"]) == (["Doorstep"], ["6"], ["30"])


def test_a_courier_with_an_odd_label_gets_a_uri_whose_codes_open_the_door(home):
    import base64
    from urllib.parse import parse_qs, urlsplit

    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    from doorstep import totp
    from doorstep_tools.timefmt import parse_utc

    out = home.run("courier", "add", "--label", "dhl #2", "--device", home.dev).stdout
    [uri] = [line for line in out.splitlines() if line.startswith("otpauth://")]
    b32 = parse_qs(urlsplit(uri).query)["secret"][0]
    secret = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    code = totp.totp(secret, parse_utc("%sT10:00:00Z" % DAY))
    out = home.sim(CLOCK, "keys %s#" % code)
    assert "outcome=accepted label=dhl #2 digits=6" in out, out


def test_pull_from_a_device_this_pc_never_pinned_shows_and_pins_its_key(tmp_path):
    h = Home(tmp_path)
    h.sim(CLOCK, "ring")
    out = h.run("pull", "--device", h.dev, "--out", tmp_path / "log").stdout
    genesis = h.records()[0]
    fp = " ".join(genesis["pub"][i : i + 8] for i in range(0, 64, 8))
    assert "has not pinned device %s" % genesis["dev"] in out and fp in out, out
    assert "Pinned device %s" % genesis["dev"] in out and "OK: " in out, out
    assert h.profile()["pub"] == genesis["pub"]
    out = h.run("pull", "--device", h.dev, "--out", tmp_path / "log").stdout
    assert "not pinned" not in out and "Pinned" not in out, out  # said once
