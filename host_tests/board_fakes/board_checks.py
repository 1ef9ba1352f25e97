"""Checks of firmware/doorstep/board/ against the fake hardware in this folder.

Each ``check_*`` function (sync or async) runs under CPython and in a fresh MicroPython
VM (host_tests/test_board_hw.py), with the fakes importable as machine, esp32, camera,
network, ntptime and umqtt.simple. Plain asserts, only the Python both runtimes share.
"""

import camera as fake_camera
import machine
import network
import ntptime
import umqtt.simple as broker

from doorstep.board import profiles
from doorstep.keypad import LAYOUT_3X4, LAYOUT_4X4, KeyScanner

sim = machine.sim


def _reset():
    sim.reset()
    network.reset()
    fake_camera.reset()
    ntptime.answer = None
    ntptime.host = "pool.ntp.org"
    broker.reset()


# Keypad wiring helpers: which simulated nodes a key joins.

def _gpio_key(hw, ch, layout=LAYOUT_3X4):
    for r, row in enumerate(layout):
        c = row.find(ch)
        if c >= 0:
            return ("gpio", hw["rows"][r]), ("gpio", hw["cols"][c])
    raise ValueError(ch)


def _pcf_key(hw, ch, layout=LAYOUT_3X4):
    a = hw["pcf_addr"]
    for r, row in enumerate(layout):
        c = row.find(ch)
        if c >= 0:
            return ("pcf", a, hw["pcf_rows"][r]), ("pcf", a, hw["pcf_cols"][c])
    raise ValueError(ch)


def _setup(kind, layout="3x4"):
    """(hw, board-level read_matrix, key wiring) for a profile on the fake hardware."""
    from doorstep.board import hw as hwmod

    _reset()
    if kind == "matrix":
        hw = profiles.resolve({"profile": "freenove-s3"}, layout)
        wire = _gpio_key
    else:
        hw = profiles.resolve({"profile": "ai-thinker"}, layout)
        machine.Pcf8574(hw["pcf_addr"])
        wire = _pcf_key
    keypad = hwmod.make_keypad(hw)
    return hw, keypad, wire


class _Run:
    """Scans every 10 ms of fake time and collects the keys the scanner reports."""

    def __init__(self, read, layout=LAYOUT_3X4):
        self.scanner = KeyScanner(read, layout)
        self.now = 0
        self.keys = ""

    def scan_for(self, ms):
        end = self.now + ms
        while self.now < end:
            k = self.scanner.scan(self.now)
            if k is not None:
                self.keys += k
            self.now += 10


def _every_key_once(kind):
    hw, keypad, wire = _setup(kind)
    run = _Run(keypad.read)
    run.scan_for(100)
    for ch in "123456789*0#":
        sim.press(*wire(hw, ch))
        run.scan_for(120)
        sim.release_all()
        run.scan_for(100)
    assert run.keys == "123456789*0#", run.keys


def check_gpio_matrix_every_key():
    _every_key_once("matrix")


def check_pcf8574_every_key():
    _every_key_once("pcf8574")


def _held_and_chords(kind):
    hw, keypad, wire = _setup(kind)
    run = _Run(keypad.read)
    run.scan_for(100)
    # A key held for two seconds (200 scans) is one key.
    sim.press(*wire(hw, "5"))
    run.scan_for(2000)
    assert run.keys == "5", run.keys
    sim.release_all()
    run.scan_for(100)
    # Two keys at once: nothing, also not when one of them is let go first.
    sim.press(*wire(hw, "1"))
    sim.press(*wire(hw, "9"))
    run.scan_for(300)
    assert run.keys == "5", run.keys
    sim.keys.pop()
    run.scan_for(300)
    assert run.keys == "5", "a key left over from a chord counted: %r" % run.keys
    sim.release_all()
    run.scan_for(100)
    # Three corners of a rectangle (1, 2, 4) read as four keys (ghosting): nothing.
    for ch in "124":
        sim.press(*wire(hw, ch))
    reading = keypad.read()
    assert bin(reading).count("1") == 4, bin(reading)
    run.scan_for(300)
    assert run.keys == "5", run.keys
    sim.release_all()
    run.scan_for(100)
    # And the keypad still works afterwards.
    sim.press(*wire(hw, "0"))
    run.scan_for(100)
    sim.release_all()
    run.scan_for(100)
    assert run.keys == "50", run.keys


def check_gpio_matrix_held_key_and_two_keys():
    _held_and_chords("matrix")


def check_pcf8574_held_key_and_two_keys():
    _held_and_chords("pcf8574")


def check_gpio_matrix_drives_rows_open_drain():
    hw, keypad, wire = _setup("matrix")
    for n in hw["rows"]:
        assert sim.pins[n].mode == machine.Pin.OPEN_DRAIN and sim.pins[n].out == 1
    for n in hw["cols"]:
        assert sim.pins[n].mode == machine.Pin.IN and sim.pins[n].pull == machine.Pin.PULL_UP
    sim.press(*wire(hw, "#"))
    assert keypad.read() == 1 << 11
    for n in hw["rows"]:  # every row released again after a scan
        assert sim.pins[n].out == 1


