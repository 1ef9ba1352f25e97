"""`doorstep deploy` against the virtual board, through the real mpremote and mpy-cross.

The micropython-lib packages come from a tiny local index built here from stand-in
packages written for this test (same module names as the real ones, no network code).
"""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from doorstep_tools import deploy, deploy_files
from doorstep_tools.vboard import VBoard

BIN = os.path.dirname(sys.executable)
DOORSTEP = os.path.join(BIN, "doorstep")
MPREMOTE = os.path.join(BIN, "mpremote")

pytestmark = pytest.mark.skipif(not shutil.which("node"), reason="Node.js is needed for the virtual board (make setup)")

# Stand-ins with the documented names of micropython-lib's ntptime and umqtt.simple.
STANDINS = {
    "ntptime": {"ntptime.py": "host = 'pool.ntp.org'\n\ndef time():\n    raise OSError('test stand-in: no network')\n"},
    "umqtt.simple": {
        "umqtt/simple.py": "class MQTTClient:\n    def __init__(self, client_id, server, port=0, user=None, password=None,"
                           " keepalive=0, ssl=None):\n        self.server = server\n",
    },
}


def build_index(root, packages=STANDINS):
    """A mip index folder: package/{py,6}/NAME/latest.json and file/XX/HASH (sha256, 8 hex)."""
    cross = deploy.tool("mpy-cross")
    for name, files in packages.items():
        for kind in ("py", "6"):
            hashes = []
            for rel, src in files.items():
                data = src.encode()
                if kind == "6":
                    tmp = os.path.join(root, "_src.py")
                    with open(tmp, "w") as f:
                        f.write(src)
                    subprocess.run([cross, "-o", tmp[:-3] + ".mpy", "-s", rel, tmp], check=True)
                    with open(tmp[:-3] + ".mpy", "rb") as f:
                        data = f.read()
                    rel = rel[:-3] + ".mpy"
                h = hashlib.sha256(data).hexdigest()[:8]
                os.makedirs(os.path.join(root, "file", h[:2]), exist_ok=True)
                with open(os.path.join(root, "file", h[:2], h), "wb") as f:
                    f.write(data)
                hashes.append([rel, h])
            d = os.path.join(root, "package", kind, name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "latest.json"), "w") as f:
                json.dump({"hashes": hashes, "version": "0.1"}, f)
    for n in ("_src.py", "_src.mpy"):
        if os.path.exists(os.path.join(root, n)):
            os.remove(os.path.join(root, n))
    return root


def tiny_firmware(root):
    files = {
        "boot.py": "# boot\n",
        "main.py": "print('main')\n",
        "tinyfw/__init__.py": "VERSION = 1\n",
        "tinyfw/core.py": "def answer():\n    return 42\n",
        "tinyfw/sub/__init__.py": "",
        "tinyfw/sub/leaf.py": "NAME = 'leaf'\n",
    }
    for rel, src in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(src)
    return root


def run_deploy(*args):
    return subprocess.run([DOORSTEP, "deploy", *args], capture_output=True, text=True, timeout=300)


