"""Keypad scanning and code entry, on both runtimes: raw matrix bits -> keys -> actions."""

from doorstep.compat import ticks_add
from doorstep.entry import CodeEntry
from doorstep.keypad import LAYOUT_3X4, LAYOUT_4X4, KeyScanner

STEP = 10  # ms between scans, as on the board


class Pad:
    """A fake matrix: set ``raw`` to what the pins read."""

    def __init__(self):
        self.raw = 0

    def read(self):
        return self.raw


class Rig:
    def __init__(self, layout=LAYOUT_3X4, t=0, debounce_ms=30):
        self.pad = Pad()
        self.sc = KeyScanner(self.pad.read, layout, debounce_ms)
        self.t = t
        self.events = []  # (char, ms)
        self.hold(0, 50)  # the keypad is seen idle first

    def hold(self, raw, ms, step=STEP):
        """Read ``raw`` for ``ms``, scanning every ``step`` ms. Returns the keys seen."""
        self.pad.raw = raw
        got = []
        end = self.t + ms
        while self.t < end:
            k = self.sc.scan(self.t & 0x3FFFFFFF)
            if k is not None:
                got.append(k)
                self.events.append((k, self.t & 0x3FFFFFFF))
            self.t += step
        return got

    def tap(self, raw, down=100, up=100):
        return self.hold(raw, down) + self.hold(0, up)


def bit(layout, ch):
    ncols = len(layout[0])
    for r in range(len(layout)):
        c = layout[r].find(ch)
        if c >= 0:
            return 1 << (r * ncols + c)
    raise KeyError(ch)


# Scanner


def _every_key(layout):
    rig = Rig(layout)
    ncols = len(layout[0])
    for r in range(len(layout)):
        for c in range(ncols):
            got = rig.tap(1 << (r * ncols + c))
            assert got == [layout[r][c]], (r, c, got)
    assert "".join(e[0] for e in rig.events) == "".join(layout)


def scenario_every_key_3x4():
    _every_key(LAYOUT_3X4)
    assert "".join(LAYOUT_3X4) == "123456789*0#"


def scenario_every_key_4x4():
    _every_key(LAYOUT_4X4)
    assert bit(LAYOUT_4X4, "D") == 1 << 15 and bit(LAYOUT_4X4, "A") == 1 << 3


def scenario_debounce_confirms_after_stable_time():
    rig = Rig()
    k5 = bit(LAYOUT_3X4, "5")
    # 20 ms of contact (scans at +0, +10) is shorter than the 30 ms debounce.
    assert rig.hold(k5, 20) == []
    assert rig.hold(0, 100) == []
    # Held: seen at t0, confirmed at the first scan 30 ms later, not before.
    t0 = rig.t
    assert rig.hold(k5, 30) == []
    assert rig.hold(k5, 10) == ["5"]
    assert rig.sc.last_ms == t0 + 30
    # Slower scans: the event comes at the first scan at least 30 ms after the change.
    rig.hold(0, 100)
    t0 = rig.t
    assert rig.hold(k5, 49, step=7) == ["5"]
    assert rig.sc.last_ms == t0 + 35


def scenario_held_key_is_one_event():
    rig = Rig()
    assert rig.hold(bit(LAYOUT_3X4, "7"), 5000) == ["7"]
    assert rig.hold(0, 100) == []
    assert rig.sc.last_ms is not None


def scenario_release_then_press_again():
    rig = Rig()
    k = bit(LAYOUT_3X4, "0")
    assert rig.tap(k) + rig.tap(k) + rig.tap(k) == ["0", "0", "0"]
    # A release shorter than the debounce is not a release.
    assert rig.hold(k, 100) == ["0"]
    assert rig.hold(0, 20) == []
    assert rig.hold(k, 100) == []
    # Released long enough (30 ms) then pressed again: a second key.
    assert rig.hold(0, 40) == []
    assert rig.hold(k, 100) == ["0"]


