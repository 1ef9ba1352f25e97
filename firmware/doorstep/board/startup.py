"""What boot.py and main.py do, kept here so it runs on the host with fake hardware.

boot() decides how this start goes, from config.json and the service button inside the case
(board.pins.service; never a key on the outdoor keypad) held at power-on:

* "service" -- the button pressed, let go within 5 s: the door runs and the console stays open
               even in production, so `doorstep pull/codes` can reach the device.
* "safe"    -- the button held 5 s or more: the door app is not started and the REPL stays
               open, for repairs.
* "run"     -- normal start. With "production": true in config.json the console is locked:
               Ctrl-C no longer stops the app, and the app never returns to the prompt.
* "setup"   -- the board section of config.json was refused; the message names the pin.

A config.json that cannot be read at all (cut short, garbled) does not stop the door: it
starts on the last configuration that booted (config.good.json, see config.py), and the app
records config_err and runs its door rules on the defaults, as the simulator does.

A service or safe start is marked on flash before the console opens, and the next start that
runs the door signs a `service` record for it (doorstep/service.py). Ctrl-C is off from the
first line of boot() until the mode is known: once boot.py runs, a locked console has no window.

main() runs the door: Storage('/'), the board from the configuration, the public key
(doorstep.provision.public_info), then doorstep.app.App under asyncio, with the MQTT
link (doorstep.mqtt: Home Assistant, the mirror, remote administration) as a task beside it when config.json has an "mqtt" section. A
device without a key says so and keeps the REPL. An unexpected error is printed and
counted, and after a pause that grows with repeated crashes the watchdog restarts the
chip: never a tight crash loop, and never machine.reset() from here.
"""

import asyncio
import sys
import time
from binascii import unhexlify

from doorstep import config as cfgmod
from doorstep.board import profiles
from doorstep.storage import Storage

HEALTHY_S = 600  # a run this long clears the crash count
CRASH_PAUSE_S = (30, 3600)  # pause before the watchdog restart: first, longest

# Shared by boot.py and main.py (the module stays imported between the two).
state = {"mode": None, "problem": None, "production": False, "cfg": None, "hw": None, "keypad": None}  # type: dict

SAFE_MSG = ("doorstep: SAFE MODE (the service button held at power-on). The door is NOT running; the REPL"
            " stays open for repairs, and the next start records this session. Press reset to start the door.")
NO_UMQTT_MSG = ("doorstep: MQTT is set up in config.json, but this device lacks the umqtt.simple library,"
                " so the door runs without MQTT (records are still kept on the device). Connect it to"
                " your PC, run `mpremote mip install umqtt.simple` (or `doorstep deploy`), then press reset.")
UNPROVISIONED_MSG = ("doorstep: this device has no key yet, so the door is not running. Connect it to"
                     " your PC and run `doorstep provision --device PORT`, then press reset.")


def _say(msg):
    print(msg)


def _sleep_ms(ms):
    (getattr(time, "sleep_ms", None) or (lambda n: time.sleep(n / 1000)))(ms)


def _kbd_intr(on):
    """Ctrl-C as an interrupt on (True) or off (False); nothing to do off the device."""
    try:
        import micropython

        micropython.kbd_intr(3 if on else -1)
    except (ImportError, AttributeError):
        pass


def lock_down():
    """Production: take the console away from whoever can reach the serial port.

    On the ESP32 the UART0/USB console is built into the port rather than attached with
    os.dupterm, and the REPL only runs once main.py returns. So: Ctrl-C stops being an
    interrupt (micropython.kbd_intr(-1)), main() never returns, and any stream attached
    with os.dupterm (WebREPL) is detached. Raw-REPL tools (mpremote) then cannot get in.
    """
    import os

    import micropython

    micropython.kbd_intr(-1)
    dupterm = getattr(os, "dupterm", None)
    if dupterm is not None:
        for slot in (0, 1):
            try:
                dupterm(None, slot)
            except (ValueError, TypeError, OSError):
                pass