def on_board(url, code):
    r = subprocess.run([MPREMOTE, "connect", url, "exec", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip()


@pytest.fixture()
def board(tmp_path):
    b = VBoard(str(tmp_path / "flash")).start()
    yield b
    b.stop()


def flash_files(state):
    out = set()
    for dirpath, _, names in os.walk(state):
        for n in names:
            out.add(os.path.relpath(os.path.join(dirpath, n), state).replace(os.sep, "/"))
    return out


def test_deploy_compiled_with_packages_from_a_local_index(board, tmp_path):
    fw = tiny_firmware(str(tmp_path / "fw"))
    index = build_index(str(tmp_path / "index"))
    r = run_deploy("--device", board.url, "--firmware", fw, "--mpy", "--index", index)
    assert r.returncode == 0, r.stdout + r.stderr
    # One progress line per file, each copied.
    lines = [ln for ln in r.stdout.splitlines() if re.match(r"\s+\[\s*\d+/6\]", ln)]
    assert len(lines) == 6 and all(ln.endswith("copied") for ln in lines), r.stdout
    assert "Installing micropython-lib packages the board lacks" in r.stdout and "ntptime, umqtt.simple" in r.stdout
    # On the flash (the board's state folder): packages as .mpy, scripts as source, packages in /lib.
    board.control(sync=True)
    have = flash_files(board.state)
    assert {"boot.py", "main.py", "tinyfw/__init__.mpy", "tinyfw/core.mpy", "tinyfw/sub/__init__.mpy",
            "tinyfw/sub/leaf.mpy", "lib/ntptime.mpy", "lib/umqtt/simple.mpy"} <= have, have
    assert not any(p.startswith("tinyfw/") and p.endswith(".py") for p in have)
    with open(os.path.join(board.state, "tinyfw", "core.mpy"), "rb") as f:
        assert f.read(2) == b"M\x06"  # .mpy version 6, what MicroPython 1.22+ loads
    out = on_board(board.url, "import tinyfw.core, tinyfw.sub.leaf, ntptime\nfrom umqtt.simple import MQTTClient\n"
                              "print(tinyfw.core.answer(), tinyfw.sub.leaf.NAME, ntptime.host, MQTTClient('c', 'h').server)")
    assert out == "42 leaf pool.ntp.org h"


def test_redeploy_copies_only_changes_and_removes_stale_modules(board, tmp_path):
    fw = tiny_firmware(str(tmp_path / "fw"))
    index = build_index(str(tmp_path / "index"))
    assert run_deploy("--device", board.url, "--firmware", fw, "--mpy", "--index", index).returncode == 0
    r = run_deploy("--device", board.url, "--firmware", fw, "--mpy", "--index", index)
    assert r.returncode == 0, r.stderr
    assert "Copied 0, unchanged 6." in r.stdout and "all present on the board" in r.stdout
    with open(os.path.join(fw, "tinyfw", "core.py"), "w") as f:
        f.write("def answer():\n    return 43\n")
    r = run_deploy("--device", board.url, "--firmware", fw, "--mpy", "--no-mip")
    assert "Copied 1, unchanged 5." in r.stdout and re.search(r"tinyfw/core\.mpy .* copied", r.stdout), r.stdout
    assert on_board(board.url, "import tinyfw.core\nprint(tinyfw.core.answer())") == "43"
    # Back to source: the .mpy files go (a stale .py would shadow a new .mpy, and vice versa
    # would be confusing), data and installed packages stay.
    on_board(board.url, "open('key.bin', 'wb').write(b'k' * 32)")
    r = run_deploy("--device", board.url, "--firmware", fw, "--no-mip")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("removed tinyfw/") == 4, r.stdout
    board.control(sync=True)
    have = flash_files(board.state)
    assert not any(p.startswith("tinyfw/") and p.endswith(".mpy") for p in have), have
    assert {"tinyfw/core.py", "key.bin", "lib/ntptime.mpy"} <= have
    assert on_board(board.url, "import tinyfw.core\nprint(tinyfw.core.answer(), tinyfw.core.__file__)") == "43 tinyfw/core.py"


def test_a_failed_package_install_says_the_firmware_is_there(board, tmp_path):
    fw = tiny_firmware(str(tmp_path / "fw"))
    empty = str(tmp_path / "empty-index")
    os.makedirs(empty)
    r = run_deploy("--device", board.url, "--firmware", fw, "--index", empty)
    assert r.returncode == 1
    assert "the firmware is on the board, but installing ntptime, umqtt.simple failed" in r.stderr, r.stderr
    assert on_board(board.url, "import tinyfw.core\nprint(tinyfw.core.answer())") == "42"


def test_unreachable_devices_get_clear_messages(tmp_path):
    fw = tiny_firmware(str(tmp_path / "fw"))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    r = run_deploy("--device", "socket://127.0.0.1:%d" % port, "--firmware", fw)
    assert r.returncode == 1 and "nothing answers at 127.0.0.1:%d" % port in r.stderr, r.stderr
    r = run_deploy("--device", str(tmp_path / "ttyUSB9"), "--firmware", fw)
    assert r.returncode == 1 and "there is no port" in r.stderr and "Plug the board in" in r.stderr, r.stderr


def test_a_port_that_is_not_a_micropython_board(tmp_path):
    """Something answers but never gives a MicroPython prompt (a wrong serial device)."""
    fw = tiny_firmware(str(tmp_path / "fw"))
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    conns = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                conns.append(c)
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    try:
        r = run_deploy("--device", "socket://127.0.0.1:%d" % srv.getsockname()[1], "--firmware", fw)
    finally:
        stop.set()
        srv.close()
        for c in conns:
            c.close()
    assert r.returncode == 1 and "cannot reach a board" in r.stderr and "did not answer" in r.stderr, r.stderr


def test_port_problems_in_words(monkeypatch, tmp_path):
    dev = tmp_path / "ttyUSB0"
    dev.write_bytes(b"")
    assert deploy.port_problem(str(dev)) is None
    monkeypatch.setattr(deploy.os, "access", lambda p, m: False)
    assert "permission denied on %s" % dev in deploy.port_problem(str(dev))
    assert "dialout" in deploy.port_problem(str(dev))
    assert "not a valid" in deploy.port_problem("socket://127.0.0.1:http")


FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")


@pytest.mark.parametrize("board,left_out", [
    # The ESP32: hashlib has sha1, and the viper SHA-512 engine runs (as .mpy or compiled there).
    ({"compiled": True, "arch": 10, "sha1": True}, {"doorstep/sha1.py", "doorstep/sha512_portable.py"}),
    ({"compiled": False, "arch": 10, "sha1": True}, {"doorstep/sha1.py", "doorstep/sha512_portable.py"}),
    # The virtual board (WebAssembly port): hashlib has only sha256, no native emitter.
    ({"compiled": True, "arch": 0, "sha1": False}, {"doorstep/sha512_viper.py"}),
    ({"compiled": True, "arch": 0, "sha1": True}, {"doorstep/sha1.py", "doorstep/sha512_viper.py"}),
    # A board with native code of another architecture than the .mpy files, and no sha1.
    ({"compiled": True, "arch": 1, "sha1": False}, {"doorstep/sha512_viper.py"}),
    ({"compiled": False, "arch": 1, "sha1": False}, {"doorstep/sha512_portable.py"}),
])
def test_only_the_files_a_board_needs_are_deployed(board, left_out):
    rels = [rel for rel, _ in deploy_files.firmware_files(FIRMWARE)]
    assert {"doorstep/sha1.py", "doorstep/sha512_portable.py", "doorstep/sha512_viper.py"} <= set(rels)
    out = {rel for rel in rels if not deploy_files.needed(rel, board)[0]}
    assert out == left_out
    for rel in out:
        assert deploy_files.needed(rel[:-3] + ".mpy", board)[0] is False  # the same whatever the form
        assert deploy_files.needed(rel, board)[1]  # with a reason for the homeowner


def test_the_real_firmware_on_the_virtual_board_gets_the_portable_sha512_engine(board, tmp_path):
    # A native engine left on the board (say, by a deploy made for another board) is removed:
    # the virtual board cannot run it, and needs the portable engine and sha1.py instead.
    stale = tmp_path / "sha512_viper.mpy"
    stale.write_bytes(b"M\x06")
    r = subprocess.run([MPREMOTE, "connect", board.url, "fs", "mkdir", ":doorstep", "+", "fs", "cp", str(stale),
                        ":doorstep/sha512_viper.mpy"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_deploy("--device", board.url, "--mpy", "--no-mip")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not deploying doorstep/sha512_viper.mpy: the board has no native code emitter for it" in r.stdout, r.stdout
    assert "removed doorstep/sha512_viper.mpy" in r.stdout, r.stdout
    board.control(sync=True)
    have = flash_files(board.state)
    assert {"doorstep/sha512_portable.mpy", "doorstep/ed25519.mpy", "doorstep/sha1.mpy"} <= have, have
    assert "doorstep/sha512_viper.mpy" not in have
    # What is there signs, and HOTP-SHA1 works (this board's hashlib has no sha1).
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    seed, msg = bytes(range(32)), b"record " * 40
    out = on_board(board.url, "from doorstep import ed25519, totp\nimport binascii\n"
                              "print(binascii.hexlify(ed25519.sign(bytes(range(32)), b'record ' * 40)).decode(),"
                              " totp.hotp(b'12345678901234567890', 0))")
    sig, code = out.split()
    assert bytes.fromhex(sig) == Ed25519PrivateKey.from_private_bytes(seed).sign(msg)
    assert code == "755224"  # RFC 4226 appendix D, counter 0


def test_a_board_with_a_display_gets_micropython_libs_ssd1306(board, tmp_path):
    fw = tiny_firmware(str(tmp_path / "fw"))
    standins = dict(STANDINS, ssd1306={"ssd1306.py": "class SSD1306_I2C:\n    pass\n"})  # the module name only
    index = build_index(str(tmp_path / "index"), standins)
    r = run_deploy("--device", board.url, "--firmware", fw, "--index", index)
    assert r.returncode == 0 and "ssd1306" not in r.stdout, r.stdout + r.stderr  # no display: not needed
    on_board(board.url, "f = open('config.json', 'w')\nf.write('{\"board\": {\"profile\": \"ai-thinker\", \"display\": \"ssd1306\"}}')\nf.close()")
    r = run_deploy("--device", board.url, "--firmware", fw, "--index", index)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Installing micropython-lib packages the board lacks" in r.stdout and ": ssd1306" in r.stdout, r.stdout
    assert on_board(board.url, "import ssd1306\nprint(ssd1306.SSD1306_I2C.__name__)") == "SSD1306_I2C"
