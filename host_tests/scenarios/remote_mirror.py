"""Remote administration and the live mirror, on both runtimes, with a scripted broker.

The device is the real App on the virtual board with doorstep.mqtt's MqttLink; the broker
is a scripted umqtt.simple client (no sockets in the MicroPython VM). The homeowner's PC is
played with the firmware's own seal.py here; host_tests/test_sealing.py checks that the
PC's independent implementation (doorstep_tools.sealing) agrees byte for byte.
"""

import asyncio
import json
from binascii import hexlify

from doorstep import canon, seal
from doorstep.compat import sleep_ms
from doorstep.ledger import line_hash
from doorstep.mqtt import MqttLink
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from fakes import Rng, tmpdir
from scenarios.device import CODE, T0

ADMIN = bytes(range(32))
OTHER = bytes(range(100, 132))


class Broker:
    """What the device's client publishes, and what the broker will deliver to it."""

    def __init__(self):
        self.out = []  # (topic, payload, qos) in order
        self.inbox = []
        self.subs = []
        self.client = None

    def make(self, s, cid):
        self.client = Client(self)
        return self.client

    def on(self, suffix):
        return [m for t, m, q in self.out if t.endswith(suffix)]


class Client:
    def __init__(self, b):
        self.b = b
        self.sock = None
        self.up = False

    def set_callback(self, f):
        self.cb = f

    def set_last_will(self, topic, msg, retain=False, qos=0):
        pass

    def connect(self, clean_session=True, timeout=None):
        self.up = True
        return 0

    def subscribe(self, topic, qos=0):
        self.b.subs.append(bytes(topic))

    def publish(self, topic, msg, retain=False, qos=0):
        if not self.up:
            raise OSError(128)
        self.b.out.append((bytes(topic).decode(), bytes(msg), qos))

    def check_msg(self):
        if self.b.inbox:
            t, m = self.b.inbox.pop(0)
            self.cb(t, m)
            return 0x32
        return None

    def ping(self):
        pass

    def disconnect(self):
        self.up = False


class Rig:
    async def start(self, root=None, admin=ADMIN, seed=3):
        self.root = root or tmpdir()
        self.dev = VirtualDevice(self.root, VirtualBoard(T0, "host"))
        self.dev.board.camera.mode = "none"  # a photo is added by the tests that want one
        if admin is not False:
            await self.dev.provision(Rng(seed), admin_key=admin)
        return await self.boot()

    async def boot(self):
        self.b = Broker()
        self.logs = []
        self.link = MqttLink({"host": "10.0.0.2", "user": "u", "password": "p"}, self.b.make, probe=None, log=self.logs.append)
        self.link.poll_ms = 5
        self.dev.board.notify = self.link.notify
        await self.dev.boot()
        self.task = asyncio.create_task(self.link.run(self.dev.app))
        await self.settle()
        self.devid = self.dev.app.rec.dev
        self.prefix = "doorstep/" + self.devid
        return self

    async def settle(self, rounds=3):
        """Let the link deliver the inbox and send what it has (virtual time moves a little)."""
        for _ in range(200):
            await self.dev.advance(20)
            await sleep_ms(6)
            if not self.b.inbox and self.link.connected and all(sv.idle() for sv in self.link.services):
                rounds -= 1
                if not rounds:
                    return
        raise AssertionError("the link did not settle")

    async def stop(self):
        self.link.stop()
        await self.task

    def send(self, topic, payload):
        self.b.inbox.append(((self.prefix + topic).encode(), payload))

    def records(self):
        out = []
        st = self.dev.storage
        for name in st.listdir("records"):
            for ln in st.read("records/" + name).split(b"\n"):
                if ln:
                    out.append((ln, json.loads(ln)))
        return out


def keys(admin=ADMIN):
    return {j: seal.derive(admin, j) for j in ("cmd", "reply", "enc", "ack")}


def command(dev, n, op, args=None, secret=None, admin=ADMIN):
    """A sealed command as the homeowner's PC makes it."""
    k = keys(admin)
    args = dict(args or {})
    if secret is not None:
        args[secret[0]] = hexlify(seal.crypt(k["enc"], dev, n, secret[1])).decode()
    return seal.seal(k["cmd"], canon.dumpb({"dev": dev, "n": n, "op": op, "args": args}))


def answers(rig, admin=ADMIN):
    out = []
    for m in rig.b.on("/admin/reply"):
        body = seal.unseal(keys(admin)["reply"], m)
        assert body is not None, "an answer not sealed with the reply key"
        out.append(json.loads(body))
    return out


