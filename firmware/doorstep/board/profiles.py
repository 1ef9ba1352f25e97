"""Board profiles and the pin check made at boot (and by the host tool before deploying).

config.json names a profile and may override its pins::

    "board": {"profile": "freenove-s3", "pins": {"bell": 39, "mic_sck": null}}

resolve() merges the overrides over the profile and refuses, with a message naming the
pin, anything that would misbehave on the real board: a GPIO used twice, one the camera,
PSRAM, flash or console already owns, an input-only pin used as an output or with a
pull-up, a GPIO the chip does not have. Pure logic: no hardware is touched here.
"""

from doorstep.config import ConfigError

# GPIOs each chip has, and the ESP32's input-only ones (no output, no internal pull-up).
_GPIOS = {
    "esp32": tuple(range(0, 20)) + (21, 22, 23, 25, 26, 27) + tuple(range(32, 40)),
    "esp32s3": tuple(range(0, 22)) + tuple(range(26, 49)),
}
_INPUT_ONLY = {"esp32": (34, 35, 36, 37, 38, 39), "esp32s3": ()}

# Roles that drive the pin or need the internal pull-up (so not input-only pins).
_NEEDS_OUTPUT = ("sda", "scl", "oled_sda", "oled_scl", "led", "buzzer", "mic_sck", "mic_ws")
_NEEDS_PULLUP = ("bell", "intercom", "service")
_SINGLE = ("sda", "scl", "oled_sda", "oled_scl", "bell", "intercom", "led", "buzzer", "service", "mic_sck", "mic_ws", "mic_sd", "pir")
# Pins the chip reads at reset to choose how it boots: a PIR output (driven high while it
# sees movement, and often during its warm-up) must not sit on one.
_STRAPPING = {"esp32": (0, 2, 5, 12, 15), "esp32s3": (0, 3, 45, 46)}
_PIN_KEYS = _SINGLE + ("rows", "cols")



def _reserved(flash, others):
    d = {n: "the SPI flash" for n in flash}
    d.update(others)
    return d


def _bool(v):
    return v is True or v is False


PROFILES = {
    # AI-Thinker ESP32-CAM: only a handful of free GPIOs, so the keypad sits on a PCF8574.
    "ai-thinker": {
        "title": "AI-Thinker ESP32-CAM + PCF8574 keypad backpack",
        "chip": "esp32",
        "keypad": "pcf8574",
        "pins": {
            "sda": 14, "scl": 15, "bell": 13, "led": 12, "buzzer": 2,
            "intercom": "pcf7",  # the expander's spare 8th pin (3x4 keypad only)
            "service": None, "mic_sck": None, "mic_ws": None, "mic_sd": None,
            "rows": None, "cols": None, "oled_sda": None, "oled_scl": None, "pir": None,
        },
        "camera": {"pwdn": 32, "reset": -1, "xclk": 0, "sda": 26, "scl": 27,
                   "data": (5, 18, 19, 21, 36, 39, 34, 35), "vsync": 25, "href": 23, "pclk": 22},
        "reserved": _reserved(range(6, 12), {
            1: "the serial console (UART0 TX)", 3: "the serial console (UART0 RX)",
            4: "the white flash LED", 16: "the PSRAM", 17: "the PSRAM",
        }),
    },
    # Freenove ESP32-S3-WROOM CAM (FNK0085, N8R8): enough GPIOs for a direct 3x4 matrix.
    "freenove-s3": {
        "title": "Freenove ESP32-S3-WROOM CAM + direct 3x4 matrix",
        "chip": "esp32s3",
        "keypad": "matrix",
        "pins": {
            "rows": (1, 14, 21, 47), "cols": (41, 42, 40),
            "bell": 39, "intercom": 38, "led": 2, "buzzer": 3,
            "service": None, "mic_sck": None, "mic_ws": None, "mic_sd": None,
            "sda": None, "scl": None, "oled_sda": None, "oled_scl": None, "pir": None,
        },
        "camera": {"pwdn": -1, "reset": -1, "xclk": 15, "sda": 4, "scl": 5,
                   "data": (11, 9, 8, 10, 12, 18, 17, 16), "vsync": 6, "href": 7, "pclk": 13},
        "reserved": _reserved(range(26, 33), {
            19: "native USB (D-)", 20: "native USB (D+)",
            43: "the serial console (UART0 TX)", 44: "the serial console (UART0 RX)",
            35: "the octal PSRAM", 36: "the octal PSRAM", 37: "the octal PSRAM",
        }),
    },
}

