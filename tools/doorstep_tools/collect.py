"""`doorstep collect`: the homeowner's live copy of the doorbell's log, kept off the door.

A long-running command (run it as a service: docs/collector.md). It subscribes to the
device's mirror (firmware/doorstep/mirror.py), checks every record with `cryptography`
against the key pinned at provisioning before keeping it (collect_store.py: the same folder
`doorstep pull` writes), assembles and checks photos, notices gaps and asks the device to
send again, and acknowledges what it holds (sealed with the admin key's "ack" key), which
lets the device prune what is safe off the door. It survives its own restarts (state is the
folder) and broker restarts (it reconnects, and asks for everything after what it holds).
With a time-stamping authority configured for the folder (`doorstep timestamp DIR --tsa`),
it has the head attested by it every hour (tsa.py).
"""

import os
import signal
import threading
import time

from doorstep_tools import sealing
from doorstep_tools.collect_store import Store


class Collector:
    quiet_s = 0.3  # acknowledge once the device has been quiet this long...
    batch = 50  # ...or after this many new records
    resend_s = 10  # a gap or a missing photo not filled by then is asked for again
    reconnect_s = (1, 30)
    stamp_s = 3600  # an independent timestamp of the head this often (docs: `doorstep timestamp`)
    retry_s = 60  # after a TSA that could not be reached

    def __init__(self, store, keys, prefix, host, port, user, password, tls=False, cafile=None, log=print, client_id=None):
        self.store, self.keys, self.log = store, keys, log
        self.dev = store.dev
        self.topic = prefix + "/mirror"
        self.ack_topic = prefix + "/mirror/ack"
        self.cp_topic = prefix + "/checkpoint"
        self.host, self.port, self.user, self.password, self.tls, self.cafile = host, port, user, password, tls, cafile
        self.client_id = client_id or "dscol-" + self.dev  # 22 bytes, fixed: a persistent session
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.acked = None  # (seq, hash) last acknowledged
        self.new = 0  # records kept since the last acknowledgement
        self.last_msg = 0.0
        self.last_ask = 0.0
        self.want_since = None  # when a gap or a missing photo was first seen
        self.gap_ok = None  # the device said records before this seq are gone: accept the jump
        self.connected = False
        self.stamped = None  # (monotonic time, seq) of the last timestamp
        self.counts = {"kept": 0, "have": 0, "gap": 0, "conflict": 0, "bad": 0}

    # MQTT
    def _client(self):
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False, protocol=mqtt.MQTTv311)
        if self.user:
            c.username_pw_set(self.user, self.password)
        if self.tls:
            c.tls_set(ca_certs=self.cafile)
        c.reconnect_delay_set(*self.reconnect_s)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        return c

    def _on_connect(self, c, u, flags, rc, props):
        if rc.is_failure:
            self.log("collect: the broker %s:%d refused the login (%s)" % (self.host, self.port, rc))
            return
        self.connected = True
        c.subscribe([(self.topic, 1), (self.cp_topic, 1)])
        self.log("collect: connected to %s:%d; holding records up to seq %d" % (self.host, self.port, self.store.held[0]))
        with self.lock:
            self._ack(c, resend=True)  # whatever the device sent while we were away, again

    def _on_disconnect(self, c, u, flags, rc, props):
        if self.connected:
            self.log("collect: lost the broker (%s); reconnecting" % rc)
        self.connected = False

    def _on_message(self, c, u, m):
        with self.lock:
            self.last_msg = time.monotonic()
            try:
                if m.topic == self.cp_topic:
                    self._checkpoint(c, m.payload)
                elif m.payload[:1] == b"{":
                    self._record(c, m.payload)
                elif m.payload[:2] == b"P ":
                    self._part(m.payload)
                elif m.payload[:2] == b"G ":
                    self._gone(m.payload)
            except Exception as e:  # a malformed message must not stop the collector
                self.counts["bad"] += 1
                self.log("collect: ignored a malformed message on %s (%s)" % (m.topic, e))

    # What the device sends
    def _record(self, c, line):
        st = self.store
        rec = st.check(line)
        if isinstance(rec, str):
            self.counts["bad"] += 1
            self.log("collect: refused a message on the mirror topic: %s" % rec)
            return
        gap_ok = self.gap_ok is not None and rec["seq"] == self.gap_ok
        got = st.add(rec, line, gap_ok=gap_ok)
        self.counts[got] += 1
        if got == "kept":
            self.new += 1
            self.gap_ok = None
            if self.new >= self.batch:
                self._ack(c)
        elif got == "gap":
            self._missing(c)

    def _part(self, payload):
        head, _, data = payload.partition(b"\n")
        _, seq, off, size = head.split(b" ")
        if off == b"gone":
            self.store.photo_gone(int(seq))
        else:
            self.store.part(int(seq), int(off), int(size), data)

    def _gone(self, payload):
        _, a, b = payload.strip().split(b" ")
        a, b = int(a), int(b)
        if self.store.last < a and self.store.last + 1 >= a:
            if self.store.last >= 0:
                self.log("collect: records %d to %d were pruned on the device before this collector held them;"
                         " the copy made with `doorstep pull` holds them" % (a, b))
            self.gap_ok = b + 1

    def _checkpoint(self, c, payload):
        from doorstep_tools import checkpoint as cpmod

        try:
            cp = cpmod.parse(payload, self.store.pub)
        except cpmod.CheckpointError:
            return
        if cp["seq"] > self.store.last:
            self._missing(c)

    # Asking and acknowledging
    def _missing(self, c):
        now = time.monotonic()
        if self.want_since is None:
            self.want_since = now
        if now - self.last_ask >= self.resend_s:
            self._ack(c, resend=True)

    def _ack(self, c, resend=False):
        seq, h = self.store.held
        self.store.write_head(int(time.time()))
        c.publish(self.ack_topic, sealing.ack(self.keys, self.dev, seq, h, resend), 1)
        if resend:
            self.last_ask = time.monotonic()
        if (seq, h) != self.acked and self.new:
            self.log("collect: holding records up to seq %d (%d new)" % (seq, self.new))
        self.acked, self.new = (seq, h), 0

    def tick(self, c):
        """Called often from run(): acknowledge after a quiet moment, ask again when stuck."""
        with self.lock:
            now = time.monotonic()
            if self.new and now - self.last_msg >= self.quiet_s:
                self._ack(c)
            stuck = self.store.photos or self.want_since is not None
            if not stuck:
                self.want_since = None
            elif self.connected and now - self.last_ask >= self.resend_s and now - self.last_msg >= self.quiet_s:
                self._ack(c, resend=True)
                self.want_since = None

    def _timestamp(self):
        """At most hourly, an RFC 3161 token for the head acknowledged (on disk, in head.json),
        when the folder has a TSA; a failure is tried again after retry_s."""
        from doorstep_tools import tsa

        now = time.monotonic()
        if self.stamped is not None and now - self.stamped[0] < self.stamp_s:
            return
        acked = self.acked
        if acked is None or acked[0] < 0 or not tsa.configured_url(self.store.root):
            return
        if self.stamped is not None and self.stamped[1] == acked[0]:
            return
        try:
            tok = tsa.stamp_head(self.store.root, head={"seq": acked[0], "hash": acked[1], "dev": self.dev})
        except (tsa.TsaError, ValueError, OSError, ImportError) as e:  # ImportError: no rfc3161-client here
            self.stamped = (now - self.stamp_s + self.retry_s, None)
            self.log("collect: not timestamped (%s); trying again in %d s" % (e, self.retry_s))
            return
        self.stamped = (now, acked[0])
        self.log("collect: timestamped: %s" % tok)

    def run(self):
        c = self._client()
        try:
            c.connect(self.host, self.port, 30)
        except OSError as e:
            self.log("collect: cannot reach the broker %s:%d yet (%s); trying again" % (self.host, self.port, e))
            c.connect_async(self.host, self.port, 30)
        c.loop_start()
        try:
            while not self.stopped.wait(0.05):
                if self.connected:
                    self.tick(c)
                self._timestamp()  # outside the lock: the TSA may take seconds to answer
        finally:
            with self.lock:
                if self.connected and self.new:
                    self._ack(c)
            c.disconnect()
            c.loop_stop()
        return self.counts