def boot(storage=None, keypad=None, lock=lock_down, sleep_ms=_sleep_ms, intr=_kbd_intr):
    """boot.py: choose the mode (see the module docstring). Returns it."""
    state["mode"] = None
    intr(False)
    storage = storage or Storage("/")
    try:
        raw, err = cfgmod.read_raw(storage)
        if err:
            _say("doorstep: %s; starting on the last configuration that worked (door rules on their"
                 " defaults). Fix it with doorstep provision --config FILE." % err)
        layout = raw.get("layout", "3x4")
        hw = profiles.resolve(raw.get("board"), layout)
        production = profiles.production(raw, hw)
        profiles.wifi(raw)
        profiles.ntp_host(raw)
        if not err:
            cfgmod.keep_good(storage)
    except Exception as e:  # noqa: BLE001  -- ConfigError or a damaged file: say which
        state["mode"], state["problem"] = "setup", "the configuration was refused: %s" % e
        _say("doorstep: " + state["problem"] + ". The door is not running; fix config.json"
             " (doorstep provision --config ...) and press reset. The REPL stays open.")
        intr(True)
        return "setup"
    mode = None
    if hw["service"] is not None:
        import machine

        from doorstep.board.inputs import service_start

        pin = machine.Pin(hw["service"], machine.Pin.IN, machine.Pin.PULL_UP)
        mode = service_start(pin.value, sleep_ms)
    mode = mode or "run"
    state.update(mode=mode, problem=None, production=production, cfg=raw, hw=hw, keypad=keypad)
    if mode != "run":
        try:
            from doorstep import service

            service.mark(storage, mode)
        except Exception as e:  # noqa: BLE001  -- a full or damaged flash must not lock the owner out
            _say("doorstep: this service start could not be noted on flash (%s), so no record will show it." % e)
    if mode == "safe":
        _say(SAFE_MSG)
    elif production and mode == "run":
        _say("doorstep: production mode: the console is locked. To reach the device, hold the service button"
             " inside the case while powering it on.")
        lock()
        return mode
    elif mode == "service":
        _say("doorstep: service start (service button held): the console stays open while the door runs,"
             " and a signed service record says so.")
    intr(True)
    return mode


def _log(msg):
    """The notifier's console lines go where startup's own go (tests catch them there)."""
    _say(msg)


def mqtt_notifier(cfg, board, dev):
    """The MQTT notifier for config.json's "mqtt" section, or None (saying why, if it matters).

    Without that section nothing MQTT is imported. Anything that keeps MQTT off (a bad
    setting, no Wi-Fi, no umqtt.simple on the board) is said once; the door runs anyway.
    The notifier only tries the broker while Wi-Fi is up and backs off after failures.
    """
    m = cfg.get("mqtt")
    if m is None:
        return None
    from doorstep import broker

    try:
        if broker.settings(m, dev) is None:
            return None  # a section without a host: MQTT off on purpose
    except broker.MqttConfigError as e:
        _say("doorstep: %s. The door runs without MQTT; fix the mqtt section of config.json"
             " (doorstep provision --config FILE) and press reset." % str(e).rstrip("."))
        return None
    if board.wifi is None:
        _say("doorstep: MQTT is set up in config.json but Wi-Fi is not, so the door runs without MQTT."
             " Add the network (doorstep provision --wifi-ssid NAME --wifi-password ...) and press reset.")
        return None
    try:
        from umqtt.simple import MQTTClient  # noqa: F401  -- only whether it is there
    except ImportError:
        _say(NO_UMQTT_MSG)
        return None
    from doorstep import mqtt

    return mqtt.MqttLink(m, broker.umqtt_client, log=_log, online=board.wifi.connected)


async def serve(app, board, notifier=None, healthy_s=HEALTHY_S):
    """Run the app with the board's background tasks (and MQTT) until app.stop()."""
    for coro in board.tasks():
        asyncio.create_task(coro)
    asyncio.create_task(_healthy(board, healthy_s))
    task = None
    if notifier is not None:
        task = asyncio.create_task(notifier.run(app))  # attaches once the app has booted
    await app.run()
    if task is not None:
        notifier.stop()
        await task  # says "offline" and disconnects


