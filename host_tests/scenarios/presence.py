"""Presence evidence (issue 14): a visit without a ring, a busy street, a dead PIR, in virtual time."""

from doorstep.board.pir import Pir
from doorstep.motion import Motion
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from doorstep_tools.virtual.flash import SmallFlash
from doorstep_tools.virtual.floods import HOUR, MIN
from fakes import Rng, tmpdir
from scenarios.device import T0, records

WARM = VirtualBoard.pir_warmup_ms + 1000


async def pir_device(root=None, storage=None):
    root = root or tmpdir()
    dev = VirtualDevice(root, VirtualBoard(T0, "host", pir=True), storage)
    await dev.provision(Rng(3))
    await dev.boot()
    await dev.advance(WARM)
    return dev


async def walk_by(dev, moving_ms, then_ms):
    dev.board.moving = True
    await dev.advance(moving_ms)
    dev.board.moving = False
    await dev.advance(then_ms)


def _file_sha(st, name):
    from binascii import hexlify
    from hashlib import sha256

    return hexlify(sha256(st.read(name)).digest()).decode()


def _of(recs, ev):
    return [r for r in recs if r["ev"] == ev]


async def scenario_visit_without_ring_is_one_motion_record_with_its_photo():
    dev = await pir_device()
    root, st = dev.storage.root, dev.storage
    before = len(records(root))
    # someone walks up, moves about for 20 s (three triggers), and leaves without ringing
    await walk_by(dev, 4000, 5000)
    await walk_by(dev, 3000, 8000)
    await walk_by(dev, 2000, 1000)
    assert len(records(root)) == before, "the visit is written once it is over"
    await dev.advance(Motion.quiet_ms)
    recs = records(root)[before:]
    assert [r["ev"] for r in recs] == ["motion"], recs
    m = recs[0]
    assert m["triggers"] == 3 and m["photo"]["file"] == "photos/%d.jpg" % m["seq"], m
    assert _file_sha(st, m["photo"]["file"]) == m["photo"]["sha256"] and st.size(m["photo"]["file"]) == m["photo"]["size"]
    # the photo was taken when the visitor appeared, not when the record was written
    assert 0 <= m["cap_ms"] - m["start_ms"] <= 100, m
    assert m["ms"] - m["cap_ms"] >= Motion.quiet_ms, m
    assert 20000 <= m["dur_ms"] <= 25000 and m["ms"] >= m["start_ms"] + m["dur_ms"], m
    head = st.read(m["photo"]["file"])[:200]
    assert b"ev=motion" in head and b"cap=%d" % m["cap_ms"] in head, head
    assert not [n for n in st.listdir("photos") if n.startswith("cap")], "no capture file is left behind"
    await dev.advance(60 * MIN)
    hb = _of(records(root), "heartbeat")[-1]
    assert hb["counts"].get("motion") == 1, hb
    assert hb["motion"] == {"armed": True, "answered": True, "visits": 1, "triggers": 3, "blind_ms": 0, "state": "ok"}, hb


async def scenario_nothing_counts_while_the_pir_warms_up():
    root = tmpdir()
    dev = VirtualDevice(root, VirtualBoard(T0, "host", pir=True))
    await dev.provision(Rng(3))
    await dev.boot()
    n = len(records(root))
    await walk_by(dev, 3000, 2000)  # within the warm-up: the output means nothing yet
    await dev.advance(Motion.quiet_ms + WARM)
    assert len(records(root)) == n
    await walk_by(dev, 3000, Motion.quiet_ms + 1000)
    assert [r["ev"] for r in records(root)[n:]] == ["motion"]


async def scenario_busy_street_for_2h_stays_within_the_budget():
    root = tmpdir()
    flash = SmallFlash(root, 10 ** 8)
    dev = await pir_device(root, flash)
    n0 = len(records(root))
    used0 = flash.used()
    gaps = (20000, 45000, 75000, 30000, 90000, 15000, 65000, 40000)  # passers-by, some 60 s apart
    sent = 0
    i = 0
    while dev.board.clock.ms < 2 * HOUR + WARM:
        await walk_by(dev, 3000, gaps[i % len(gaps)])
        sent += 1
        i += 1
    await dev.advance(Motion.quiet_ms + 1000)
    await dev.advance(HOUR - dev.board.clock.ms % HOUR + 2000)  # the next heartbeat
    recs = records(root)[n0:]
    visits = _of(recs, "motion")
    assert len(visits) <= 2 * Motion.per_hour + 1, len(visits)
    assert len([r for r in visits if r.get("photo")]) == len(visits), "each recorded visit has its photo"
    # the per-hour budget holds in every hour
    for a in visits:
        near = [b for b in visits if 0 <= b["start_ms"] - a["start_ms"] < HOUR]
        assert len(near) <= Motion.per_hour, [b["start_ms"] for b in near]
    per_hour = (flash.used() - used0) * HOUR // dev.board.clock.ms
    assert per_hour < 64 * 1024, per_hour
    assert sum(r.get("suppressed", 0) for r in visits) > 0, "the street was busier than the budget"
    # nothing is lost from the account: every trigger is in some heartbeat
    beats = _of(recs, "heartbeat")
    assert sum(b["motion"]["triggers"] for b in beats) == sent, ([b["motion"] for b in beats], sent)
    recorded = sum(r["triggers"] + r.get("suppressed_triggers", 0) for r in visits)
    assert recorded <= sent and sum(b["motion"]["visits"] for b in beats) >= len(visits)
    assert all(b["motion"]["armed"] and b["motion"]["answered"] for b in beats if b["motion"]["triggers"]), beats
    assert not [n for n in dev.storage.listdir("photos") if n.startswith("cap")]