FRAME_SIZES = ("QVGA", "CIF", "VGA", "SVGA", "XGA", "HD")
_OPTIONS = {
    # key: (default, check, what to say)
    "keypad": (None, lambda v: v in ("matrix", "pcf8574"), "matrix or pcf8574"),
    "pcf_addr": (0x20, lambda v: _int(v) and (0x20 <= v <= 0x27 or 0x38 <= v <= 0x3F),
                 "an I2C address 0x20-0x27 (PCF8574) or 0x38-0x3F (PCF8574A)"),
    "pcf_rows": ((0, 1, 2, 3), None, None),
    "pcf_cols": (None, None, None),
    "i2c_hz": (100000, lambda v: _int(v) and 10000 <= v <= 400000, "a whole number from 10000 to 400000"),
    "led_active_low": (False, _bool, "true or false"),
    "intercom_active_low": (True, _bool, "true or false"),
    "buzzer_type": ("pwm", lambda v: v in ("pwm", "gpio"), "pwm (passive piezo) or gpio (active buzzer)"),
    "frame_size": ("VGA", lambda v: v in FRAME_SIZES, "one of " + ", ".join(FRAME_SIZES)),
    "thumb_size": ("QVGA", lambda v: v in ("QQVGA",) + FRAME_SIZES, "QQVGA or one of " + ", ".join(FRAME_SIZES)),
    "jpeg_quality": (80, lambda v: _int(v) and 10 <= v <= 100, "a whole number from 10 to 100"),
    "watchdog_s": (60, lambda v: _int(v) and 10 <= v <= 600, "a whole number from 10 to 600"),
    "service_min": (30, lambda v: _int(v) and 1 <= v <= 240, "a whole number from 1 to 240"),
    "camera": (None, None, None),
    # the door display (board/display.py): on the PCF8574's bus, or on pins oled_sda/oled_scl
    "display": (None, lambda v: v is None or v == "ssd1306", "\"ssd1306\" (a 128x64 I2C OLED) or null"),
    "display_addr": (0x3C, lambda v: v in (0x3C, 0x3D), "0x3C (60) or 0x3D (61), the SSD1306's I2C addresses"),
    "pir_warmup_s": (60, lambda v: _int(v) and 1 <= v <= 120, "a whole number of seconds from 1 to 120"),
}


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _layout_size(layout):
    return (4, 4) if layout == "4x4" else (4, 3)


