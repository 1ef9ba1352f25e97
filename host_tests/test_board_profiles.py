"""The pin check made at boot: board profiles, overrides, and the messages that refuse them.

Pure logic (firmware/doorstep/board/profiles.py imports no hardware), so it runs here
directly; the host tool can run the same check before deploying.
"""

import pytest

from doorstep.board import profiles
from doorstep.config import ConfigError


def refused(board, layout="3x4"):
    with pytest.raises(ConfigError) as e:
        profiles.resolve(board, layout)
    return str(e.value)


def all_gpios(hw):
    pins = [hw[k] for k in ("sda", "scl", "bell", "intercom", "led", "buzzer", "service") if isinstance(hw[k], int)]
    pins += list(hw["rows"] or ()) + list(hw["cols"] or ()) + list(hw["mic"] or ())
    cam = hw["camera"]
    pins += [cam[k] for k in ("pwdn", "reset", "xclk", "sda", "scl", "vsync", "href", "pclk") if cam[k] != -1]
    return pins + list(cam["data"])


@pytest.mark.parametrize("name", sorted(profiles.PROFILES))
def test_profiles_are_consistent(name):
    hw = profiles.resolve({"profile": name})
    pins = all_gpios(hw)
    assert len(pins) == len(set(pins)), "a profile uses a GPIO twice"
    reserved = profiles.PROFILES[name]["reserved"]
    assert not set(pins) & set(reserved)
    assert hw["watchdog_s"] == 60 and hw["buzzer_type"] == "pwm" and hw["frame_size"] == "VGA"


def test_ai_thinker_uses_the_expander():
    hw = profiles.resolve({"profile": "ai-thinker"})
    assert hw["keypad"] == "pcf8574" and hw["chip"] == "esp32"
    assert (hw["sda"], hw["scl"], hw["pcf_addr"]) == (14, 15, 0x20)
    assert hw["pcf_rows"] == (0, 1, 2, 3) and hw["pcf_cols"] == (4, 5, 6)
    assert hw["intercom"] == "pcf7" and hw["mic"] is None
    assert hw["camera"]["xclk"] == 0 and hw["camera"]["pwdn"] == 32


def test_ai_thinker_4x4_gives_the_spare_pin_to_the_keypad():
    hw = profiles.resolve({"profile": "ai-thinker"}, "4x4")
    assert hw["pcf_cols"] == (4, 5, 6, 7) and hw["intercom"] is None
    msg = refused({"profile": "ai-thinker", "pins": {"intercom": "pcf7"}}, "4x4")
    assert "P7" in msg and "twice" in msg


def test_freenove_direct_matrix():
    hw = profiles.resolve({"profile": "freenove-s3"})
    assert hw["keypad"] == "matrix" and hw["chip"] == "esp32s3"
    assert hw["rows"] == (1, 14, 21, 47) and hw["cols"] == (41, 42, 40)
    assert hw["sda"] is None and hw["intercom"] == 38


def test_overrides_apply():
    hw = profiles.resolve({"profile": "freenove-s3", "pins": {"bell": 45, "mic_sck": 46, "mic_ws": 48, "mic_sd": 0},
                           "led_active_low": True, "watchdog_s": 120})
    assert hw["bell"] == 45 and hw["mic"] == (46, 48, 0) and hw["led_active_low"] is True and hw["watchdog_s"] == 120
    hw = profiles.resolve({"profile": "ai-thinker", "pins": {"intercom": None, "buzzer": None}})
    assert hw["intercom"] is None and hw["buzzer"] is None


@pytest.mark.parametrize("board, layout, words", [
    # a pin used twice names the GPIO and both users
    ({"profile": "freenove-s3", "pins": {"bell": 21}}, "3x4", ["GPIO 21 is used twice", "rows[2]", "bell"]),
    ({"profile": "ai-thinker", "pins": {"led": 14}}, "3x4", ["GPIO 14 is used twice", "sda", "led"]),
    # a camera pin
    ({"profile": "ai-thinker", "pins": {"bell": 26}}, "3x4", ["GPIO 26 is used twice", "camera (sda)", "bell"]),
    ({"profile": "freenove-s3", "pins": {"led": 13}}, "3x4", ["GPIO 13", "camera (pclk)"]),
    ({"profile": "ai-thinker", "pins": {"buzzer": 0}}, "3x4", ["GPIO 0", "camera (xclk)"]),
    # PSRAM, flash, console, USB
    ({"profile": "ai-thinker", "pins": {"bell": 16}}, "3x4", ["GPIO 16", "reserved", "PSRAM"]),
    ({"profile": "ai-thinker", "pins": {"led": 7}}, "3x4", ["GPIO 7", "SPI flash"]),
    ({"profile": "ai-thinker", "pins": {"bell": 1}}, "3x4", ["GPIO 1", "serial console"]),
    ({"profile": "freenove-s3", "pins": {"bell": 36}}, "3x4", ["GPIO 36", "octal PSRAM"]),
    ({"profile": "freenove-s3", "pins": {"cols": [41, 42, 20]}}, "3x4", ["GPIO 20", "cols[2]", "USB"]),
    ({"profile": "freenove-s3", "pins": {"buzzer": 30}}, "3x4", ["GPIO 30", "SPI flash"]),
    # pins the chip does not have, input-only pins used for output or pull-up
    ({"profile": "ai-thinker", "pins": {"bell": 24}}, "3x4", ["GPIO 24", "does not exist", "ESP32"]),
    ({"profile": "freenove-s3", "pins": {"bell": 23}}, "3x4", ["GPIO 23", "does not exist", "ESP32S3"]),
    ({"profile": "ai-thinker", "pins": {"intercom": 33, "led": 33}}, "3x4", ["GPIO 33 is used twice"]),
    ({"profile": "ai-thinker", "pins": {"sda": 35}}, "3x4", ["GPIO 35", "input-only"]),
    ({"profile": "ai-thinker", "camera": {"pwdn": 32, "reset": -1, "xclk": 0, "sda": 26, "scl": 27,
                                          "data": [5, 18, 19, 21, 36, 39, 25, 35], "vsync": 4, "href": 23,
                                          "pclk": 22}}, "3x4", ["GPIO 4", "camera.vsync", "reserved", "flash LED"]),
])
def test_bad_pins_are_refused_by_name(board, layout, words):
    msg = refused(board, layout)
    for w in words:
        assert w in msg, msg


