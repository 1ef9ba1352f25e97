"""Presence evidence (issue 14): the camera proven alive, and snapshots on request, in virtual time."""

from doorstep_tools.virtual.floods import HOUR
from scenarios.device import records
from scenarios.presence import _of


# Camera liveness (liveness.py)

async def scenario_heartbeat_proves_the_camera_saw_and_a_photo_is_kept_now_and_then():
    from scenarios.device import new_device

    from doorstep.liveness import CameraWatch

    dev = await new_device()
    watch = [s for s in dev.app.sensors if isinstance(s, CameraWatch)][0]
    watch.keep_ms = 6 * HOUR  # config.json camera_keep_min: 360
    watch.next_keep = dev.board.clock.ticks_ms() + watch.keep_ms
    root = dev.storage.root
    n0 = len(records(root))
    await dev.advance(6 * HOUR + 2000)
    recs = records(root)[n0:]
    beats = _of(recs, "heartbeat")
    assert len(beats) == 6, [r["ev"] for r in recs]
    per_hour = HOUR // CameraWatch.probe_ms
    for b in beats:
        cam = b["camera"]
        assert cam["seen"] is True and cam["blind_ms"] == 0 and per_hour - 1 <= cam["good"] <= cam["frames"] <= per_hour + 1, cam
        last = cam["last"]
        assert len(last["sha256"]) == 64 and last["size"] > 1000 and b["ms"] - CameraWatch.probe_ms <= last["cap_ms"] <= b["ms"], (b["ms"], last)
    kept = _of(recs, "camera_check")
    assert len(kept) == 1 and kept[0]["photo"]["file"] == "photos/%d.jpg" % kept[0]["seq"], kept
    assert dev.storage.size(kept[0]["photo"]["file"]) == kept[0]["photo"]["size"]
    # probes are hashed, never written: the kept photo is the only one
    assert dev.storage.listdir("photos") == ["%d.jpg" % kept[0]["seq"]], dev.storage.listdir("photos")
    from doorstep import prune

    assert prune.photo_rank(dev.storage, kept[0]["seq"]) == 0  # the first to go when room is needed
    # the kept photo is a thumbnail; the photo of the next event is a full frame again
    assert kept[0]["frame"] == "QVGA" and "photo_flag" not in kept[0], kept[0]
    await dev.ring()
    ring = records(root)[-1]
    assert ring["ev"] == "ring" and "frame" not in ring and "photo_flag" not in ring, ring
    assert ring["photo"]["size"] > 3 * kept[0]["photo"]["size"], (ring["photo"], kept[0]["photo"])
    assert all(b["camera"]["last"]["size"] > 3 * kept[0]["photo"]["size"] for b in beats), "a thumbnail is never `last`"


async def scenario_a_camera_that_cannot_take_thumbnails_keeps_full_frames():
    from scenarios.device import new_device

    from doorstep.liveness import CameraWatch

    dev = await new_device()
    dev.board.camera.thumb_size = None  # a driver without a frame size switch
    watch = [s for s in dev.app.sensors if isinstance(s, CameraWatch)][0]
    watch.next_keep = dev.board.clock.ticks_ms() + 1000
    n0 = len(records(dev.storage.root))
    await dev.advance(3000)
    kept = _of(records(dev.storage.root)[n0:], "camera_check")
    assert len(kept) == 1 and "frame" not in kept[0] and kept[0]["photo"]["size"] > 1500, kept


async def scenario_dark_frozen_or_failing_camera_is_a_blind_spot_with_start_and_end():
    from scenarios.device import new_device

    from doorstep.liveness import CameraWatch

    dev = await new_device()
    root, cam = dev.storage.root, dev.board.camera
    dev.idle_ms = 5000
    await dev.advance(CameraWatch.probe_ms * 2)  # a few good frames first: the median of sizes
    for mode, reason in (("dark", "dark"), ("frozen", "frozen"), ("fail", "failing")):
        n0 = len(records(root))
        cam.mode = mode
        await dev.advance(CameraWatch.probe_ms * (CameraWatch.bad_in_a_row + 2))
        starts = [r for r in records(root)[n0:] if r["ev"] == "blind_start"]
        assert len(starts) == 1 and (starts[0]["sensor"], starts[0]["reason"]) == ("camera", reason), (mode, starts)
        cam.mode = "ok"
        await dev.advance(CameraWatch.probe_ms + 5000)
        ends = [r for r in records(root)[n0:] if r["ev"] == "blind_end"]
        assert len(ends) == 1 and ends[0]["reason"] == reason, (mode, records(root)[n0:])
        assert ends[0]["lasted_ms"] >= CameraWatch.probe_ms * 2 and ends[0]["ms"] > starts[0]["ms"], (starts, ends)
    await dev.advance(HOUR)
    beats = _of(records(root), "heartbeat")
    assert beats and beats[0]["camera"]["seen"] is False and beats[0]["camera"]["blind_ms"] > 0, beats[0]["camera"]


