"""Fuzz every file the device reads at boot (hypothesis), on both runtimes.

config.json, boot.json, codes.json, lockout.json, pulled.json and the last records segment
are damaged in every way hypothesis finds: garbage bytes, JSON cut short, JSON of the wrong
shape, the right keys with values of the wrong types, a torn tail, a well-chained record
with absurd fields. Each case must boot to a door that records a code attempt
(scenarios/damaged.py boot_case). Hypothesis runs on CPython only, so the MicroPython test
runs a batch of generated cases in one VM.
"""

import asyncio
import json

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from scenarios.damaged import FILES, boot_case

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(allow_nan=False, allow_infinity=False), TEXT)
VALUES = st.recursive(SCALARS, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(TEXT, c, max_size=4)), max_leaves=12)

KEYS = {
    "config.json": ["heartbeat_min", "entry_timeout_s", "max_digits", "relay_policy", "relay_after_s", "layout",
                    "photo_timeout_ms", "min_free_kb", "time_jump_s", "board", "mqtt"],
    "boot.json": ["boot", "clean"],
    "codes.json": ["codes", "couriers"],
    "lockout.json": ["fails", "left", "level", "lock_s", "locked"],
    "pulled.json": ["seq", "hash"],
}
CODE_KEYS = ["h", "label", "from", "until", "used", "s", "last"]


def _entry():
    return st.dictionaries(st.sampled_from(CODE_KEYS), st.one_of(VALUES, st.just("a" * 64), st.just("ab" * 10)), max_size=7)


def _shaped(name):
    """The file's own keys with values of any type (for codes.json, lists of odd entries)."""
    val = st.one_of(VALUES, st.lists(_entry(), max_size=3)) if name == "codes.json" else VALUES
    return st.dictionaries(st.sampled_from(KEYS[name]), val, max_size=len(KEYS[name]))


@st.composite
def _content(draw, name):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        data = draw(st.binary(max_size=120))
    elif kind == 1:
        data = json.dumps(draw(VALUES)).encode()
    else:
        data = json.dumps(draw(_shaped(name))).encode()
        if kind == 3:  # cut short, as by a power cut or a bad copy
            data = data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    return data.hex()


@st.composite
def CASES(draw):
    names = draw(st.lists(st.sampled_from(FILES), min_size=1, max_size=3, unique=True))
    case = {"files": {n: draw(st.one_of(st.none(), _content(n))) for n in names}}
    extra = draw(st.integers(0, 3))
    if extra == 1:
        case["tail"] = draw(st.binary(min_size=1, max_size=80)).hex()
    elif extra == 2:
        keys = st.sampled_from(["boot", "ms", "t", "tq", "ev", "v", "dev", "photo"])
        case["record"] = draw(st.dictionaries(keys, VALUES, max_size=6))
    return case


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=CASES())
def test_damaged_files_boot_a_door_that_records_the_attempt_cpython(case):
    asyncio.run(boot_case(case))


def _generated(n):
    out = []

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=CASES())
    def grab(case):
        out.append(case)

    grab()
    return out


def test_damaged_files_boot_a_door_that_records_the_attempt_micropython(micropython):
    cases = _generated(16)
    code = (
        "import sys, json\nsys.path.insert(0, '/lib')\n"
        "from scenarios.damaged import boot_case\n"
        "cases = json.loads(open('/cases.json').read())\n"
        "for i, c in enumerate(cases):\n"
        "    try:\n"
        "        await boot_case(c)\n"
        "    except Exception as e:\n"
        "        print('CASE', i, json.dumps(c))\n"
        "        raise\n"
        "print('ran', len(cases))\n"
    )
    out, _ = micropython.run(code, bundles=("firmware", "tests"), files={"/cases.json": json.dumps(cases)}, timeout=600)
    assert "ran %d" % len(cases) in out, out