def check_pcf8574_bytes():
    hw, keypad, wire = _setup("pcf8574")
    dev = sim.devices[hw["pcf_addr"]]
    sim.i2c_ops = 0
    assert keypad.read() == 0
    assert sim.i2c_ops == 2, "an idle scan is one write and one read"
    assert dev.writes[-1] == 0xF0, hex(dev.writes[-1])  # rows P0-P3 low, the rest released
    sim.press(*wire(hw, "8"))  # row 2, column 1
    dev.writes[:] = []
    assert keypad.read() == 1 << 7
    assert dev.writes == [0xF0, 0xFE, 0xFD, 0xFB, 0xF7], [hex(w) for w in dev.writes]


def check_4x4_layout_on_both_backends():
    for kind in ("matrix", "pcf8574"):
        if kind == "matrix":
            _reset()
            hw = profiles.resolve({"profile": "freenove-s3", "pins": {"cols": [41, 42, 40, 45]}}, "4x4")
            wire = _gpio_key
        else:
            hw, _k, wire = _setup("pcf8574", "4x4")
            assert hw["intercom"] is None  # P7 is a column now
        from doorstep.board import hw as hwmod

        if kind == "matrix":
            keypad = hwmod.make_keypad(hw)
        else:
            keypad = _k
        run = _Run(keypad.read, LAYOUT_4X4)
        run.scan_for(100)
        for ch in "A0D":
            sim.press(*wire(hw, ch, LAYOUT_4X4))
            run.scan_for(100)
            sim.release_all()
            run.scan_for(100)
        assert run.keys == "A0D", (kind, run.keys)


def _board(profile="ai-thinker", cfg=None, **kw):
    from doorstep.board import hw as hwmod

    _reset()
    cfg = dict(cfg or {})
    cfg.setdefault("board", {"profile": profile})
    hw = profiles.resolve(cfg["board"], cfg.get("layout", "3x4"))
    if hw["keypad"] == "pcf8574":
        machine.Pcf8574(hw["pcf_addr"])
    logs = []
    board = hwmod.build(cfg, hw, log=logs.append, **kw)
    return board, hw, logs


class _Ticks:
    def __init__(self):
        self.ms = 0

    def __call__(self):
        return self.ms


def check_missing_expander_is_a_skipped_scan():
    board, hw, logs = _board("ai-thinker")
    del sim.devices[hw["pcf_addr"]]
    assert board.read_matrix() is None
    assert board.read_matrix() is None
    assert board.keypad_errors == 2
    run = _Run(board.read_matrix)
    run.scan_for(200)
    assert run.keys == ""
    machine.Pcf8574(hw["pcf_addr"])  # plugged back in
    run.scan_for(100)
    sim.press(*_pcf_key(hw, "7"))
    run.scan_for(100)
    sim.release_all()
    run.scan_for(100)
    assert run.keys == "7", run.keys


def check_bell_once_per_press():
    board, hw, logs = _board("freenove-s3")
    t = _Ticks()
    board.clock.ticks_ms = t
    bell = ("gpio", hw["bell"])

    def poll(ms):
        n = 0
        end = t.ms + ms
        while t.ms < end:
            n += board.bell()
            t.ms += 10
        return n

    sim.levels[bell] = 0  # held at power-on: not a press
    assert poll(500) == 0
    sim.levels[bell] = 1
    assert poll(200) == 0
    sim.levels[bell] = 0
    assert poll(1000) == 1  # held: one ring
    sim.levels[bell] = 1
    assert poll(100) == 0
    for _ in range(3):  # contact bounce shorter than the settle time is not a press
        sim.levels[bell] = 0
        poll(10)
        sim.levels[bell] = 1
        poll(10)
    assert poll(100) == 0
    sim.levels[bell] = 0
    assert poll(100) == 1


def check_intercom_on_gpio_and_on_expander_pin():
    for profile in ("freenove-s3", "ai-thinker"):
        board, hw, logs = _board(profile)
        t = _Ticks()
        board.clock.ticks_ms = t
        node = ("gpio", hw["intercom"]) if profile == "freenove-s3" else ("pcf", hw["pcf_addr"], 7)
        states = []
        for level, ms in ((1, 200), (0, 30), (1, 100), (0, 300), (1, 300)):
            sim.levels[node] = level
            end = t.ms + ms
            while t.ms < end:
                board.read_matrix()  # the door loop scans the keypad first
                states.append(board.intercom())
                t.ms += 10
        # a 30 ms blip is ignored; the 300 ms call is seen once, 50 ms late, and ends
        changes = [i for i in range(1, len(states)) if states[i] != states[i - 1]]
        assert len(changes) == 2, (profile, changes)
        assert states[-1] is False


def check_feedback_patterns_without_waiting():
    from doorstep.board import feedback

    _reset()
    t = _Ticks()
    led_pin = machine.Pin(12, machine.Pin.OUT)
    pwm = machine.PWM(machine.Pin(2), freq=2000, duty_u16=0)
    fb = feedback.Feedback(feedback.Led(led_pin), feedback.PwmBuzzer(pwm), ticks=t)
    fb("key")  # applied at once, no waiting
    assert led_pin.out == 1 and pwm.duty_u16() == 32768 and pwm.freq() == 2700
    t.ms = 39
    assert fb.tick(t.ms)
    t.ms = 40
    assert not fb.tick(t.ms)
    assert led_pin.out == 0 and pwm.duty_u16() == 0
    fb("locked")
    tones = []
    while fb.tick(t.ms):
        tones.append((led_pin.out, pwm.duty_u16() > 0))
        t.ms += 10
    assert (0, False) in tones and (1, True) in tones
    assert led_pin.out == 0 and pwm.duty_u16() == 0
    fb("accepted")
    t.ms += 50
    fb.tick(t.ms)
    fb("wrong")  # a new pattern cuts the one playing
    assert fb.playing == "wrong" and pwm.freq() == 350
    fb("no-such-pattern")  # ignored, never an error at the door
    assert fb.playing == "wrong"
    for name in ("key", "accepted", "wrong", "locked", "refused", "fail_closed", "timeout"):
        assert name in feedback.PATTERNS


