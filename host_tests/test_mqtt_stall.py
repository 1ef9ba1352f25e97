"""A broker that stalls mid-publish, plain and TLS: the door loop's longest step stays bounded.

umqtt.simple is a blocking client: every socket call the MQTT task makes holds the whole
asyncio loop (the door loop included) until it returns. Its wait_msg() calls
setblocking(True), which clears a socket's timeout, and MicroPython's TLS socket has no
settimeout() at all, so before doorstep.broker.Bounded a broker that stopped answering held
the door for good. The broker here is a raw TCP (or TLS) server written for the test: it
speaks just enough MQTT to accept the device, then, on the test's word, stops answering
(no PUBACK) or stops reading altogether (its receive window closes).
"""

import asyncio
import os
import socket
import ssl
import threading
import time

import pytest

from doorstep.mqtt import MqttLink
from doorstep_tools import umqtt_host
from mqtt_rig import Rig, make_ca, run, until


class StallingBroker:
    def __init__(self, tls=None, rcvbuf=None):
        self.srv = socket.socket()
        if rcvbuf:
            self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # inherited by accepted sockets
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.host = "127.0.0.1"
        self.tls = tls
        self.stall = threading.Event()
        self.done = threading.Event()
        self.conns = 0
        self.publishes = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self):
        self.done.set()
        self.srv.close()

    def _serve(self):
        while not self.done.is_set():
            try:
                s, _ = self.srv.accept()
            except OSError:
                return
            self.conns += 1
            threading.Thread(target=self._conn, args=(s,), daemon=True).start()

    @staticmethod
    def _read(s, n):
        out = b""
        while len(out) < n:
            b = s.recv(n - len(out))
            if not b:
                raise OSError("closed")
            out += b
        return out

    def _packet(self, s):
        head = self._read(s, 1)[0]
        n, sh = 0, 0
        while True:
            b = self._read(s, 1)[0]
            n |= (b & 0x7F) << sh
            sh += 7
            if not b & 0x80:
                break
        return head, self._read(s, n)

    def _conn(self, s):
        try:
            if self.tls:
                s = self.tls.wrap_socket(s, server_side=True)
            if self.stall.is_set():  # a stalled broker accepts TCP, then never answers CONNECT
                self.done.wait()
                return
            self._packet(s)
            s.sendall(b"\x20\x02\x00\x00")
            while not self.done.is_set():
                if self.stall.is_set():
                    self.done.wait()  # neither reads nor answers: the window closes
                    return
                s.settimeout(0.05)
                try:
                    head, body = self._packet(s)
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                finally:
                    s.settimeout(None)
                kind = head & 0xF0
                if kind == 0x80:  # SUBSCRIBE -> SUBACK
                    s.sendall(b"\x90\x03" + body[:2] + b"\x01")
                elif kind == 0x30:
                    self.publishes += 1
                    if head & 0x06 == 0x02:  # QoS 1 -> PUBACK
                        tl = body[0] << 8 | body[1]
                        s.sendall(b"\x40\x02" + body[2 + tl : 4 + tl])
                elif kind == 0xC0:
                    s.sendall(b"\xd0\x00")
        except OSError:
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass


async def longest_step_while(rig, work):
    """The longest time the asyncio loop (and so the door loop) was held while work() runs."""
    longest = [0.0]
    stop = asyncio.Event()

    async def probe():
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            longest[0] = max(longest[0], time.perf_counter() - t0)

    task = asyncio.create_task(probe())
    try:
        await work()
    finally:
        stop.set()
        await task
    return longest[0]


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("how", ["no-answer", "no-read"])
def test_a_stalled_broker_holds_the_door_loop_only_briefly(tmp_path, tls, how):
    async def go():
        ctx = None
        extra = {}
        if tls:
            ca, cert, key = make_ca(tmp_path / "pki", "Stall CA")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            os.makedirs(tmp_path / "dev", exist_ok=True)
            with open(ca, "rb") as f, open(tmp_path / "dev" / "ca.pem", "wb") as g:
                g.write(f.read())
            extra = {"tls": True, "ca": "ca.pem"}
        b = StallingBroker(ctx, rcvbuf=4096 if how == "no-read" else None)
        rig = Rig(tmp_path / "dev", b, seed=50, admin=bytes(32), **extra)
        try:
            await rig.start()
            rig.dev.app.door.budget.quiet_ms = 0  # every ring a visit of its own: one record each (bursts are tested in scenarios/floods.py)
            await until(lambda: rig.n.connected, 10, what="connect")
            assert await rig.n.flush(5000)
            lost = [m for m in rig.logs if "connection lost" in m]
            b.stall.set()

            async def work():
                for _ in range(30):  # records (and photos) keep coming while the broker is stalled
                    await rig.dev.ring()
                    await asyncio.sleep(0.05)
                await until(lambda: [m for m in rig.logs if "connection lost" in m] != lost, 20, what="the link to give up")
                await asyncio.sleep(2 * MqttLink.timeout_s)  # a reconnect against the stalled broker

            longest = await longest_step_while(rig, work)
            print("%s %s: the door loop was held at most %.2f s (socket timeout %d s)" % (how, "TLS" if tls else "plain", longest, MqttLink.timeout_s))
            # One blocking call, bounded by the timeout; the door runs before the next try.
            assert longest < 2 * MqttLink.timeout_s + 0.5, longest
            assert b.conns >= 2  # it gave up on the stalled connection and tried again
            assert not rig.n.connected or b.conns >= 2
            # the door went on: every ring is a record on flash
            assert [r["ev"] for _, r in rig.ledger()].count("ring") == 30
        finally:
            rig.n.stop()
            b.close()
            try:
                await asyncio.wait_for(rig.task, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass

    run(go())


def test_umqtt_stand_in_behaves_as_umqtt_simple(tmp_path, broker):
    """What the firmware relies on: check_msg() returns the packet type of a delivered
    message and None when idle, the socket is exposed as .sock, connect takes a timeout,
    keepalive 0 means none (the broker then never drops an idle client)."""
    from mqtt_rig import DEVICE, publish

    c = umqtt_host.MQTTClient("t1", broker.host, broker.port, DEVICE[0], DEVICE[1], keepalive=0)
    got = []
    c.set_callback(lambda t, m: got.append((t, m)))
    assert c.connect(True, 2) == 0
    assert c.sock.s.gettimeout() == 2 and c.sock.read(0) == b""
    c.subscribe(b"t/x", 1)
    assert c.check_msg() is None
    publish(broker, [("t/x", b"hello")])
    deadline = time.monotonic() + 5
    op = None
    while op is None and time.monotonic() < deadline:
        op = c.check_msg()
        time.sleep(0.01)
    assert op is not None and op & 0xF0 == 0x30 and got == [(b"t/x", b"hello")]
    assert c.sock.s.gettimeout() is None  # wait_msg's setblocking(True) cleared the timeout, as on the device
    c.publish(b"t/y", b"q1", False, 1)  # QoS 1 returns only once the broker acknowledged it
    c.disconnect()