def scenario_bounce_gives_one_event():
    rig = Rig()
    k = bit(LAYOUT_3X4, "#")
    got = []
    # Contact bounce on the way down, 2 ms scans: flicker, then solid.
    for v in (1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1):
        got += rig.hold(k if v else 0, 2, step=2)
    got += rig.hold(k, 200, step=2)
    # And on the way up.
    for v in (0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0):
        got += rig.hold(k if v else 0, 2, step=2)
    got += rig.hold(0, 100, step=2)
    assert got == ["#"], got
    # Bounce so fast that nothing is ever stable: no event at all.
    for i in range(100):
        got += rig.hold(k if i & 1 else 0, 5, step=5)
    assert got == ["#"], got
    assert rig.tap(k) == ["#"]


def scenario_two_keys_nothing_until_all_released():
    rig = Rig()
    k1, k2, k5 = bit(LAYOUT_3X4, "1"), bit(LAYOUT_3X4, "2"), bit(LAYOUT_3X4, "5")
    assert rig.hold(k1 | k2, 200) == []
    assert rig.hold(k2, 200) == []  # one let go: the other is not typed
    assert rig.hold(k2 | k5, 200) == []
    assert rig.hold(k5, 200) == []
    assert rig.hold(0, 100) == []
    assert rig.tap(k5) == ["5"]
    # A key down, a second joins, the first lets go: only the first counts.
    assert rig.hold(k1, 100) == ["1"]
    assert rig.hold(k1 | k2, 100) == []
    assert rig.hold(k2, 100) == []
    assert rig.hold(0, 100) == []
    # Rolling straight from one key to another without an idle keypad: no second key.
    assert rig.hold(k1, 100) == ["1"]
    assert rig.hold(k2, 100) == []
    assert rig.tap(k2) == []
    assert rig.tap(k2) == ["2"]
    # Two keys that touch for less than the debounce are not a double press.
    assert rig.hold(k1, 100) == ["1"]
    assert rig.hold(k1 | k2, 20) == []
    assert rig.hold(k1, 100) + rig.hold(0, 100) == []
    assert rig.tap(k2) == ["2"]


def scenario_ghost_rectangle():
    rig = Rig(LAYOUT_4X4)
    b = LAYOUT_4X4
    # 1, 2 and 4 down: a passive matrix also reads 5 (the fourth corner).
    three = bit(b, "1") | bit(b, "2") | bit(b, "4")
    assert rig.hold(three, 200) == []
    assert rig.hold(three | bit(b, "5"), 200) == []
    assert rig.hold(bit(b, "5"), 200) == []
    assert rig.hold(0, 100) == []
    assert rig.tap(bit(b, "D")) == ["D"]


def scenario_key_down_at_start_is_not_a_press():
    pad = Pad()
    pad.raw = bit(LAYOUT_3X4, "9")
    sc = KeyScanner(pad.read)
    got = [sc.scan(t) for t in range(0, 1000, 10)]
    assert got == [None] * 100 and sc.last_ms is None
    pad.raw = 0
    got = [sc.scan(t) for t in range(1000, 1100, 10)]
    pad.raw = bit(LAYOUT_3X4, "9")
    got += [sc.scan(t) for t in range(1100, 1200, 10)]
    assert [k for k in got if k] == ["9"] and sc.last_ms == 1130


def scenario_garbage_readings():
    rig = Rig()
    k4 = bit(LAYOUT_3X4, "4")
    # Not an int: skipped as if the scan had not happened.
    for junk in (None, "1", b"\x01", 1.0, True, [1], (1,), object()):
        assert rig.hold(junk, 50) == [], junk
    assert rig.tap(k4) == ["4"]
    assert rig.hold(k4, 20) + rig.hold(None, 50) + rig.hold(k4, 20) == ["4"]  # one press
    rig.hold(0, 100)
    # Bits outside the 3x4 matrix, negative numbers, huge ints: invalid, no event,
    # and the next key needs an idle keypad first.
    for bad in (1 << 12, 1 << 15, 1 << 31, 1 << 64, 2**200 + 1, -1, -k4, -(2**70)):
        assert rig.hold(bad, 100) == [], bad
        assert rig.hold(k4, 100) + rig.hold(0, 100) == [], bad
        assert rig.tap(k4) == ["4"], bad
    # A 4x4 pad accepts bit 15, which is garbage on a 3x4 pad.
    r4 = Rig(LAYOUT_4X4)
    assert r4.tap(1 << 15) == ["D"] and r4.tap(1 << 16) == []