async def check_feedback_task_plays_and_sleeps():
    import asyncio

    from doorstep.board import feedback

    _reset()
    pin = machine.Pin(12, machine.Pin.OUT)
    fb = feedback.Feedback(feedback.Led(pin))
    task = asyncio.create_task(fb.run())
    await asyncio.sleep(0.02)
    fb("timeout")  # 240 ms in all
    assert pin.out == 1
    for _ in range(60):
        if fb.playing is None:
            break
        await asyncio.sleep(0.01)
    assert fb.playing is None and pin.out == 0
    task.cancel()


def check_led_active_low_and_gpio_buzzer():
    board, hw, logs = _board("freenove-s3", {"board": {"profile": "freenove-s3", "led_active_low": True,
                                                       "buzzer_type": "gpio"}})
    led = sim.pins[hw["led"]]
    buz = sim.pins[hw["buzzer"]]
    assert led.out == 1 and buz.out == 0  # off
    board.feedback("key")
    assert led.out == 0 and buz.out == 1
    assert not sim.pwms  # no PWM at all with an active buzzer


def check_pwm_buzzer_made_before_camera_with_xclk_reserved():
    board, hw, logs = _board("ai-thinker")
    assert len(sim.pwms) == 2
    assert sim.pwms[0].pin.id == hw["camera"]["xclk"]  # LEDC channel 0 taken first
    assert sim.pwms[1].pin.id == hw["buzzer"]
    assert fake_camera.sim["made"], "camera started"
    assert board.keep and board.keep[0] is sim.pwms[0]


def check_camera_driver_settings():
    board, hw, logs = _board("freenove-s3", {"board": {"profile": "freenove-s3", "frame_size": "SVGA",
                                                       "jpeg_quality": 70}})
    kw = fake_camera.sim["made"][0].kw
    assert kw["pixel_format"] == fake_camera.PixelFormat.JPEG
    assert kw["fb_count"] >= 2 and kw["grab_mode"] == fake_camera.GrabMode.LATEST
    assert kw["frame_size"] == fake_camera.FrameSize.SVGA and kw["jpeg_quality"] == 70
    assert kw["data_pins"] == [11, 9, 8, 10, 12, 18, 17, 16] and kw["xclk_pin"] == 15
    assert logs == []


async def check_camera_capture():
    from doorstep.board import cam

    _reset()
    drv = fake_camera.Camera()
    c = cam.Camera(drv)
    f = await c.capture()
    assert isinstance(f, memoryview) and bytes(f[:2]) == b"\xff\xd8"
    assert drv.grabs == c.warmup_frames + 1  # the first frames were thrown away
    assert bytes(f) == fake_camera.frame(drv.grabs)
    f2 = await c.capture()
    assert drv.grabs == c.warmup_frames + 2 and bytes(f2) != fake_camera.frame(drv.grabs - 1)
    assert drv.freed >= 2  # the buffer goes back before each grab: a fresh frame
    fake_camera.sim["not_ready"] = 3  # the sensor needs a moment: capture yields meanwhile
    f3 = await c.capture()
    assert f3 is not None and drv.polls == 0
    fake_camera.sim["not_ready"] = 0
    fake_camera.sim["mode"] = "none"
    assert await c.capture() is None
    fake_camera.sim["mode"] = "fail"
    for _ in range(2):
        try:
            await c.capture()
            raise AssertionError("a driver error must reach the record as photo_err")
        except OSError:
            pass
    assert drv.deinits == 1 and drv.inits == 2  # third failure in a row: driver restarted
    fake_camera.sim["mode"] = "ok"
    assert await c.capture() is not None and c.failures == 0
    nocam = cam.Camera(None)
    try:
        await nocam.capture()
        raise AssertionError("no camera must raise")
    except OSError as e:
        assert "no camera" in str(e)


def check_camera_that_does_not_start():
    _reset()
    fake_camera.sim["fail_init"] = "Camera Init Failed"
    from doorstep.board import hw as hwmod

    hw = profiles.resolve({"profile": "ai-thinker"})
    machine.Pcf8574(0x20)
    logs = []
    board = hwmod.build({"board": {"profile": "ai-thinker"}}, hw, log=logs.append)
    assert board.camera.driver is None
    assert len(logs) == 1 and "camera did not start" in logs[0], logs


