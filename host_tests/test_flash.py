"""`doorstep flash` (esptool 5.6.0) against a mock ESP32 ROM bootloader (esp32-mock-bootloader 0.3.0)."""

import os
import subprocess
import sys

import pytest

from doorstep_tools import flash

mock = pytest.importorskip("esp32_mock_bootloader", reason="pip install esp32-mock-bootloader==0.3.0 (requirements.txt)")

BIN = os.path.dirname(sys.executable)
DOORSTEP = os.path.join(BIN, "doorstep")
ESPTOOL = os.path.join(BIN, "esptool")


def image(path, size=120000):
    data = bytes([flash.IMAGE_MAGIC]) + os.urandom(size - 1)
    with open(path, "wb") as f:
        f.write(data)
    return data


def run_flash(*args):
    return subprocess.run([DOORSTEP, "flash", *args], capture_output=True, text=True, timeout=120)


def test_erase_write_and_verify(tmp_path):
    fw = str(tmp_path / "ESP32_GENERIC.bin")
    data = image(fw)
    with mock.mock_bootloader(chip="esp32") as m:
        r = run_flash("--port", m.url(), "--firmware", fw)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Flash memory erased" in r.stdout
        assert "Wrote %d bytes at 0x00001000" % len(data) in r.stdout
        assert "Hash of data verified" in r.stdout
        assert "Next: `doorstep deploy --device %s`" % m.url() in r.stdout
        # Read it back from the chip's flash (the ROM loader; the stub's read is unreliable here).
        back = tmp_path / "back.bin"
        rb = subprocess.run([ESPTOOL, "--chip", "esp32", "--port", m.url(), "--no-stub", "read-flash", "0x1000",
                             str(len(data)), str(back)], capture_output=True, text=True, timeout=120)
        assert rb.returncode == 0, rb.stdout + rb.stderr
        assert back.read_bytes() == data


def test_wrong_chip_is_named(tmp_path):
    fw = str(tmp_path / "fw.bin")
    image(fw, 4096)
    with mock.mock_bootloader(chip="esp32s3") as m:
        r = run_flash("--port", m.url(), "--firmware", fw, "--chip", "esp32")
    assert r.returncode == 1
    assert "is an ESP32-S3, not an ESP32. Use --chip esp32s3" in r.stderr, r.stderr


def test_no_port_and_nothing_listening(tmp_path):
    fw = str(tmp_path / "fw.bin")
    image(fw, 4096)
    r = run_flash("--port", str(tmp_path / "ttyUSB0"), "--firmware", fw)
    assert r.returncode == 1 and "there is no port" in r.stderr, r.stderr
    with mock.mock_bootloader(chip="esp32") as m:
        url = m.url()
    r = run_flash("--port", url, "--firmware", fw)  # the mock is gone
    assert r.returncode == 1 and "nothing answers at" in r.stderr, r.stderr


def test_permission_denied(tmp_path, monkeypatch, capsys):
    fw = str(tmp_path / "fw.bin")
    image(fw, 4096)
    port = tmp_path / "ttyUSB0"
    port.write_bytes(b"")
    monkeypatch.setattr(flash.os, "access", lambda p, m: False)  # the tests may run as root
    from doorstep_tools.cli import build_parser

    args = build_parser().parse_args(["flash", "--port", str(port), "--firmware", fw])
    assert args.func(args) == 1
    err = capsys.readouterr().err
    assert "permission denied on %s" % port in err and "dialout" in err
    # esptool's own wording, should the port refuse only when opened.
    msg = flash._explain("Could not open /dev/ttyUSB0, the port is busy or doesn't exist.\n"
                         "([Errno 13] Permission denied: '/dev/ttyUSB0')", "/dev/ttyUSB0", "esp32")
    assert "permission denied on /dev/ttyUSB0" in msg


def test_bad_firmware_files(tmp_path):
    r = run_flash("--port", "socket://127.0.0.1:1", "--firmware", str(tmp_path / "missing.bin"))
    assert r.returncode == 1 and "no firmware file" in r.stderr
    elf = tmp_path / "firmware.elf"
    elf.write_bytes(b"\x7fELF" + bytes(100))
    r = run_flash("--port", "socket://127.0.0.1:1", "--firmware", str(elf))
    assert r.returncode == 1 and "not an ESP32 firmware image" in r.stderr


def test_a_chip_that_does_not_answer():
    msg = flash._explain("Connecting......\nA fatal error occurred: Failed to connect to ESP32: No serial data received.",
                         "/dev/ttyUSB0", "esp32")
    assert "Hold the BOOT button" in msg
