"""The live mirror and `doorstep collect` against a real broker (mosquitto, logins required).

The device is the real App on the virtual board (mqtt_rig.Rig) with the mirror on; the
collector is the real Collector (in a thread) or the real `doorstep collect` command (a
subprocess, for SIGKILL). What the collector keeps must verify with `cryptography`, be the
same bytes `doorstep pull` gives, and lose nothing across outages and crashes.
"""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

from doorstep_tools import sealing
from doorstep_tools.collect import Collector
from doorstep_tools.collect_store import Store
from doorstep_tools.verify import verify
from mosquitto import Broker
from mqtt_rig import CODE, HOME, USERS, Rig, run, until

ADMIN = bytes(range(40, 72))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOORSTEP = os.path.join(ROOT, ".venv", "bin", "doorstep")
if not os.path.exists(DOORSTEP):
    DOORSTEP = os.path.join(os.path.dirname(sys.executable), "doorstep")


class Col:
    """The collector in a thread of this process."""

    def __init__(self, rig, out, broker):
        self.logs = []
        self.store = Store(str(out), rig.pub, log=self.logs.append)
        self.c = Collector(self.store, sealing.Keys(ADMIN), rig.prefix, broker.host, broker.port, *HOME, log=self.logs.append)
        self.c.resend_s = 1
        self.t = threading.Thread(target=self.c.run, daemon=True)
        self.t.start()

    def stop(self):
        self.c.stopped.set()
        self.t.join(10)


def files(d, sub):
    p = os.path.join(d, sub)
    return {n: open(os.path.join(p, n), "rb").read() for n in sorted(os.listdir(p)) if not n.endswith(".part")}


def lines(d):
    out = []
    for data in files(d, "records").values():
        out += [json.loads(x) for x in data.split(b"\n") if x]
    return out


async def holds(col, rig, timeout=20.0):
    """Until the collector holds (with photos) the device's newest record."""
    await until(lambda: col.store.held == rig.head(), timeout, what="the collector to hold seq %d (it holds %s)" % (rig.head()[0], col.store.held))


async def a_day(rig):
    """A day at the door: rings, codes, a refused relay, hourly heartbeats."""
    rig.dev.app.door.codes.add(CODE, "parcel-1")
    for hour in range(24):
        if hour in (8, 12, 17):
            await rig.dev.ring()
        if hour == 9:
            await rig.dev.press("1111#")
        if hour == 12:
            await rig.dev.press(CODE + "#")
        if hour == 18:
            rig.dev.app.door.remote("network", "reveal", rig.board.clock.ticks_ms())
        await rig.dev.advance(3600 * 1000)
        await asyncio.sleep(0.01)  # the link runs (virtual time is far ahead of the network)


