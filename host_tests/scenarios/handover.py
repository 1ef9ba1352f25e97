"""Handover codes at the door, on both runtimes: the real App on the virtual board with a display.

The carrier code is shown once, to whoever types '*' + the right challenge + '#' at the
keypad inside the window, never while the intercom is in use, never to any remote channel;
its bytes are in no record, photo, file (but the encrypted store), message or answer.
"""

import json

from doorstep import admin
from doorstep import handover as H
from doorstep.storage import Storage
from doorstep_tools.virtual.audio import dtmf_pcm
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from doorstep_tools.virtual.display import VirtualDisplay
from doorstep.codes import CodeError
from fakes import CutStorage, PowerCut, Rng, tmpdir
from scenarios.device import CODE, T0, records

CARRIER = "K7Q2-90417"  # what the driver types into the handset
CHALLENGE = "55218"  # the end of the tracking number on the parcel's label
LABEL = "amazon-0625"


class Tap(Storage):
    """Storage that keeps every byte written to the flash, file by file, in order."""

    def __init__(self, root):
        Storage.__init__(self, root)
        self.written = {}

    def open(self, rel, mode="rb"):
        f = Storage.open(self, rel, mode)
        if "r" in mode and "+" not in mode:
            return f
        return _TapFile(f, self, rel)


