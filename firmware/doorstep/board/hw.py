"""The ESP32 board that doorstep.app drives, and build(): configuration -> hardware objects.

build() is the one place where pin numbers become machine.Pin/I2C/PWM/I2S objects; every
other module here takes them ready-made. The Board keeps the door loop's promises: each
call returns at once, a driver error never escapes into the loop (a failed keypad read is
a skipped scan), and slow work (Wi-Fi, NTP, LED/buzzer patterns, camera warm-up) runs as
asyncio tasks from tasks().
"""

import gc
import os

import esp32
import machine
import network

from doorstep.board import cam, clock, feedback, inputs, matrix, mic, net, pir, posture, profiles

_CAUSES = (
    ("PWRON_RESET", "power_on"),
    ("HARD_RESET", "hard_reset"),
    ("WDT_RESET", "watchdog"),
    ("DEEPSLEEP_RESET", "deepsleep"),
    ("SOFT_RESET", "soft_reset"),
)


def reset_cause():
    """machine.reset_cause() as a word for the boot record."""
    c = machine.reset_cause()
    for const, word in _CAUSES:
        if c == getattr(machine, const, None):
            return word
    return "unknown_%s" % c


class Board:
    """What doorstep.app calls; see its module docstring for the contract."""

    def __init__(self, keypad, clock, camera, feedback, bell=None, intercom=None, mic=None):
        self.keypad = keypad  # a matrix backend: read() -> bitmask
        self.clock = clock
        self.camera = camera
        self.fb = feedback
        self._bell = bell  # inputs.PressOnce or None
        self._intercom = intercom  # inputs.Debounced or None
        self.mic = mic
        self.audio = mic.read if mic is not None else None  # no microphone: no DTMF detector
        self.display = None  # an ssd1306.SSD1306_I2C when the profile has one (board/display.py)
        self.pir = None  # type: pir.Pir | None  # a PIR motion sensor (doorstep/motion.py polls it)
        self.wdt = None  # type: machine.WDT | None
        self.keypad_errors = 0
        self.wifi = None
        self.ntp = None
        self.keep = []  # objects that must stay alive (see build: the LEDC reservation)
        self.set_time = clock.set  # main.py points this at App.set_time
        self.production = False  # config.json's flag, for the posture
        uname = getattr(os, "uname", None)
        self.mcu = uname().machine if uname else None  # "... with ESP32S3": the chip really running

    # The door loop's calls: each returns at once.
    def read_matrix(self):
        try:
            return self.keypad.read()
        except OSError:  # expander unplugged, bus glitch: this scan did not happen
            self.keypad_errors += 1
            return None

    def bell(self):
        return self._bell is not None and self._bell.pressed(self.clock.ticks_ms())

    def intercom(self):
        return self._intercom is not None and self._intercom.active(self.clock.ticks_ms())

    def feedback(self, name):
        self.fb(name)

    def reset_cause(self):
        return reset_cause()

    def posture(self):
        """Production, flash encryption, secure boot and chip, read now (board/posture.py)."""
        return posture.read(self.production, self.mcu, getattr(machine, "mem32", None), esp32.Partition.find)

    def start_watchdog(self, timeout_ms):
        """From here on the door loop must call feed_watchdog() or the chip resets."""
        self.wdt = machine.WDT(timeout=timeout_ms)

    def feed_watchdog(self):
        if self.wdt is not None:
            self.wdt.feed()

    def hold_watchdog(self, minutes):
        """Keep the watchdog fed from a timer for `minutes` (a console session), then stop:
        the watchdog resets the chip and the door comes back by itself."""
        if self.wdt is None:
            return None
        left = [minutes * 60]

        def tick(timer):
            left[0] -= 1
            if left[0] > 0:
                self.feed_watchdog()
            else:
                timer.deinit()

        t = machine.Timer(0)
        t.init(period=1000, mode=machine.Timer.PERIODIC, callback=tick)
        self.keep.append(t)
        return t

    def tasks(self):
        """Coroutines to run beside the app: feedback patterns, camera warm-up, network."""
        out = [self.fb.run(), self.camera.warm_up()]
        if self.wifi is not None:
            out.append(self.wifi.run())
        if self.ntp is not None:
            out.append(self.ntp.run())
        return out

    def _network_time(self, t, quality):
        self.set_time(t, quality)


def make_keypad(hw):
    """The keypad backend for a resolved profile (also used by boot.py for safe mode)."""
    Pin = machine.Pin
    if hw["keypad"] == "pcf8574":
        # Bit-banged I2C: the camera driver owns a hardware I2C port for its sensor (SCCB),
        # and a PCF8574 needs only a few bytes per scan at 100 kHz.
        i2c = machine.SoftI2C(scl=Pin(hw["scl"]), sda=Pin(hw["sda"]), freq=hw["i2c_hz"])
        return matrix.Pcf8574Matrix(i2c, hw["pcf_addr"], hw["pcf_rows"], hw["pcf_cols"])
    rows = [Pin(n, Pin.OPEN_DRAIN, value=1) for n in hw["rows"]]
    cols = [Pin(n, Pin.IN, Pin.PULL_UP) for n in hw["cols"]]
    return matrix.GpioMatrix(rows, cols)


