"""The live mirror (a service of mqtt.MqttLink): every record and photo, off the door.

The ledger on flash is the outbox. Each record's exact line goes to <prefix>/mirror, QoS 1,
in seq order, followed by its photo in parts ("P <seq> <offset> <size>\\n" + bytes, at
most part_bytes each; "P <seq> gone 0\\n" when the photo is no longer on the device);
"G <from> <to>\\n" says records from..to are no longer on the device (pruned). The
homeowner's collector (`doorstep collect`) verifies and keeps them and acknowledges on
<prefix>/mirror/ack with a message sealed with the admin key's "ack" key:
    {"dev", "seq", "hash", "resend"}   I hold every record up to seq (and its photo);
                                       resend: send again from seq + 1 (I saw a gap)
The acknowledged seq is kept on flash (mirror.json) and counts as pulled for pruning
(prune.py), so the device may free what the collector holds. After a reboot or a power cut
sending starts again after the acknowledged seq: the collector drops what it already has.
Nothing is queued in RAM but a read position, so nothing is lost when the broker is away.
Without any acknowledgement yet, the mirror sends from the records of this boot on; a new
collector asks for the rest with resend.
"""

import json

from doorstep import seal
from doorstep import ledger as L
from doorstep.compat import sleep_ms, ticks_diff, ticks_ms
from doorstep.prune import MIRROR_FILE as STATE_FILE
from doorstep.prune import held


class Reader:
    """Record lines read back from the ledger in seq order, keeping the read position."""

    def __init__(self, storage, per_segment):
        self.storage = storage
        self.per = per_segment
        self.seg = None
        self.pos = 0
        self.at = 0  # seq of the line at pos

    def line(self, seq):
        """Record seq's line (no newline), or None when it is not on flash (pruned, not yet written)."""
        name = L.segment_name(seq - seq % self.per)
        if self.seg != name or self.at > seq:
            self.seg, self.pos, self.at = name, 0, seq - seq % self.per
        try:
            with self.storage.open(name, "rb") as f:
                f.seek(self.pos)
                while True:
                    line = f.readline()
                    if line[-1:] != b"\n":
                        return None
                    self.pos += len(line)
                    self.at += 1
                    if self.at - 1 == seq:
                        return line[:-1]
        except OSError:
            return None


class Mirror:
    part_bytes = 4096  # photo bytes per message (one buffer, allocated once)
    batch = 20  # records per send() before the other services get their turn
    save_ms = 10000  # the acknowledged seq is written to flash at most this often
    remember = 32  # hashes of the newest records sent, to check acks without reading flash

    def __init__(self):
        self.next = None  # next seq to send
        self.sent = 0
        self.hashes = {}
        self.buf = None
        self._saved_at = None
        self._dirty = False

    def attach(self, app, link):
        self.app = app
        self.link = link
        self.storage = app.storage
        self.ledger = app.ledger
        self.dev = app.rec.dev
        keys = seal.keys(app.storage)
        self.key = keys["ack"] if keys else None
        p = link.tp.prefix
        self.topic = (p + "/mirror").encode()
        self.ack_topic = (p + "/mirror/ack").encode()
        self.topics = [self.ack_topic] if self.key else []
        self.acked, self.acked_hash = held(self.storage, STATE_FILE)
        if self.acked >= 0:
            self.next = self.acked + 1
        self.reader = Reader(self.storage, self.ledger.per_segment)
        if self.key is None:
            link.log("mqtt: this device has no admin key, so the collector's acknowledgements cannot be checked"
                     " and nothing it holds is pruned on the device; provision it again over the cable")

    def notify(self, rec):
        if self.next is None:
            self.next = rec["seq"]

    def idle(self):
        return self.next is None or self.next >= self.ledger.next_seq

    def on_connect(self, c):
        pass

    # Acknowledgements
    def on_msg(self, topic, msg):
        if topic != self.ack_topic:
            return False
        body = seal.unseal(self.key, msg) if self.key else None
        try:
            ack = json.loads(body) if body is not None else None
        except ValueError:
            ack = None
        seq = ack.get("seq") if isinstance(ack, dict) else None
        if ack is None or ack.get("dev") != self.dev or not isinstance(seq, int) or isinstance(seq, bool) or seq < -1:
            self.app.door.remote("mqtt_admin", "other", self.app.clock.ticks_ms())
            return True
        if ack.get("resend") is True:
            first = seq + 1
            if self.next is None or first < self.next:
                self.next = first
        if seq > self.acked and seq < self.ledger.next_seq and self._hash(seq) == ack.get("hash"):
            self.acked, self.acked_hash = seq, ack["hash"]
            self._dirty = True
            self._save()
        return True

    def _hash(self, seq):
        h = self.hashes.get(seq)
        if h is None:
            line = self.reader.line(seq)
            h = L.line_hash(line) if line is not None else None
        return h

    def _save(self, force=False):
        now = ticks_ms()
        if not self._dirty or not (force or self._saved_at is None or ticks_diff(now, self._saved_at) >= self.save_ms):
            return
        try:
            self.storage.write_json(STATE_FILE, {"seq": self.acked, "hash": self.acked_hash})
            self._dirty = False
            self._saved_at = now
        except OSError:
            pass  # flash full: kept in RAM, tried again later (resending is harmless)

    # Sending
    async def send(self, c):
        self._save(self.idle())
        n = 0
        while not self.idle() and self.link.client is c and n < self.batch:
            seq = self.next
            line = self.reader.line(seq)
            if line is None:  # pruned on the device: say so, so the collector does not wait for them
                self.next = self._after_gap(seq)
                c.publish(self.topic, b"G %d %d\n" % (seq, self.next - 1), False, 1)
                continue
            c.publish(self.topic, line, False, 1)
            h = L.line_hash(line)
            self.hashes[seq] = h
            if len(self.hashes) > self.remember:
                self.hashes.pop(min(self.hashes))
            if b'"photo":{' in line:
                await self._photo(c, seq, json.loads(line)["photo"])
            line = None
            self.next = seq + 1
            self.sent += 1
            n += 1
            self.link.sent_something()
            await sleep_ms(0)  # the door loop runs between records

    def _after_gap(self, seq):
        """The first seq after seq that is on flash (a pruned segment: records_pruned says so)."""
        for name in self.ledger.segments():
            first = int(name[len(L.DIR) + 1 : -6])
            if first > seq:
                return first
        return self.ledger.next_seq

    async def _photo(self, c, seq, ph):
        name, size = ph.get("file"), ph.get("size")
        if self.buf is None:
            self.buf = bytearray(self.part_bytes + 40)
        mv = memoryview(self.buf)
        try:
            f = self.storage.open(name, "rb")
        except OSError:
            c.publish(self.topic, b"P %d gone 0\n" % seq, False, 1)
            return
        try:
            off = 0
            while True:
                head = b"P %d %d %d\n" % (seq, off, size)
                h = len(head)
                mv[:h] = head
                got = f.readinto(mv[h : h + self.part_bytes])
                if not got:
                    break
                c.publish(self.topic, mv[: h + got], False, 1)
                off += got
                await sleep_ms(0)
        finally:
            f.close()
