"""`make bench`, the live mirror's part: device RAM, delivery time, catch-up rate.

- RAM: the same door session as the bench's heap-capped run, with the MQTT link (Home
  Assistant feed, mirror, remote administration) attached to a scripted client inside the
  MicroPython VM and every record and photo sent; the smallest hard-capped heap that passes,
  against the session without MQTT.
- Delivery and catch-up: on this host (CPython), the real App with MqttLink over the
  socket-level umqtt stand-in, a real mosquitto and the real Collector: time from a record
  reaching flash to the collector holding it (fsync'd), and records per second caught up
  after 1,000 records written while the collector was away.
"""

import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time

from doorstep_tools.mpvm import repo_root

# The bench's capped door session, with the link and all three services sending.
MP_CAPPED_LINK = r"""
import sys, gc, os
sys.path.insert(0, '/lib')
LIMIT = %(heapsize)d - %(margin)d
from doorstep import compat
import doorstep.ed25519 as E
import doorstep_tools.virtual.device as D
from doorstep.mqtt import MqttLink
real = compat.sleep_ms
async def _nop():
    pass
def gated(ms):
    return real(ms) if gc.mem_alloc() > LIMIT else _nop()
E.sleep_ms = D.sleep_ms = gated
# The link is driven step by step between the door's actions (a task beside the session
# would return to JS at every poll: the WASM port leaves a little heap behind each time).
import doorstep.mqtt as M, doorstep.hafeed as H, doorstep.mirror as Mi
M.sleep_ms = H.sleep_ms = Mi.sleep_ms = gated
class C:
    sock = None
    def __init__(self, s, cid): self.n = 0
    def set_callback(self, f): self.cb = f
    def set_last_will(self, *a): pass
    def connect(self, clean=True, timeout=None): return 0
    def subscribe(self, t, q=0): pass
    def publish(self, t, m, r=False, q=0): self.n += len(m)
    def check_msg(self): return None
    def ping(self): pass
    def disconnect(self): pass
async def session():
    from doorstep_tools.virtual.board import VirtualBoard
    d = D.VirtualDevice('/s', VirtualBoard(1782378000, 'host'))
    d.yielding = True
    link = MqttLink({'host': '10.0.0.2', 'user': 'u', 'password': 'p'}, C, probe=None, log=lambda m: None)
    d.board.notify = link.notify
    await d.boot()
    link.attach(d.app)
    assert await link._connect()
    async def pump():
        c = link.client
        link._inbound(c)
        for sv in link.services:
            await sv.send(c)
    await pump()
    d.app.door.codes.add('482913', 'p')
    await d.ring()
    await pump()
    await d.press('482913#')
    await pump()
    await d.advance(61 * 60000)
    await pump()
    return all(sv.idle() for sv in link.services) and link.service('Mirror').sent
try:
    sent = await session()
    print('RESULT ok' if sent else 'RESULT unsent', sent)
except MemoryError:
    print('RESULT memory')
"""


MP_LINK_CODE = r"""
import sys, gc
sys.path.insert(0, '/lib')
import asyncio
import doorstep_tools.virtual.device
await asyncio.sleep_ms(0)
a = gc.mem_alloc()
import doorstep.mqtt, doorstep.hafeed, doorstep.hass, doorstep.mirror, doorstep.remote, doorstep.seal
await asyncio.sleep_ms(0)
await asyncio.sleep_ms(0)
print('RESULT', gc.mem_alloc() - a)
"""


def device_ram(capped_files):
    """(bytes of capped heap the session needs with the link, bytes of the link's loaded code)."""
    from doorstep_tools import bench
    from doorstep_tools.mpvm import MicroPython

    files = dict(capped_files)
    files["/s/admin.bin"] = bytes(range(32))
    files["/s/admin.json"] = b'{"n": 0}'
    with_link = bench.capped_peak(files, session=MP_CAPPED_LINK)
    mp = MicroPython()
    try:
        out, _ = mp.run(MP_LINK_CODE, files=files, timeout=60)
    finally:
        mp.close()
    return with_link, int(out.split("RESULT")[1])


