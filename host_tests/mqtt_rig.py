"""A device on a real broker for the MQTT tests: the real App on the virtual board with
doorstep.mqtt's MqttLink over the socket-level umqtt stand-in, and a paho subscriber that
plays Home Assistant or the homeowner (what it sees is what the broker carried)."""

import asyncio
import json
import os
import secrets
import threading
import time
from binascii import unhexlify

import paho.mqtt.client as mqtt

from doorstep.ledger import line_hash
from doorstep.mqtt import MqttLink
from doorstep.provision import public_info
from doorstep_tools import umqtt_host
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from fakes import Rng

T0 = 1782378000  # 2026-06-25T09:00:00Z
CODE = "482913"
DEVICE = ("doorbell", "door-" + secrets.token_hex(8))
HOME = ("homeowner", "home-" + secrets.token_hex(8))
USERS = dict([DEVICE, HOME])


async def until(pred, timeout=5.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        await asyncio.sleep(0.01)


class Watcher:
    """Home Assistant's side: a paho subscriber in its own thread that reconnects by itself."""

    def __init__(self, broker, topics):
        self.msgs = []  # (topic, payload bytes, retained)
        self.lock = threading.Lock()
        self.topics = topics
        c = self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ha-" + secrets.token_hex(4))
        c.username_pw_set(*HOME)
        c.reconnect_delay_set(0.05, 0.2)
        self.subs = 0  # subscriptions confirmed (they are renewed after each reconnect)
        c.on_connect = lambda cl, u, f, rc, p: [cl.subscribe(t) for t in self.topics]
        c.on_subscribe = lambda cl, u, mid, rcs, p: setattr(self, "subs", self.subs + 1)
        c.on_message = self._on_message
        c.connect(broker.host, broker.port, 30)
        c.loop_start()
        deadline = time.monotonic() + 5
        while self.subs < len(topics):  # listening before the device starts talking
            assert time.monotonic() < deadline, "the watcher could not subscribe"
            time.sleep(0.005)

    def _on_message(self, cl, u, m):
        with self.lock:
            self.msgs.append((m.topic, bytes(m.payload), bool(m.retain)))

    def on(self, topic, since=0):
        with self.lock:
            return [p for t, p, _ in self.msgs[since:] if t == topic]

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def publish(broker, items):
    """Publish [(topic, payload)] as the homeowner's account would (any client can try)."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="attacker-" + secrets.token_hex(4))
    c.username_pw_set(*HOME)
    c.connect(broker.host, broker.port, 30)
    c.loop_start()
    infos = [c.publish(t, p, 1) for t, p in items]
    for i in infos:
        i.wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


class Rig:
    """A virtual device running the real App, with MqttLink over the socket-level client."""

    def __init__(self, root, broker, seed, user=DEVICE, admin=None, **cfg):
        self.root = str(root)
        self.broker = broker
        self.seed = seed
        self.admin = admin  # the admin key to provision with (remote administration, mirror acks)
        self.config = {"host": broker.host, "port": broker.port, "user": user[0], "password": user[1]}
        self.config.update(cfg)
        self.logs = []

    async def start(self, provision=True, display=False):
        os.makedirs(self.root, exist_ok=True)
        self.board = VirtualBoard(T0, "host")
        if display:  # a door display: handovers (firmware/doorstep/handover_door.py)
            from doorstep_tools.virtual.display import VirtualDisplay

            self.board.display = VirtualDisplay()
        self.dev = VirtualDevice(self.root, self.board)
        if provision:
            await self.dev.provision(Rng(self.seed), admin_key=self.admin)
        pub_hex, self.devid = public_info(self.dev.storage)
        self.pub = unhexlify(pub_hex)
        self.prefix = "doorstep/" + self.devid
        await self.boot()
        return self

    async def boot(self):
        n = self.n = MqttLink(self.config, umqtt_host.factory, log=self.logs.append)
        n.backoff_ms, n.backoff_max_ms, n.poll_ms, n.probe_ms = 50, 400, 10, 500
        self.board.notify = n.notify
        boot = asyncio.create_task(self.dev.boot())
        await asyncio.sleep(0)
        # Started next to the booting app, as on the device: run() waits for the boot.
        self.task = asyncio.create_task(n.run(self.dev.app))
        await boot

    async def power_cut(self):
        """The power goes: the connection just drops (no goodbye) and RAM is gone."""
        c, self.n.client = self.n.client, None
        if c is not None:
            c.abort()
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        self.dev.app = None

    @property
    def ha(self):
        return self.n.service("HaFeed")

    async def stop(self):
        self.n.stop()
        await asyncio.wait_for(self.task, 5)

    def topic(self, name):
        return "%s/%s" % (self.prefix, name)

    def ledger(self):
        """[(line bytes, record)] in order, straight from flash."""
        out = []
        d = os.path.join(self.root, "records")
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                for line in f.read().split(b"\n"):
                    if line:
                        out.append((line, json.loads(line)))
        return out

    def head(self):
        line, rec = self.ledger()[-1]
        return rec["seq"], line_hash(line)


def run(coro):
    asyncio.run(coro)


def make_ca(folder, name):
    """A CA and a server certificate for 127.0.0.1 (PEM files), made with `cryptography`."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    os.makedirs(folder, exist_ok=True)
    files = []
    for fname, data in (("ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
                        ("server.pem", cert.public_bytes(serialization.Encoding.PEM)),
                        ("server.key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))):
        path = os.path.join(str(folder), fname)
        with open(path, "wb") as f:
            f.write(data)
        files.append(path)
    return files
