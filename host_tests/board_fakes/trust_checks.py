"""Checks of the board layer's trust parts: the posture read from the chip (eFuses, partition
flag) and the service button inside the case that replaced '#'/'*' on the outdoor keypad.

Run like board_checks.py (host_tests/test_board_hw.py): CPython and MicroPython, fakes importable.
"""

import esp32
import machine

from doorstep.board import posture, profiles
from doorstep.config import ConfigError

sim = machine.sim
S3 = "Freenove ESP32S3 CAM with ESP32S3"
CLASSIC = "ESP32 module (spiram) with ESP32"


def _fresh():
    sim.reset()
    esp32.Partition.table = [("factory", 0, 0, False), ("vfs", 1, 129, False)]


def _read(name, production=True):
    return posture.read(production, name, machine.mem32, esp32.Partition.find)


def check_posture_esp32s3_efuses():
    _fresh()
    sim.efuse = {0x60007034: 0, 0x60007038: 0}  # a new chip: nothing burnt
    assert _read(S3) == {"hw": "esp32s3", "production": True, "flash_enc": False, "secure_boot": False}
    assert sorted(set(sim.mem_reads)) == [0x60007034, 0x60007038], sim.mem_reads
    sim.efuse = {0x60007034: 1 << 18, 0x60007038: 1 << 20}  # SPI_BOOT_CRYPT_CNT=1, SECURE_BOOT_EN
    p = _read(S3)
    assert p["secure_boot"] is True and p["flash_enc"] is False, p  # key.bin's partition is not encrypted
    esp32.Partition.table = [("vfs", 1, 129, True)]
    assert _read(S3)["flash_enc"] is True
    sim.efuse[0x60007034] = 3 << 18  # two bits: encryption switched off again (even count)
    assert _read(S3)["flash_enc"] is False
    sim.efuse[0x60007034] = 0xFFFFFFFF  # every bit: the counter's three (odd) and its neighbours
    assert _read(S3)["flash_enc"] is True
    esp32.Partition.table = []  # no file system partition to judge by
    assert _read(S3)["flash_enc"] == "unknown"


def check_posture_esp32_efuses():
    _fresh()
    sim.efuse = {0x3FF5A000: 0, 0x3FF5A018: 0}
    assert _read(CLASSIC, False) == {"hw": "esp32", "production": False, "flash_enc": False, "secure_boot": False}
    assert sorted(set(sim.mem_reads)) == [0x3FF5A000, 0x3FF5A018]
    esp32.Partition.table = [("vfs", 1, 129, True)]
    sim.efuse = {0x3FF5A000: 1 << 20, 0x3FF5A018: 1 << 5}  # FLASH_CRYPT_CNT=1, ABS_DONE_1 (v2)
    assert _read(CLASSIC)["flash_enc"] is True and _read(CLASSIC)["secure_boot"] is True
    sim.efuse = {0x3FF5A000: 0x7F << 20, 0x3FF5A018: 1 << 4}  # 7 bits (odd), ABS_DONE_0 (v1)
    assert _read(CLASSIC)["flash_enc"] is True and _read(CLASSIC)["secure_boot"] is True
    sim.efuse = {0x3FF5A000: 0x3F << 20 | 1 << 27, 0x3FF5A018: 0xFFFFFFCF}  # 6 bits; bit 27 is not the counter
    assert _read(CLASSIC) == {"hw": "esp32", "production": True, "flash_enc": False, "secure_boot": False}


def check_posture_never_guesses():
    _fresh()
    unknown = {"flash_enc": "unknown", "secure_boot": "unknown"}
    for name in ("ESP32C3 module with ESP32C3", "something else", None):
        p = _read(name)
        assert p["flash_enc"] == "unknown" and p["secure_boot"] == "unknown" and sim.mem_reads == [], (name, p)
    assert _read("x with ESP32C3")["hw"] == "esp32c3" and _read(None)["hw"] == "unknown"
    p = _read(S3)  # the fake refuses these registers: a port that cannot read them
    assert {k: p[k] for k in unknown} == unknown and p["hw"] == "esp32s3", p
    assert posture.read(True, S3, None, None)["flash_enc"] == "unknown"


def check_board_reports_posture_and_production():
    from doorstep.board import hw as hwmod

    _fresh()
    cfg = {"board": {"profile": "freenove-s3", "pins": {"service": 45}}, "production": True}
    hw = profiles.resolve(cfg["board"])
    board = hwmod.build(cfg, hw, log=lambda m: None)
    board.mcu = S3
    sim.efuse = {0x60007034: 1 << 18, 0x60007038: 1 << 20}
    esp32.Partition.table = [("vfs", 1, 129, True)]
    assert board.posture() == {"hw": "esp32s3", "production": True, "flash_enc": True, "secure_boot": True}
    board = hwmod.build({"board": {"profile": "freenove-s3"}}, profiles.resolve({"profile": "freenove-s3"}), log=lambda m: None)
    board.mcu = S3
    assert board.posture()["production"] is False


