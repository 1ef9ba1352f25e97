"""The simulator: the firmware's own App on the virtual board, scripted or interactive.

Scripted mode replays a door scenario (one command per line) and prints one line per
outcome: every record the device writes, every verdict shown at the door.
"""

import asyncio
import os
import re

from doorstep_tools.timefmt import parse_utc, show_utc
from doorstep_tools.virtual.audio import dtmf_pcm
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from doorstep_tools.virtual.flash import PowerCut, SmallFlash

FLASH_KB = 2048  # an ESP32's LittleFS in the default 4 MB layout


class ScriptError(Exception):
    def __init__(self, lineno, text):
        super().__init__("line %d: %s" % (lineno, text))


def parse_duration(s):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", s)
    if not m:
        raise ValueError("a duration must look like 500ms, 90s, 5m or 2h")
    return int(m.group(1)) * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}[m.group(2)]


def describe(rec):
    """One line a person can read for a record (never any digits typed)."""
    ev = rec["ev"]
    t = rec["t"]
    when = show_utc(t, "%Y-%m-%d %H:%M:%S")
    extra = []
    for k in ("outcome", "label", "digits", "of", "channel", "request", "reason", "suppressed", "level", "duration_s",
              "left", "bytes", "source", "free", "sensor", "triggers", "dur_ms", "lasted_ms"):
        if k in rec and (k != "reason" or ev != "boot"):
            extra.append("%s=%s" % (k, rec[k]))
    if ev == "boot":
        extra.append("reason=%s clean=%s" % (rec["reason"], rec["clean"]))
        for k in ("boot_recovered", "config_err", "codes_err"):
            if k in rec:
                extra.append("%s=%r" % (k, rec[k]))
    if rec.get("photo"):
        extra.append("photo=%s" % rec["photo"]["file"])
    elif "photo_err" in rec:
        extra.append("photo_err=%r" % rec["photo_err"])
    if rec.get("photo_flag"):
        extra.append("photo_flag=%s" % rec["photo_flag"])
    return "seq %-4d %s  %-14s %s" % (rec["seq"], when, ev, " ".join(extra))


