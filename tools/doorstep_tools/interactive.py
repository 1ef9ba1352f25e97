"""`make sim`: the terminal is the door's keypad, in real time.

Keys: 0-9 * # type at the keypad; r rings the bell; i switches the intercom on/off;
m starts or stops someone moving in front of the motion sensor;
p cuts the power and b restores it; q quits (and says how to verify what happened).
"""

import asyncio
import os
import select
import sys
import termios
import time
import tty

from doorstep_tools.sim import Simulator, feedback_text

HELP = "keys: 0-9 * #  |  r ring  i intercom on/off  m motion on/off  p power cut  b power on  q quit"


def _demo_code(sim):
    """Register a demo code the newcomer can type (shown once, here, like a homeowner knows it)."""
    book = sim.dev.app.door.codes
    if book is None:
        return None
    code = "%06d" % (int.from_bytes(os.urandom(4), "big") % 1000000)
    n = 1
    while book.find("demo-%d" % n):
        n += 1
    book.add(code, "demo-%d" % n)
    return code, "demo-%d" % n


class KeyFeed:
    """Keys typed faster than a finger could press them (a paste, a fast typist) wait
    their turn, so each one is held and released at the virtual keypad."""

    gap_ms = 120  # after a key's hold: the scanner sees the keypad idle between keys

    def __init__(self):
        self.waiting = []
        self.next_at = 0

    def add(self, ch):
        self.waiting.append(ch)

    def feed(self, dev):
        kp = dev.board.keypad
        now = dev.board.clock.ms
        if self.waiting and not kp.down and now >= self.next_at:
            kp.press(self.waiting.pop(0))
            self.next_at = now + kp.hold_ms + self.gap_ms


OFF = "the device is off (power cut): press b to power it on"


async def on_key(sim, ch, keys, out):
    """One key typed at the terminal. Returns False to quit."""
    if ch == "q":
        return False
    if ch in "\r\n ":
        return True
    if ch == "b":
        if sim.alive:
            out("the device is already on")
        else:
            await sim.command("boot")
        return True
    if ch not in "0123456789*#ripm":
        out(HELP)
        return True
    if not sim.alive:
        out(OFF)
        return True
    if ch == "r":
        await sim.command("ring")
    elif ch == "i":
        on = not sim.dev.board.intercom_on
        await sim.command("intercom " + ("on" if on else "off"))
        out("intercom " + ("on: codes typed now are refused as relayed" if on else "off"))
    elif ch == "m":
        on = not sim.dev.board.moving
        await sim.command("motion " + ("start" if on else "stop"))
        out("motion " + ("started: the visit is recorded a minute after it stops" if on else "stopped"))
    elif ch == "p":
        await sim.command("power-cut")
    else:
        keys.add(ch)
        sys.stdout.write(ch if ch in "*#" else "\u2022")
        sys.stdout.flush()
    return True


def _shows(sim, out):
    def show(name):
        if name != "key":
            d = sim.dev
            out("door shows: %s" % feedback_text(name, d.app.door, d.board.clock.ticks_ms(), loud=True))

    return show


async def main(state, mqtt=None, flash_kb=2048):
    lines = []

    def out(s):
        lines.append(s)
        sys.stdout.write("\r" + s + "\r\n")
        sys.stdout.flush()

    sim = Simulator(state, out, mqtt=mqtt, flash_kb=flash_kb)
    sim.on_feedback = _shows(sim, out)
    await sim.start()
    sim.dev.app.set_time(int(time.time()), "ntp")
    demo = _demo_code(sim)
    out("Doorstep simulator: the firmware's own app on a virtual board. State: %s" % state)
    if demo:
        out("Demo delivery code %s (label %s): type it, then #" % demo)
    out(HELP)
    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd) if os.isatty(fd) else None
    if old:
        tty.setcbreak(fd)
    last = time.monotonic()
    keys = KeyFeed()
    typed = []  # read from the terminal straight (not through sys.stdin's buffer)
    try:
        while True:
            r, _, _ = select.select([fd], [], [], 0.01)
            now = time.monotonic()
            if sim.alive:
                keys.feed(sim.dev)
                await sim.dev.advance(int((now - last) * 1000) or 1)
            last = now
            if r:
                got = os.read(fd, 64)
                if not got:
                    break
                typed.extend(got.decode("ascii", "replace"))
            if typed and not await on_key(sim, typed.pop(0), keys, out):
                break
    finally:
        if old:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
        if sim.alive:
            sim.dev.app.stop()
        await sim.stop_mqtt()
    print()
    print("What happened is in %s as signed records and photos. To check and report it:" % state)
    print("  .venv/bin/doorstep verify %s" % state)
    print("  .venv/bin/doorstep report %s -o report.html" % state)


def run(state, mqtt=None, flash_kb=2048):
    asyncio.run(main(state, mqtt, flash_kb))