def check_mic_blocks():
    from doorstep.board import mic

    board, hw, logs = _board("freenove-s3", {"board": {"profile": "freenove-s3",
                                                       "pins": {"mic_sck": 45, "mic_ws": 46, "mic_sd": 48}}})
    bus = sim.i2s[0]
    assert bus.kw["mode"] == machine.I2S.RX and bus.kw["bits"] == 16 and bus.kw["rate"] == 8000
    m = board.mic
    t = _Ticks()
    m.ticks = t
    assert board.audio() is None  # nothing recorded yet
    bus.complete([-1000, 2000, -32768, 32767])
    blk = board.audio()
    assert blk is not None and len(blk) == 205
    assert blk[0] == -1000 and blk[2] == -32768 and blk[3] == 32767  # signed int16
    assert board.audio() is None  # handed out once
    bus.complete([5])
    t.ms += 500  # nobody asked for half a second: the block is stale
    assert board.audio() is None
    bus.complete([7])
    assert board.audio()[0] == 7
    nomic, _hw, _l = _board("ai-thinker")
    assert nomic.audio is None  # the app then makes no DTMF detector
    assert isinstance(m, mic.Mic)


def check_clock_quality_across_reboots():
    from doorstep.board import clock

    _reset()
    ft = machine.Time(epoch=2000)
    c = clock.RtcClock(machine.RTC(), ft)
    assert c.quality == "none" and c.now() is None  # power-on: never set
    c.set(1767225600, "ntp")  # 2026-01-01T00:00:00Z
    assert c.quality == "ntp" and c.now() == 1767225600
    assert sim.rtc_seconds == 1767225600
    assert machine.RTC().datetime()[:3] == (2026, 1, 1)
    c2 = clock.RtcClock(machine.RTC(), ft)  # a reset that kept the RTC running
    assert c2.quality == "rtc" and c2.now() == 1767225600
    c3 = clock.RtcClock(machine.RTC(), machine.Time(epoch=1970))
    assert c3.now() == 1767225600  # same instant on a 1970-epoch port
    sim.rtc_memory = b""  # a power cut clears RTC memory
    c4 = clock.RtcClock(machine.RTC(), ft)
    assert c4.quality == "none" and c4.now() is None
    sim.rtc_memory = b"doorstep:{garbage"
    assert clock.RtcClock(machine.RTC(), ft).quality == "none"
    c4.set(1767225600 + 86400 * 59, "host")
    assert machine.RTC().datetime()[:3] == (2026, 3, 1)


def check_reset_causes():
    from doorstep.board import hw as hwmod

    _reset()
    words = []
    for cause in (machine.PWRON_RESET, machine.HARD_RESET, machine.WDT_RESET, machine.DEEPSLEEP_RESET,
                  machine.SOFT_RESET, 99):
        sim.cause = cause
        words.append(hwmod.reset_cause())
    assert words == ["power_on", "hard_reset", "watchdog", "deepsleep", "soft_reset", "unknown_99"], words


def check_watchdog_fed_by_door_loop_and_held_for_console():
    board, hw, logs = _board("ai-thinker")
    board.feed_watchdog()  # before start: nothing to feed, no error
    board.start_watchdog(60000)
    assert sim.wdt.timeout == 60000
    board.feed_watchdog()
    assert sim.wdt.feeds == 1
    t = board.hold_watchdog(1)  # one minute of console: fed once a second, then not
    for _ in range(70):
        t.fire()
    assert sim.wdt.feeds == 1 + 59 and not t.running


def check_no_network_without_wifi_config():
    board, hw, logs = _board("ai-thinker")
    assert board.wifi is None and board.ntp is None
    assert network.sim["wlans"] == {}  # the radio was never touched


def check_wifi_config_is_checked():
    from doorstep.config import ConfigError

    for bad in ({"ssid": "home"}, {"ssid": "home", "password": ""}, {"ssid": "", "password": "long enough"},
                {"ssid": "home", "password": "short"}, "home:secret"):
        try:
            profiles.wifi({"wifi": bad})
            raise AssertionError("accepted %r" % (bad,))
        except ConfigError as e:
            assert "wifi" in str(e)
    assert profiles.wifi({}) is None
    assert profiles.wifi({"wifi": {"ssid": "home", "password": "correct horse"}}) == ("home", "correct horse")


async def check_wifi_station_only_with_backoff():
    import asyncio

    from doorstep.board import net

    board, hw, logs = _board("ai-thinker", {"wifi": {"ssid": "home", "password": "correct horse"}})
    ap = network.sim["wlans"][network.AP_IF]
    sta = network.sim["wlans"][network.STA_IF]
    assert not ap.active(), "the access point must be off"
    w = board.wifi
    assert isinstance(w, net.Wifi)
    w.connect_ms, w.check_ms, w.backoff_ms = 100, 20, (50, 200)
    network.sim["accept"] = ("home", "other password")  # the network refuses us
    task = asyncio.create_task(w.run())
    for _ in range(200):
        await asyncio.sleep(0.01)
        if w.attempts >= 3:
            break
    assert sta.active() and not sta.link
    assert w.attempts >= 3 and w.pause_ms > 50  # pauses grow after each failure
    assert all(c == ("home", "correct horse") for c in sta.connects)
    network.sim["accept"] = ("home", "correct horse")
    for _ in range(300):
        await asyncio.sleep(0.01)
        if w.connected() and w.pause_ms == 50:
            break
    assert w.connected() and w.pause_ms == 50  # back to short pauses once connected
    sta.drop()  # the link is lost: reconnects by itself
    n = len(sta.connects)
    for _ in range(300):
        await asyncio.sleep(0.01)
        if w.connected():
            break
    assert w.connected() and len(sta.connects) == n + 1
    task.cancel()
    assert not ap.active()