def cmd_collect(args):
    from doorstep_tools import device_cmds, mqtt_device

    try:
        name, prof = mqtt_device.find_profile(device_cmds.load_profiles(), args.device)
    except mqtt_device.MqttDeviceError as e:
        raise device_cmds.DeviceError(str(e))
    host, _, port = args.mqtt.partition(":")
    if not host or not (port or "1").isdigit():
        raise device_cmds.DeviceError("--mqtt must look like 192.168.1.10 or 192.168.1.10:1883")
    password = None
    if args.mqtt_user:
        password = device_cmds.ask_secret(None, "DOORSTEP_MQTT_PASSWORD", "MQTT password for %s: " % args.mqtt_user)
        if not password:
            raise device_cmds.DeviceError("no MQTT password: set DOORSTEP_MQTT_PASSWORD or run it at a terminal to be asked")
    store = Store(args.out, bytes.fromhex(prof["pub"]))
    keys = sealing.Keys(bytes.fromhex(prof["admin"]))
    prefix = prof.get("topic_prefix") or "doorstep/" + prof["dev"]
    col = Collector(store, keys, prefix, host, int(port or (8883 if args.tls else 1883)), args.mqtt_user, password,
                    args.tls, args.mqtt_ca, log=lambda m: print(m, flush=True))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: col.stopped.set())
    print("collect: keeping device %s's records in %s (stop with Ctrl-C)" % (prof["dev"], os.path.abspath(args.out)), flush=True)
    counts = col.run()
    print("collect: stopped; %d records kept this run, holding up to seq %d" % (counts["kept"], store.held[0]), flush=True)
    return 0


def add_parser(sub):
    from doorstep_tools.device_cmds import guard

    p = sub.add_parser("collect", help="keep a live, verified copy of the doorbell's records and photos (runs until stopped)")
    p.add_argument("--mqtt", required=True, metavar="HOST[:PORT]", help="your MQTT broker")
    p.add_argument("--out", required=True, help="the folder for the copy (the layout `doorstep pull` writes)")
    p.add_argument("--device", help="the device id (or its start) when several are provisioned from this PC")
    p.add_argument("--mqtt-user", default=os.environ.get("DOORSTEP_MQTT_USER"), help="your broker login (password: DOORSTEP_MQTT_PASSWORD or a prompt)")
    p.add_argument("--tls", action="store_true", help="connect with TLS (port 8883 unless given)")
    p.add_argument("--mqtt-ca", help="CA certificate file of the broker, for --tls")
    p.set_defaults(func=guard(cmd_collect))