def resolve(board, layout="3x4"):
    """The board's pins and options as one flat dict, or ConfigError naming what is wrong.

    board is config["board"]; layout is config["layout"] ("3x4" or "4x4").
    """
    if not isinstance(board, dict):
        raise ConfigError("board must be an object naming a profile, e.g. {\"profile\": \"ai-thinker\"}"
                          " (profiles: %s)" % ", ".join(sorted(PROFILES)))
    name = board.get("profile")
    prof = PROFILES.get(name) if isinstance(name, str) else None
    if prof is None:
        raise ConfigError("board.profile must be one of %s, not %r" % (", ".join(sorted(PROFILES)), name))
    for k in board:
        if k not in _OPTIONS and k not in ("profile", "pins"):
            raise ConfigError("board.%s is not a setting Doorstep knows" % k)
    hw = {"profile": name, "chip": prof["chip"], "title": prof["title"]}
    for k in _OPTIONS:
        default, ok, say = _OPTIONS[k]
        v = board.get(k, default)
        if k in board and ok is not None and not ok(v):
            raise ConfigError("board.%s must be %s, not %r" % (k, say, v))
        hw[k] = v
    if hw["keypad"] is None:
        hw["keypad"] = prof["keypad"]
    nrows, ncols = _layout_size(layout)

    pins = dict(prof["pins"])
    overrides = board.get("pins", {})
    if not isinstance(overrides, dict):
        raise ConfigError("board.pins must be an object of pin names and GPIO numbers")
    for k, v in overrides.items():
        if k not in _PIN_KEYS:
            raise ConfigError("board.pins.%s is not a pin Doorstep uses (pins: %s)" % (k, ", ".join(_PIN_KEYS)))
        pins[k] = v
    # The expander's spare pin only exists with a 3x4 keypad; a profile default gives way.
    if pins["intercom"] == "pcf7" and "intercom" not in overrides and (hw["keypad"] != "pcf8574" or ncols == 4):
        pins["intercom"] = None

    cam = prof["camera"] if hw["camera"] is None else _camera(hw["camera"])
    hw["camera"] = cam
    chip = prof["chip"]
    used = {}  # type: dict  # gpio -> role, to spot a pin used twice

    def claim(n, role):
        if n in used:
            raise ConfigError("GPIO %d is used twice: by %s and by %s" % (n, used[n], role))
        used[n] = role

    reserved = prof["reserved"]
    cam_pins = [(r, cam[r]) for r in ("pwdn", "reset", "xclk", "sda", "scl", "vsync", "href", "pclk")]
    cam_pins += [("D%d" % i, n) for i, n in enumerate(cam["data"])]
    for role, n in cam_pins:
        if n == -1 and role in ("pwdn", "reset"):
            continue
        _gpio(n, chip, "camera " + role)
        if n in reserved:
            raise ConfigError("GPIO %d (board.camera.%s) is reserved for %s on this board" % (n, role, reserved[n]))
        claim(n, "the camera (%s)" % role)

    def check(n, role):
        if not _int(n):
            raise ConfigError("board.pins.%s must be a GPIO number, not %r" % (role, n))
        _gpio(n, chip, role)
        if n in reserved:
            raise ConfigError("GPIO %d (board.pins.%s) is reserved for %s on this board: pick another pin"
                              % (n, role, reserved[n]))
        base = role.split("[")[0]
        if n in _INPUT_ONLY[chip] and (base in _NEEDS_OUTPUT or base in _NEEDS_PULLUP or base in ("rows", "cols")):
            raise ConfigError("GPIO %d (board.pins.%s) is input-only and has no pull-up on the %s: pick another pin"
                              % (n, role, chip.upper()))
        claim(n, "board.pins." + role)

    if hw["keypad"] == "matrix":
        for key, want in (("rows", nrows), ("cols", ncols)):
            lst = pins[key]
            if not isinstance(lst, (list, tuple)) or len(lst) != want:
                raise ConfigError("board.pins.%s must list %d GPIOs for a %s keypad, not %r" % (key, want, layout, lst))
            for i, n in enumerate(lst):
                check(n, "%s[%d]" % (key, i))
        pins["sda"] = pins["scl"] = None
    else:
        pins["rows"] = pins["cols"] = None
        for key in ("sda", "scl"):
            if pins[key] is None:
                raise ConfigError("board.pins.%s is needed for the PCF8574 keypad" % key)
        rows, cols = hw["pcf_rows"], hw["pcf_cols"]
        if cols is None:
            cols = (4, 5, 6, 7)[:ncols]
        for key, lst, want in (("pcf_rows", rows, nrows), ("pcf_cols", cols, ncols)):
            if not isinstance(lst, (list, tuple)) or len(lst) != want or not all(_int(p) and 0 <= p <= 7 for p in lst):
                raise ConfigError("board.%s must list %d PCF8574 pins (0-7) for a %s keypad, not %r" % (key, want, layout, lst))
        p = tuple(rows) + tuple(cols)
        if pins["intercom"] == "pcf7":
            p += (7,)
        for i in p:
            if p.count(i) > 1:
                raise ConfigError("PCF8574 pin P%d is used twice (board.pcf_rows, board.pcf_cols, intercom \"pcf7\")" % i)
        hw["pcf_rows"], hw["pcf_cols"] = tuple(rows), tuple(cols)
    for role in _SINGLE:
        n = pins[role]
        if n is None or (role == "intercom" and n == "pcf7" and hw["keypad"] == "pcf8574"):
            continue
        if role == "mic_sd" and _int(n) and n in _INPUT_ONLY[chip]:
            _gpio(n, chip, role)
            if n in reserved:
                raise ConfigError("GPIO %d (board.pins.mic_sd) is reserved for %s on this board" % (n, reserved[n]))
            claim(n, "board.pins.mic_sd")
            continue
        if role == "pir" and n in _STRAPPING[chip]:
            raise ConfigError("GPIO %r (board.pins.pir) is a strapping pin of the %s: a motion sensor that is high at"
                              " power-on could stop the chip from booting; pick another pin" % (n, chip.upper()))
        check(n, role)
    mic = (pins["mic_sck"], pins["mic_ws"], pins["mic_sd"])
    if any(m is not None for m in mic) and not all(m is not None for m in mic):
        raise ConfigError("an I2S microphone needs all of board.pins.mic_sck, mic_ws and mic_sd")
    hw["mic"] = mic if mic[0] is not None else None
    oled = (pins["oled_sda"], pins["oled_scl"])
    if hw["display"] is None and oled != (None, None):
        raise ConfigError("board.pins.oled_sda/oled_scl are set but board.display is not: add \"display\": \"ssd1306\"")
    if hw["display"] is not None and None in oled and (oled != (None, None) or hw["keypad"] != "pcf8574"):
        raise ConfigError("board.display needs both board.pins.oled_sda and oled_scl (only a PCF8574 keypad's I2C bus can be shared)")
    for k in _PIN_KEYS:
        v = pins[k]
        hw[k] = tuple(v) if isinstance(v, list) else v
    hw["layout"] = "4x4" if layout == "4x4" else "3x4"
    return hw


