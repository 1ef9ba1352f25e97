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
