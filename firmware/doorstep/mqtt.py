"""The MQTT link: one broker connection shared by the jobs that use it.

The jobs are services, each in its own module: Home Assistant (hafeed.HaFeed: summaries,
events, the signed checkpoint, and refusing <prefix>/cmd/#), the live mirror
(mirror.Mirror: every record line and photo for the homeowner's collector) and remote
administration (remote.Remote: authenticated commands). This module only connects,
reconnects with backoff, hands each inbound message to the service whose topic it is, and
lets each service send what it has. A service has: topics (to subscribe), notify(rec),
on_connect(client), on_msg(topic, msg) -> handled?, async send(client), idle().

The door never waits for the network: the broker is probed without blocking before umqtt
connects, and every blocking socket call is bounded by timeout_s, TLS included (broker.py).

The client is injected: make_client(settings, client_id) returns an object with the API of
micropython-lib's umqtt.simple 1.8. On the device that is umqtt.simple itself
(broker.umqtt_client); the host uses doorstep_tools.umqtt_host, a socket-level client with
the same behaviour.
"""

from doorstep import hass, remote
from doorstep.broker import Bounded, KeepRaw, MqttConfigError, _login_refused, _text, settings, tcp_probe, umqtt_client
from doorstep.compat import sleep_ms, ticks_diff, ticks_ms
from doorstep.hafeed import HaFeed
from doorstep.mirror import Mirror

# The services are imported with this module, before the door app boots (startup.py), not
# when the link attaches: a late import needs contiguous heap that a running door may have
# fragmented.