def _gpio(n, chip, role):
    if not _int(n) or n not in _GPIOS[chip]:
        raise ConfigError("%s: GPIO %r does not exist on the %s" % (role, n, chip.upper()))


def _camera(c):
    keys = ("pwdn", "reset", "xclk", "sda", "scl", "data", "vsync", "href", "pclk")
    if not isinstance(c, dict) or set(c) != set(keys):
        raise ConfigError("board.camera must give all of %s" % ", ".join(keys))
    d = c["data"]
    if not isinstance(d, (list, tuple)) or len(d) != 8:
        raise ConfigError("board.camera.data must list the 8 data GPIOs D0..D7")
    out = dict(c)
    out["data"] = tuple(d)
    return out


def production(cfg, hw=None):
    """The `production` flag of config.json (default false); anything but true/false is refused.

    hw: the resolved board. Production locks the console, so it needs the service button inside
    the case (board.pins.service), the only way back to the console short of erasing the chip."""
    v = cfg.get("production", False) if isinstance(cfg, dict) else False
    if not _bool(v):
        raise ConfigError("production must be true or false, not %r" % (v,))
    if v is True and hw is not None and hw.get("service") is None:
        raise ConfigError("production needs a service button inside the case: set board.pins.service to its GPIO"
                          " (docs/hardware.md); without one the console could only be reached again by erasing the chip,"
                          " which loses the key")
    return v is True


def wifi(cfg):
    """(ssid, password) from config["wifi"], None when Wi-Fi is not configured.

    There is no default network and no default password: both must be given."""
    w = cfg.get("wifi") if isinstance(cfg, dict) else None
    if w is None:
        return None
    if not isinstance(w, dict):
        raise ConfigError("wifi must be an object with ssid and password")
    ssid, pw = w.get("ssid"), w.get("password")
    if not isinstance(ssid, str) or not ssid:
        raise ConfigError("wifi.ssid must name your network")
    if not isinstance(pw, str) or len(pw) < 8:
        raise ConfigError("wifi.password must be your network's WPA password (8 characters or more);"
                          " Doorstep does not join open networks")
    return ssid, pw


def ntp_host(cfg):
    """config["ntp_host"]: the NTP server (default: ntptime's own, pool.ntp.org)."""
    h = cfg.get("ntp_host") if isinstance(cfg, dict) else None
    if h is not None and (not isinstance(h, str) or not h or " " in h):
        raise ConfigError("ntp_host must be a server name such as pool.ntp.org, not %r" % (h,))
    return h