def _seconds(s):
    return "%d s" % s if s < 120 else "%d min %02d s" % (s // 60, s % 60) if s % 60 else "%d min" % (s // 60)


def feedback_text(name, door, now_ms, loud=False):
    """What the door shows, in words, with the lockout's length the moment it starts."""
    say = str.upper if loud else str
    lk = door.lockout
    if name == "wrong_locked":
        return "%s, then %s for %s" % (say("wrong"), say("locked"), _seconds(lk.duration_s()))
    if name == "locked" and lk.is_locked(now_ms):
        return "%s (%s left)" % (say("locked"), _seconds((lk.remaining_ms(now_ms) + 999) // 1000))
    return say(name)


class Simulator:
    def __init__(self, state, out=print, rng=os.urandom, photos=True, mqtt=None, flash_kb=FLASH_KB):
        self.state = state
        self.flash = flash_kb * 1024  # the simulated chip's size: heartbeats report what is free on it
        self.out = out
        self.rng = rng
        self.photos = photos  # rendered JPEG scenes (Pillow); False: small synthetic frames
        self.dev = None
        self.storage = None
        self.clock_t = None  # wall clock carried across a power cut (the RTC keeps running)
        self.mqtt = mqtt  # None, or config["mqtt"]-style settings: {host, port, user, password}
        self.notifier = None  # the MQTT notifier of the running device (a new one each boot)
        self._mqtt_task = None
        self.on_feedback = None  # called with each feedback pattern the door shows

    def _board(self):
        b = VirtualBoard(self.clock_t, "ntp" if self.clock_t is not None else "none", pir=True)
        if self.photos:
            from doorstep_tools.virtual.scene import make_renderer

            b.camera.render = make_renderer(b.clock)
        b.notify = self._notify
        b.on_feedback = self.on_feedback
        from doorstep_tools.virtual.display import VirtualDisplay

        b.display = VirtualDisplay()  # the door's SSD1306: verdicts in words, handover codes
        b.display.on_show = self._display
        return b

    def _display(self, lines):
        self.out("display: %s" % (" | ".join(lines) if lines else "(blank)"))

    def _notify(self, rec):
        self.out(describe(rec))
        if self.notifier is not None:
            self.notifier.notify(rec)

    async def start(self):
        os.makedirs(self.state, exist_ok=True)
        self.storage = SmallFlash(self.state, self.flash)
        self.dev = VirtualDevice(self.state, self._board(), self.storage)
        if not os.path.exists(os.path.join(self.state, "key.bin")):
            from doorstep.provision import firmware_hash
            from doorstep_tools import FIRMWARE

            pub, devid = await self.dev.provision(self.rng, firmware_hash(FIRMWARE))
            self.out("provisioned a new simulated device %s in %s" % (devid, self.state))
        if self.mqtt is not None:
            from doorstep.mqtt import MqttLink
            from doorstep_tools import umqtt_host

            # A new link per boot: its queues are RAM, lost at a power cut like the device's.
            self.notifier = MqttLink(self.mqtt, umqtt_host.factory, log=self.out)
        await self.dev.boot()  # boot's records are queued by _notify meanwhile
        if self.notifier is not None:
            self._mqtt_task = asyncio.create_task(self.notifier.run(self.dev.app))

    @property
    def alive(self):
        return self.dev is not None and self.dev.app is not None

    def _need_power(self, verb):
        if not self.alive:
            raise ValueError("the device has no power: '%s' needs a 'boot' first" % verb)

    async def command(self, line):
        words = line.split()
        verb, args = words[0], words[1:]
        try:
            await self._do(verb, args)
        except PowerCut:
            self._died("power lost while writing to flash")
        if self.notifier is not None and self.notifier.connected:
            # Virtual time runs far ahead of the network: let the reports catch up.
            await self.notifier.flush(2000)

    def _died(self, why):
        if self.dev and self.dev.app:
            self.clock_t = self.dev.board.clock.now()
        self.dev = None
        if self._mqtt_task is not None:
            # Power gone: the connection just drops (no goodbye), so the broker sends the
            # device's last will ("offline"), as it would for the real doorbell.
            c, self.notifier.client = self.notifier.client, None
            if c is not None:
                c.abort()
            self._mqtt_task.cancel()
            self._mqtt_task = self.notifier = None
        self.out("-- %s: the device is off" % why)

    async def _do(self, verb, args):
        d = self.dev
        if verb == "boot":
            if self.alive:
                raise ValueError("the device is already running")
            await self.start()
            return
        if verb == "power-cut":
            self._need_power(verb)
            if not args:
                self._died("power cut")
                return
            if len(args) == 2 and args[0] == "after-bytes" and args[1].isdigit():
                self.storage.budget = int(args[1])
                self.out("-- power will fail after %s more bytes reach flash" % args[1])
                return
            raise ValueError("use 'power-cut' or 'power-cut after-bytes N'")
        self._need_power(verb)
        if verb == "clock":
            if len(args) != 1:
                raise ValueError("use 'clock 2026-06-25T09:00:00Z'")
            d.app.set_time(parse_utc(args[0]), "ntp")
            await d.advance(10)
        elif verb == "advance":
            if len(args) != 1:
                raise ValueError("use 'advance 90s' (ms, s, m or h)")
            await d.advance(parse_duration(args[0]))
        elif verb == "ring":
            await d.ring()
        elif verb == "keys":
            if len(args) != 1 or not re.fullmatch(r"[0-9*#A-D]+", args[0]):
                raise ValueError("use 'keys 482913#' (keys 0-9 * # and A-D)")
            n0 = len(d.board.feedback_log)
            await d.press(args[0])
            for fb in d.board.feedback_log[n0:]:
                if fb not in ("key",):
                    self.out("door shows: %s" % feedback_text(fb, d.app.door, d.board.clock.ticks_ms()))
        elif verb == "intercom":
            if args not in (["on"], ["off"]):
                raise ValueError("use 'intercom on' or 'intercom off'")
            d.board.intercom_on = args[0] == "on"
            await d.advance(20)
        elif verb == "dtmf":
            if len(args) != 1 or not re.fullmatch(r"[0-9*#A-D]+", args[0]):
                raise ValueError("use 'dtmf 1234'")
            if not d.board.intercom_on:
                raise ValueError("DTMF arrives over the intercom: 'intercom on' first")
            d.board.pcm.extend(dtmf_pcm(args[0]))
            while d.board.pcm:
                await d.advance(d.tick_ms)
        elif verb == "remote":
            if args[:1] == ["submit"] and len(args) == 2:
                d.app.door.remote("network", "submit", d.board.clock.ticks_ms())  # the code goes nowhere
            elif args == ["reveal"]:
                d.app.door.remote("network", "reveal", d.board.clock.ticks_ms())
            else:
                raise ValueError("use 'remote submit CODE' or 'remote reveal'")
            await d.advance(10)
        elif verb == "motion":
            if args not in (["start"], ["stop"]):
                raise ValueError("use 'motion start' (someone moves in front of the PIR) or 'motion stop'")
            d.board.moving = args[0] == "start"
            await d.advance(100)  # the PIR's output settles
        elif verb == "camera":
            if args not in (["ok"], ["fail"], ["dark"], ["frozen"], ["person"]):
                raise ValueError("use 'camera ok|fail|dark|frozen|person' (person: someone in the picture)")
            d.board.camera.mode = args[0]
        else:
            if not re.fullmatch(r"[a-z-]+", verb):  # e.g. a code typed without 'keys': never echo its digits
                raise ValueError("a line must start with a command: clock, advance, ring, keys, intercom, dtmf, remote, motion, camera, power-cut or boot")
            raise ValueError("unknown command %r" % verb)

    async def run_script(self, lines):
        await self.start()
        try:
            for n, raw in enumerate(lines, 1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                line = line.split(" #", 1)[0]  # a comment after a space (the # key has none before it)
                try:
                    await self.command(line)
                except ValueError as e:
                    raise ScriptError(n, str(e))
        finally:
            # A script error stops the simulation, not the power: the next boot is clean.
            if self.alive:
                try:
                    self.dev.app.stop()
                except PowerCut:  # a 'power-cut after-bytes N' still armed at the end
                    self._died("power lost while writing to flash")
            await self.stop_mqtt()

    async def stop_mqtt(self, timeout_ms=10000):
        """Let the notifier send what is queued (and its checkpoint), then disconnect."""
        if self.notifier is None:
            return
        if not await self.notifier.flush(timeout_ms):
            self.out("-- MQTT: not everything reached the broker (%s)" % (self.notifier.error or "timed out"))
        self.notifier.stop()
        await self._mqtt_task
        self._mqtt_task = self.notifier = None


def run_script(state, path, out=print, mqtt=None, flash_kb=FLASH_KB):
    with open(path) as f:
        lines = f.read().splitlines()
    asyncio.run(Simulator(state, out, mqtt=mqtt, flash_kb=flash_kb).run_script(lines))