def scenario_ticks_wrap_around():
    # Ticks run to 2**30 - 1 and wrap to 0; a press across the wrap is timed right.
    top = 0x3FFFFFFF
    rig = Rig(t=top + 1 - 70)  # idle for 50 ms: now 20 ms before the wrap
    k = bit(LAYOUT_3X4, "8")
    assert rig.hold(k, 30) == []  # scans at top-19, top-9, then 0 after the wrap
    assert rig.hold(k, 10) == ["8"]
    assert rig.sc.last_ms == 10, rig.sc.last_ms  # (top - 19) + 30, wrapped
    # A too-short press across the next wrap is still too short.
    rig = Rig(t=top + 1 - 60)
    assert rig.hold(k, 20) + rig.hold(0, 100) == []
    assert rig.tap(k) == ["8"]
    # Scan times passed in straight from ticks_add, ticking over many times.
    pad = Pad()
    sc = KeyScanner(pad.read)
    t = top - 1000
    got = []
    for i in range(3000):
        pad.raw = bit(LAYOUT_3X4, "3") if i % 20 >= 10 else 0
        k = sc.scan(t)
        if k:
            got.append(k)
        t = ticks_add(t, 10)
    assert got == ["3"] * 150, len(got)


class Lcg:
    """Deterministic numbers on both runtimes (Numerical Recipes constants)."""

    def __init__(self, seed):
        self.x = seed

    def __call__(self, n):
        self.x = (self.x * 1664525 + 1013904223) & 0xFFFFFFFF
        return (self.x >> 8) % n


def scenario_key_flood():
    """1000 presses of every kind, deterministic: never raises, and the keys make sense."""
    rnd = Lcg(2024)
    for layout in (LAYOUT_3X4, LAYOUT_4X4):
        pad = Pad()
        sc = KeyScanner(pad.read, layout)
        nkeys = len(layout) * len(layout[0])
        chars = "".join(layout)
        t = 0x3FFFFFFF - 5000  # wraps during the flood
        clean = events = 0
        for press in range(1000):
            kind = rnd(6)
            idle = rnd(100)
            down = rnd(120)
            key = rnd(nkeys)
            raw = 1 << key
            if kind == 4:  # two or more keys
                raw |= 1 << ((key + 1 + rnd(nkeys - 1)) % nkeys)
            # Clean: one key, no bounce, idle and held long enough whatever the scan gaps (<= 10 ms).
            ok = kind in (0, 2, 3) and idle >= 50 and down >= 50
            clean += ok
            got = []
            el = 0
            while el < idle + down:
                if el < idle:
                    v = 0
                elif kind == 1 and el - idle < 20:
                    v = raw if rnd(2) else 0  # bounce on the way down
                elif kind == 5:
                    v = (None, -raw, raw << nkeys, 2**70, "x", raw)[rnd(6)]
                else:
                    v = raw
                pad.raw = v
                k = sc.scan(t)
                if k is not None:
                    got.append(k)
                step = 1 + rnd(10)
                el += step
                t = ticks_add(t, step)
            assert len(got) <= 1, (press, got)
            if got:
                assert kind != 4, (press, got)
                assert got[0] == chars[key], (press, got, key)
                events += 1
            if ok:
                assert got == [chars[key]], (press, kind, idle, down, got)
        assert clean > 100 and events >= clean, (clean, events)


def scenario_scanner_rejects_bad_layout():
    for layout in ((), ("123", "45"), ("",)):
        try:
            KeyScanner(Pad().read, layout)
        except ValueError:
            continue
        raise AssertionError(layout)


# Code entry


def typed(e, s, t=0, gap=300):
    out = []
    for ch in s:
        t += gap
        a = e.key(ch, t)
        if a is not None:
            out.append(a)
    return out, t


def wiped(e):
    for b in e._buf:
        if b:
            return False
    return True


def scenario_entry_digits_and_submit():
    e = CodeEntry()
    assert typed(e, "48291")[0] == [] and e.pending() == 5
    assert e.key("3", 2000) is None and e.pending() == 6
    a = e.key("#", 2100)
    assert a == ("submit", b"482913", 6), a
    assert type(a[1]) is bytes
    assert e.pending() == 0 and wiped(e)
    assert e.key("#", 2200) is None  # nothing typed: no attempt
    # The next code starts from scratch.
    assert typed(e, "0000#", 3000)[0] == [("submit", b"0000", 4)]