# Snapshots on request (snapshot.py)

async def scenario_snapshot_while_locked_out_and_a_rate_limited_flood():
    from scenarios.device import new_device

    dev = await new_device()
    app, root = dev.app, dev.storage.root
    while not app.door.lockout.is_locked(dev.board.clock.ticks_ms()):
        await dev.press("111111#")
    n0 = len(records(root))
    snaps = app.snapshots
    now = dev.board.clock.ticks_ms
    assert snaps.request("hass", now()) is True
    await dev.tick()
    recs = records(root)[n0:]
    assert [r["ev"] for r in recs] == ["snapshot"] and recs[0]["photo"]["file"] == "photos/%d.jpg" % recs[0]["seq"], recs
    assert app.door.lockout.is_locked(now())
    sent = 1
    for _ in range(2 * 360):  # a press every 10 s for two hours
        snaps.request("hass", now())
        sent += 1
        await dev.advance(10000)
    recs = [r for r in records(root)[n0:] if r["ev"] == "snapshot"]
    assert len(recs) <= 2 * snaps.per_hour + 1 and all(r["photo"] for r in recs), len(recs)
    assert len(recs) + sum(r.get("rate_limited", 0) for r in recs) + snaps.limited == sent
    for a in recs:
        near = [b for b in recs if 0 <= b["ms"] - a["ms"] < HOUR]
        assert len(near) <= snaps.per_hour, len(near)


# Motion from the camera where no PIR is fitted (camotion.py)

async def _camera_watching(motion_s):
    from doorstep_tools.virtual.board import VirtualBoard
    from doorstep_tools.virtual.device import VirtualDevice
    from fakes import Rng, tmpdir
    from scenarios.device import T0

    root = tmpdir()
    dev = VirtualDevice(root, VirtualBoard(T0, "host"))
    await dev.provision(Rng(3))
    if motion_s:
        dev.storage.write_json("config.json", {"camera_motion_s": motion_s})
    await dev.boot()
    await dev.advance(10000)  # a few frames: the baseline
    return dev


async def scenario_without_a_pir_the_camera_sees_a_visit():
    from doorstep.motion import Motion

    dev = await _camera_watching(2)
    root, cam = dev.storage.root, dev.board.camera
    assert dev.app.motion is not None and dev.app.motion.pir.state == "ok"
    n0 = len(records(root))
    await dev.advance(20000)
    assert len(records(root)) == n0  # the same scene: nothing
    cam.mode = "person"  # someone walks up
    await dev.advance(12000)
    cam.mode = "ok"
    await dev.advance(Motion.quiet_ms + 10000)
    new = records(root)[n0:]
    assert [r["ev"] for r in new] == ["motion"], new
    m = new[0]
    assert m["triggers"] >= 1 and m["photo"]["size"] > 2600, m  # its photo shows the visitor
    assert m["cap_ms"] - m["start_ms"] <= 3000, m
    await dev.advance(HOUR)
    hb = _of(records(root), "heartbeat")[-1]
    assert hb["motion"]["armed"] is True and hb["motion"]["visits"] == 1, hb["motion"]


async def scenario_camera_motion_is_off_unless_configured():
    dev = await _camera_watching(0)
    assert dev.app.motion is None
    n0 = len(records(dev.storage.root))
    dev.board.camera.mode = "person"
    await dev.advance(20000)
    dev.board.camera.mode = "ok"
    await dev.advance(70000)
    assert not [r for r in records(dev.storage.root)[n0:] if r["ev"] == "motion"]