async def check_ntp_sets_clock_through_app():
    from doorstep.board import net

    board, hw, logs = _board("ai-thinker", {"wifi": {"ssid": "home", "password": "correct horse"},
                                            "ntp_host": "ntp.example.org"})
    seen = []
    board.set_time = lambda t, q: seen.append((t, q))  # main.py points this at App.set_time
    sync = board.ntp
    assert isinstance(sync, net.NtpSync)
    sync.spawn = None  # no threads in this runtime: the query runs inline
    ntptime.answer = None  # no reply
    assert not await sync.once() and seen == [] and sync.last_error
    ntptime.answer = 820540800  # 2026-01-01 in a 2000-epoch port
    sync.fetch = net.ntp_fetch(ntptime, 946684800, "ntp.example.org")
    assert await sync.once()
    assert seen == [(1767225600, "ntp")] and ntptime.host == "ntp.example.org"
    ntptime.answer = 5  # 2000-01-01: a server that is wrong is not believed
    assert not await sync.once() and len(seen) == 1


async def check_ntp_in_a_thread_never_blocks():
    import asyncio

    from doorstep.board import net

    calls = []
    started = []

    def spawn(fn, args):  # a "thread" that answers 50 ms later
        started.append(fn)

        async def later():
            await asyncio.sleep(0.05)
            fn(*args)

        asyncio.create_task(later())

    class Link:
        def connected(self):
            return True

    sync = net.NtpSync(Link(), lambda: 1767225600, lambda t, q: calls.append(t), spawn)
    sync.poll_ms = 5
    ticks = [0]

    async def door():
        while not calls:
            ticks[0] += 1
            await asyncio.sleep(0.005)

    await asyncio.gather(sync.once(), door())
    assert calls == [1767225600] and started
    assert ticks[0] >= 5, "the door loop kept running while the query was out"


def check_board_profiles_resolve():
    a = profiles.resolve({"profile": "ai-thinker"})
    assert a["keypad"] == "pcf8574" and a["intercom"] == "pcf7" and a["rows"] is None
    f = profiles.resolve({"profile": "freenove-s3"})
    assert f["keypad"] == "matrix" and len(f["rows"]) == 4 and len(f["cols"]) == 3


def check_boot_locks_production_and_refuses_bad_configs():
    """The start modes themselves (service button, safe mode) are in trust_checks.py."""
    from doorstep.board import startup

    _reset()

    class St:
        def __init__(self, cfg):
            self.cfg = cfg

        def read_json(self, rel, default=None):
            return self.cfg

    locks = []
    board = {"profile": "freenove-s3", "pins": {"service": 45}}
    cfg = {"board": board, "production": True}
    quiet = []
    startup._say = quiet.append
    try:
        assert startup.boot(St(cfg), None, lambda: locks.append(1)) == "run" and locks == [1]
        cfg2 = {"board": {"profile": "freenove-s3"}}
        assert startup.boot(St(cfg2), None, lambda: locks.append(4)) == "run" and locks == [1]
        bad = {"board": {"profile": "freenove-s3", "pins": {"bell": 21}}}  # 21 is a keypad row
        assert startup.boot(St(bad), None, lambda: locks.append(5)) == "setup" and locks == [1]
        assert "GPIO 21 is used twice" in startup.state["problem"], startup.state["problem"]
        assert startup.main() == "setup"
        assert startup.boot(St({"board": board, "production": "yes"}), None) == "setup"
    finally:
        startup._say = print
        startup.state["mode"] = None


async def check_a_damaged_config_still_runs_the_door():
    """A config.json cut short: the door starts on the last one that booted, on default door
    rules, and says why in its boot record (as the simulator does); with no good copy the
    message says what to fix."""
    import json
    from binascii import unhexlify

    from doorstep.app import App
    from doorstep.board import startup
    from doorstep.provision import public_info

    _reset()
    st = _provisioned()
    cfg = {"board": {"profile": "freenove-s3"}, "heartbeat_min": 5}
    st.write_json("config.json", cfg)
    hw = profiles.resolve(cfg["board"])
    from doorstep.board import hw as hwmod

    keypad = hwmod.make_keypad(hw)
    said = []
    startup._say = said.append
    try:
        assert startup.boot(st, keypad) == "run"
        assert json.loads(st.read("config.good.json")) == cfg
        st.write_atomic("config.json", b'{"board": {"profile": "freen')
        assert startup.boot(st, keypad) == "run", said
        assert startup.state["cfg"] == cfg and "last configuration that worked" in said[-1], said
        assert json.loads(st.read("config.good.json")) == cfg  # the good copy is kept
        board, _hw, _logs = _board("freenove-s3")
        app = App(st, board, unhexlify(public_info(st)[0]))
        await app.boot()
        app.running = True
        await app.drain()
        lines = [x for x in st.read("records/00000000.jsonl").split(b"\n") if x]
        boot = json.loads(lines[-1])
        assert boot["ev"] == "boot" and "config.json is damaged" in boot["config_err"], boot
        assert app.cfg["heartbeat_min"] == 60  # door rules on their defaults
        st.remove("config.good.json")
        assert startup.boot(st, keypad) == "setup"
        assert "config.json is damaged" in startup.state["problem"], startup.state["problem"]
    finally:
        startup._say = print
        startup.state["mode"] = None


