"""Home Assistant over MQTT: every record goes out as a summary, every request comes back refused.

Outbound, for each record the ledger has written: its photo (if any) to the image entity,
an event (doorbell ring, keypad verdict), a summary {seq, ev, outcome, label, t, hash} and,
after the batch, a checkpoint {seq, hash, t, dev, dropped, sig} signed with the device key
and retained, so a homeowner can prove later that the pulled log still reaches that head.
Nothing published ever holds a digit typed at the door: records hold only a digit count.

Inbound: one command topic (``<prefix>/cmd/#``). Nothing on it can submit, reveal, list or
export a code; every message is classified by a few keywords (never copied) and answered
with Door.remote("mqtt", request, now), which refuses it, rate-limits and records it.

The door never waits for the network. notify(rec) only puts a small summary in a bounded
queue (oldest dropped first when it is full, and counted: the next checkpoint says how many);
the ledger on flash keeps everything regardless. A task sends the queue in order whenever the
broker is reachable and reconnects with exponential backoff. Before umqtt's blocking connect
it probes the broker with a non-blocking TCP connect, so an unreachable broker costs the door
loop nothing; writes get a socket timeout.

The client is injected: make_client(settings, client_id) returns an object with the method
names of micropython-lib's umqtt.simple. On the device that is umqtt.simple itself
(umqtt_client below, imported only when called); the host tests use a paho-mqtt adapter.
"""

from binascii import hexlify

from doorstep import canon, ed25519, hass
from doorstep.compat import sleep_ms, ticks_diff, ticks_ms
from doorstep.ledger import line_hash

CHANNEL = "mqtt"  # the channel name in relay_refused records
_KEYS = ("host", "port", "user", "password", "tls", "ca", "topic_prefix", "discovery_prefix", "keepalive")


class MqttConfigError(ValueError):
    """config["mqtt"] cannot be used; the message says which key and what to do."""


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
    ca = m.get("ca")
    if tls and not (isinstance(ca, str) and ca):
        raise MqttConfigError(
            "mqtt: tls is on but mqtt.ca (the broker's CA certificate file on the device) is not set; "
            "without it the device cannot tell your broker from an impostor, so MQTT stays off"
        )
    port = m.get("port", 8883 if tls else 1883)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise MqttConfigError("mqtt.port must be a whole number from 1 to 65535, not %r" % (port,))
    keepalive = m.get("keepalive", 60)
    if not isinstance(keepalive, int) or isinstance(keepalive, bool) or not 10 <= keepalive <= 3600:
        raise MqttConfigError("mqtt.keepalive must be a whole number of seconds from 10 to 3600")
    prefix = m.get("topic_prefix", "doorstep/" + dev)
    discovery = m.get("discovery_prefix", "homeassistant")
    for name, value in (("mqtt.topic_prefix", prefix), ("mqtt.discovery_prefix", discovery)):
        err = hass.check_prefix(name, value)
        if err:
            raise MqttConfigError(err)
    return {
        "host": host, "port": port, "user": user, "password": password, "tls": tls, "ca": ca,
        "ca_data": None, "keepalive": keepalive, "topic_prefix": prefix, "discovery_prefix": discovery,
    }


# Words that say what a command message asks for, most specific first. Anything else
# with a run of digits is someone typing a code; the rest is "other".
_WORDS = (
    (b"reveal", "reveal"), (b"export", "export"), (b"list", "list"), (b"submit", "submit"),
    (b"code", "submit"), (b"unlock", "submit"), (b"open", "submit"),
)


def classify(subtopic, msg):
    """One of door.REQUESTS for a command message. Reads at most 128 bytes; keeps nothing."""
    text = (bytes(subtopic[:64]) + b" " + bytes(msg[:128])).lower()
    for word, req in _WORDS:
        if word in text:
            return req
    run = 0
    for b in msg[:128]:
        if 48 <= b <= 57:
            run += 1
            if run >= 4:
                return "submit"
        else:
            run = 0
    return "other"


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


def _login_refused(e):
    # umqtt raises MQTTException(CONNACK code): 4 bad user name or password, 5 not authorised.
    return type(e).__name__ == "MQTTException" and e.args and e.args[0] in (4, 5)