class _TapFile:
    def __init__(self, f, tap, rel):
        self.f, self.tap, self.rel = f, tap, rel

    def write(self, data):
        self.tap.written[self.rel] = self.tap.written.get(self.rel, b"") + bytes(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.f.close()


async def hdevice(root=None, t=T0, storage=None):
    root = root or tmpdir()
    board = VirtualBoard(t, "host")
    board.display = VirtualDisplay()
    dev = VirtualDevice(root, board, storage)
    await dev.provision(Rng(3))
    await dev.boot()
    dev.rng = Rng(11)
    return dev


def book(dev):
    return dev.app.door.handover.book


def add(dev, label=LABEL, code=CARRIER, ch=CHALLENGE, f=None, u=None):
    return book(dev).add(label, code, ch, f, u, dev.rng)


def shown(dev):
    return " ".join(dev.board.display.lines)


def evs(dev, kind):
    return [r for r in records(dev.storage.root) if r["ev"] == kind]


async def scenario_handover_released_once():
    dev = await hdevice()
    add(dev, u=T0 + 3600)
    await dev.press("*")
    assert "parcel number" in shown(dev), shown(dev)
    await dev.press(CHALLENGE + "#")
    assert CARRIER in shown(dev) and LABEL in shown(dev), shown(dev)
    assert dev.board.feedback_log[-1] == "handover"
    assert T0 < book(dev).list()[0]["released"] <= dev.board.clock.now()  # on flash before it was shown
    assert Storage(dev.storage.root).read_json(H.FILE)["h"][0]["released"] is not None
    h = evs(dev, "handover")
    assert len(h) == 1 and h[0]["label"] == LABEL and h[0]["shown_s"] == 30, h
    assert h[0]["photo"]["file"] == "photos/%d.jpg" % h[0]["seq"], h[0]
    await dev.advance(29000)
    assert CARRIER in shown(dev)
    await dev.advance(1500)
    assert dev.board.display.lines == [], dev.board.display.lines  # blanked after 30 s
    await dev.press("*" + CHALLENGE + "#")  # a second time: refused, counted as a wrong guess
    assert CARRIER not in shown(dev) and "Wrong code" in shown(dev), shown(dev)
    last = evs(dev, "attempt")[-1]
    assert (last["outcome"], last["mode"], last["label"]) == ("used", "handover", LABEL), last
    assert dev.app.door.lockout.fails == 1
    assert len(evs(dev, "handover")) == 1


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


async def scenario_wrong_challenges_lock_out_with_codes():
    dev = await hdevice()
    add(dev)
    dev.app.door.codes.add(CODE, "parcel-1")
    await dev.press("1111#")  # a wrong code
    await dev.press("*9999#")  # a wrong challenge
    assert dev.app.door.lockout.fails == 2
    await dev.press("*8888#")  # the third wrong guess, of either kind, locks the keypad
    a = evs(dev, "attempt")
    assert [(r["outcome"], r.get("mode")) for r in a] == [("wrong", None), ("wrong", "handover"), ("wrong", "handover")], a
    ls = evs(dev, "lockout_start")
    assert len(ls) == 1 and ls[0]["duration_s"] == 60, ls
    assert "Locked for 60 s" in shown(dev), shown(dev)
    await dev.press("*" + CHALLENGE + "#")  # the right challenge while locked: nothing shown
    assert CARRIER not in shown(dev) and book(dev).list()[0]["released"] is None
    assert "Locked for" in shown(dev)
    await dev.advance(61000)
    await dev.press("*" + CHALLENGE + "#")
    assert CARRIER in shown(dev)


async def scenario_window_expired_and_not_yet():
    dev = await hdevice()
    add(dev, "early", "EARLY-1", "11223", T0 + 3600, T0 + 7200)
    add(dev, "late", "LATE-22", "33445", None, T0 + 60)
    await dev.advance(120000)
    await dev.press("*11223#")
    await dev.press("*33445#")
    a = evs(dev, "attempt")
    assert [(r["outcome"], r["label"]) for r in a] == [("not_yet_valid", "early"), ("expired", "late")], a
    assert "EARLY" not in shown(dev) and "LATE" not in shown(dev)
    assert [r["released"] for r in book(dev).list()] == [None, None]


async def scenario_intercom_in_use_refuses():
    dev = await hdevice()
    add(dev)
    dev.app.door.relay.policy = "flag"  # even where codes are only flagged, no code is shown
    dev.board.intercom_on = True
    await dev.press("*" + CHALLENGE + "#")
    r = evs(dev, "relay_refused")
    assert len(r) == 1 and r[0]["mode"] == "handover" and r[0]["reason"] == "intercom_active", r
    assert "Refused: intercom in use" in shown(dev), shown(dev)
    assert CARRIER not in shown(dev) and book(dev).list()[0]["released"] is None
    dev.board.intercom_on = False
    await dev.press("*" + CHALLENGE + "#")  # just after the call: still refused
    assert evs(dev, "relay_refused")[-1]["reason"] == "intercom_recent"
    await dev.advance(31000)
    await dev.press("*" + CHALLENGE + "#")
    assert CARRIER in shown(dev)


async def scenario_remote_channels_never_release():
    dev = await hdevice()
    add(dev)
    door = dev.app.door
    for ch in ("mqtt", "mqtt_admin", "console", "intercom_dtmf", "http"):
        for req in ("reveal", "submit", "list", "export", "other"):
            door.remote(ch, req, dev.board.clock.ticks_ms())
    dev.board.intercom_on = True  # the challenge and its keys as tones over the intercom
    dev.board.pcm = dtmf_pcm("*" + CHALLENGE + "#")
    await dev.advance(3000)
    dev.board.intercom_on = False
    await dev.advance(1000)
    assert book(dev).list()[0]["released"] is None and CARRIER not in shown(dev)
    assert all(r["ev"] != "handover" for r in records(dev.storage.root))
    # the console's answers: labels and windows only
    out = json.dumps(admin.list_handover(dev.storage))
    assert CARRIER not in out and CHALLENGE not in out and LABEL in out
    assert not [n for n in dir(admin) if "release" in n or "reveal" in n or "show" in n]


async def scenario_power_cut_while_shown_does_not_release_twice():
    root = tmpdir()
    dev = await hdevice(root)
    add(dev)
    await dev.press("*" + CHALLENGE + "#")
    assert CARRIER in shown(dev)
    # the power goes while the code is on the display: the next boot never shows it again
    dev2 = VirtualDevice(root, VirtualBoard(T0 + 60, "host"))
    dev2.board.display = VirtualDisplay()
    await dev2.boot()
    await dev2.press("*" + CHALLENGE + "#")
    assert CARRIER not in shown(dev2)
    assert evs(dev2, "attempt")[-1]["outcome"] == "used"
    # the homeowner can let it be shown once more
    admin.reset_handover(dev2.storage, T0 + 100, LABEL)
    dev3 = VirtualDevice(root, VirtualBoard(T0 + 200, "host"))
    dev3.board.display = VirtualDisplay()
    await dev3.boot()
    await dev3.press("*" + CHALLENGE + "#")
    assert CARRIER in shown(dev3)
    assert [r["ev"] for r in records(root)].count("handover_reset") == 1


async def scenario_power_cut_during_release_shows_at_most_once():
    """Cut the power at every byte of the release: the code is shown in at most one boot,
    and only when "released" reached flash first."""
    budget, seen = 0, set()
    while True:
        root = tmpdir()
        dev = await hdevice(root)
        add(dev)
        for _ in range(5):
            await dev.tick()
        cut = CutStorage(root, budget)
        dev.app.door.handover.book.storage = cut
        try:
            await dev.press("*" + CHALLENGE + "#")
        except PowerCut:
            pass
        died = cut.budget <= 0  # the door takes the cut for a damaged store (fail closed)
        first = CARRIER in shown(dev)
        assert not (died and first), budget
        released = Storage(root).read_json(H.FILE)["h"][0]["released"] is not None
        assert released or not first
        dev2 = VirtualDevice(root, VirtualBoard(T0 + 60, "host"))
        dev2.board.display = VirtualDisplay()
        await dev2.boot()
        await dev2.press("*" + CHALLENGE + "#")
        again = CARRIER in shown(dev2)
        assert not (first and again), budget
        assert again == (not released), budget
        seen.add(released)
        if not died:
            break
        budget += 37
    assert seen == {False, True}, seen


async def scenario_code_bytes_nowhere():
    """Every byte written to the flash (but the encrypted store), every record sent out, every
    console answer and every line printed by the link: no code, no challenge."""
    try:  # CPython: everything the firmware prints is caught too (MicroPython cannot swap stdout)
        import contextlib
        import io

        printed = io.StringIO()
        quiet = contextlib.redirect_stdout(printed)
        quiet.__enter__()
    except (ImportError, AttributeError):
        printed = quiet = None
    try:
        await _nowhere()
    finally:
        if quiet is not None:
            quiet.__exit__(None, None, None)
    if printed is not None:
        assert "K7Q2" not in printed.getvalue() and "90417753" not in printed.getvalue()


async def _nowhere():
    root = tmpdir()
    tap = Tap(root)
    await hdevice(root, storage=tap)  # provisioned, booted: the first records go through the tap
    ch8 = "90417753"
    admin.add_handover(tap, T0, LABEL, CARRIER, ch8, None, T0 + 86400, Rng(5))
    dev2 = VirtualDevice(root, VirtualBoard(T0 + 5, "host"), tap)
    dev2.board.display = VirtualDisplay()
    published = []
    dev2.board.notify = lambda rec: published.append(json.dumps(rec))
    await dev2.boot()
    await dev2.press("*12345678#")
    await dev2.press("*" + ch8 + "#")
    assert CARRIER in shown(dev2)
    await dev2.press("*" + ch8 + "#")
    await dev2.advance(40000)
    admin.reset_handover(tap, T0 + 90, LABEL)
    admin.revoke_handover(tap, T0 + 100, LABEL)
    out = [json.dumps(admin.list_handover(tap)), json.dumps(admin.manifest(tap))] + published
    secret = (CARRIER.encode(), ch8.encode())
    assert "records/00000000.jsonl" in tap.written and [p for p in tap.written if p.startswith("photos/")]
    assert "lockout.json.tmp" in tap.written
    for p, data in tap.written.items():
        assert CARRIER not in p and ch8 not in p
        if p.startswith(H.FILE):  # handover.json and its .tmp: encrypted and hashed
            assert secret[0] not in data and secret[1] not in data, p
            continue
        for x in secret:
            assert x not in data, p
    for o in out:
        for x in secret:
            assert x.decode() not in o
    m = admin.manifest(tap)
    assert not [n for d in ("records", "photos", "quarantine") for n, _ in m[d] if "handover" in n]
    kinds = [r["ev"] for r in records(root)]
    for k in ("handover_added", "handover", "handover_reset", "handover_revoked"):
        assert k in kinds, kinds
    assert len(published) >= 4


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


async def _rig():
    from scenarios.remote_mirror import ADMIN, Rig

    rig = Rig()
    rig.root = tmpdir()
    rig.dev = VirtualDevice(rig.root, VirtualBoard(T0, "host"))
    rig.dev.board.display = VirtualDisplay()
    rig.dev.board.camera.mode = "none"
    await rig.dev.provision(Rng(3), admin_key=ADMIN)
    await rig.boot()
    rig.dev.app.door.handover.rng = rig.dev.rng = Rng(7)
    return rig


async def scenario_remote_admin_adds_lists_revokes_never_releases():
    from scenarios.remote_mirror import answers, command

    rig = await _rig()
    dev = rig.devid
    blob = (CARRIER + "\n" + CHALLENGE).encode()
    rig.send("/admin/cmd", command(dev, 1, "add_handover", {"label": LABEL, "from": None, "until": T0 + 3600}, ("secret", blob)))
    rig.send("/admin/cmd", command(dev, 2, "list_handover"))
    for i, op in enumerate(("release_handover", "show_handover", "reveal", "submit")):
        rig.send("/admin/cmd", command(dev, 3 + i, op, {"label": LABEL, "challenge": CHALLENGE}))
    rig.send("/admin/cmd", command(dev, 7, "add_handover", {"label": "nochal"}, ("secret", b"ABCD-1234")))
    rig.send("/admin/cmd", ("0" * 64 + " " + json.dumps({"dev": dev, "n": 8, "op": "list_handover"})).encode())
    await rig.settle()
    a = {x["n"]: x for x in answers(rig)}
    assert a[1]["ok"] and a[1]["result"]["label"] == LABEL and isinstance(a[1]["seq"], int), a[1]
    assert a[2]["ok"] and a[2]["result"] == [{"label": LABEL, "from": None, "until": T0 + 3600, "released": None}], a[2]
    for n in (3, 4, 5, 6):
        assert not a[n]["ok"] and "unknown command" in a[n]["error"], a[n]
    assert not a[7]["ok"] and "challenge" in a[7]["error"], a[7]
    assert 8 not in a  # not sealed: refused without an answer
    assert CARRIER not in shown(rig.dev) and book(rig.dev).list()[0]["released"] is None
    added = [r for ln, r in rig.records() if r["ev"] == "handover_added"]
    assert len(added) == 1 and added[0]["via"] == "mqtt" and added[0]["cmd"] == 1, added
    # at the door it works, and nothing that left the device holds the code or the challenge
    await rig.dev.press("*" + CHALLENGE + "#")
    assert CARRIER in shown(rig.dev)
    rig.send("/admin/cmd", command(dev, 9, "revoke_handover", {"label": LABEL}))
    await rig.settle()
    assert answers(rig)[-1]["ok"] and book(rig.dev).list() == []
    for t, m, q in rig.b.out:
        assert CARRIER.encode() not in m and CHALLENGE.encode() not in m, t
    for line in rig.logs:
        assert CARRIER not in str(line) and CHALLENGE not in str(line)
    await rig.stop()


async def scenario_home_assistant_gets_a_handover_event_with_the_label_only():
    rig = await _rig()
    add(rig.dev)
    await rig.settle()
    cfg = [m for t, m, q in rig.b.out if t == "homeassistant/event/%s/handover/config" % rig.devid]
    assert len(cfg) == 1 and json.loads(cfg[0])["event_types"] == ["handover"], cfg
    await rig.dev.press("*" + CHALLENGE + "#")
    await rig.settle()
    ev = [json.loads(m) for m in rig.b.on("/handover")]
    assert len(ev) == 1, ev
    e = ev[0]
    assert e["event_type"] == "handover" and e["label"] == LABEL and isinstance(e["seq"], int), e
    assert set(e) == {"event_type", "seq", "t", "time", "late_s", "hash", "label"}, e
    summary = [json.loads(m) for m in rig.b.on("/record") if b'"handover"' in m]
    assert summary and summary[-1]["label"] == LABEL
    for t, m, q in rig.b.out:
        assert CARRIER.encode() not in m and CHALLENGE.encode() not in m, t
    await rig.stop()


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