async def _healthy(board, seconds):
    await asyncio.sleep(seconds)
    board.clock.memory.update(crashes=0)


def crash_pause(crashes):
    """Seconds to wait after the n-th crash in a row before the watchdog restart."""
    lo, hi = CRASH_PAUSE_S
    return min(lo << min(max(crashes - 1, 0), 12), hi)


def after_crash(err, board=None, sleep=time.sleep, forever=True):
    """Print the error, count it, wait (feeding the watchdog), then let the watchdog reset."""
    show = getattr(sys, "print_exception", None)  # MicroPython's traceback printer
    if show is not None:
        show(err)
    else:
        print(repr(err))
    import machine

    from doorstep.board import clock

    memory = board.clock.memory if board is not None else clock.RtcMemory(machine.RTC())
    n = memory.load().get("crashes", 0)
    n = n + 1 if isinstance(n, int) else 1
    memory.update(crashes=n)
    pause = crash_pause(n)
    if board is None or board.wdt is None:
        wdt = machine.WDT(timeout=10000)
    else:
        wdt = board.wdt
    _say("doorstep: the door stopped on an error (crash %d in a row); restarting in %d s." % (n, pause))
    for _ in range(pause):
        wdt.feed()
        sleep(1)
    while forever:  # no more feeding: the watchdog resets the chip
        sleep(1)
    return pause


def main(storage=None, build=None, App=None, crashed=after_crash):
    """main.py. Returns (only outside production) the reason the door is not running.

    build, App, crashed: hw.build, doorstep.app.App and after_crash, replaceable by tests."""
    if state["mode"] is None:
        boot(storage)
    mode = state["mode"]
    if mode in ("safe", "setup"):
        return mode
    storage = storage or Storage("/")
    board = app = notifier = None
    locked = state["production"] and mode == "run"
    try:
        from doorstep import provision

        info = provision.public_info(storage)
        if info is None:
            _say(UNPROVISIONED_MSG)
            return "unprovisioned"
        if App is None:
            from doorstep.app import App
        if build is None:
            from doorstep.board.hw import build
        hw = state["hw"]
        board = build(state["cfg"], hw, state["keypad"])
        app = App(storage, board, unhexlify(info[0]))
        board.set_time = app.set_time
        _say("doorstep: device %s on %s; reset cause %s; time %s." % (
            info[1], hw["title"], board.reset_cause(), board.clock.quality))
        try:
            notifier = mqtt_notifier(state["cfg"], board, info[1])
        except Exception as e:  # noqa: BLE001  -- MQTT is never a reason for the door not to run
            _say("doorstep: MQTT did not start (%s); the door runs without it." % e)
        if notifier is not None:
            app.notify = notifier.notify  # records are queued for the broker, never waited on
        board.start_watchdog(hw["watchdog_s"] * 1000)
        asyncio.run(serve(app, board, notifier))  # type: ignore[attr-defined]
        return "stopped"
    except KeyboardInterrupt:
        if locked:  # cannot happen with kbd_intr(-1); never hand out a prompt anyway
            crashed(RuntimeError("interrupted in production mode"), board)
            return "crashed"
        if app is not None and getattr(app, "boot_no", None) is not None:
            app.stop()  # the next boot record says this shutdown was clean
        if notifier is not None:
            # The event loop is gone (MicroPython leaves its tasks behind): say "offline" now.
            notifier.close()
        if board is not None and board.hold_watchdog(state["hw"]["service_min"]) is not None:
            _say("doorstep: stopped from the console. The door restarts by itself in %d minutes"
                 " (or press reset)." % state["hw"]["service_min"])
        return "interrupted"
    except Exception as e:  # noqa: BLE001  -- anything else: print, pause, watchdog restart
        crashed(e, board)
        return "crashed"