def check_production_needs_the_service_button():
    hw = profiles.resolve({"profile": "freenove-s3"})
    try:
        profiles.production({"production": True}, hw)
        raise AssertionError("production without a service button was accepted")
    except ConfigError as e:
        assert "board.pins.service" in str(e), e
    assert profiles.production({"production": False}, hw) is False
    assert profiles.production({"production": True}, profiles.resolve({"profile": "freenove-s3", "pins": {"service": 45}})) is True
    try:  # validated like every pin: GPIO 19 is the native USB
        profiles.resolve({"profile": "freenove-s3", "pins": {"service": 19}})
        raise AssertionError("a reserved pin was accepted")
    except ConfigError as e:
        assert "GPIO 19 (board.pins.service) is reserved" in str(e), e


class _Flash:
    """A tiny storage for boot(): config.json given, the rest kept in a dict."""

    def __init__(self, cfg):
        self.files = {"config.json": cfg, "boot.json": {"boot": 4, "clean": True}}

    def read_json(self, rel, default=None):
        return self.files.get(rel, default)

    def write_json(self, rel, obj):
        self.files[rel] = obj

    def exists(self, rel):
        return rel in self.files


def _boot(cfg, hold_ms=None):
    """startup.boot() with the service button (GPIO 45) held for hold_ms of boot.py's sleeps."""
    from doorstep.board import startup

    _fresh()
    st = _Flash(cfg)
    slept = [0]

    def sleep_ms(ms):
        slept[0] += ms
        if hold_ms is not None and slept[0] >= hold_ms:
            sim.levels.pop(("gpio", 45), None)  # let go

    if hold_ms is not None:
        sim.levels[("gpio", 45)] = 0
    locks, intr, said = [], [], []
    startup._say = said.append
    try:
        mode = startup.boot(st, None, lambda: locks.append(1), sleep_ms, intr.append)
    finally:
        startup._say = print
        startup.state["mode"] = None
    return mode, st, locks, intr, said, slept[0]


def check_service_button_chooses_the_start():
    cfg = {"board": {"profile": "freenove-s3", "pins": {"service": 45}}, "production": True}
    mode, st, locks, intr, said, slept = _boot(cfg)
    assert mode == "run" and locks == [1] and intr == [False] and "service.json" not in st.files, (mode, locks, intr)
    assert slept < 100  # nothing held: boot.py does not wait
    assert "service button" in said[-1], said
    mode, st, locks, intr, said, slept = _boot(cfg, hold_ms=300)
    assert mode == "service" and locks == [] and intr == [False, True], (mode, locks, intr)
    assert st.files["service.json"] == {"mode": "service", "boot": 5, "starts": 1}, st.files
    mode, st, locks, intr, said, slept = _boot(cfg, hold_ms=60000)
    assert mode == "safe" and locks == [] and st.files["service.json"]["mode"] == "safe", st.files
    assert 5000 <= slept < 5300, slept
    assert "SAFE MODE" in said[-1], said


def check_keypad_keys_no_longer_open_the_console():
    from doorstep.board import hw as hwmod
    from doorstep.board import startup

    _fresh()
    hw = profiles.resolve({"profile": "freenove-s3", "pins": {"service": 45}})
    keypad = hwmod.make_keypad(hw)
    for ch in ("#", "*"):  # held at power-on, on the outdoor keypad
        for r, row in enumerate(("123", "456", "789", "*0#")):
            c = row.find(ch)
            if c >= 0:
                sim.press(("gpio", hw["rows"][r]), ("gpio", hw["cols"][c]))
        locks = []
        st = _Flash({"board": {"profile": "freenove-s3", "pins": {"service": 45}}, "production": True})
        startup._say = lambda m: None
        try:
            assert startup.boot(st, keypad, lambda: locks.append(1), lambda ms: None, lambda on: None) == "run"
        finally:
            startup._say = print
            startup.state["mode"] = None
        assert locks == [1] and "service.json" not in st.files
        sim.release_all()


def check_production_without_a_service_button_is_refused_at_boot():
    mode, st, locks, intr, said, _ = _boot({"board": {"profile": "freenove-s3"}, "production": True})
    assert mode == "setup" and locks == [] and "board.pins.service" in said[-1], said