def test_a_day_arrives_verified_and_byte_identical_to_pull(tmp_path, broker):
    async def go():
        rig = await Rig(tmp_path / "dev", broker, seed=40, admin=ADMIN).start()
        col = Col(rig, tmp_path / "copy", broker)
        try:
            await a_day(rig)
            await holds(col, rig)
            await until(lambda: os.path.exists(os.path.join(rig.root, "mirror.json"))
                        and json.load(open(os.path.join(rig.root, "mirror.json")))["seq"] == rig.head()[0], 15, what="the device to keep the ack")
        finally:
            col.stop()
            await rig.stop()
        copy = str(tmp_path / "copy")
        res = verify(copy, rig.pub, head=json.load(open(os.path.join(copy, "head.json"))))
        assert res.ok, [str(f) for f in res.findings]
        kinds = [r["ev"] for r in res.records]
        assert kinds.count("heartbeat") == 24 and kinds.count("ring") == 3 and kinds[0] == "genesis"
        assert files(copy, "records") == files(rig.root, "records")
        assert files(copy, "photos") == files(rig.root, "photos") and len(files(copy, "photos")) >= 6
        # `doorstep pull` of the same device gives the same bytes
        env = dict(os.environ, DOORSTEP_HOME=str(tmp_path / "home"))
        r = subprocess.run([DOORSTEP, "pull", "--device", "sim:" + rig.root, "--out", str(tmp_path / "pulled")],
                           capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert files(tmp_path / "pulled", "records") == files(copy, "records")
        assert files(tmp_path / "pulled", "photos") == files(copy, "photos")
        # The device was told: its mirror.json is the collector's head
        assert json.load(open(os.path.join(rig.root, "mirror.json")))["seq"] == res.head[0]

        # "Stolen": the device is gone, the collector's copy alone makes a verifying report.
        shutil.rmtree(rig.root)
        r = subprocess.run([DOORSTEP, "report", copy, "--from", "2026-06-25", "--to", "2026-06-25", "-o", str(tmp_path / "r.html")],
                           capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        html = open(tmp_path / "r.html").read()
        assert "parcel-1" in html and CODE not in html

    run(go())


def test_broker_down_for_500_records_then_all_arrive_in_order_none_twice(tmp_path):
    async def go():
        b = Broker(tmp_path / "broker", USERS).start()
        rig = await Rig(tmp_path / "dev", b, seed=41, admin=ADMIN).start()
        col = Col(rig, tmp_path / "copy", b)
        try:
            await holds(col, rig)
            b.stop()
            await until(lambda: not rig.n.connected, what="the device to notice")
            rig.dev.app.door.budget.quiet_ms = 0  # every ring a visit of its own: one record each
            rig.board.camera.mode = "none"
            before = rig.head()[0]
            for i in range(500):
                if i % 100 == 0:
                    rig.board.camera.mode = "ok"  # some with photos
                await rig.dev.ring()
                rig.board.camera.mode = "none"
            assert rig.head()[0] - before >= 500  # the outage really held 500 records back
            b.start()
            await holds(col, rig, 60)
        finally:
            col.stop()
            await rig.stop()
            b.stop()
        recs = lines(str(tmp_path / "copy"))
        assert [r["seq"] for r in recs] == list(range(len(recs))) and recs[-1]["seq"] == rig.head()[0]
        assert files(str(tmp_path / "copy"), "photos") == files(rig.root, "photos")
        assert verify(str(tmp_path / "copy"), rig.pub).ok

    run(go())


def test_power_cut_in_the_middle_of_a_resend(tmp_path, broker):
    async def go():
        rig = await Rig(tmp_path / "dev", broker, seed=42, admin=ADMIN).start()
        rig.dev.app.door.budget.quiet_ms = 0  # every ring a visit of its own: one record each (bursts are tested in scenarios/floods.py)
        rig.board.camera.mode = "none"
        for _ in range(300):  # written before any collector exists
            await rig.dev.ring()
        col = Col(rig, tmp_path / "copy", broker)
        try:
            await until(lambda: col.store.held[0] >= 60, 30, what="the resend to be under way")
            await rig.power_cut()
            assert col.store.held[0] < rig.head()[0]
            await rig.boot()  # the mirror starts again after what the collector acknowledged
            await holds(col, rig, 60)
        finally:
            col.stop()
            await rig.stop()
        recs = lines(str(tmp_path / "copy"))
        assert [r["seq"] for r in recs] == list(range(rig.head()[0] + 1))
        assert verify(str(tmp_path / "copy"), rig.pub).ok
        assert col.c.counts["have"] > 0  # resent records were recognised, not written twice

    run(go())


def _profile(home, rig):
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "devices.json"), "w") as f:
        json.dump({"sim:" + rig.root: {"pub": rig.pub.hex(), "dev": rig.devid, "admin": ADMIN.hex(), "admin_n": 0}}, f)


