"""`make sim`: the terminal is the door's keypad, in real time.

Keys: 0-9 * # type at the keypad; r rings the bell; i switches the intercom on/off;
p cuts the power and b restores it; q quits (and says how to verify what happened).
"""

import asyncio
import os
import select
import sys
import termios
import time
import tty

from doorstep.codes import CodeBook
from doorstep_tools.sim import Simulator

HELP = "keys: 0-9 * #  |  r ring  i intercom on/off  p power cut  b power on  q quit"


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


async def main(state):
    lines = []

    def out(s):
        lines.append(s)
        sys.stdout.write("\r" + s + "\r\n")
        sys.stdout.flush()

    sim = Simulator(state, out)
    sim.on_feedback = lambda name: name == "key" or out("door shows: %s" % name.upper())
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
    try:
        while True:
            r, _, _ = select.select([sys.stdin], [], [], 0.01)
            now = time.monotonic()
            if sim.alive:
                await sim.dev.advance(int((now - last) * 1000) or 1)
            last = now
            if not r:
                continue
            ch = sys.stdin.read(1)
            if not ch or ch == "q":
                break
            if ch in "0123456789*#":
                if sim.alive:
                    sim.dev.board.keypad.press(ch)
                    sys.stdout.write(ch if ch in "*#" else "•")
                    sys.stdout.flush()
            elif ch == "r":
                await sim.command("ring")
            elif ch == "i":
                if sim.alive:
                    on = not sim.dev.board.intercom_on
                    await sim.command("intercom " + ("on" if on else "off"))
                    out("intercom " + ("on: codes typed now are refused as relayed" if on else "off"))
            elif ch == "p":
                if sim.alive:
                    await sim.command("power-cut")
            elif ch == "b":
                if not sim.alive:
                    await sim.command("boot")
            elif ch in "\r\n ":
                pass
            else:
                out(HELP)
    finally:
        if old:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
        if sim.alive:
            sim.dev.app.stop()
    print()
    print("What happened is in %s as signed records and photos. To check and report it:" % state)
    print("  .venv/bin/doorstep verify %s" % state)
    print("  .venv/bin/doorstep report %s -o report.html" % state)


def run(state):
    asyncio.run(main(state))