def refusals(rig):
    return [r for _, r in rig.records() if r["ev"] == "relay_refused" and r["channel"] == "mqtt_admin"]


async def scenario_remote_code_added_then_accepted_once_at_the_keypad():
    rig = await Rig().start()
    d = rig.devid
    rig.send("/admin/cmd", command(d, 1, "add_code", {"label": "parcel-9", "from": None, "until": None}, ("code", CODE.encode())))
    await rig.settle()
    a = answers(rig)[-1]
    assert a["n"] == 1 and a["ok"] is True and a["result"]["label"] == "parcel-9", a
    line, rec = rig.records()[a["seq"]]
    assert (rec["ev"], rec["label"], rec["via"], rec["cmd"]) == ("code_added", "parcel-9", "mqtt", 1)
    assert a["hash"] == line_hash(line)
    await rig.dev.press(CODE + "#")
    await rig.dev.press(CODE + "#")
    outcomes = [r.get("outcome") for _, r in rig.records() if r["ev"] == "attempt"]
    assert outcomes == ["accepted", "used"], outcomes
    rig.send("/admin/cmd", command(d, 2, "list"))
    await rig.settle()
    listed = answers(rig)[-1]["result"]
    assert [(c["label"], c["used"] is not None) for c in listed] == [("parcel-9", True)], listed
    rig.send("/admin/cmd", command(d, 3, "revoke", {"label": "parcel-9"}))
    await rig.settle()
    assert answers(rig)[-1]["ok"] and rig.records()[-1][1]["ev"] == "code_revoked"
    # The code never crossed the "network" in clear: not in anything published or received.
    for _, m, _ in rig.b.out:
        assert CODE.encode() not in m
    await rig.stop()


async def scenario_remote_refuses_replayed_reordered_foreign_and_truncated_commands():
    rig = await Rig().start()
    d = rig.devid
    add = command(d, 5, "add_code", {"label": "p1", "from": None, "until": None}, ("code", CODE.encode()))
    rig.send("/admin/cmd", add)
    await rig.settle()
    assert answers(rig)[-1]["ok"]
    rig.send("/admin/cmd", command(d, 6, "revoke", {"label": "p1"}))
    await rig.settle()
    n_answers = len(answers(rig))
    before = len(rig.records())
    bad = [
        add,  # replayed: it would register the revoked code again
        command(d, 4, "list"),  # reordered: an older counter
        command(d, 7, "list", admin=OTHER),  # sealed with another device's admin key
        command("0123456789abcdef", 8, "list"),  # for another device
        add[:-7],  # truncated
        b"add_code " + CODE.encode(),  # not sealed at all
        b"x" * 5000,  # far too long
    ]
    for m in bad:
        rig.send("/admin/cmd", m)
    await rig.settle()
    refused = refusals(rig)
    assert len(refused) == 1 and refused[0]["request"] == "other"  # rate-limited: one record
    assert rig.link.service("Remote").refused == len(bad)
    later = answers(rig)[n_answers:]
    # Only the holder of the key learns anything: one sealed "stale counter" answer.
    assert len(later) == 1 and not later[0]["ok"] and later[0]["last"] == 6, later
    assert rig.dev.app.door.codes.list() == []  # the revoked code stayed revoked
    assert [r["ev"] for _, r in rig.records()[before:]] == ["relay_refused"]
    rig.send("/admin/cmd", command(d, 9, "list"))  # the right key and a new counter still work
    await rig.settle()
    assert answers(rig)[-1]["ok"] and answers(rig)[-1]["n"] == 9
    await rig.stop()


async def scenario_remote_counter_survives_a_reboot_and_a_new_admin_key_retires_the_old():
    rig = await Rig().start()
    d = rig.devid
    first = command(d, 10, "list")
    rig.send("/admin/cmd", first)
    await rig.settle()
    assert answers(rig)[-1]["ok"]
    await rig.stop()
    rig.dev.app.stop()
    await rig.boot()
    rig.send("/admin/cmd", first)  # the counter is on flash: the replay is still refused
    await rig.settle()
    assert len(refusals(rig)) == 1
    await rig.stop()
    rig.dev.app.stop()
    # A lost PC: provisioning again over the cable makes a new admin key; the old one is dead.
    await rig.dev.provision(Rng(3), admin_key=OTHER)
    await rig.boot()
    rig.send("/admin/cmd", command(d, 11, "list"))
    rig.send("/admin/cmd", command(d, 1, "list", admin=OTHER))
    await rig.settle()
    got = answers(rig, OTHER)
    assert [a["n"] for a in got] == [1] and got[0]["ok"]
    await rig.stop()


