"""Handovers and the sealed remote administration and Home Assistant, on both runtimes (the
scripted broker of scenarios/remote_mirror.py): added, listed and revoked remotely, never
released remotely; Home Assistant hears the label only.
"""

import json

from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from doorstep_tools.virtual.display import VirtualDisplay
from fakes import Rng, tmpdir
from scenarios.device import T0
from scenarios.handover import CARRIER, CHALLENGE, LABEL, add, book, shown


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
    await rig.dev.press("*4444#")  # a wrong challenge: a keypad verdict, marked as a handover's
    await rig.dev.press("*" + CHALLENGE + "#")
    await rig.settle()
    v = [json.loads(m) for m in rig.b.on("/verdict")]
    assert [(x["event_type"], x.get("mode")) for x in v] == [("wrong", "handover")], v
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