def check_crash_pause_grows():
    from doorstep.board import startup

    assert [startup.crash_pause(n) for n in (1, 2, 3, 4, 8, 20)] == [30, 60, 120, 240, 3600, 3600]


def check_after_crash_counts_and_waits_for_watchdog():
    from doorstep.board import startup

    board, hw, logs = _board("ai-thinker")
    board.start_watchdog(60000)
    said = []
    startup._say = said.append
    slept = []
    try:
        assert startup.after_crash(ValueError("boom"), board, slept.append, forever=False) == 30
        assert startup.after_crash(ValueError("boom"), board, slept.append, forever=False) == 60
    finally:
        startup._say = print
    assert len(slept) == 90 and sim.wdt.feeds == 90  # fed through the pause, then left alone
    assert board.clock.memory.load()["crashes"] == 2
    assert "crash 2 in a row" in said[-1]


def _provisioned():
    """A provisioned device's Storage in a fresh folder (a temp dir, or a new one in the VM)."""
    import os

    from doorstep.provision import provision
    from doorstep.storage import Storage

    try:
        import tempfile

        root = tempfile.mkdtemp(prefix="doorstep-board-")
    except ImportError:
        root = "/board%d" % len(os.listdir("/"))
        os.mkdir(root)
    st = Storage(root)
    n = [0]

    def rng(k):
        n[0] += 1
        return bytes(((n[0] * 31 + i * 7) & 0xFF) for i in range(k))

    provision(st, rng, 1767225600, "host", "0" * 64)
    return st


def _records(st):
    """Every record line on flash, as (bytes, dict), oldest first."""
    import json

    out = []
    for name in sorted(st.listdir("records")):
        for line in st.read("records/" + name).splitlines():
            if line.strip():
                out.append((line, json.loads(line)))
    return out


async def check_app_runs_on_the_real_board_code():
    """The firmware's App on the ESP32 Board (fake pins): keys in, feedback and records out."""
    from binascii import unhexlify

    from doorstep.app import App
    from doorstep.provision import public_info

    board, hw, logs = _board("freenove-s3")
    st = _provisioned()
    app = App(st, board, unhexlify(public_info(st)[0]))
    board.set_time = app.set_time
    t = _Ticks()
    board.clock.ticks_ms = t
    led = sim.pins[hw["led"]]
    await app.boot()
    app.running = True
    await app.drain()
    lit = []

    def run(ms):
        end = t.ms + ms
        while t.ms < end:
            app.step()
            lit.append(led.out)
            t.ms += 10

    run(100)
    sim.press(*_gpio_key(hw, "4"))
    run(60)
    assert 1 in lit, "the key click lit the LED"
    sim.release_all()
    run(100)
    assert app.door.entry.pending()
    sim.levels[("gpio", hw["bell"])] = 0
    run(100)
    sim.levels[("gpio", hw["bell"])] = 1
    run(50)
    await app.drain()
    from doorstep.ledger import Ledger

    events = []
    led_ = Ledger(st)
    for name in sorted(st.listdir("records")):
        for line in st.read("records/" + name).decode().splitlines():
            if line.strip():
                import json

                events.append(json.loads(line)["ev"])
    assert events[0] == "genesis" and "boot" in events and "ring" in events, events
    photos = st.listdir("photos")
    assert len(photos) == 1, photos  # the ring's photo, from the fake camera's buffer
    assert led_.next_seq == len(events)
    assert sim.wdt is None  # the watchdog is main.py's to start


def check_set_clock_for_provisioning():
    from doorstep.board import clock

    _reset()
    assert clock.set_board_clock(1767225600) is True  # what admin.provision calls
    assert sim.rtc_seconds == 1767225600
    c = clock.RtcClock(machine.RTC(), machine.Time(epoch=1970))
    assert c.quality == "rtc" and c.now() == 1767225600  # kept as "set" across the next reset


# MQTT at start-up (doorstep/board/startup.py with doorstep/mqtt.py and the fake umqtt.simple)

WIFI = {"ssid": "home", "password": "correct horse"}
MQTT = {"host": "192.168.1.10", "user": "doorbell", "password": "broker-pw-5150"}


def _forget_mqtt():
    """Take doorstep.mqtt and umqtt.simple out of the import system, so an import shows."""
    import sys

    saved = []
    for pkg, sub in (("doorstep", "mqtt"), ("umqtt", "simple")):
        p = sys.modules.get(pkg)
        saved.append((pkg, sub, sys.modules.pop(pkg + "." + sub, None), getattr(p, sub, None)))
        if p is not None and getattr(p, sub, None) is not None:
            delattr(p, sub)  # `from pkg import sub` would find it here without importing
    return saved


def _restore_mqtt(saved):
    import sys

    for pkg, sub, mod, attr in saved:
        if mod is not None:
            sys.modules[pkg + "." + sub] = mod
        if attr is not None and pkg in sys.modules:
            setattr(sys.modules[pkg], sub, attr)


def _startup(said):
    from doorstep.board import startup

    startup._say = said.append
    return startup