def _parts(rig):
    """{seq: photo bytes} reassembled from the mirror's photo messages."""
    photos = {}
    for m in rig.b.on("/mirror"):
        if m[:2] == b"P ":
            head, data = m.split(b"\n", 1)
            _, seq, off, size = head.split(b" ")
            if off != b"gone":
                buf = photos.setdefault(int(seq), bytearray(int(size)))
                buf[int(off) : int(off) + len(data)] = data
    return photos


async def scenario_mirror_sends_every_line_and_photo_in_order():
    rig = await Rig().start()
    # Without a collector yet the mirror sends from this boot on; a new collector asks for all.
    assert [json.loads(m)["ev"] for m in rig.b.on("/mirror")] == ["boot"]
    mark = len(rig.b.out)
    rig.send("/mirror/ack", seal.seal(keys()["ack"], canon.dumpb({"dev": rig.devid, "seq": -1, "hash": None, "resend": True})))
    await rig.settle()
    rig.dev.board.camera.mode = "ok"
    await rig.dev.ring()
    await rig.dev.press("1111#")
    await rig.settle()
    lines = [m for t, m, q in rig.b.out[mark:] if t.endswith("/mirror") and m[:1] == b"{"]
    ledger = [ln for ln, _ in rig.records()]
    assert lines == ledger  # every record, the exact line, from genesis on (the collector asked)
    assert all(q == 1 for t, m, q in rig.b.out if t.endswith("/mirror"))
    photos = _parts(rig)
    with_photo = [r for _, r in rig.records() if r.get("photo")]
    assert sorted(photos) == [r["seq"] for r in with_photo] and len(with_photo) == 2
    for r in with_photo:
        assert bytes(photos[r["seq"]]) == rig.dev.storage.read(r["photo"]["file"])
    await rig.stop()


async def scenario_mirror_resumes_after_the_acknowledged_seq_across_a_reboot():
    rig = await Rig().start()
    for _ in range(3):
        await rig.dev.ring()
    await rig.settle()
    ln, rec = rig.records()[2]
    ack = seal.seal(keys()["ack"], canon.dumpb({"dev": rig.devid, "seq": 2, "hash": line_hash(ln), "resend": False}))
    rig.send("/mirror/ack", ack)
    await rig.settle()
    assert json.loads(rig.dev.storage.read("mirror.json")) == {"seq": 2, "hash": line_hash(ln)}
    # A wrong hash or an unsealed ack changes nothing, and is refused like any stranger.
    rig.send("/mirror/ack", seal.seal(keys()["ack"], canon.dumpb({"dev": rig.devid, "seq": 4, "hash": "0" * 64, "resend": False})))
    rig.send("/mirror/ack", canon.dumpb({"dev": rig.devid, "seq": 5, "hash": "0" * 64}))
    await rig.settle()
    assert json.loads(rig.dev.storage.read("mirror.json"))["seq"] == 2 and len(refusals(rig)) == 1
    await rig.stop()
    rig.dev.app.stop()  # power off; the next boot sends again from seq 3
    await rig.boot()
    sent = [json.loads(m)["seq"] for m in rig.b.on("/mirror") if m[:1] == b"{"]
    assert sent[0] == 3 and sent == list(range(3, len(rig.records()))), sent
    await rig.stop()


async def scenario_mirror_says_which_records_are_no_longer_on_the_device():
    from doorstep.ledger import Ledger

    Ledger.per_segment = 4  # small segments, so pruning one needs few signatures
    try:
        rig = await Rig().start()
        rig.dev.app.door.budget.quiet_ms = 0  # every ring a visit of its own: one record each (bursts are tested in scenarios/floods.py)
        for _ in range(6):
            await rig.dev.ring()
        await rig.settle()
        rig.dev.storage.remove("records/00000000.jsonl")  # as pruning does, once it was pulled
        rig.send("/mirror/ack", seal.seal(keys()["ack"], canon.dumpb({"dev": rig.devid, "seq": -1, "hash": None, "resend": True})))
        await rig.settle()
        msgs = rig.b.on("/mirror")
        i = msgs.index(b"G 0 3\n")
        assert json.loads(msgs[i + 1])["seq"] == 4
        await rig.stop()
    finally:
        Ledger.per_segment = 1000
