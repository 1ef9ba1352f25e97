"""Property-based fuzz of the keypad scanner and code entry (CPython only).

Each property is checked against a small model of what the rules promise, with
readings and keys from well-formed to absurd, and scan times that wrap.
"""

import os
import sys

FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
if FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from doorstep.compat import ticks_add  # noqa: E402
from doorstep.entry import CodeEntry  # noqa: E402
from doorstep.keypad import LAYOUT_3X4, LAYOUT_4X4, KeyScanner  # noqa: E402

TICKS = st.integers(0, 0x3FFFFFFF)


def _bits(n):
    return st.integers(0, n - 1).map(lambda i: 1 << i)


GARBAGE = st.one_of(
    st.builds(lambda a, b: a | b, _bits(16), _bits(16)),  # one or two keys
    st.integers(0, 0xFFFF),  # any set of keys on a 4x4 pad
    st.integers(-(2**80), 2**80),  # negative and huge
    _bits(200),  # one bit, mostly far outside the matrix
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=2),
)


@st.composite
def _reading(draw):
    """Mostly idle or one key, so that real presses happen between the garbage."""
    pick = draw(st.integers(0, 9))
    if pick < 3:
        return 0
    if pick < 7:
        return draw(_bits(16))
    return draw(GARBAGE)


READINGS = _reading()
# Long runs of the same reading, so presses are confirmed and not only bounce.
RUNS = st.lists(
    st.tuples(READINGS, st.integers(1, 30), st.integers(0, 100)),  # reading, scans, step ms
    min_size=4,
    max_size=60,
)


class Reader:
    def __init__(self):
        self.raw = 0

    def __call__(self):
        return self.raw


@settings(max_examples=400, deadline=None)
@given(runs=RUNS, layout=st.sampled_from((LAYOUT_3X4, LAYOUT_4X4)), t0=TICKS, debounce=st.integers(0, 60))
def test_scanner_never_raises_and_keeps_its_rules(runs, layout, t0, debounce):
    rd = Reader()
    sc = KeyScanner(rd, layout, debounce)
    chars = "".join(layout)
    nkeys = len(chars)
    t = 0  # unwrapped time for the model; the scanner sees it wrapped from t0
    idle_since = None  # start of the current run of idle readings
    rearmed = False  # an idle run of debounce ms has been seen since the last key
    run_val, run_since = object(), 0  # current run of identical int readings
    for raw, scans, step in runs:
        rd.raw = raw
        for _ in range(scans):
            now = ticks_add(t0, t)
            k = sc.scan(now)
            if type(raw) is int:  # non-int readings are skipped by the rules
                if raw == 0:
                    if idle_since is None:
                        idle_since = t
                    if t - idle_since >= debounce:
                        rearmed = True
                else:
                    idle_since = None
                if raw != run_val:
                    run_val, run_since = raw, t
            if k is not None:
                # Only ever one key, inside the matrix, the one being read, held long enough.
                assert type(raw) is int and raw > 0 and raw & (raw - 1) == 0, raw
                i = raw.bit_length() - 1
                assert i < nkeys and k == chars[i], (raw, k)
                assert t - run_since >= debounce
                # One event per press: a stable release since the last one.
                assert rearmed, "second event without a release"
                rearmed = False
                assert sc.last_ms == now
            t += step


KEYS = st.one_of(
    st.sampled_from("0123456789"),
    st.sampled_from("0123456789*#ABCD"),
    st.characters(),
    st.text(max_size=3),
    st.none(),
    st.integers(),
    st.binary(max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(
    # Mostly quick typing, sometimes a pause long enough to time out.
    ops=st.lists(st.tuples(st.booleans(), KEYS, st.one_of(st.integers(0, 800), st.integers(0, 15000))), max_size=60),
    max_len=st.integers(1, 16),
    timeout=st.integers(1, 20000),
    t0=TICKS,
)
def test_entry_never_raises_and_never_leaks(ops, max_len, timeout, t0):
    e = CodeEntry(timeout_ms=timeout, max_len=max_len)
    model = []  # digits typed since the entry last ended
    last = None
    t = 0
    typed = set()
    for is_poll, ch, step in ops:
        t += step
        now = ticks_add(t0, t)
        stale = model and t - last >= timeout
        if is_poll:
            a = e.poll(now)
            if stale:
                assert a == ("timeout", len(model)), a
                model = []
            else:
                assert a is None, a
        else:
            if stale:
                model = []
            last = t
            a = e.key(ch, now)
            if ch in tuple("0123456789"):
                typed.add(ch)
                model.append(ch)
                assert a is None
            elif ch == "*":
                assert a == (("cleared", len(model)) if model else None), a
                model = []
            elif ch == "#":
                if not model:
                    assert a is None
                elif len(model) > max_len:
                    assert a == ("submit_invalid", len(model)), a
                else:
                    assert a[0] == "submit" and a[2] == len(model), a
                    assert type(a[1]) is bytes and len(a[1]) <= max_len
                    assert a[1] == "".join(model).encode()
                model = []
            else:
                assert a is None, a
        assert e.pending() == len(model)
        if not model or len(model) > max_len:
            assert e._buf == bytearray(max_len)  # nothing lingers once the entry ended
        for s in (repr(e), str(e)):
            assert not any(d in s for d in typed), s
            assert not any(d in s for d in "0123456789"), s