def check_no_mqtt_section_imports_nothing():
    import sys

    board, hw, logs = _board("ai-thinker", {"wifi": WIFI})
    said = []
    startup = _startup(said)
    saved = _forget_mqtt()
    try:
        assert startup.mqtt_notifier({"wifi": WIFI}, board, "0123456789abcdef") is None
        assert "doorstep.mqtt" not in sys.modules and "umqtt.simple" not in sys.modules
        assert said == []
        # A section without a host is MQTT switched off on purpose: no notifier, nothing said.
        assert startup.mqtt_notifier({"wifi": WIFI, "mqtt": {"host": ""}}, board, "0123456789abcdef") is None
        assert said == [] and broker.sim["clients"] == []
    finally:
        startup._say = print
        _restore_mqtt(saved)


def check_mqtt_problems_are_said_and_the_door_goes_on():
    import sys

    dev = "0123456789abcdef"
    board, hw, logs = _board("ai-thinker", {"wifi": WIFI})
    said = []
    startup = _startup(said)
    try:
        no_login = {"host": "192.168.1.10", "user": "doorbell"}
        assert startup.mqtt_notifier({"wifi": WIFI, "mqtt": no_login}, board, dev) is None
        assert "no default broker login" in said[-1] and "without MQTT" in said[-1]
        assert startup.mqtt_notifier({"wifi": WIFI, "mqtt": dict(MQTT, passwd="x")}, board, dev) is None
        assert "passwd" in said[-1] and MQTT["password"] not in said[-1]
        nowifi, _hw, _l = _board("ai-thinker")
        assert startup.mqtt_notifier({"mqtt": MQTT}, nowifi, dev) is None
        assert "Wi-Fi is not" in said[-1] and "--wifi-ssid" in said[-1]
        saved = _forget_mqtt()
        sys.modules["umqtt.simple"] = None  # the board has no umqtt.simple: importing it fails
        try:
            assert startup.mqtt_notifier({"wifi": WIFI, "mqtt": MQTT}, board, dev) is None
        finally:
            del sys.modules["umqtt.simple"]
            _restore_mqtt(saved)
        assert said[-1] == startup.NO_UMQTT_MSG and "`mpremote mip install umqtt.simple`" in said[-1]
        assert len(said) == 4 and broker.sim["clients"] == []
    finally:
        startup._say = print


async def _until(cond, what, steps=1500):
    import asyncio

    for _ in range(steps):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened: " + what)


async def check_mqtt_waits_for_wifi_then_sends_discovery_and_boot_record():
    """serve() with the notifier: records go to flash while offline, to the broker after."""
    import asyncio
    import json
    from binascii import unhexlify

    from doorstep import hass
    from doorstep.app import App
    from doorstep.ledger import line_hash
    from doorstep.provision import public_info

    cfg = {"wifi": WIFI, "mqtt": MQTT}
    board, hw, logs = _board("ai-thinker", cfg)
    w = board.wifi
    w.connect_ms, w.check_ms, w.backoff_ms = 100, 20, (50, 200)
    network.sim["accept"] = None  # the home network is not there yet
    st = _provisioned()
    pub, dev = public_info(st)
    said = []
    startup = _startup(said)
    try:
        n = startup.mqtt_notifier(cfg, board, dev)
        assert n is not None and said == []
        n.probe = None  # the fake broker has no TCP port to probe (the device's probe stays)
        app = App(st, board, unhexlify(pub))
        board.set_time = app.set_time
        app.notify = n.notify
        run = asyncio.create_task(startup.serve(app, board, n))
        await _until(lambda: app.running and not app.queue and n.s is not None and w.attempts >= 2,
                     "the app booted and Wi-Fi was tried")
        recs = _records(st)
        assert [r["ev"] for _, r in recs] == ["genesis", "boot"]  # on flash without any network
        assert broker.sim["clients"] == []  # no broker attempt while Wi-Fi is down
        assert [q[0] for q in n.service("HaFeed").queue] == [1] and n.error is None
        network.sim["accept"] = (WIFI["ssid"], WIFI["password"])
        tp = hass.Topics("doorstep/" + dev, "homeassistant", dev)
        cp_topic = tp.checkpoint.decode()
        await _until(lambda: any(t == cp_topic for t, _, _ in broker.sim["sent"]), "a checkpoint was sent")
        app.stop()
        await run
    finally:
        startup._say = print
    c, = broker.sim["clients"]
    assert (c.client_id, c.server, c.port, c.user, c.pswd, c.keepalive, c.ssl) == (
        "ds-" + dev, MQTT["host"], 1883, MQTT["user"], MQTT["password"], 60, None)
    assert c.will == (tp.status.decode(), b"offline", True, 1)
    sent = broker.sim["sent"]
    retained = {t: m for t, m, r in sent if r}
    for topic, payload in hass.discovery(tp):
        assert retained[topic.decode()] == payload
    assert (tp.status.decode(), b"online", True) in sent
    boot_line, boot = recs[1]
    summary = [json.loads(m) for t, m, r in sent if t == tp.record.decode()]
    assert summary == [{"seq": 1, "ev": "boot", "t": boot["t"], "hash": line_hash(boot_line)}], summary
    cp = json.loads(retained[cp_topic])
    assert cp["seq"] == 1 and cp["hash"] == line_hash(boot_line) and cp["dev"] == dev and cp["dropped"] == 0
    assert sent[-1] == (tp.status.decode(), b"offline", True)  # a clean stop says so itself
    assert broker.sim["log"][-1] == ("disconnect", "ds-" + dev)
    assert any("mqtt: connected to 192.168.1.10:1883" in m for m in said), said
    assert not any(MQTT["password"] in m for m in said + logs)
    assert len(_records(st)) == 2  # MQTT wrote nothing of its own to flash