def _level(pcf, pin):
    return lambda: pcf.level(pin)


def build(cfg, hw=None, keypad=None, log=print):
    """A Board for config.json's contents. Pins are checked first (ConfigError names the
    pin). A camera that does not start is reported, and the door runs without photos."""
    if hw is None:
        hw = profiles.resolve(cfg.get("board"), cfg.get("layout", "3x4"))
    creds = profiles.wifi(cfg)
    profiles.ntp_host(cfg)
    Pin = machine.Pin
    keep = []
    # The camera clocks its sensor from LEDC channel 0 (timer 3), which MicroPython's PWM
    # allocator does not know about: it would hand channel 0 to the buzzer and stop the
    # sensor clock. A PWM on the camera's XCLK pin made first takes channel 0 in the
    # allocator's books; the camera then reprograms it, and the buzzer gets another one.
    buzzer = None  # type: object
    if hw["buzzer"] is not None:
        if hw["buzzer_type"] == "pwm":
            keep.append(machine.PWM(Pin(hw["camera"]["xclk"]), freq=1000, duty_u16=0))
            buzzer = feedback.PwmBuzzer(machine.PWM(Pin(hw["buzzer"]), freq=2000, duty_u16=0))
        else:
            buzzer = feedback.GpioBuzzer(Pin(hw["buzzer"], Pin.OUT, value=0))
    led = feedback.Led(Pin(hw["led"], Pin.OUT), hw["led_active_low"]) if hw["led"] is not None else None
    fb = feedback.Feedback(led, buzzer)

    if keypad is None:
        keypad = make_keypad(hw)
    bell = None
    if hw["bell"] is not None:
        bell = inputs.PressOnce(inputs.Debounced(Pin(hw["bell"], Pin.IN, Pin.PULL_UP).value))
    intercom = None
    if hw["intercom"] == "pcf7":
        intercom = inputs.Debounced(_level(keypad, 7), hw["intercom_active_low"], 50)
    elif hw["intercom"] is not None:
        intercom = inputs.Debounced(Pin(hw["intercom"], Pin.IN, Pin.PULL_UP).value, hw["intercom_active_low"], 50)

    camera = cam.Camera(None, frame_size=hw["frame_size"], thumb_size=hw["thumb_size"])
    try:
        camera.driver = cam.open_driver(hw["camera"], hw["frame_size"], hw["jpeg_quality"])
    except Exception as e:  # noqa: BLE001  -- ImportError (no camera firmware), OSError, ValueError
        log("doorstep: the camera did not start (%s): records will say 'camera: no camera'" % e)
    gc.collect()

    microphone = None
    if hw["mic"] is not None:
        try:
            microphone = mic.Mic(mic.open_i2s(hw["mic"]))
        except (OSError, ValueError) as e:
            log("doorstep: the I2S microphone did not start (%s): no DTMF check on intercom audio" % e)

    board = Board(keypad, clock.RtcClock(machine.RTC()), camera, fb, bell, intercom, microphone)
    if hw["pir"] is not None:  # active high; the pull-down makes a cut wire read "no movement"
        n = hw["pir"]
        p = Pin(n, Pin.IN) if n in profiles._INPUT_ONLY[hw["chip"]] else Pin(n, Pin.IN, Pin.PULL_DOWN)  # input-only: 100k to GND
        board.pir = pir.Pir(p.value, board.clock.ticks_ms(), hw["pir_warmup_s"] * 1000)
    board.keep = keep
    board.production = profiles.production(cfg)
    if hw.get("display") is not None:
        from doorstep.board import display

        try:  # no oled pins: the PCF8574 keypad's bus
            board.display = display.open_display(hw, None if hw["oled_sda"] is not None else getattr(keypad, "i2c", None))
        except Exception as e:  # noqa: BLE001  -- ImportError (ssd1306 not installed), OSError (no answer)
            log("doorstep: the display did not start (%s): verdicts by LED and buzzer only, no handovers" % e)
    if creds is not None:  # no network configured: the radio is never even started
        ap = network.WLAN(network.AP_IF)
        board.wifi = net.Wifi(network.WLAN(network.STA_IF), creds[0], creds[1], ap)
        import ntptime

        try:
            import _thread

            spawn = _thread.start_new_thread
        except ImportError:
            spawn = None
        fetch = net.ntp_fetch(ntptime, board.clock.offset, profiles.ntp_host(cfg))
        board.ntp = net.NtpSync(board.wifi, fetch, board._network_time, spawn)
    return board


def ram():
    """RAM figures for the boot message and docs/hardware.md: Python heap and the largest
    block left in the ESP-IDF heap (where the camera's frame buffers and Wi-Fi live)."""
    gc.collect()
    free, used = gc.mem_free(), gc.mem_alloc()
    largest = 0
    try:
        for region in esp32.idf_heap_info(esp32.HEAP_DATA):
            largest = max(largest, region[2])
    except (AttributeError, OSError):
        pass
    return {"heap_free": free, "heap_used": used, "psram": free + used > 1024 * 1024, "idf_largest": largest}

