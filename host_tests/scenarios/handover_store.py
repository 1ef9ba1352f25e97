"""The handover store and the key grammar, on both runtimes: codes keep their meaning, bad
input is refused without naming the code, a damaged or altered store shows nothing.
"""

from doorstep import handover as H
from doorstep.codes import CodeError
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from doorstep_tools.virtual.display import VirtualDisplay
from fakes import Rng, tmpdir
from scenarios.device import CODE, T0
from scenarios.handover import CARRIER, CHALLENGE, add, book, evs, hdevice, shown


async def scenario_star_keeps_codes_working():
    """'*' still clears typed digits, and a code typed after a clear is a code, not a challenge."""
    dev = await hdevice()
    add(dev)
    dev.app.door.codes.add(CODE, "parcel-1")
    await dev.press("12*" + CODE + "#")
    a = evs(dev, "attempt")
    assert [(r["outcome"], r.get("mode")) for r in a] == [("accepted", None)], a
    await dev.press("**" + CHALLENGE + "#")  # started, cancelled: this is a code entry
    assert evs(dev, "attempt")[-1]["outcome"] == "wrong" and "mode" not in evs(dev, "attempt")[-1]
    assert book(dev).list()[0]["released"] is None and CARRIER not in shown(dev)


async def scenario_store_refuses_bad_input():
    dev = await hdevice()
    b = book(dev)
    for args in (("x", "12", CHALLENGE), ("x", CARRIER, "12"), ("x", CARRIER, "12a45"), ("x" + CHALLENGE, CARRIER, CHALLENGE),
                 ("K7Q2-90417!", CARRIER, CHALLENGE), ("", CARRIER, CHALLENGE)):
        try:
            b.add(args[0], args[1], args[2], None, None, dev.rng)
        except CodeError as e:  # HandoverError, or the code book's label check
            assert CARRIER not in str(e) and CHALLENGE not in str(e)
        else:
            raise AssertionError(args)
    add(dev)
    try:
        add(dev, "other", "ZZZZ-1")  # the same challenge for two waiting parcels
    except H.HandoverError as e:
        assert "challenge" in str(e)
    else:
        raise AssertionError("same challenge accepted")
    st = dev.storage
    raw = st.read_json(H.FILE)
    raw["h"][0]["ct"] = "00" + raw["h"][0]["ct"][2:]  # a tampered ciphertext is never shown
    st.write_json(H.FILE, raw)
    dev.app.door.handover.book = H.HandoverBook(st)
    await dev.press("*" + CHALLENGE + "#")
    assert evs(dev, "attempt")[-1]["outcome"] == "unavailable" and CARRIER[1:] not in shown(dev)


def scenario_code_entries_mean_the_same_with_handovers_on():
    """Random key sequences: with handovers on, every action is the same as without, up to the
    first '*' typed on an empty entry; only '*' + digits + '#' from there is a challenge."""
    from doorstep.entry import CodeEntry

    rng = Rng(42)
    keys = "0123456789*#"
    seen_challenge = 0
    for _ in range(400):
        seq = [keys[b % 12] for b in rng(1 + rng(1)[0] % 20)]
        plain, ho = CodeEntry(), CodeEntry()
        ho.handover = True
        started = False
        for i, ch in enumerate(seq):
            if ch == "*" and not ho.pending() and not ho.mode:
                started = True
            a, b = plain.key(ch, i * 100), ho.key(ch, i * 100)
            if not started:
                assert a == b, (seq, i)
            if b is not None and b[0] == "challenge":
                assert started
                seen_challenge += 1
                started = False
                plain = CodeEntry()  # both sides start again from an empty entry
            if b is not None and b[0] in ("submit", "submit_invalid") and started:
                raise AssertionError("a challenge became a code: %r" % seq)
            if not ho.mode and not ho.pending() and not plain.pending():
                started = False
    assert seen_challenge > 10, seen_challenge


async def scenario_damaged_store_is_recorded_and_shows_nothing():
    root = tmpdir()
    dev = await hdevice(root)
    add(dev)
    dev.storage.write_atomic(H.FILE, b'{"h": [{"label": "x"')  # cut short
    dev2 = VirtualDevice(root, VirtualBoard(T0 + 60, "host"))
    dev2.board.display = VirtualDisplay()
    await dev2.boot()
    d = evs(dev2, "handover_damaged")
    assert len(d) == 1 and "handover.json" in d[0]["error"], d
    await dev2.press("*" + CHALLENGE + "#")
    a = evs(dev2, "attempt")[-1]
    assert (a["outcome"], a["mode"]) == ("unavailable", "handover") and CARRIER not in shown(dev2)


async def scenario_show_time_is_configurable():
    root = tmpdir()
    dev = await hdevice(root)
    add(dev)
    dev.storage.write_json("config.json", {"handover_show_s": 10})
    dev2 = VirtualDevice(root, VirtualBoard(T0 + 60, "host"))
    dev2.board.display = VirtualDisplay()
    await dev2.boot()
    await dev2.press("*" + CHALLENGE + "#")
    assert CARRIER in shown(dev2) and evs(dev2, "handover")[0]["shown_s"] == 10
    await dev2.advance(9000)
    assert CARRIER in shown(dev2)
    await dev2.advance(1500)
    assert dev2.board.display.lines == []


async def scenario_a_failing_display_is_recorded_not_claimed_as_shown():
    class Broken(VirtualDisplay):
        def show(self):
            raise OSError(19)  # the OLED stopped answering on I2C

    root = tmpdir()
    dev = await hdevice(root)
    add(dev)
    dev2 = VirtualDevice(root, VirtualBoard(T0 + 60, "host"))
    dev2.board.display = Broken()
    await dev2.boot()
    await dev2.press("*" + CHALLENGE + "#")
    h = evs(dev2, "handover")
    assert len(h) == 1 and h[0]["display_failed"] is True, h
    assert dev2.board.feedback_log[-1] == "fail_closed"
    assert book(dev2).list()[0]["released"] is not None  # released once all the same: never twice
