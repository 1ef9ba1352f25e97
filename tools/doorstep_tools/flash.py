"""`doorstep flash`: put MicroPython itself on an ESP32 (esptool), before `doorstep deploy`.

Erases the whole flash (the old filesystem with it: keys and records of a previous
install are gone, so pull them first), writes the firmware image at the address the chip's
ROM bootloader expects, and lets esptool check the written data's hash. esptool's own
errors are turned into what to do about them.
"""

import os
import re
import subprocess
import sys

from doorstep_tools.deploy import port_problem, tool

# Where a MicroPython image (bootloader + partition table + app) starts, per chip.
ADDRESSES = {"esp32": 0x1000, "esp32s2": 0x1000, "esp32s3": 0x0, "esp32c3": 0x0, "esp32c6": 0x0}
IMAGE_MAGIC = 0xE9  # first byte of an ESP image (the second-stage bootloader's header)
SHOW = ("Chip type", "Connected to", "Flash memory erased", "Wrote ", "Hash of data verified")


class FlashError(Exception):
    """Something the person at the PC must act on; the message says what."""


def _explain(out, port, chip):
    """esptool's failure, in words that say what to do."""
    m = re.search(r"This chip is (\S+), not (\S+)\.", out)
    if m:
        return ("the board on %s is an %s, not an %s. Use --chip %s with a MicroPython firmware built for the %s."
                % (port, m.group(1), m.group(2), m.group(1).lower().replace("-", ""), m.group(1)))
    if "Permission denied" in out:
        return ("permission denied on %s. On Linux add yourself to the port's group "
                "(sudo usermod -aG dialout $USER, then log in again)." % port)
    if "could not open port" in out.lower() or "doesn't exist" in out or "No such file" in out:
        return "cannot open %s: %s" % (port, port_problem(port) or "is another program (a serial monitor, mpremote) using it?")
    if "Failed to connect" in out or "No serial data received" in out or "Invalid head of packet" in out:
        return ("the %s on %s did not answer in bootloader mode. Hold the BOOT button while pressing EN/RESET, "
                "release BOOT, and try again (some boards need it held through the start of flashing)." % (chip, port))
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    errs = [ln for ln in lines if "error" in ln.lower()]
    return "esptool failed: %s" % ((errs or lines or ["no output"])[-1])


def _esptool(args, port, chip, out):
    exe = tool("esptool")
    if not exe:
        raise FlashError("esptool is not installed: run `make setup`")
    p = subprocess.Popen([exe, "--chip", chip, "--port", port] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    seen = []
    for line in p.stdout:
        seen.append(line)
        s = line.strip()
        if s.startswith(SHOW):
            out("  " + s)
    p.wait()
    text = "".join(seen)
    if p.returncode != 0:
        raise FlashError(_explain(text, port, chip))
    return text


def flash(port, firmware, chip="esp32", address=None, erase=True, out=print):
    if not os.path.isfile(firmware):
        raise FlashError("no firmware file %s. Download the MicroPython .bin for your board from "
                         "micropython.org/download (ESP32_GENERIC for most ESP32 boards)." % firmware)
    with open(firmware, "rb") as f:
        head = f.read(1)
    size = os.path.getsize(firmware)
    if not head or head[0] != IMAGE_MAGIC:
        raise FlashError("%s is not an ESP32 firmware image (it should start with byte 0x%02X). "
                         "Use the .bin file from micropython.org, not a .elf, .hex or .uf2." % (firmware, IMAGE_MAGIC))
    if address is None:
        if chip not in ADDRESSES:
            raise FlashError("no known flash address for --chip %s; give --address" % chip)
        address = ADDRESSES[chip]
    why = port_problem(port, serving="the board's serial bridge")
    if why:
        raise FlashError(why)
    out("Flashing %s (%d KB) to the %s on %s at 0x%x" % (os.path.basename(firmware), size // 1024, chip, port, address))
    if erase:
        out("Erasing the whole flash (files of an earlier install are lost)...")
        _esptool(["erase-flash"], port, chip, out)
    out("Writing and verifying...")
    text = _esptool(["write-flash", "0x%x" % address, firmware], port, chip, out)
    if "Hash of data verified" not in text:
        raise FlashError("esptool wrote the image but did not confirm it: flash again before using the board")
    out("Done. The board restarts into MicroPython. Next: `doorstep deploy --device %s`." % port)
    return 0


def cmd_flash(args):
    try:
        address = int(args.address, 0) if args.address else None
    except ValueError:
        print("doorstep flash: --address must be a number such as 0x1000", file=sys.stderr)
        return 2
    try:
        return flash(args.port, args.firmware, args.chip, address, not args.no_erase)
    except FlashError as e:
        print("doorstep flash: %s" % e, file=sys.stderr)
        return 1


def add_parser(sub):
    p = sub.add_parser("flash", help="install MicroPython on an ESP32 with esptool (erases the board)")
    p.add_argument("--port", required=True, help="the board's serial port (/dev/ttyUSB0, COM3) or socket://HOST:PORT")
    p.add_argument("--firmware", required=True, help="the MicroPython firmware image (.bin)")
    p.add_argument("--chip", default="esp32", choices=sorted(ADDRESSES), help="the chip on the board (default esp32)")
    p.add_argument("--address", help="where the image goes (default: 0x1000 for esp32/esp32s2, 0x0 for the others)")
    p.add_argument("--no-erase", action="store_true", help="do not erase the flash first (keeps the filesystem)")
    p.set_defaults(func=cmd_flash)