def _host():
    sys.path.insert(0, os.path.join(repo_root(), "host_tests"))
    from mosquitto import Broker
    from mqtt_rig import HOME, USERS, Rig

    from doorstep_tools import sealing
    from doorstep_tools.collect import Collector
    from doorstep_tools.collect_store import Store

    admin = bytes(range(32))

    async def go(tmp):
        b = Broker(os.path.join(tmp, "broker"), USERS).start()
        rig = await Rig(os.path.join(tmp, "dev"), b, seed=7, admin=admin).start()
        rig.board.camera.mode = "none"
        # Every ring a visit of its own, so each one is a record (the bell's budget would
        # otherwise fold rings 50 ms apart into one burst, and nothing would be measured).
        rig.dev.app.door.budget.quiet_ms = 0

        def collector(out):
            st = Store(os.path.join(tmp, out), rig.pub, log=lambda m: None)
            c = Collector(st, sealing.Keys(admin), rig.prefix, b.host, b.port, *HOME, log=lambda m: None)
            c.quiet_s = 0.02
            t = threading.Thread(target=c.run, daemon=True)
            t.start()
            return st, c, t

        async def held(st, seq, timeout=120):
            deadline = time.monotonic() + timeout
            while st.last < seq:
                if time.monotonic() > deadline:
                    raise RuntimeError("the collector did not catch up")
                await asyncio.sleep(0.001)

        try:
            st, c, t = collector("copy")
            await held(st, rig.head()[0])
            delays = []
            for _ in range(20):
                seq = rig.head()[0]
                await rig.dev.ring()
                t0 = time.perf_counter()  # the record is on flash now
                if rig.head()[0] == seq:
                    raise RuntimeError("a ring made no record")
                await held(st, rig.head()[0])
                delays.append(time.perf_counter() - t0)
            c.stopped.set()
            t.join(10)
            for _ in range(1000):  # the collector is away (its PC asleep)
                await rig.dev.ring()
            n0 = st.last  # what the copy held when its collector went away
            if rig.head()[0] - n0 < 1000:
                raise RuntimeError("the outage held only %d records back" % (rig.head()[0] - n0))
            t0 = time.perf_counter()  # from the collector's start: connect, catch up, verify, fsync
            st2, c2, t2 = collector("copy")
            await held(st2, rig.head()[0])
            rate = (rig.head()[0] - n0) / (time.perf_counter() - t0)
            c2.stopped.set()
            t2.join(10)
            return statistics.median(delays), max(delays), rate
        finally:
            await rig.stop()
            b.stop()

    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(go(tmp))


def report(capped_files, without):
    try:
        with_link, code = device_ram(capped_files)
        if with_link is None or without is None:
            print("  mirror RAM on the device: the session with MQTT did not complete in 512 KB")
        else:
            print("  MQTT on the device (Home Assistant feed, mirror sending every record and photo, remote admin): the door"
                  " session completes in %d KB of capped heap, %+d KB against the session without MQTT; of that, %.1f KB is"
                  " the link's loaded code (stays in flash when frozen)" % (with_link // 1024, (with_link - without) // 1024, code / 1024))
    except Exception as e:  # noqa: BLE001  -- a bench line, not a test
        print("  mirror RAM on the device: not measured (%s)" % e)
    try:
        med, worst, rate = _host()
        print("  record on flash -> held by `doorstep collect` (real mosquitto, this host): median %.1f ms, worst %.1f ms of 20"
              % (med * 1000, worst * 1000))
        print("  catch-up after a 1,000-record outage: %.0f records/s (QoS 1 each, verified and fsync'd by the collector)" % rate)
    except Exception as e:  # noqa: BLE001
        print("  mirror delivery: not measured (%s)" % e)
