"""The MQTT transport: one broker connection shared by the jobs that use it.

The jobs are services, each in its own module: Home Assistant (hass.HaFeed: summaries,
events, the signed checkpoint, and refusing <prefix>/cmd/#), the live mirror
(mirror.Mirror: every record line and photo for the homeowner's collector) and remote
administration (remote.Remote: authenticated commands). This module only connects,
reconnects with backoff, hands each inbound message to the service whose topic it is, and
lets each service send what it has. A service has: topics (to subscribe), notify(rec),
on_connect(client), on_msg(topic, msg) -> handled?, async send(client), idle().

The door never waits for the network. Before umqtt's blocking connect the broker is probed
with a non-blocking TCP connect, so an unreachable broker costs the door loop nothing; every
blocking socket operation after that is bounded by timeout_s (see Bounded), TLS included.

The client is injected: make_client(settings, client_id) returns an object with the API of
micropython-lib's umqtt.simple 1.8. On the device that is umqtt.simple itself
(umqtt_client below); the host uses doorstep_tools.umqtt_host, a socket-level client with
the same behaviour.
"""

from doorstep import hass, remote
from doorstep.compat import sleep_ms, ticks_diff, ticks_ms
from doorstep.hafeed import HaFeed
from doorstep.mirror import Mirror

# The services are imported with this module, before the door app boots (startup.py), not
# when the link attaches: a late import needs contiguous heap that a running door may have
# fragmented.

_KEYS = ("host", "port", "user", "password", "tls", "ca", "topic_prefix", "discovery_prefix", "keepalive", "mirror")


class MqttConfigError(ValueError):
    """config["mqtt"] cannot be used; the message says which key and what to do."""


def _whole(m, key, default, lo, hi, what):
    v = m.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise MqttConfigError("mqtt.%s must be %s from %d to %d, not %r" % (key, what, lo, hi, v))
    return v


def settings(m, dev):
    """The checked MQTT settings from config["mqtt"], or None when MQTT is not configured.

    There are no default credentials: a broker without mqtt.user and mqtt.password is
    refused, as is TLS without the CA certificate that lets the device know its broker.
    """
    if m is None:
        return None
    if not isinstance(m, dict):
        raise MqttConfigError("mqtt must be a JSON object like {\"host\": ..., \"user\": ..., \"password\": ...}")
    for k in m:
        if k not in _KEYS:
            raise MqttConfigError("mqtt: unknown setting %r (known: %s)" % (k, ", ".join(_KEYS)))
    host = m.get("host")
    if not host:
        return None
    if not isinstance(host, str):
        raise MqttConfigError("mqtt.host must be the broker's name or IP address as text")
    user, password = m.get("user"), m.get("password")
    if not (isinstance(user, str) and user and isinstance(password, str) and password):
        raise MqttConfigError(
            "mqtt: a broker (%s) is set but mqtt.user and mqtt.password are not, so MQTT stays off. "
            "Doorstep has no default broker login: make a user for the doorbell on your broker and "
            "put it in the device configuration." % host
        )
    tls = m.get("tls", False)
    if tls not in (True, False):
        raise MqttConfigError("mqtt.tls must be true or false")
    mirror = m.get("mirror", True)
    if mirror not in (True, False):
        raise MqttConfigError("mqtt.mirror must be true or false")
    ca = m.get("ca")
    if tls and not (isinstance(ca, str) and ca):
        raise MqttConfigError(
            "mqtt: tls is on but mqtt.ca (the broker's CA certificate file on the device) is not set; "
            "without it the device cannot tell your broker from an impostor, so MQTT stays off"
        )
    port = _whole(m, "port", 8883 if tls else 1883, 1, 65535, "a whole number")
    keepalive = _whole(m, "keepalive", 60, 10, 3600, "a whole number of seconds")
    prefix = m.get("topic_prefix", "doorstep/" + dev)
    discovery = m.get("discovery_prefix", "homeassistant")
    for name, value in (("mqtt.topic_prefix", prefix), ("mqtt.discovery_prefix", discovery)):
        err = hass.check_prefix(name, value)
        if err:
            raise MqttConfigError(err)
    return {
        "host": host, "port": port, "user": user, "password": password, "tls": tls, "ca": ca,
        "ca_data": None, "keepalive": keepalive, "topic_prefix": prefix, "discovery_prefix": discovery,
        "mirror": mirror,
    }


async def tcp_probe(host, port, timeout_ms=3000):
    """True if a TCP connection to host:port opens within timeout_ms, without blocking the loop.

    umqtt.simple's connect() blocks until the TCP stack gives up (tens of seconds for an
    unreachable host); this non-blocking attempt runs first so that only a broker that
    answers is handed to it. A host name costs one DNS look-up (blocking): give an address.
    """
    import select
    import socket

    ai = socket.getaddrinfo(host, port)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM)
    try:
        s.setblocking(False)
        try:
            s.connect(ai[-1])
        except OSError:  # "in progress" (its errno differs between ports: not compared)
            pass
        p = select.poll()
        p.register(s, select.POLLOUT)
        t0 = ticks_ms()
        while ticks_diff(ticks_ms(), t0) < timeout_ms:
            ev = p.poll(0)
            if ev:
                return not ev[0][1] & (select.POLLERR | select.POLLHUP)
            await sleep_ms(20)
        return False
    finally:
        s.close()


def umqtt_client(s, client_id):
    """The client on the device: micropython-lib's umqtt.simple (frozen into ESP32 builds)."""
    from umqtt.simple import MQTTClient

    ctx = None
    if s["tls"]:
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=s["ca_data"])
    return MQTTClient(client_id, s["host"], s["port"], s["user"], s["password"], s["keepalive"], ctx)


class KeepRaw:
    """Wraps the TLS context umqtt is given, to keep hold of the plain socket it wraps.

    MicroPython's TLS socket has setblocking() but no settimeout(): the plain socket's
    timeout is the one that bounds TLS reads and writes, so Bounded needs that socket."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.raw = None

    def wrap_socket(self, sock, server_hostname=None):
        self.raw = sock
        return self.ctx.wrap_socket(sock, server_hostname=server_hostname)


class Bounded:
    """umqtt's socket, with "blocking" always meaning "blocking for at most timeout_s".

    umqtt.simple's wait_msg() (so check_msg(), publish with QoS 1, subscribe) calls
    setblocking(True), which clears a socket's timeout: a broker that stalled mid-message
    would hold the door loop for good. Here setblocking(True) sets the timeout again."""

    def __init__(self, sock, raw, timeout_s):
        self.sock = sock
        self.raw = raw
        self.timeout_s = timeout_s
        self.setblocking(True)

    def read(self, n):
        return self.sock.read(n)

    def write(self, buf, n=None):
        return self.sock.write(buf) if n is None else self.sock.write(buf, n)

    def setblocking(self, flag):
        if not flag:
            self.sock.setblocking(False)
            return
        s = self.sock if hasattr(self.sock, "settimeout") else self.raw
        s.settimeout(self.timeout_s)

    def close(self):
        self.sock.close()


def _login_refused(e):
    # umqtt raises MQTTException(CONNACK code): 4 bad user name or password, 5 not authorised.
    return type(e).__name__ == "MQTTException" and e.args and e.args[0] in (4, 5)


def _text(e):
    """An exception as a short message (never holds a password: nothing here formats one)."""
    s = str(e)
    return "%s: %s" % (type(e).__name__, s) if s else type(e).__name__


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
