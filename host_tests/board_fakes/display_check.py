"""The door display through micropython-lib's real ssd1306 driver, on a fake I2C bus.

Run under MicroPython only (the driver needs framebuf): host_tests/test_board_display.py
runs it in the WebAssembly port and, when present, the 32-bit unix port. The bus records
every writeto/writevto; the checks are against the SSD1306 datasheet's command set and
against framebuf's own rendering of the words the door shows.
"""

import framebuf

from doorstep import words
from doorstep.board import display
from doorstep.screen import Screen


class FakeI2C:
    def __init__(self):
        self.ops = []

    def writeto(self, addr, buf, stop=True):
        self.ops.append(("w", addr, bytes(buf)))
        return len(buf)

    def writevto(self, addr, bufs, stop=True):
        self.ops.append(("v", addr, b"".join(bytes(b) for b in bufs)))


def _frame(lines):
    ref = bytearray(128 * 64 // 8)
    fb = framebuf.FrameBuffer(ref, 128, 64, framebuf.MONO_VLSB)
    for i, ln in enumerate(lines):
        fb.text(ln, 0, i * 8, 1)
    return bytes(ref)


def check_init_sequence():
    bus = FakeI2C()
    hw = {"display_addr": 0x3D, "oled_sda": None, "oled_scl": None, "i2c_hz": 100000}
    display.open_display(hw, bus)
    assert bus.ops and all(op[1] == 0x3D for op in bus.ops), bus.ops[:3]
    cmds = [op[2] for op in bus.ops if op[0] == "w"]
    assert all(len(c) == 2 and c[0] == 0x80 for c in cmds), cmds  # Co=1, D/C#=0: one command byte each
    seq = [c[1] for c in cmds]
    assert seq[0] == 0xAE, seq  # display off while it is set up
    assert seq[seq.index(0xA8) + 1] == 63  # multiplex ratio: 64 rows
    assert seq[seq.index(0x8D) + 1] == 0x14  # charge pump on (internal VCC)
    assert seq.index(0xAF) > seq.index(0x8D)  # display on only after the charge pump
    data = [op[2] for op in bus.ops if op[0] == "v"]
    assert data[-1] == b"\x40" + bytes(1024), "the screen starts blank"


def check_verdict_text_reaches_the_bus():
    bus = FakeI2C()
    d = display.open_display({"display_addr": 0x3C, "i2c_hz": 100000}, bus)
    n = len(bus.ops)
    s = Screen(d)
    s.verdict("locked", 0, 60)
    new = bus.ops[n:]
    assert [op[2][1] for op in new if op[0] == "w"] == [0x21, 0, 127, 0x22, 0, 7]  # the whole screen
    last = new[-1]
    assert last[0] == "v" and last[1] == 0x3C and last[2][0] == 0x40  # Co=0, D/C#=1: display data
    want = _frame(words.verdict("locked", 60))
    assert any(want) and last[2][1:] == want
    assert bytes(d.buffer) == want  # the driver's frame buffer holds the same pixels


def check_carrier_code_blanked_after_its_time():
    bus = FakeI2C()
    d = display.open_display({"display_addr": 0x3C, "i2c_hz": 100000}, bus)
    s = Screen(d)
    lines = words.code_lines("amazon-0625", "K7Q2-90417")
    s.say(lines, 1000, 30000, True)
    assert bus.ops[-1][2][1:] == _frame(lines)
    s.poll(30999)
    assert bus.ops[-1][2][1:] == _frame(lines)  # still shown
    s.poll(31000)
    assert bus.ops[-1][2] == b"\x40" + bytes(1024) and not any(d.buffer)  # blank, nothing left in RAM
    assert not s.secret


def run_all():
    for f in (check_init_sequence, check_verdict_text_reaches_the_bus, check_carrier_code_blanked_after_its_time):
        f()
    print("passed 3")