class MqttLink:
    """One broker connection for the services; run() is the task, notify() the record hook."""

    poll_ms = 100  # how often inbound messages are checked
    backoff_ms = 1000  # first wait after a failed connection, doubled up to backoff_max_ms
    backoff_max_ms = 300000
    probe_ms = 3000
    max_inbound = 10  # messages handled per poll, so a flood cannot hold the loop
    timeout_s = 1  # the longest any socket operation may block the door loop

    def __init__(self, config=None, make_client=None, probe=tcp_probe, log=print, online=None, services=None):
        self.config = config  # overrides config["mqtt"] (the simulator's --mqtt options)
        self.make_client = make_client
        self.probe = probe
        self.online = online  # optional: Wi-Fi is up? (no attempts, no backoff growth while down)
        self.log = log
        self.services = services  # None: the ones the settings ask for (attach)
        self.s = None
        self.tp = None
        self.client = None
        self.running = False
        self.off = False
        self.error = None  # why MQTT is off or the last connection failed, for the console
        self.connects = 0
        self.inbound = 0  # messages received (each handed to its service)
        self._pinged = 0
        self.early = []  # records notified before attach (the boot's), replayed to the services

    def notify(self, rec):
        """A record is on flash: each service takes what it needs (cheap, no network)."""
        if self.off:
            return
        if self.services is None:
            self.early.append(rec)
            return
        for sv in self.services:
            sv.notify(rec)

    @property
    def connected(self):
        return self.client is not None

    def service(self, kind):
        for sv in self.services or ():
            if type(sv).__name__ == kind:
                return sv
        return None

    def attach(self, app):
        """Settings, topics and services for a booted App."""
        self.app = app
        self.dev = app.rec.dev
        self.ticks = app.clock.ticks_ms
        cfg = self.config if self.config is not None else app.cfg.get("mqtt")
        try:
            s = settings(cfg, self.dev)
            if s is not None and s["tls"]:
                try:
                    s["ca_data"] = app.storage.read(s["ca"])
                except OSError:
                    raise MqttConfigError("mqtt.ca: the certificate file %s is not on the device" % s["ca"])
        except MqttConfigError as e:
            self._disable(str(e))
            return
        if s is None:
            self._disable(None)
            return
        self.s = s
        self.tp = hass.Topics(s["topic_prefix"], s["discovery_prefix"], self.dev)
        self.client_id = "ds-" + self.dev  # 19 bytes: MQTT 3.1.1 guarantees only 23
        if self.make_client is None:
            self.make_client = umqtt_client
        if self.services is None:
            self.services = [HaFeed()]
            if s["mirror"]:
                self.services.append(Mirror())
            if remote.configured(app.storage):
                self.services.append(remote.Remote())
        for sv in self.services:
            sv.attach(app, self)
        early, self.early = self.early, []
        for rec in early:
            self.notify(rec)

    def _disable(self, why):
        self.off = True
        self.early = []
        self.error = why
        if why:
            self.log(why)

    # The task
    async def run(self, app=None):
        """Send until stop(). With app, wait for it to boot and attach to it first, so the
        task can be started next to App.run() (the records of boot are kept meanwhile)."""
        self.running = True
        if app is not None:
            while self.running and not (getattr(app, "running", False) and getattr(app, "door", None)):
                await sleep_ms(self.poll_ms)
            if not self.running:
                return
            self.attach(app)
        if self.off:
            self.running = False
            return
        delay = self.backoff_ms
        try:
            while self.running:
                if self.client is None:
                    if self.online is not None and not self.online():
                        delay = self.backoff_ms  # no network: nothing to back off from
                        await self._pause(1000)
                        continue
                    if await self._connect():
                        delay = self.backoff_ms
                    else:
                        await self._pause(delay)
                        delay = min(delay * 2, self.backoff_max_ms)
                    continue
                c = self.client
                try:
                    self._inbound(c)
                    for sv in self.services:
                        if self.client is c:
                            await sv.send(c)
                    self._keepalive(c)
                except Exception as e:  # any client failure means the connection is gone
                    self._lost(e)
                    # The door runs before the next try: a stalled broker must not get two
                    # blocking timeouts in a row out of us.
                    await self._pause(self.backoff_ms)
                    continue
                await sleep_ms(self.poll_ms)
        finally:
            self._goodbye()

    def stop(self):
        self.running = False

    def close(self):
        """stop() and say offline now, for a caller whose event loop is already gone."""
        self.stop()
        self._goodbye()

    async def flush(self, timeout_ms=5000):
        """Wait until every service has sent what it has; False on timeout or when off."""
        t0 = ticks_ms()
        while ticks_diff(ticks_ms(), t0) < timeout_ms:
            if self.off:
                return False
            if self.client is not None and self.services is not None and all(sv.idle() for sv in self.services):
                return True
            await sleep_ms(20)
        return False

    async def _pause(self, ms):
        while ms > 0 and self.running:
            step = min(ms, self.poll_ms)
            await sleep_ms(step)
            ms -= step

    async def _connect(self):
        s, tp = self.s, self.tp
        c = None
        try:
            if self.probe is not None and not await self.probe(s["host"], s["port"], self.probe_ms):
                self._failed("the broker %s:%d does not answer" % (s["host"], s["port"]))
                return False
            c = self.make_client(s, self.client_id)
            keep = None
            if getattr(c, "ssl", None):
                keep = c.ssl = KeepRaw(c.ssl)
            c.set_callback(self._on_msg)
            c.set_last_will(tp.status, hass.OFFLINE, True, 1)
            c.connect(True, self.timeout_s)
            if getattr(c, "sock", None) is not None:
                c.sock = Bounded(c.sock, keep.raw if keep else c.sock, self.timeout_s)
            for sv in self.services:
                sv.on_connect(c)
            for sv in self.services:
                for topic in sv.topics:
                    c.subscribe(topic, 1)
        except Exception as e:
            if _login_refused(e):
                why = "the broker %s:%d refused the login (check mqtt.user and mqtt.password)" % (s["host"], s["port"])
            else:
                why = "cannot connect to the broker %s:%d (%s)" % (s["host"], s["port"], _text(e))
            self._failed(why)
            self._close(c)
            return False
        self.client = c
        self.connects += 1
        self._pinged = ticks_ms()
        self.error = None
        self.log("mqtt: connected to %s:%d as %s" % (s["host"], s["port"], s["user"]))
        return True

    def _failed(self, why):
        if why != self.error:  # say it once, not at every retry
            self.log("mqtt: %s; records are still written to flash and will be sent later" % why)
        self.error = why

    def _lost(self, e):
        c, self.client = self.client, None
        self._close(c)
        self._failed("connection lost (%s)" % _text(e))

    def _close(self, c):
        sock = getattr(c, "sock", None)
        if sock is not None:
            try:
                sock.close()
            except Exception:
                pass

    def _goodbye(self):
        """Clean shutdown: say offline (a clean disconnect does not trigger the last will)."""
        c, self.client = self.client, None
        if c is None:
            return
        try:
            c.publish(self.tp.status, hass.OFFLINE, True)
            c.disconnect()
        except Exception:
            self._close(c)

    def _inbound(self, c):
        for _ in range(self.max_inbound):
            if c.check_msg() is None:  # umqtt: None when nothing was waiting (or a PINGRESP)
                return

    def _on_msg(self, topic, msg):
        """umqtt's callback (also called while publish() waits for a PUBACK)."""
        self.inbound += 1
        try:
            for sv in self.services:
                if sv.on_msg(topic, msg):
                    return
        except Exception as e:
            self.log("mqtt: a message on %s could not be handled: %s" % (bytes(topic[:64]).decode(), _text(e)))

    def _keepalive(self, c):
        now = ticks_ms()
        if ticks_diff(now, self._pinged) >= self.s["keepalive"] * 500:
            self._pinged = now
            c.ping()

    def sent_something(self):
        """A service published: the broker heard from us, no ping needed yet."""
        self._pinged = ticks_ms()