def check_display_on_the_expanders_bus_and_a_missing_driver():
    import sys

    from doorstep.board import hw as hwmod

    _reset()
    cfg = {"board": {"profile": "ai-thinker", "display": "ssd1306"}}
    hw = profiles.resolve(cfg["board"])
    machine.Pcf8574(0x20)
    logs = []
    sys.modules.pop("ssd1306", None)
    board = hwmod.build(cfg, hw, log=logs.append)  # micropython-lib's ssd1306 not installed
    assert board.display is None and [ln for ln in logs if "display did not start" in ln], logs

    class Driver:  # stands in for micropython-lib's module: what build hands it is checked
        class SSD1306_I2C:
            def __init__(self, w, h, i2c, addr):
                self.args = (w, h, i2c, addr)

    sys.modules["ssd1306"] = Driver
    try:
        _reset()
        machine.Pcf8574(0x20)
        board = hwmod.build(cfg, hw, log=logs.append)
        w, h, i2c, addr = board.display.args
        assert (w, h, addr) == (128, 64, 0x3C) and i2c is board.keypad.i2c  # one bus, two addresses
    finally:
        sys.modules.pop("ssd1306", None)


def _pir_board(pins=None, **opts):
    board_cfg = {"profile": "freenove-s3", "pins": pins or {"pir": 48}}
    board_cfg.update(opts)
    board, hw, logs = _board(cfg={"board": board_cfg})
    return board, hw


def _pir_run(pir, t, ms, step=10):
    """Poll like the door loop for ms from t: (end time, rising edges seen)."""
    rises, was = 0, pir.state == "ok" and pir.level
    end = t + ms
    while t < end:
        lv = pir.poll(t)
        rises += lv and not was
        was = lv
        t += step
    return t, rises


def check_pir_is_an_active_high_input_with_pull_down():
    board, hw = _pir_board(pir_warmup_s=2)
    pin = sim.pins[48]
    assert pin.mode == machine.Pin.IN and pin.pull == machine.Pin.PULL_DOWN, (pin.mode, pin.pull)
    pir = board.pir
    assert pin.value() == 0  # nothing connected: the pull-down reads "no movement"
    node = ("gpio", 48)
    t = pir.start
    sim.levels[node] = 1  # an HC-SR501 is often high while it warms up: no movement counted
    t, n = _pir_run(pir, t, 2500)
    assert n == 0 and pir.state == "warming", (n, pir.state)  # armed once seen idle
    sim.levels[node] = 0
    t, n = _pir_run(pir, t, 500)
    assert n == 0 and not pir.answered and pir.state == "ok", pir.state
    for _ in range(3):  # three people walk by: the output goes high for a second each
        sim.levels[node] = 1
        t, n1 = _pir_run(pir, t, 1000)
        sim.levels[node] = 0
        t, n2 = _pir_run(pir, t, 1000)
        assert n1 + n2 == 1
    assert pir.take() is True and pir.take() is False  # it answered since the last heartbeat
    sim.levels[node] = 1  # a 20 ms spike is no movement
    t, n = _pir_run(pir, t, 20)
    sim.levels[node] = 0
    t, n2 = _pir_run(pir, t, 200)
    assert n + n2 == 0


def check_pir_stuck_high_and_cut_wire_are_blind():
    from doorstep.board.pir import Pir

    board, hw = _pir_board(pir_warmup_s=1)
    pir, node = board.pir, ("gpio", 48)
    t, _ = _pir_run(pir, pir.start, 1500, 100)
    sim.levels[node] = 1
    t, n = _pir_run(pir, t, Pir.stuck_ms - 1000, 1000)
    assert n == 1 and pir.state == "ok", (n, pir.state)
    t, n = _pir_run(pir, t, 4000, 1000)
    assert pir.state == "stuck_high" and pir.poll(t) is False
    sim.levels[node] = 0
    t, _ = _pir_run(pir, t, 300, 100)
    assert pir.state == "ok" and pir.poll(t) is False
    del sim.levels[node]  # the wire is cut: the pull-down holds it low for ever
    t, _ = _pir_run(pir, t, Pir.silent_ms + 60000, 60000)
    assert pir.state == "silent", pir.state


def check_pir_on_an_input_only_pin_has_no_internal_pull():
    cam = {"pwdn": 32, "reset": -1, "xclk": 0, "sda": 26, "scl": 27, "data": [5, 18, 19, 21, 36, 39, 12, 2],
           "vsync": 25, "href": 23, "pclk": 22}
    board, hw, logs = _board("ai-thinker", cfg={"board": {"profile": "ai-thinker", "camera": cam,
                                                           "pins": {"pir": 34, "led": None, "buzzer": None}}})
    assert board.pir is not None and sim.pins[34].pull != machine.Pin.PULL_DOWN
    board, hw, logs = _board("ai-thinker")
    assert board.pir is None  # not fitted: no motion task, heartbeats say nothing of motion
