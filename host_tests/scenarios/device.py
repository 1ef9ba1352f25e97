"""The whole device on the virtual board: door events become signed records on flash."""

import json

from doorstep.storage import Storage
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from fakes import CutStorage, PowerCut, Rng, tmpdir

T0 = 1782378000  # 2026-06-25T09:00:00Z
CODE = "482913"


def records(root):
    st = Storage(root)
    out = []
    for name in st.listdir("records"):
        for ln in st.read("records/" + name).split(b"\n"):
            if ln:
                out.append(json.loads(ln))
    return out


async def new_device(root=None, t=T0, storage=None):
    root = root or tmpdir()
    dev = VirtualDevice(root, VirtualBoard(t, "host"), storage)
    await dev.provision(Rng(3))
    await dev.boot()
    return dev


async def door_session(root):
    """The reference session other tests (and the host-side verifier test) look at."""
    dev = await new_device(root)
    dev.app.door.codes.add(CODE, "parcel-1")
    await dev.ring()
    await dev.press("1111#")
    await dev.press(CODE + "#")
    await dev.press(CODE + "#")
    await dev.advance(61 * 60 * 1000)  # a heartbeat comes due
    return dev


async def scenario_door_session_records():
    root = tmpdir()
    dev = await door_session(root)
    recs = records(root)
    kinds = [r["ev"] for r in recs]
    assert kinds == ["genesis", "boot", "ring", "attempt", "attempt", "attempt", "heartbeat"], kinds
    assert [r["seq"] for r in recs] == list(range(7))
    g = recs[0]
    assert g["prev"] == "0" * 64 and len(g["pub"]) == 64 and g["boot"] == 0
    outcomes = [r.get("outcome") for r in recs if r["ev"] == "attempt"]
    assert outcomes == ["wrong", "accepted", "used"], outcomes
    for r in recs:
        assert r["v"] == 1 and r["dev"] == recs[0]["dev"] and len(r["sig"]) == 128
        assert r["t"] is not None and r["tq"] == "host"
    for r in recs[2:6]:
        assert r["photo"]["file"] == "photos/%d.jpg" % r["seq"], r
    hb = recs[-1]
    assert hb["counts"] == {"ring": 1, "attempt": 3, "boot": 1}, hb["counts"]
    # the verdict came before the record: feedback in order wrong, accepted, wrong
    fb = [f for f in dev.board.feedback_log if f not in ("key",)]
    assert fb == ["wrong", "accepted", "wrong"], fb


async def scenario_no_digits_anywhere():
    root = tmpdir()
    await door_session(root)
    st = Storage(root)
    for name in st.listdir("records"):
        data = st.read("records/" + name)
        assert CODE.encode() not in data and b"1111#" not in data
    for name in st.listdir("photos"):
        assert CODE not in name
        assert CODE.encode() not in st.read("photos/" + name)
    assert CODE.encode() not in st.read("codes.json")


async def scenario_photo_stamped_with_dev_seq_time():
    root = tmpdir()
    await door_session(root)
    r = [x for x in records(root) if x["ev"] == "ring"][0]
    data = Storage(root).read(r["photo"]["file"])
    assert data[:4] == b"\xff\xd8\xff\xfe"
    n = data[4] * 256 + data[5]
    text = data[6 : 4 + n].decode()
    # taken at the event, before the record had its seq: boot and capture time name it
    assert text == "doorstep dev=%s boot=%d cap=%d t=%d ev=ring" % (r["dev"], r["boot"], r["cap_ms"], r["t"]), text


async def scenario_camera_faults_never_block_records():
    dev = await new_device()
    dev.app.door.budget.quiet_ms = 0  # every ring a new visit: each one photographed
    cam = dev.board.camera
    for mode in ("fail", "none", "slow", "ok", "ok", "ok", "dark", "frozen"):
        cam.mode = mode
        await dev.ring()
    recs = [r for r in records(dev.storage.root) if r["ev"] == "ring"]
    got = [(r["photo"] is None, r.get("photo_err"), r.get("photo_flag")) for r in recs]
    assert got[0] == (True, "camera: camera not responding", None), got[0]
    assert got[1] == (True, "no frame", None), got[1]
    assert got[2] == (True, "timeout", None), got[2]
    assert got[3:6] == [(False, None, None)] * 3, got
    assert got[6] == (False, None, "dark"), got[6]
    assert got[7] == (False, None, "frozen"), got[7]


