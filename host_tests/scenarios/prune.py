"""Storage pressure on a small flash: photos go first, then records the homeowner pulled.

The device runs on SmallFlash, a folder that behaves like a chip of a given size.
"""

from doorstep import admin
from doorstep.ledger import Ledger, segment_name
from doorstep_tools.virtual.flash import SmallFlash
from fakes import tmpdir
from scenarios.device import CODE, new_device, records

NEED = 16 * 1024


def _photos(st):
    return sorted(int(n[:-4]) for n in st.listdir("photos") if n.endswith(".jpg"))


async def _small_device(root, per_segment=None):
    flash = SmallFlash(root, 10 ** 7)
    dev = await new_device(root, storage=flash)
    dev.app.cfg["min_free_kb"] = NEED // 1024
    dev.app.door.budget.quiet_ms = 0  # every ring a new visit, recorded with its photo
    if per_segment:
        dev.app.ledger.per_segment = per_segment
    return dev, flash


async def photo_pressure(root):
    """Five rings, then the flash fills: the oldest photos make room. Returns the device."""
    dev, flash = await _small_device(root)
    for _ in range(5):
        await dev.ring()
    flash.capacity = flash.used() + NEED + 600  # the next ring's photo and record do not fit
    await dev.ring()
    await dev.ring()
    return dev


async def scenario_oldest_photos_pruned_first_and_recorded():
    root = tmpdir()
    dev = await photo_pressure(root)
    recs = records(root)
    pruned = [r for r in recs if r["ev"] == "photo_pruned"]
    assert len(pruned) >= 1, [r["ev"] for r in recs]
    gone = []
    for r in pruned:
        gone += r["seqs"]
    rang = [r["seq"] for r in recs if r["ev"] == "ring"]
    assert gone == rang[: len(gone)], (gone, rang)  # oldest first, in order
    left = _photos(dev.storage)
    assert not set(gone) & set(left)
    assert left == [s for s in rang if s not in gone], (left, rang)
    assert recs[-1]["ev"] == "ring" and recs[-1]["photo"] is not None  # the newest was taken
    assert dev.storage.free_bytes() >= 0 and not dev.app.door.fail_closed


async def record_pressure(root):
    """Twelve records in segments of 4; the homeowner pulled up to seq 7; then flash fills.

    Returns (device, {seq: hash} of the records before pruning).
    """
    dev, flash = await _small_device(root, per_segment=4)
    dev.board.camera.mode = "fail"  # no photos: only records can make room
    for _ in range(10):
        await dev.ring()  # seqs 2..11: segments 0, 4, 8
    led = Ledger(dev.storage)
    hashes = {s: led.hash_of(s) for s in range(12)}
    admin.mark_pulled(dev.storage, 7, hashes[7])
    flash.capacity = flash.used() + NEED - 1500  # room once the two pulled segments are gone
    await dev.ring()
    return dev, hashes


async def scenario_pulled_segments_pruned_oldest_first():
    root = tmpdir()
    dev, hashes = await record_pressure(root)
    st = dev.storage
    assert not st.exists(segment_name(0)) and not st.exists(segment_name(4))
    assert st.exists(segment_name(8))  # not pulled yet: kept, even though space is short
    recs = records(root)
    pr = [(r["from"], r["to"], r["last_hash"]) for r in recs if r["ev"] == "records_pruned"]
    assert pr == [(0, 3, hashes[3]), (4, 7, hashes[7])], pr
    assert recs[0]["seq"] == 8 and recs[0]["prev"] == hashes[7]
    seqs = [r["seq"] for r in recs]
    assert seqs == list(range(8, 8 + len(seqs))), seqs
    assert recs[-1]["ev"] == "ring"


async def scenario_mark_pulled_refuses_a_wrong_head():
    root = tmpdir()
    dev, _flash = await _small_device(root)
    await dev.ring()
    led = Ledger(dev.storage)
    for seq, head in ((2, "0" * 64), (9, led.hash_of(2)), (2, led.hash_of(1))):
        try:
            admin.mark_pulled(dev.storage, seq, head)
            raise AssertionError("accepted a pulled head the device does not have: %r" % seq)
        except ValueError as e:
            assert "does not match" in str(e)
    assert not dev.storage.exists("pulled.json")
    admin.mark_pulled(dev.storage, 2, led.hash_of(2))
    assert dev.storage.read_json("pulled.json")["seq"] == 2


async def scenario_full_flash_nothing_prunable_fails_closed():
    root = tmpdir()
    dev, flash = await _small_device(root)
    dev.app.door.codes.add(CODE, "p")
    await dev.advance(20)
    dev.board.camera.mode = "fail"
    n = len(records(root))
    flash.capacity = flash.used() + 100  # not even one record fits, nothing pulled to prune
    await dev.ring()
    await dev.press(CODE + "#")
    assert dev.board.feedback_log[-1] == "fail_closed"
    assert dev.app.door.fail_closed and len(records(root)) == n
    assert dev.app.door.codes.list()[0]["used"] is None  # the code was not spent
    flash.capacity += 10 ** 6  # space came back (e.g. the homeowner pulled and pruned)
    await dev.advance(1500)
    recs = records(root)
    # The ring found no room outside the reserve kept for code attempts: it was counted,
    # not recorded, and its count comes in a burst_end once the burst is over.
    kinds = [(r["ev"], r.get("outcome"), r.get("of"), r.get("suppressed")) for r in recs[n:]]
    assert sorted(kinds, key=str) == [("attempt", "fail_closed", None, None), ("burst_end", None, "ring", 1)], kinds
    assert not dev.app.door.fail_closed