def scenario_entry_star_clears():
    e = CodeEntry()
    out, t = typed(e, "12*")
    assert out == [("cleared", 2)] and e.pending() == 0 and wiped(e)
    assert e.key("*", t + 100) is None  # nothing to clear
    out, t = typed(e, "9*87#", t)
    assert out == [("cleared", 1), ("submit", b"87", 2)], out


def scenario_entry_timeout_clears_without_attempt():
    e = CodeEntry(timeout_ms=10000)
    out, t = typed(e, "123")
    assert e.poll(t + 9999) is None and e.pending() == 3
    assert e.poll(t + 10000) == ("timeout", 3)
    assert e.pending() == 0 and wiped(e)
    assert e.poll(t + 20000) is None  # once only
    assert e.key("#", t + 20001) is None  # empty submit after the timeout: no attempt
    assert e.poll(t + 90000) is None  # nothing typed: no timeout either
    # A key after the timeout, poll() not having run: the old digits are gone.
    out, t = typed(e, "55", t + 100000)
    out, t = typed(e, "66#", t + 10000, gap=0)
    assert out == [("submit", b"66", 2)], out
    # Keys keep the entry alive; the timeout runs from the last one.
    out, t = typed(e, "1234", t, gap=9000)
    assert e.poll(t + 9000) is None and e.pending() == 4
    # Ticks wrap: a short pause across the wrap is not a timeout.
    e = CodeEntry(timeout_ms=10000)
    top = 0x3FFFFFFF
    e.key("7", top - 100)
    assert e.poll(ticks_add(top, 5000)) is None
    assert e.poll(ticks_add(top, 9900)) == ("timeout", 1)


def scenario_entry_max_length():
    e = CodeEntry(max_len=12)
    out, t = typed(e, "123456789012#")
    assert out == [("submit", b"123456789012", 12)], out
    out, t = typed(e, "1234567890123", t)
    assert out == [] and e.pending() == 13
    assert wiped(e)  # too long to be a code: the stored digits are dropped at once
    out, t = typed(e, "45#", t)
    assert out == [("submit_invalid", 15)], out
    assert e.pending() == 0 and wiped(e)
    out, t = typed(e, "12#", t)
    assert out == [("submit", b"12", 2)], out
    # '*' on an overflowed entry clears it like any other.
    out, t = typed(e, "9" * 20 + "*", t)
    assert out == [("cleared", 20)], out
    assert "9" not in repr(e)


def scenario_entry_ignores_letters_and_junk():
    e = CodeEntry()
    out, t = typed(e, "1A2BC3D4#")
    assert out == [("submit", b"1234", 4)], out
    for junk in ("A", "B", "C", "D", "x", " ", "", "12", "#1", "\x00", None, 5, b"5", 5.0):
        assert e.key(junk, t) is None, junk
    assert e.pending() == 0


def scenario_entry_repr_hides_digits():
    e = CodeEntry(max_len=6)
    typed(e, "3147")
    for s in (repr(e), str(e), "%s" % e, "%r" % (e,)):
        for d in "0123456789":
            assert d not in s, s
    assert repr(e) == "<CodeEntry ****>", repr(e)
    typed(e, "592")
    assert repr(e) == "<CodeEntry ******+>", repr(e)
    e.key("*", 0)
    assert repr(e) == "<CodeEntry >"


def scenario_entry_buffer_wiped_after_submit():
    e = CodeEntry()
    typed(e, "86420")
    assert bytes(e._buf[:5]) == b"86420"  # the digits are really in the buffer...
    buf = e._buf
    a = e.key("#", 5000)
    assert a[1] == b"86420"
    assert e._buf is buf and buf == bytearray(12), buf  # ...and zeroed in place after
    assert CodeEntry(max_len=4)._buf == bytearray(4)


def scenario_keypad_feeds_entry():
    rig = Rig()
    e = CodeEntry()
    got = []
    for ch in "1A59#":
        if ch != "A":
            for k in rig.tap(bit(LAYOUT_3X4, ch)):
                a = e.key(k, rig.t)
                if a:
                    got.append(a)
    assert got == [("submit", b"159", 3)], got
