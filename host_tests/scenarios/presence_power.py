"""Presence evidence across a power cut (issue 14): a frame taken at the event whose record
was still in RAM is not lost; it becomes a signed `photo_recovered` record at the next boot."""

from doorstep.motion import Motion
from doorstep.storage import Storage
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from doorstep_tools.virtual.flash import CutStorage
from doorstep_tools.virtual.floods import HOUR, MIN
from fakes import tmpdir
from scenarios.device import T0, records
from scenarios.presence import WARM, _file_sha, pir_device, walk_by


async def scenario_a_visits_photo_survives_a_power_cut_before_its_record():
    root = tmpdir()
    dev = await pir_device(root)
    dev.board.moving = True
    await dev.advance(3000)  # the visit has begun: its frame is on flash, its record waits for the visit's end
    st = Storage(root)
    caps = [n for n in st.listdir("photos") if n.startswith("cap")]
    assert len(caps) == 1, st.listdir("photos")
    with st.open("photos/" + caps[0][:-4] + ".tmp", "wb") as f:  # and one cut while it was being written
        f.write(b"\xff\xd8half a frame")
    n0 = len(records(root))
    # the power goes: RAM (the visit, the queue) is lost, the flash stays
    dev2 = VirtualDevice(root, VirtualBoard(T0 + 60, "host", pir=True))
    await dev2.boot()
    new = records(root)[n0:]
    got = [r for r in new if r["ev"] == "photo_recovered"]
    assert [r.get("torn") for r in got] == [1, None], new
    rec = got[1]
    assert rec["name"] == caps[0] and rec["photo"]["file"] == "photos/%d.jpg" % rec["seq"], rec
    assert _file_sha(st, rec["photo"]["file"]) == rec["photo"]["sha256"] and "cap_ms" not in rec
    assert b"ev=motion" in st.read(rec["photo"]["file"])[:200]
    assert not [n for n in st.listdir("photos") if n.startswith("cap")], st.listdir("photos")
    await dev2.advance(WARM)
    assert [r["ev"] for r in records(root)[n0:]][-1] == "photo_recovered"  # nothing more: the visit itself was lost


async def scenario_a_heartbeat_flash_refused_keeps_its_motion_and_camera_account():
    """The sensors' account is taken once per heartbeat: a heartbeat that a full flash
    refused goes out later with the visits and frames it was to report, none lost."""
    root = tmpdir()
    cut = CutStorage(root)
    dev = await pir_device(root, cut)
    n0 = len(records(root))
    await walk_by(dev, 3000, Motion.quiet_ms + 1000)
    assert [r["ev"] for r in records(root)[n0:]] == ["motion"], records(root)[n0:]
    cut.fail = True  # the flash refuses every write when the heartbeat falls due
    await dev.advance(HOUR - dev.board.clock.ms % HOUR + 2000)
    assert [e[0]["ev"] for e in dev.app.queue] == ["heartbeat"], dev.app.queue
    assert records(root)[-1]["ev"] == "motion" and dev.app.door.fail_closed
    await dev.advance(5 * MIN)  # retried meanwhile, and refused again
    cut.fail = False  # room again
    await dev.advance(5 * MIN)
    beats = [r for r in records(root)[n0:] if r["ev"] == "heartbeat"]
    assert len(beats) == 1, beats
    hb = beats[0]
    assert hb["motion"]["visits"] == 1 and hb["motion"]["triggers"] == 1 and hb["motion"]["answered"], hb
    assert hb["camera"]["frames"] >= 1 and hb["camera"]["good"] == hb["camera"]["frames"], hb
    assert hb["counts"].get("motion") == 1, hb
