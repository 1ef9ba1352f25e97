"""Home Assistant's feed (a service of mqtt.MqttLink): summaries out, commands refused.

Outbound, for each record the ledger has written: its photo (if any) to the image entity,
an event (doorbell ring, keypad verdict, handover: label only), a summary {seq, ev, outcome, label, t, hash} and,
after the batch, a checkpoint {seq, hash, t, dev, dropped, sig} signed with the device key
and retained, so a homeowner can prove later that the pulled log still reaches that head.
Nothing published ever holds a digit typed at the door: records hold only a digit count.
What Home Assistant expects (topics, discovery, payloads) is in hass.py.

Inbound: <prefix>/button/snapshot, the snapshot button (snapshot.py; its payload is never
read), and <prefix>/cmd/#, where nothing can submit, reveal, list or export a code: every
message is classified by a few keywords (never copied) and answered with
Door.remote("mqtt", request, now), which refuses it, rate-limits and records it.

notify(rec) only puts a small summary in a bounded queue (oldest dropped first when it is
full, and counted: the next checkpoint says how many). This feed is for Home Assistant's
"now"; the complete account is the ledger, which the mirror (mirror.py) carries.
"""

from binascii import hexlify

from doorstep import canon, ed25519, hass
from doorstep.compat import sleep_ms
from doorstep.ledger import line_hash

CHANNEL = "mqtt"  # the channel name in relay_refused records

# Words that say what a command message asks for, most specific first. Anything else
# with a run of digits is someone typing a code; the rest is "other".
_WORDS = (
    (b"reveal", "reveal"), (b"export", "export"), (b"list", "list"), (b"submit", "submit"),
    (b"handover", "reveal"),  # asking for a carrier code: only the keypad releases one
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


class HaFeed:
    max_queue = 32  # records waiting for the broker; the oldest go first when full

    def __init__(self):
        self.queue = []  # (seq, ev, t, hash, fields or None, photo file or None, ms since boot), oldest first
        self.dropped = 0  # summaries dropped from the queue since boot (never from the ledger)
        self.stage = 0  # messages of queue[0] already sent (a lost connection resumes there)
        self.sent = None  # (seq, hash, t) of the last record sent
        self.cp = None  # the last signed checkpoint (bytes), re-sent on every connect
        self.cp_key = None  # (seq, dropped) it covers
        self.heartbeat = None  # last heartbeat time (bytes), retained
        self.commands = 0  # command messages seen (each refused)

    def attach(self, app, link):
        rec = app.rec
        self.link = link
        self.tp = link.tp
        self.dev = rec.dev
        self.sign = lambda msg: ed25519.sign_async(rec.seed, msg, rec.pub)
        self.remote = app.door.remote
        self.ticks = app.clock.ticks_ms
        self.uptime = app.uptime
        self.storage = app.storage
        self.topics = [self.tp.commands, self.tp.snapshot]
        self.snapshot = getattr(app, "snapshots", None)
        self.presses = 0  # snapshot button presses seen (each a snapshot, or counted when rate-limited)

    def notify(self, rec):
        fields = None
        for k in ("outcome", "label", "channel", "request", "suppressed", "tones", "mode"):
            if k in rec:
                if fields is None:
                    fields = {}
                fields[k] = rec[k]
        ph = rec.get("photo")
        item = (rec["seq"], rec["ev"], rec.get("t"), line_hash(canon.dumpb(rec)), fields,
                ph.get("file") if isinstance(ph, dict) else None, rec.get("ms"))
        q = self.queue
        if len(q) >= self.max_queue:
            q.pop(0)
            self.stage = 0
            self.dropped += 1
        q.append(item)

    def idle(self):
        return not self.queue and (self.sent is None or self.cp_key == (self.sent[0], self.dropped))

    def on_connect(self, c):
        tp = self.tp
        for topic, payload in hass.discovery(tp):
            c.publish(topic, payload, True)
        c.publish(tp.status, hass.ONLINE, True)
        if self.heartbeat is not None:
            c.publish(tp.heartbeat, self.heartbeat, True)
        if self.cp is not None:
            c.publish(tp.checkpoint, self.cp, True)

    def on_msg(self, topic, msg):
        if topic == self.tp.snapshot:  # the button: its payload is never read
            self.presses += 1
            if self.snapshot is not None:
                self.snapshot.request("hass", self.ticks())
            return True
        cmd = self.tp.command
        if topic[: len(cmd)] != cmd or topic[len(cmd): len(cmd) + 1] not in (b"", b"/"):
            return False
        self.commands += 1
        self.remote(CHANNEL, classify(topic[len(cmd):], msg), self.ticks())
        return True

    async def send(self, c):
        q = self.queue
        while q and self.link.client is c:
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
            self.link.sent_something()
            await sleep_ms(0)  # the door loop runs between records
        if self.sent is not None and self.cp_key != (self.sent[0], self.dropped):
            await self._checkpoint(c)

    def _messages(self, item):
        seq, ev, t, h, fields, photo, at_ms = item
        fields = fields or {}
        tp = self.tp
        out = []
        if photo is not None and self._newest_photo(item):
            out.append((tp.photo, photo, False))
        # Events that waited out an outage say so: an automation must not take a ring
        # from an hour ago for someone at the door now.
        late = (self.uptime() - at_ms) // 1000 if isinstance(at_ms, int) else 0
        if ev == "ring":
            out.append((tp.ring, hass.event_payload("ring", seq, t, h, None, late), False))
        elif ev == "attempt" or ev == "relay_refused":
            kind = fields.get("outcome", ev) if ev == "attempt" else ev
            extra = {}
            for k in ("label", "channel", "request", "suppressed", "tones", "mode"):
                if k in fields:
                    extra[k] = fields[k]
            out.append((tp.verdict, hass.event_payload(kind, seq, t, h, extra, late), False))
        elif ev == "handover":  # the label only: the record has no code or challenge to give
            out.append((tp.handover, hass.event_payload("handover", seq, t, h, {"label": fields.get("label")}, late), False))
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
        latest picture, not a burst of old ones (they all go to the collector by the mirror)."""
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
        if self.link.client is c:
            c.publish(self.tp.checkpoint, self.cp, True)
