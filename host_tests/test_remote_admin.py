"""Remote administration with the real `doorstep` command and a real broker, no cable.

The doorbell is provisioned over "the cable" (`doorstep provision --device sim:DIR`, which
makes the admin key), then runs as the real App with MqttLink (mqtt_rig.Rig) while the
homeowner's commands go through mosquitto with `--device mqtt:HOST:PORT`.
"""

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

from doorstep import totp
from doorstep_tools import sealing
from mqtt_rig import CODE, HOME, Rig, Watcher, publish, run, until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOORSTEP = os.path.join(ROOT, ".venv", "bin", "doorstep")
if not os.path.exists(DOORSTEP):
    DOORSTEP = os.path.join(os.path.dirname(sys.executable), "doorstep")


class Home:
    def __init__(self, tmp, broker):
        self.tmp = tmp
        self.broker = broker
        self.state = str(tmp / "doorbell")
        self.env = dict(os.environ, DOORSTEP_HOME=str(tmp / "home"), DOORSTEP_MQTT_PASSWORD=HOME[1])
        self.spec = "mqtt:%s:%d" % (broker.host, broker.port)

    def provision(self):
        os.makedirs(self.state, exist_ok=True)
        r = subprocess.run([DOORSTEP, "provision", "--device", "sim:" + self.state], capture_output=True, text=True, env=self.env, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return self.profile()

    def profile(self):
        with open(self.tmp / "home" / "devices.json") as f:
            return next(iter(json.load(f).values()))

    async def run(self, rig, *args, stdin=None, ok=True):
        """The command, while the doorbell keeps running (virtual time moves on meanwhile)."""
        p = await asyncio.create_subprocess_exec(DOORSTEP, *args, env=self.env, stdin=asyncio.subprocess.PIPE,
                                                 stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        task = asyncio.create_task(p.communicate(stdin.encode() if stdin else None))
        while not task.done():
            await rig.dev.advance(50)
            await asyncio.sleep(0.01)
        out, err = task.result()
        out, err = out.decode(), err.decode()
        assert (p.returncode == 0) == ok, "doorstep %s -> %s\n%s%s" % (" ".join(args), p.returncode, out, err)
        return out + err


def test_codes_over_the_network_then_the_keypad_accepts_the_code_once(tmp_path, broker):
    async def go():
        h = Home(tmp_path, broker)
        prof = h.provision()
        w = Watcher(broker, ["#"])  # everything the broker carries
        rig = await Rig(h.state, broker, seed=0).start(provision=False)
        try:
            await until(lambda: rig.n.connected, what="connect")
            dev = ["--device", h.spec, "--mqtt-user", HOME[0]]
            out = await h.run(rig, "codes", "add", "-", "--label", "amazon-0625", *dev, stdin=CODE + "\n")
            assert "Registered code 'amazon-0625'" in out and "signed record seq" in out, out
            out = await h.run(rig, "codes", "list", *dev)
            assert "amazon-0625" in out and "unused" in out
            await rig.dev.press(CODE + "#")
            await rig.dev.press(CODE + "#")
            outcomes = [r.get("outcome") for _, r in rig.ledger() if r["ev"] == "attempt"]
            assert outcomes == ["accepted", "used"]
            out = await h.run(rig, "codes", "list", *dev)
            assert "amazon-0625" in out and "used at" in out

            out = await h.run(rig, "courier", "add", "--label", "dhl-2", *dev)
            uri = next(x for x in out.split() if x.startswith("otpauth://"))
            b32 = parse_qs(urlsplit(uri).query)["secret"][0]
            secret = base64.b32decode(b32 + "=" * (-len(b32) % 8))
            now = rig.board.clock.now()
            await rig.dev.press(totp.totp(secret, now) + "#")
            assert rig.ledger()[-1][1]["outcome"] == "accepted" and rig.ledger()[-1][1]["label"] == "dhl-2"

            out = await h.run(rig, "codes", "revoke", "amazon-0625", *dev)
            assert "Revoked" in out
            added = [r for _, r in rig.ledger() if r["ev"] in ("code_added", "code_revoked")]
            assert [(r["ev"], r["label"], r["via"]) for r in added] == [
                ("code_added", "amazon-0625", "mqtt"), ("code_added", "dhl-2", "mqtt"), ("code_revoked", "amazon-0625", "mqtt")]
            assert [r["cmd"] for r in added] == sorted(r["cmd"] for r in added)
            assert h.profile()["admin_n"] >= 5  # every command used a new counter, kept on this PC
            # The mirror carries those records too (the collector would keep them).
            mirrored = [json.loads(p) for p in w.on(rig.topic("mirror")) if p[:1] == b"{"]
            assert {r["seq"] for r in added} <= {r["seq"] for r in mirrored}
            # pull needs the cable
            out = await h.run(rig, "pull", *dev, "--out", str(tmp_path / "p"), ok=False)
            assert "needs the cable" in out and "doorstep collect" in out
        finally:
            await rig.stop()
            w.close()
        # The code's digits never crossed the broker, in any message, in either direction.
        assert w.msgs and not [t for t, p, _ in w.msgs if CODE.encode() in p]
        assert prof["admin"] not in json.dumps([p.hex() for _, p, _ in w.msgs])  # nor the admin key

    run(go())


def test_replayed_foreign_truncated_and_flooded_commands_are_refused_without_holding_the_door(tmp_path, broker):
    async def go():
        h = Home(tmp_path, broker)
        prof = h.provision()
        rig = await Rig(h.state, broker, seed=0).start(provision=False)
        w = Watcher(broker, [rig.topic("admin/cmd")])
        steps = []
        real = rig.n._inbound

        def counted(c):  # how many messages one pass of the MQTT task handles
            before = rig.n.inbound
            t0 = time.perf_counter()
            real(c)
            steps.append((rig.n.inbound - before, time.perf_counter() - t0))

        rig.n._inbound = counted
        try:
            await until(lambda: rig.n.connected, what="connect")
            dev = ["--device", h.spec, "--mqtt-user", HOME[0]]
            await h.run(rig, "codes", "add", "-", "--label", "p1", *dev, stdin=CODE + "\n")
            await h.run(rig, "codes", "revoke", "p1", *dev)
            sent = [m for m in w.on(rig.topic("admin/cmd")) if b'"op":"add_code"' in m]
            assert len(sent) == 1
            keys_other = sealing.Keys(bytes(32))
            other = sealing.command(keys_other, rig.devid, 99, "add_code", {"label": "x", "from": None, "until": None}, ("code", b"1234"))
            n0 = len(rig.ledger())
            await rig.dev.advance(11000)
            publish(broker, [(rig.topic("admin/cmd"), m) for m in (sent[0], other, sent[0][:-5], b"add 482913")])
            await until(lambda: rig.n.service("Remote").refused >= 4, what="four refusals")
            await rig.dev.advance(50)
            assert rig.dev.app.door.codes.list() == []  # the replay did not bring the revoked code back
            new = [r for _, r in rig.ledger()[n0:]]
            assert [(r["ev"], r["channel"]) for r in new] == [("relay_refused", "mqtt_admin")]  # rate-limited

            # A flood: 10,000 messages. Each pass handles at most max_inbound of them, and the
            # flash gets one record per 10 s (virtual time hardly moves here), not 10,000.
            n1, steps[:] = len(rig.ledger()), []
            await rig.dev.advance(11000)
            flood = [(rig.topic("admin/cmd"), b"%064d junk %d" % (i, i)) for i in range(10000)]
            in0 = rig.n.inbound
            publish(broker, flood)
            # The broker queues at most 1,000 QoS 1 messages for a slow subscriber (mosquitto's
            # max_queued_messages) and drops the rest: read until nothing more comes.
            seen, quiet = -1, 0
            while quiet < 20:
                await asyncio.sleep(0.1)
                quiet = quiet + 1 if rig.n.inbound == seen else 0
                seen = rig.n.inbound
            got = rig.n.inbound - in0
            assert got >= 1000 and rig.n.service("Remote").refused == 4 + got, got
            await rig.dev.advance(50)
            assert max(k for k, _ in steps) <= rig.n.max_inbound
            assert len(rig.ledger()) - n1 <= 2
            print("flood: %d delivered, longest MQTT pass %.1f ms for %d messages" % (got, max(t for _, t in steps) * 1000, max(k for k, _ in steps)))
            # the right command still works afterwards
            out = await h.run(rig, "codes", "list", *dev)
            assert "No codes" in out
        finally:
            await rig.stop()
            w.close()
        assert h.profile()["admin"] == prof["admin"]

    run(go())


def test_a_new_provisioning_retires_the_old_admin_key(tmp_path, broker):
    async def go():
        h = Home(tmp_path, broker)
        old = h.provision()
        import shutil

        saved = str(tmp_path / "old-home")
        shutil.copytree(tmp_path / "home", saved)
        h.provision()  # the PC was lost: provisioned again over the cable from a new one
        rig = await Rig(h.state, broker, seed=0).start(provision=False)
        try:
            await until(lambda: rig.n.connected, what="connect")
            dev = ["--device", h.spec, "--mqtt-user", HOME[0]]
            h.env["DOORSTEP_HOME"] = saved  # the old PC, if it turns up again
            h.env["DOORSTEP_MQTT_WAIT_S"] = "3"
            out = await h.run(rig, "codes", "list", *dev, ok=False)
            assert "no answer" in out
            assert rig.n.service("Remote").refused >= 1
            h.env["DOORSTEP_HOME"] = str(tmp_path / "home")
            out = await h.run(rig, "codes", "list", *dev)
            assert "No codes" in out
        finally:
            await rig.stop()
        assert old["admin"] != h.profile()["admin"]

    run(go())


def test_a_handover_over_the_network_is_shown_only_at_the_door(tmp_path, broker):
    carrier, challenge = "QX7-5519-KD", "73150864"

    async def go():
        h = Home(tmp_path, broker)
        h.provision()
        w = Watcher(broker, ["#"])
        rig = await Rig(h.state, broker, seed=0).start(provision=False, display=True)
        try:
            await until(lambda: rig.n.connected, what="connect")
            dev = ["--device", h.spec, "--mqtt-user", HOME[0]]
            out = await h.run(rig, "handover", "add", "amazon-0625", "--challenge", challenge, *dev, stdin=carrier + "\n")
            assert "Registered the carrier code for 'amazon-0625'" in out and "signed record seq" in out, out
            assert "waiting" in await h.run(rig, "handover", "list", *dev)
            out = await h.run(rig, "handover", "reset", "amazon-0625", *dev, ok=False)
            assert "needs the cable" in out
            await rig.dev.press("*" + challenge + "#")
            assert carrier in " ".join(rig.board.display.lines)
            assert "shown at the door" in await h.run(rig, "handover", "list", *dev)
            assert "Revoked" in await h.run(rig, "handover", "revoke", "amazon-0625", *dev)
            evs = [(r["ev"], r.get("via")) for _, r in rig.ledger() if r["ev"].startswith("handover")]
            assert evs == [("handover_added", "mqtt"), ("handover", None), ("handover_revoked", "mqtt")], evs
            await until(lambda: w.on(rig.topic("handover")), what="the handover event")
        finally:
            await rig.stop()
            w.close()
        # neither the code nor the challenge crossed the broker, in any message, either way
        assert w.msgs and not [t for t, p, _ in w.msgs if carrier.encode() in p or challenge.encode() in p]
        assert json.loads(w.on(rig.topic("handover"))[-1])["label"] == "amazon-0625"

    run(go())