async def scenario_pir_stuck_high_is_a_blind_spot_with_start_and_end():
    dev = await pir_device()
    root = dev.storage.root
    n0 = len(records(root))
    dev.board.moving = True  # shorted output, or a heater in front of the lens
    dev.idle_ms = 5000
    await dev.advance(Pir.stuck_ms + 20000)
    recs = records(root)[n0:]
    kinds = [r["ev"] for r in recs if r["ev"] != "heartbeat"]
    assert kinds == ["motion", "blind_start"], kinds  # the visit is cut at max_visit_ms
    start = _of(recs, "blind_start")[0]
    assert start["sensor"] == "pir" and start["reason"] == "stuck_high", start
    await dev.advance(20 * MIN)
    dev.board.moving = False
    dev.idle_ms = 1000
    await dev.advance(3000)
    end = records(root)[-1]
    assert end["ev"] == "blind_end" and end["reason"] == "stuck_high", end
    assert 20 * MIN <= end["lasted_ms"] <= 21 * MIN and end["lasted_ms"] == end["ms"] - start["ms"], (start, end)
    await dev.advance(75 * MIN)
    beats = _of(records(root)[n0:], "heartbeat")
    assert len(beats) == 2 and beats[0]["motion"]["armed"] is False and beats[-1]["motion"]["armed"] is True, beats
    assert sum(b["motion"]["blind_ms"] for b in beats) == end["lasted_ms"], beats


async def scenario_pir_that_never_answers_is_a_blind_spot():
    """A cut wire reads low for ever: silent for a day is a blind spot until it answers."""
    dev = await pir_device()
    dev.app.cfg["heartbeat_min"] = 6 * 60
    dev.app.next_heartbeat = dev.app.uptime() + 6 * HOUR
    dev.idle_ms = 10000
    root = dev.storage.root
    n0 = len(records(root))
    await dev.advance(Pir.silent_ms + 20000)
    recs = [r for r in records(root)[n0:] if r["ev"] not in ("heartbeat", "camera_check")]
    assert [r["ev"] for r in recs] == ["blind_start"] and recs[0]["reason"] == "silent", recs
    beats = _of(records(root)[n0:], "heartbeat")
    assert beats and not beats[0]["motion"]["answered"], beats
    dev.idle_ms = 1000
    await walk_by(dev, 3000, 3000)  # repaired: the first complete pulse ends it
    recs = [r for r in records(root) if r["ev"] not in ("heartbeat", "camera_check")]
    assert recs[-1]["ev"] == "blind_end" and recs[-1]["reason"] == "silent", recs[-1]
    assert recs[-1]["lasted_ms"] >= 3000, recs[-1]
    await dev.advance(Motion.quiet_ms)
    assert records(root)[-1]["ev"] != "motion", "the pulse that ended the blind spot was not seen as a visit"


async def _run_until_written(app, n, timeout_ms=60000):
    """The device's own record task and photo task (App.run's), until n records more are out."""
    import asyncio

    from doorstep.compat import sleep_ms

    done = []
    old = app.notify
    app.notify = lambda rec: done.append(rec)
    tasks = [asyncio.create_task(app.record_loop()), asyncio.create_task(app.shots.run())]
    waited = 0
    while len(done) < n and waited < timeout_ms:
        await sleep_ms(5)
        waited += 5
    for t in tasks:
        t.cancel()
    await sleep_ms(10)
    app.notify = old
    return done


async def scenario_five_queued_events_are_photographed_before_the_first_is_signed():
    from scenarios.device import new_device

    dev = await new_device()
    app, cam = dev.app, dev.board.camera
    now = dev.board.clock.ticks_ms
    shots_at = []
    real_write = app.rec.write

    async def write(*a):  # how many frames the camera had taken when each record was signed
        shots_at.append(cam.shots)
        return await real_write(*a)

    app.rec.write = write
    n0 = cam.shots
    app.running = True
    app.door.ring(now())
    for ch in ("mqtt", "network", "console", "mqtt_admin"):  # a burst of refusals, one per channel
        app.door.remote(ch, "reveal", now())
    assert len(app.queue) == 5 and cam.shots == n0
    done = await _run_until_written(app, 5)
    assert [r["ev"] for r in done] == ["ring"] + ["relay_refused"] * 4, done
    assert shots_at[0] - n0 == 5, shots_at  # every frame before the first signature
    for r in done:
        assert r["photo"]["file"] == "photos/%d.jpg" % r["seq"] and r["cap_ms"] >= r["ms"], r
        assert dev.storage.size(r["photo"]["file"]) == r["photo"]["size"]
    assert len(set(r["photo"]["sha256"] for r in done)) == 5
    assert not [n for n in dev.storage.listdir("photos") if n.startswith("cap")]