def test_collector_killed_mid_write_and_restarted_loses_and_duplicates_nothing(tmp_path, broker):
    async def go():
        rig = await Rig(tmp_path / "dev", broker, seed=43, admin=ADMIN).start()
        rig.dev.app.door.budget.quiet_ms = 0  # every ring a visit of its own: one record each (bursts are tested in scenarios/floods.py)
        home = str(tmp_path / "home")
        _profile(home, rig)
        out = str(tmp_path / "copy")
        env = dict(os.environ, DOORSTEP_HOME=home, DOORSTEP_MQTT_PASSWORD=HOME[1])
        cmd = [DOORSTEP, "collect", "--mqtt", "%s:%d" % (broker.host, broker.port), "--out", out, "--mqtt-user", HOME[0]]
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            rig.board.camera.mode = "none"
            for _ in range(200):
                await rig.dev.ring()
                await asyncio.sleep(0.002)
            await until(lambda: os.path.isdir(os.path.join(out, "records")) and len(lines(out)) >= 40, 30, what="records on disk")
            p.send_signal(signal.SIGKILL)
            p.wait(10)
            first = p.stdout.read()
            n_before = len(lines(out))
            # As if the kill had landed in the middle of writing a line: half a record at the end.
            seg = os.path.join(out, "records", "00000000.jsonl")
            with open(seg, "ab") as f:
                f.write(b'{"boot":1,"dev":"' + rig.devid.encode() + b'","ev":"ri')
            for _ in range(100):
                await rig.dev.ring()
            p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                try:
                    if len(lines(out)) == rig.head()[0] + 1 and json.load(open(os.path.join(out, "head.json")))["seq"] == rig.head()[0]:
                        break
                except ValueError:
                    continue  # read while the collector was writing
            p.send_signal(signal.SIGTERM)
            second = p.communicate(timeout=20)[0]
        finally:
            if p.poll() is None:
                p.kill()
            await rig.stop()
        assert p.returncode == 0, second
        recs = lines(out)
        assert n_before >= 40 and [r["seq"] for r in recs] == list(range(rig.head()[0] + 1)), (first, second)
        assert "cut" in second and "unfinished" in second, second
        assert verify(out, rig.pub, head=json.load(open(os.path.join(out, "head.json")))).ok

    run(go())


def test_collector_refuses_what_the_pinned_key_did_not_sign(tmp_path, broker):
    """A record from another device, or an edited one, published on the mirror topic is never kept."""
    async def go():
        rig = await Rig(tmp_path / "dev", broker, seed=44, admin=ADMIN).start()
        other = await Rig(tmp_path / "other", broker, seed=45, admin=ADMIN).start()
        col = Col(rig, tmp_path / "copy", broker)
        try:
            await holds(col, rig)
            from mqtt_rig import publish

            seq, _ = rig.head()
            line, rec = other.ledger()[1]
            forged = dict(json.loads(rig.ledger()[-1][0]), seq=seq + 1, ev="ring")
            publish(broker, [(rig.topic("mirror"), line), (rig.topic("mirror"), json.dumps(forged, sort_keys=True, separators=(",", ":")).encode())])
            await until(lambda: col.c.counts["bad"] >= 2, what="the refusals")
            await rig.dev.ring()
            await holds(col, rig)
        finally:
            col.stop()
            await rig.stop()
            await other.stop()
        assert verify(str(tmp_path / "copy"), rig.pub).ok
        assert any("signature" in m for m in col.logs) and any("not " in m for m in col.logs)

    run(go())


def test_collect_command_says_what_is_wrong(tmp_path):
    env = dict(os.environ, DOORSTEP_HOME=str(tmp_path / "home"))
    r = subprocess.run([DOORSTEP, "collect", "--mqtt", "127.0.0.1:1", "--out", str(tmp_path / "c")], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1 and "doorstep provision" in r.stderr and "Traceback" not in r.stderr


def test_the_collector_has_its_head_attested_by_the_tsa(tmp_path, broker):
    """With a TSA configured for its folder, the collector stamps the head it holds (hourly;
    here every second) and both verifiers report the attested time."""
    from doorstep_tools import tsa as tsamod
    from tsa_server import LocalTSA

    server = LocalTSA(tmp_path / "tsa")

    async def go():
        rig = await Rig(tmp_path / "dev", broker, seed=46, admin=ADMIN).start()
        out = tmp_path / "copy"
        os.makedirs(out)
        tsamod.configure(str(out), server.url, server.ca_file)
        col = Col(rig, out, broker)
        col.c.stamp_s = 1
        try:
            await holds(col, rig)
            await until(lambda: os.path.isdir(out / "timestamps") and any(n.endswith(".tsr") for n in os.listdir(out / "timestamps")),
                        20, what="a token")
            await rig.dev.ring()
            await holds(col, rig)
            head = rig.head()[0]
            await until(lambda: any(n.startswith("%08d-" % head) and n.endswith(".tsr") for n in os.listdir(out / "timestamps")),
                        20, what="a token for the new head")
        finally:
            col.stop()
            await rig.stop()
        res = verify(str(out), rig.pub, tsa_ca=server.ca_file)
        assert res.ok and res.attested and max(t.seq for t in res.attested) == head, [str(f) for f in res.findings]
        assert any("timestamped" in m for m in col.logs)

    try:
        run(go())
    finally:
        server.close()