class MqttNotifier:
    """Queues record summaries (notify) and sends them from its own task (run)."""

    max_queue = 32  # records waiting for the broker; the oldest go first when full
    poll_ms = 100  # how often inbound messages are checked
    backoff_ms = 1000  # first wait after a failed connection, doubled up to backoff_max_ms
    backoff_max_ms = 300000
    probe_ms = 3000
    max_inbound = 10  # command messages handled per poll, so a flood cannot hold the loop
    write_timeout_s = 5

    def __init__(self, config=None, make_client=None, probe=tcp_probe, log=print, online=None):
        self.config = config  # overrides config["mqtt"] (the simulator's --mqtt options)
        self.make_client = make_client
        self.probe = probe
        self.online = online  # optional: Wi-Fi is up? (no attempts, no backoff growth while down)
        self.log = log
        self.queue = []  # (seq, ev, t, hash, fields or None, photo file or None), oldest first
        self.dropped = 0  # summaries dropped from the queue since boot (never from the ledger)
        self.stage = 0  # messages of queue[0] already sent (a lost connection resumes there)
        self.off = False
        self.s = None
        self.tp = None
        self.client = None
        self.running = False
        self.error = None  # why MQTT is off or the last connection failed, for the console
        self.sent = None  # (seq, hash, t) of the last record sent
        self.cp = None  # the last signed checkpoint (bytes), re-sent on every connect
        self.cp_key = None  # (seq, dropped) it covers
        self.heartbeat = None  # last heartbeat time (bytes), retained
        self.commands = 0  # command messages seen (each refused)
        self.connects = 0
        self._pinged = 0

    # What the record task calls: cheap, never touches the network.
    def notify(self, rec):
        if self.off:
            return
        fields = None
        for k in ("outcome", "label", "channel", "request", "suppressed", "tones"):
            if k in rec:
                if fields is None:
                    fields = {}
                fields[k] = rec[k]
        ph = rec.get("photo")
        item = (rec["seq"], rec["ev"], rec.get("t"), line_hash(canon.dumpb(rec)), fields,
                ph.get("file") if isinstance(ph, dict) else None)
        q = self.queue
        if len(q) >= self.max_queue:
            q.pop(0)
            self.stage = 0
            self.dropped += 1
        q.append(item)

    @property
    def connected(self):
        return self.client is not None

    def attach(self, app):
        """Take what the notifier needs from a booted App: device id, key, door, clock, flash."""
        rec = app.rec
        self.dev = rec.dev
        self.sign = lambda msg: ed25519.sign_async(rec.seed, msg, rec.pub)
        self.remote = app.door.remote
        self.ticks = app.clock.ticks_ms
        self.storage = app.storage
        cfg = self.config if self.config is not None else app.cfg.get("mqtt")
        try:
            s = settings(cfg, self.dev)
            if s is not None and s["tls"]:
                try:
                    s["ca_data"] = self.storage.read(s["ca"])
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
        self.client_id = "doorstep-" + self.dev
        if self.make_client is None:
            self.make_client = umqtt_client

    def _disable(self, why):
        self.off = True
        self.queue = []
        self.error = why
        if why:
            self.log(why)

    # The task
    async def run(self, app=None):
        """Send until stop(). With app, wait for it to boot and attach to it first, so the
        task can be started next to App.run() (the records of boot are queued meanwhile)."""
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
                try:
                    self._inbound()
                    await self._send()
                    self._keepalive()
                except Exception as e:  # any client failure means the connection is gone
                    self._lost(e)
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
        """Wait until everything queued is sent and its checkpoint published; False on timeout."""
        t0 = ticks_ms()
        while ticks_diff(ticks_ms(), t0) < timeout_ms:
            if self.off:
                return False
            if self.client is not None and not self.queue and (self.sent is None or self.cp_key == (self.sent[0], self.dropped)):
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
            c.set_callback(self._on_msg)
            c.set_last_will(tp.status, hass.OFFLINE, True, 1)
            c.connect(True)
            self._timeout(c)
            for topic, payload in hass.discovery(tp):
                c.publish(topic, payload, True)
            c.publish(tp.status, hass.ONLINE, True)
            if self.heartbeat is not None:
                c.publish(tp.heartbeat, self.heartbeat, True)
            if self.cp is not None:
                c.publish(tp.checkpoint, self.cp, True)
            c.subscribe(tp.commands)
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
        self.log("mqtt: connected to %s:%d as %s, %d record(s) waiting" % (s["host"], s["port"], s["user"], len(self.queue)))
        return True

    def _failed(self, why):
        if why != self.error:  # say it once, not at every retry
            self.log("mqtt: %s; records are still written to flash, %d waiting to be sent" % (why, len(self.queue)))
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

    def _timeout(self, c):
        # umqtt's socket is blocking without a timeout (check_msg puts it back that way):
        # bound every write so a stalled broker cannot hold the door loop for long.
        sock = getattr(c, "sock", None)
        if sock is not None:
            try:
                sock.settimeout(self.write_timeout_s)
            except Exception:
                pass

    # Inbound: every message is a request to refuse.
    def _inbound(self):
        c = self.client
        for _ in range(self.max_inbound):
            if c.check_msg() is None:
                return

    def _on_msg(self, topic, msg):
        self.commands += 1
        sub = topic[len(self.tp.command):] if topic[: len(self.tp.command)] == self.tp.command else topic
        try:
            self.remote(CHANNEL, classify(sub, msg), self.ticks())
        except Exception as e:
            self.log("mqtt: refusing a command failed: %s" % _text(e))

    def _keepalive(self):
        now = ticks_ms()
        if ticks_diff(now, self._pinged) >= self.s["keepalive"] * 500:
            self._pinged = now
            self.client.ping()

    # Outbound
    async def _send(self):
        c = self.client
        q = self.queue
        self._timeout(c)
        while q and self.client is c:
            item = q[0]
            msgs = self._messages(item)
            while self.stage < len(msgs):
                topic, payload, retain = msgs[self.stage]
                if isinstance(payload, str):  # a photo file, read only now
                    payload = self._photo(payload)
                if payload is not None:
                    c.publish(topic, payload, retain)
                self.stage += 1
            q.pop(0)
            self.stage = 0
            self.sent = (item[0], item[3], item[2])
            self._pinged = ticks_ms()
            await sleep_ms(0)  # the door loop runs between records
        if self.sent is not None and self.cp_key != (self.sent[0], self.dropped):
            await self._checkpoint(c)

    def _messages(self, item):
        seq, ev, t, h, fields, photo = item
        fields = fields or {}
        tp = self.tp
        out = []
        if photo is not None and self._newest_photo(item):
            out.append((tp.photo, photo, False))
        extra = None
        if ev == "ring":
            out.append((tp.ring, hass.event_payload("ring", seq, t, h, None), False))
        elif ev == "attempt" or ev == "relay_refused":
            kind = fields.get("outcome", ev) if ev == "attempt" else ev
            extra = {}
            for k in ("label", "channel", "request", "suppressed", "tones"):
                if k in fields:
                    extra[k] = fields[k]
            out.append((tp.verdict, hass.event_payload(kind, seq, t, h, extra), False))
        summary = {"seq": seq, "ev": ev, "t": t, "hash": h}
        for k in ("outcome", "label"):
            if k in fields:
                summary[k] = fields[k]
        out.append((tp.record, canon.dumpb(summary), False))
        if ev == "heartbeat":
            self.heartbeat = hass.iso_utc(t).encode()
            out.append((tp.heartbeat, self.heartbeat, True))
        return out

    def _newest_photo(self, item):
        """Only the newest queued photo is sent: after an outage Home Assistant needs the
        latest picture, not a burst of old ones (they are all on flash, bound to records)."""
        q = self.queue
        for i in range(len(q) - 1, -1, -1):
            if q[i][5] is not None:
                return q[i] is item
        return True

    def _photo(self, name):
        try:
            return self.storage.read(name)
        except OSError:  # pruned meanwhile: the record says what it was
            return None

    async def _checkpoint(self, c):
        seq, h, t = self.sent
        dropped = self.dropped
        cp = {"seq": seq, "hash": h, "t": t, "dev": self.dev, "dropped": dropped}
        sig = await self.sign(canon.dumpb(cp))  # yields: the door keeps running meanwhile
        cp["sig"] = hexlify(sig).decode()
        self.cp = canon.dumpb(cp)
        self.cp_key = (seq, dropped)
        if self.client is c:
            c.publish(self.tp.checkpoint, self.cp, True)


def _text(e):
    """An exception as a short message (never holds a password: nothing here formats one)."""
    s = str(e)
    return "%s: %s" % (type(e).__name__, s) if s else type(e).__name__
