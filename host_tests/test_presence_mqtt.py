"""Snapshots on request (issue 14) over a real broker: the Home Assistant button and the
sealed `doorstep snapshot --device mqtt:...` command, with the real App and MqttLink."""

import json

from mqtt_rig import CODE, Rig, Watcher, publish, run, until
from test_remote_admin import Home


def _snapshots(rig, since=0):
    return [r for _, r in rig.ledger()[since:] if r["ev"] == "snapshot"]


def test_ha_button_takes_a_signed_photo_even_while_locked_out_and_never_touches_codes(tmp_path, broker):
    async def go():
        w = Watcher(broker, ["homeassistant/#", "doorstep/#"])
        rig = await Rig(tmp_path, broker, seed=31).start()
        try:
            app, dev = rig.dev.app, rig.dev
            app.door.codes.add(CODE, "parcel-1")
            cfg_topic = "homeassistant/button/%s/snapshot/config" % rig.devid
            await until(lambda: w.on(cfg_topic) and rig.n.connected, what="the button's discovery")
            cfg = json.loads(w.on(cfg_topic)[-1])
            press = cfg["command_topic"]
            assert press == rig.topic("button/snapshot") and cfg["payload_press"] == "PRESS", cfg
            assert not press.startswith((rig.topic("cmd"), rig.topic("admin"))), press  # not a command topic
            assert cfg["unique_id"] == "doorstep_%s_snapshot" % rig.devid and cfg["availability_topic"] == rig.topic("status")

            # a guesser locks the keypad out; the homeowner's automation presses the button
            while not [r for _, r in rig.ledger() if r["ev"] == "lockout_start"]:
                await dev.press("111111#")
            assert app.door.lockout.is_locked(rig.board.clock.ticks_ms())
            n0 = len(rig.ledger())
            publish(broker, [(press, b"PRESS")])
            await until(lambda: rig.ha.presses == 1, what="the press")
            await dev.advance(20)
            snaps = _snapshots(rig, n0)
            assert len(snaps) == 1 and snaps[0]["via"] == "hass" and snaps[0]["photo"]["size"] > 0, rig.ledger()[n0:]
            assert snaps[0]["cap_ms"] >= snaps[0]["ms"]
            assert app.door.lockout.is_locked(rig.board.clock.ticks_ms())  # the press changed nothing at the door
            # Home Assistant gets the photo on its image entity
            assert await rig.n.flush(5000)
            await until(lambda: w.on(rig.topic("photo")), what="the photo")
            with open("%s/%s" % (rig.root, snaps[0]["photo"]["file"]), "rb") as f:
                assert w.on(rig.topic("photo"))[-1] == f.read()

            # whatever is sent to the button is never read: a code there is no attempt, no refusal
            await dev.advance(app.snapshots.gap_ms + 1000)
            n1 = len(rig.ledger())
            publish(broker, [(press, CODE.encode()), (press, json.dumps({"code": CODE, "op": "reveal"}).encode())])
            await until(lambda: rig.ha.presses == 3, what="two more presses")
            await dev.advance(20)
            new = [r for _, r in rig.ledger()[n1:]]
            assert [r["ev"] for r in new] == ["snapshot"] and app.snapshots.limited == 1, new  # the second within the gap
            assert not [r for r in new if r["ev"] in ("attempt", "relay_refused")]
            assert app.door.codes.list()[0]["used"] is None
            for line, _ in rig.ledger():
                assert CODE.encode() not in line
        finally:
            await rig.stop()
            w.close()

    run(go())


def test_a_flood_of_button_presses_is_rate_limited_and_counted(tmp_path, broker):
    async def go():
        rig = await Rig(tmp_path, broker, seed=32).start()
        try:
            app, dev = rig.dev.app, rig.dev
            await until(lambda: rig.n.connected, what="connect")
            n0 = len(rig.ledger())
            press = rig.topic("button/snapshot")
            publish(broker, [(press, b"PRESS")] * 50)
            await until(lambda: rig.ha.presses == 50, what="the flood")
            await dev.advance(20)
            assert len(_snapshots(rig, n0)) == 1  # one photo now, the rest counted
            # for an hour, a press every 10 s: at most per_hour snapshots
            for _ in range(360):
                publish(broker, [(press, b"PRESS")])
                await dev.advance(10000)
            await until(lambda: rig.ha.presses == 410, timeout=30, what="an hour of presses")
            await dev.advance(20)
            snaps = _snapshots(rig, n0)
            assert len(snaps) <= app.snapshots.per_hour + 1, len(snaps)
            assert all(s["photo"] for s in snaps)
            counted = len(snaps) + sum(s.get("rate_limited", 0) for s in snaps) + app.snapshots.limited
            assert counted == 410, counted  # every press is accounted for
            gaps = [b["ms"] - a["ms"] for a, b in zip(snaps, snaps[1:])]
            assert min(gaps) >= app.snapshots.gap_ms, gaps
        finally:
            await rig.stop()

    run(go())


def test_doorstep_snapshot_over_mqtt_is_a_sealed_command_answered_with_its_record(tmp_path, broker):
    async def go():
        h = Home(tmp_path, broker)
        h.provision()
        rig = await Rig(h.state, broker, seed=0).start(provision=False)
        try:
            await until(lambda: rig.n.connected, what="connect")
            dev = ["--device", h.spec, "--mqtt-user", "homeowner"]
            out = await h.run(rig, "snapshot", *dev)
            snaps = _snapshots(rig)
            assert len(snaps) == 1 and snaps[0]["via"] == "mqtt" and snaps[0]["photo"]["size"] > 0, rig.ledger()[-3:]
            assert "signed record seq %d" % snaps[0]["seq"] in out, out
            out = await h.run(rig, "snapshot", *dev, ok=False)  # at once again: rate-limited, said
            assert "rate-limited" in out and "next snapshot" in out, out
            assert len(_snapshots(rig)) == 1
            out = await h.run(rig, "snapshot", "--device", "sim:" + h.state, ok=False)
            assert "mqtt:" in out, out
        finally:
            await rig.stop()

    run(go())