def test_input_only_pins():
    # GPIO 34-39 on the ESP32 have no output and no pull-up; free 34 and 35 from the camera.
    cam = {"pwdn": 32, "reset": -1, "xclk": 0, "sda": 26, "scl": 27, "data": [5, 18, 19, 21, 36, 39, 12, 2],
           "vsync": 25, "href": 23, "pclk": 22}
    base = {"profile": "ai-thinker", "camera": cam}
    msg = refused(dict(base, pins={"bell": 34, "led": None, "buzzer": None}))
    assert "GPIO 34" in msg and "input-only" in msg
    msg = refused(dict(base, pins={"led": 35, "buzzer": None}))
    assert "GPIO 35" in msg and "input-only" in msg
    # ...but an I2S data input may use one
    hw = profiles.resolve(dict(base, pins={"mic_sck": 13, "mic_ws": 33, "mic_sd": 34, "led": None,
                                           "buzzer": None, "bell": None}))
    assert hw["mic"] == (13, 33, 34)


@pytest.mark.parametrize("board, layout, words", [
    (None, "3x4", ["board must be an object", "ai-thinker", "freenove-s3"]),
    ({"profile": "esp32-cam"}, "3x4", ["board.profile must be one of", "esp32-cam"]),
    ({}, "3x4", ["board.profile"]),
    ({"profile": "ai-thinker", "pins": {"doorbell": 13}}, "3x4", ["board.pins.doorbell"]),
    ({"profile": "ai-thinker", "pins": [13]}, "3x4", ["board.pins must be an object"]),
    ({"profile": "ai-thinker", "colour": "red"}, "3x4", ["board.colour"]),
    ({"profile": "ai-thinker", "pins": {"bell": "13"}}, "3x4", ["board.pins.bell", "'13'"]),
    ({"profile": "ai-thinker", "pins": {"bell": True}}, "3x4", ["board.pins.bell"]),
    ({"profile": "freenove-s3"}, "4x4", ["board.pins.cols must list 4 GPIOs", "4x4"]),
    ({"profile": "freenove-s3", "pins": {"rows": [1, 14, 21]}}, "3x4", ["board.pins.rows must list 4"]),
    ({"profile": "ai-thinker", "pcf_addr": 0x50}, "3x4", ["board.pcf_addr"]),
    ({"profile": "ai-thinker", "pcf_cols": [4, 5, 9]}, "3x4", ["board.pcf_cols"]),
    ({"profile": "ai-thinker", "pcf_cols": [3, 4, 5]}, "3x4", ["P3 is used twice"]),
    ({"profile": "ai-thinker", "keypad": "matrix"}, "3x4", ["board.pins.rows"]),
    ({"profile": "freenove-s3", "keypad": "pcf8574"}, "3x4", ["board.pins.sda is needed"]),
    ({"profile": "freenove-s3", "pins": {"mic_sck": 45}}, "3x4", ["mic_sck, mic_ws and mic_sd"]),
    ({"profile": "ai-thinker", "watchdog_s": 5}, "3x4", ["board.watchdog_s", "10 to 600"]),
    ({"profile": "ai-thinker", "frame_size": "UXGA"}, "3x4", ["board.frame_size", "VGA"]),
    ({"profile": "ai-thinker", "led_active_low": 1}, "3x4", ["board.led_active_low", "true or false"]),
    ({"profile": "ai-thinker", "buzzer_type": "piezo"}, "3x4", ["board.buzzer_type"]),
    ({"profile": "ai-thinker", "camera": {"xclk": 0}}, "3x4", ["board.camera must give all of"]),
])
def test_bad_settings_are_refused_by_name(board, layout, words):
    msg = refused(board, layout)
    for w in words:
        assert w in msg, msg


