"""The report's presence evidence (issue 14), on logs the firmware made on the virtual board
with a PIR, read in headless Chromium: which sensors were armed in each heartbeat's window,
the visit's photo in the timeline, and a "nobody came" only as strong as the armed sensors."""

import asyncio

import pytest

from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from fakes import Rng
from scenarios.device import T0
from test_report import DAY_25, chromium, lead, norm, pictured, pulled, report  # noqa: F401  (fixtures)

HOUR = 3600 * 1000


async def _pir_device(root):
    dev = pictured(VirtualDevice(root, VirtualBoard(T0 - 3600, "host", pir=True)))
    await dev.provision(Rng(3))
    await dev.boot()
    await dev.advance(60000)  # warmed up
    return dev


async def visit_day(root):
    """Someone walks up at about 09:31, moves about and leaves without ringing."""
    dev = await _pir_device(root)
    await dev.advance(int(1.5 * HOUR))
    dev.board.moving = True
    await dev.advance(8000)
    dev.board.moving = False
    await dev.advance(10 * HOUR)


async def quiet_watched_day(root):
    dev = await _pir_device(root)
    await dev.advance(11 * HOUR)


async def stuck_day(root):
    """The PIR sticks high at 12:00 for 3 hours: a blind spot."""
    dev = await _pir_device(root)
    await dev.advance(4 * HOUR)
    dev.board.moving = True
    dev.idle_ms = 5000
    await dev.advance(3 * HOUR)
    dev.board.moving = False
    dev.idle_ms = 1000
    await dev.advance(5 * HOUR)


@pytest.fixture(scope="module")
def plogs(tmp_path_factory):
    out = {}
    for name, session in (("visit", visit_day), ("quiet", quiet_watched_day), ("stuck", stuck_day)):
        raw = str(tmp_path_factory.mktemp(name + "-device"))
        asyncio.run(session(raw))
        out[name] = pulled(raw, tmp_path_factory.mktemp(name + "-pulled") / "log")
    return out


def _limits(text):
    t = norm(text)
    return t[t.index("What this shows and what it does not"):t.index("What the records show")]


def test_a_visit_without_a_ring_is_in_the_lead_with_its_photo(plogs, chromium, tmp_path):
    text, widths = chromium.open(report(plogs["visit"], tmp_path, *DAY_25))
    first = lead(text)
    assert first.endswith("; the bell was not rung; the motion sensor saw someone once: at 09:32."), first
    assert widths and all(w > 0 for w in widths), widths  # the visit's photo decodes in the browser
    t = norm(text)
    assert "Someone moved in front of the door: the motion sensor fired 1 time" in t
    assert "From 09:00 to 10:00 UTC: keypad and bell recording, motion sensor armed, camera working." in t, t[:3000]
    assert "motion sensor armed (1 visit, 1 trigger)" in t
    assert "someone who walked up to the door would have been recorded as a visit with a photo" in _limits(text)


def test_nobody_came_only_when_motion_and_camera_were_armed_throughout(plogs, chromium, tmp_path):
    text, widths = chromium.open(report(plogs["quiet"], tmp_path, *DAY_25))
    assert lead(text).endswith("; the motion sensor, armed the whole time, saw nobody."), lead(text)
    assert "would have been recorded as a visit with a photo" in _limits(text)
    assert "does not watch for movement" not in _limits(text)

    text, widths = chromium.open(report(plogs["stuck"], tmp_path, *DAY_25))
    first = lead(text)
    # the sensor stuck high: its first ten minutes were one visit, then it was blind
    assert first.endswith("; the motion sensor saw someone once: at 12:11, but it was NOT armed the whole time (see below)."), first
    t = norm(text)
    assert "The motion sensor stopped seeing: its output stayed high without a break" in t
    assert "The motion sensor sees again (it had been blind for" in t
    assert "motion sensor NOT armed" in t
    assert "may have come unseen in those times" in _limits(text)