async def _ring_with_budget(budget):
    """Boot a device, ring with `budget` bytes of power left; returns (root, records before, bytes used)."""
    root = tmpdir()
    dev = await new_device(root)
    before = len(records(root))
    cut = CutStorage(root, budget)
    dev.app.storage = dev.app.rec.storage = dev.app.ledger.storage = cut
    died = False
    try:
        await dev.ring()
    except PowerCut:
        died = True
    return root, before, None if died else budget - cut.budget


async def scenario_power_cut_mid_record_then_recovered():
    root0, _before, used = await _ring_with_budget(10 ** 9)  # bytes a ring writes (photo + record)
    line = len(Storage(root0).read("records/00000000.jsonl").split(b"\n")[-2]) + 1
    cuts = list(range(1, used, used // 6)) + [used - line, used - line + 1, used - 40, used - 1]
    for budget in cuts:
        root, before, done = await _ring_with_budget(budget)
        assert done is None, budget  # the power did go off
        dev2 = VirtualDevice(root, VirtualBoard(T0 + 100, "host"))
        await dev2.boot()
        recs = records(root)
        seqs = [r["seq"] for r in recs]
        assert seqs == list(range(len(recs))), seqs  # no seq reused or skipped
        kinds = [r["ev"] for r in recs[before:]]
        if budget > used - line:
            # photo written, the record line torn: recovered says how many bytes were cut
            assert kinds == ["recovered", "boot"], (budget, kinds)
            assert recs[before]["bytes"] == budget - (used - line), recs[before]
        else:
            # the cut came before the record; a frame already on flash (or half of one) is
            # accounted for at boot, never left unexplained (shots.recover)
            assert kinds in (["boot"], ["boot", "photo_recovered"]), (budget, kinds)
            for r in recs[before:]:
                if r["ev"] == "photo_recovered" and r.get("photo"):
                    assert Storage(root).size(r["photo"]["file"]) == r["photo"]["size"], r
        boot = [r for r in recs[before:] if r["ev"] == "boot"][-1]
        assert boot["boot"] == 2 and boot["clean"] is False


async def scenario_flash_full_fails_closed_then_catches_up():
    root = tmpdir()
    cut = CutStorage(root)
    dev = await new_device(root, storage=cut)
    dev.app.door.codes.add(CODE, "p")
    cut.fail = True  # every write now fails like a full flash
    await dev.ring()
    assert dev.app.door.fail_closed and len(dev.app.queue) == 1
    await dev.press(CODE + "#")
    assert dev.board.feedback_log[-1] == "fail_closed"
    assert dev.app.door.codes.list()[0]["used"] is None
    cut.fail = False  # space came back
    await dev.advance(20)
    recs = records(root)
    kinds = [r["ev"] for r in recs]
    assert kinds[-2:] == ["ring", "attempt"] and recs[-1]["outcome"] == "fail_closed", kinds
    assert not dev.app.door.fail_closed
    await dev.press(CODE + "#")
    assert records(root)[-1]["outcome"] == "accepted"


async def scenario_clean_and_unclean_boots():
    root = tmpdir()
    dev = await new_device(root)
    dev.app.stop()
    dev2 = VirtualDevice(root, VirtualBoard(T0, "host"))
    await dev2.boot()
    dev3 = VirtualDevice(root, VirtualBoard(T0, "host"))
    dev3.board.cause = "watchdog"
    await dev3.boot()
    boots = [r for r in records(root) if r["ev"] == "boot"]
    assert [(b["boot"], b["clean"], b["reason"]) for b in boots] == [
        (1, True, "power_on"), (2, True, "power_on"), (3, False, "watchdog")], boots


async def scenario_time_set_recorded():
    dev = await new_device(t=None)
    dev.app.set_time(T0, "ntp")
    dev.app.set_time(T0 + 5, "ntp")  # a small correction is not a jump
    dev.app.set_time(T0 + 3600, "ntp")
    await dev.advance(20)
    ts = [r for r in records(dev.storage.root) if r["ev"] == "time_set"]
    assert [(r["old"], r["new"], r["source"]) for r in ts] == [(None, T0, "ntp"), (T0 + 5, T0 + 3600, "ntp")], ts
    assert ts[0]["t"] == T0 and ts[0]["tq"] == "ntp"  # stamped with the clock it just learned


async def scenario_lockout_records_and_resume():
    root = tmpdir()
    dev = await new_device(root)
    for _ in range(3):
        await dev.press("0000#")
    recs = records(root)
    assert recs[-1]["ev"] == "lockout_start" and recs[-1]["photo"] is not None
    dev2 = VirtualDevice(root, VirtualBoard(T0, "host"))
    await dev2.boot()
    r = records(root)[-1]
    assert r["ev"] == "lockout_start" and r["resumed"] is True, r
    await dev2.advance(61000)
    assert records(root)[-1]["ev"] == "lockout_end"


async def scenario_keys_pressed_while_a_record_is_signed_are_not_lost():
    """The door loop and the record writer as two tasks, as on the device: a code typed
    while the ring's record is being signed is scanned key by key and accepted."""
    import asyncio

    from doorstep.compat import sleep_ms

    root = tmpdir()
    dev = await new_device(root)
    app, board = dev.app, dev.board
    app.door.codes.add(CODE, "p")
    board.ring()
    board.clock.advance(10)
    app.step()
    assert [e[0]["ev"] for e in app.queue] == ["ring"]
    keys = CODE + "#"
    typed = [0]
    signed_after = []

    async def record_writer():
        await app.drain()  # photo, then Ed25519 signing, which yields between steps
        signed_after.append(typed[0])

    async def door_loop():
        t = 0
        while typed[0] < len(keys) or board.keypad.down or not signed_after:
            if typed[0] < len(keys) and t % 150 == 50:  # the scanner first sees the idle keypad
                board.keypad.press(keys[typed[0]])
                typed[0] += 1
            board.clock.advance(10)
            t += 10
            app.step()
            await sleep_ms(0)

    # Both as tasks: in the WebAssembly port a coroutine awaited from the top level would
    # only resume once every task had finished.
    writer = asyncio.create_task(record_writer())
    await asyncio.create_task(door_loop())
    await writer
    assert signed_after == [len(keys)], (signed_after, "keys typed before the signature was done")
    assert board.feedback_log[-1] == "accepted", board.feedback_log
    await app.drain()
    recs = records(root)
    assert [r["ev"] for r in recs[-2:]] == ["ring", "attempt"], recs[-2:]
    assert recs[-1]["outcome"] == "accepted" and recs[-1]["digits"] == len(CODE)


def _time_order_ok(recs):
    """The verifier's rule: within a boot, t goes back only at or right after a time_set."""
    for a, b in zip(recs, recs[1:]):
        if a["boot"] == b["boot"] and a["tq"] == b["tq"] and isinstance(a["t"], int) and isinstance(b["t"], int):
            if b["t"] < a["t"] and "time_set" not in (a["ev"], b["ev"]):
                return "seq %d: t goes back from %d to %d" % (b["seq"], a["t"], b["t"])
    return None


async def scenario_any_step_back_of_the_clock_is_recorded():
    dev = await new_device(t=None)
    app = dev.app
    app.set_time(T0, "ntp")
    await dev.ring()
    await dev.advance(30000)
    app.set_time(T0, "ntp")  # 30 s back: far under time_jump_s, still a step back
    await dev.ring()
    app.set_time(T0 + 40, "ntp")  # a small step forward is not worth a record
    await dev.advance(20)
    recs = records(dev.storage.root)
    ts = [(r["old"], r["new"]) for r in recs if r["ev"] == "time_set"]
    assert ts == [(None, T0), (T0 + 30, T0)], ts
    assert _time_order_ok(recs) is None, _time_order_ok(recs)


async def scenario_host_record_behind_the_device_clock_keeps_time_order():
    from doorstep import admin

    root = tmpdir()
    dev = await new_device(root)
    await dev.advance(90000)
    await dev.ring()  # t = T0 + 90, tq host
    dev.app.stop()
    admin.add_code(dev.storage, T0 + 30, "5566778899", "late-pc")  # the PC's clock is behind
    recs = records(root)
    assert [r["ev"] for r in recs[-2:]] == ["time_set", "code_added"], recs[-2:]
    assert _time_order_ok(recs) is None, _time_order_ok(recs)


async def scenario_lost_or_damaged_boot_file_recovers_the_counter():
    root = tmpdir()
    await new_device(root)
    for content, why in ((None, "missing"), (b'{"boot": 1, "cl', "damaged"), (b"[3]", "damaged"),
                         (b'{"boot": "9"}', "damaged"), (b'{"boot": 0, "clean": true}', "behind the log")):
        st = Storage(root)
        before = records(root)[-1]["boot"]
        if content is None:
            st.remove("boot.json")
        else:
            st.write_atomic("boot.json", content)
        dev = VirtualDevice(root, VirtualBoard(T0, "host"))
        await dev.boot()  # never a crash loop
        b = records(root)[-1]
        assert b["ev"] == "boot" and b["boot"] == before + 1, (why, b)
        assert b["boot_recovered"] == "boot.json " + why and b["clean"] is False, b
        dev.app.stop()
    dev = VirtualDevice(root, VirtualBoard(T0, "host"))
    await dev.boot()
    b = records(root)[-1]
    assert "boot_recovered" not in b and b["clean"] is True, b