def test_production_flag_and_ntp_host():
    assert profiles.production({}) is False
    assert profiles.production({"production": True}) is True
    for bad in ("yes", 1, None):
        with pytest.raises(ConfigError, match="production must be true or false"):
            profiles.production({"production": bad})
    assert profiles.ntp_host({}) is None and profiles.ntp_host({"ntp_host": "ntp.example.org"}) == "ntp.example.org"
    with pytest.raises(ConfigError, match="ntp_host"):
        profiles.ntp_host({"ntp_host": ""})


def test_profile_check_imports_no_hardware():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(profiles))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert names <= {"doorstep.config"}, names


def test_a_display_shares_the_expanders_bus_or_has_its_own_pins():
    hw = profiles.resolve({"profile": "ai-thinker", "display": "ssd1306"})
    assert (hw["display"], hw["display_addr"], hw["oled_sda"], hw["oled_scl"]) == ("ssd1306", 0x3C, None, None)
    hw = profiles.resolve({"profile": "freenove-s3", "display": "ssd1306", "display_addr": 0x3D,
                           "pins": {"oled_sda": 45, "oled_scl": 48}})
    assert (hw["display_addr"], hw["oled_sda"], hw["oled_scl"]) == (0x3D, 45, 48)
    assert profiles.resolve({"profile": "freenove-s3"})["display"] is None


@pytest.mark.parametrize("board, words", [
    ({"profile": "freenove-s3", "display": "ssd1306"}, ["needs both board.pins.oled_sda and oled_scl"]),
    ({"profile": "freenove-s3", "display": "ssd1306", "pins": {"oled_sda": 45}}, ["needs both"]),
    ({"profile": "freenove-s3", "pins": {"oled_sda": 45, "oled_scl": 48}}, ["board.display is not"]),
    ({"profile": "freenove-s3", "display": "ssd1306", "pins": {"oled_sda": 45, "oled_scl": 39}},
     ["GPIO 39 is used twice", "bell", "oled_scl"]),
    ({"profile": "freenove-s3", "display": "ssd1306", "pins": {"oled_sda": 45, "oled_scl": 35}}, ["GPIO 35", "reserved", "PSRAM"]),
    ({"profile": "ai-thinker", "display": "ssd1306", "pins": {"oled_sda": 36, "oled_scl": 33}}, ["input-only"]),
    ({"profile": "ai-thinker", "display": "sh1106"}, ["board.display must be", "ssd1306"]),
    ({"profile": "ai-thinker", "display": "ssd1306", "display_addr": 0x20}, ["board.display_addr must be", "0x3C"]),
])
def test_bad_display_settings_are_refused(board, words):
    msg = refused(board)
    for w in words:
        assert w in msg, msg


def test_pir_pin():
    hw = profiles.resolve({"profile": "freenove-s3", "pins": {"pir": 48}, "pir_warmup_s": 30})
    assert hw["pir"] == 48 and hw["pir_warmup_s"] == 30
    assert profiles.resolve({"profile": "freenove-s3"})["pir"] is None  # not fitted unless configured
    assert profiles.resolve({"profile": "ai-thinker"})["pir_warmup_s"] == 60
    # an input-only pin suits it (active high: it needs no pull-up)
    cam = {"pwdn": 32, "reset": -1, "xclk": 0, "sda": 26, "scl": 27, "data": [5, 18, 19, 21, 36, 39, 12, 2],
           "vsync": 25, "href": 23, "pclk": 22}
    hw = profiles.resolve({"profile": "ai-thinker", "camera": cam, "pins": {"pir": 34, "led": None, "buzzer": None}})
    assert hw["pir"] == 34


@pytest.mark.parametrize("board, words", [
    ({"profile": "freenove-s3", "pins": {"pir": 45}}, ["GPIO 45", "board.pins.pir", "strapping", "ESP32S3"]),
    ({"profile": "freenove-s3", "pins": {"pir": 46}}, ["GPIO 46", "strapping"]),
    ({"profile": "ai-thinker", "pins": {"pir": 15}}, ["GPIO 15", "strapping", "ESP32"]),
    ({"profile": "freenove-s3", "pins": {"pir": 39}}, ["GPIO 39 is used twice", "bell", "pir"]),
    ({"profile": "freenove-s3", "pins": {"pir": 6}}, ["GPIO 6 is used twice", "camera (vsync)"]),
    ({"profile": "freenove-s3", "pins": {"pir": 36}}, ["GPIO 36", "octal PSRAM"]),
    ({"profile": "freenove-s3", "pins": {"pir": 23}}, ["GPIO 23", "does not exist"]),
    ({"profile": "freenove-s3", "pins": {"pir": "48"}}, ["board.pins.pir", "'48'"]),
    ({"profile": "freenove-s3", "pir_warmup_s": 0}, ["board.pir_warmup_s", "1 to 120"]),
])
def test_bad_pir_settings_are_refused_by_name(board, words):
    msg = refused(board)
    for w in words:
        assert w in msg, msg
