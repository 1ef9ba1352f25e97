"""Remote administration over MQTT (a service of mqtt.MqttLink), without the cable.

The homeowner's PC sends sealed commands (seal.py) to <prefix>/admin/cmd:
    {"dev", "n", "op", "args"}     op: info, list, add_code, add_courier, revoke, mark_pulled, snapshot,
                                   and add/list/revoke_handover (handover_remote.py)
n is a counter the device keeps on flash (admin.json): a command is carried out only if its
n is higher than any before, so a replayed or reordered command is refused. A code or a
courier secret travels encrypted under the admin key (never in clear on the network).
The answer goes, sealed the other way, to <prefix>/admin/reply: {"dev", "n", "ok",
"result" | "error", "seq"?}. A change to the codes is a signed record (code_added,
code_revoked, with "via": "mqtt" and the command's n) and the reply waits until it is on
flash, so the PC can say which record proves it.

The door's rule holds: no command submits a code for verification or reads one back; the
code book answers labels and windows only. Anything unsealed, malformed, for another
device or replayed is refused, rate-limited and recorded by Door.remote like any other
network request, and never changes what the door shows. Work per message is bounded
(MAX_MESSAGE bytes, one HMAC) so a flood costs the door loop little.
"""

import json
from binascii import hexlify

from doorstep import canon, handover_remote, seal
from doorstep.compat import ticks_diff
from doorstep.ledger import line_hash

STATE_FILE = "admin.json"
CHANNEL = "mqtt_admin"  # refusals on the admin and mirror-ack topics
OPS = ("info", "list", "add_code", "add_courier", "revoke", "mark_pulled", "snapshot") + handover_remote.OPS
RECORDED = ("add_code", "add_courier", "revoke", "snapshot") + handover_remote.RECORDED  # answered once their record is on flash


def configured(storage):
    return storage.exists(seal.ADMIN_FILE)


def last_counter(storage):
    try:
        st = storage.read_json(STATE_FILE, None)
    except Exception:  # damaged: refuse everything until the homeowner provisions again
        return None
    if st is None:
        return 0
    n = st.get("n") if isinstance(st, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def _int(v):
    return v is None or (isinstance(v, int) and not isinstance(v, bool))


class Remote:
    max_waiting = 8  # answers held for their record
    stale_ms = 10000  # at most one "stale counter" answer this often (replays get the rest)

    def __init__(self):
        self.replies = []  # sealed answers ready to publish
        self.waiting = {}  # command n -> answer dict, until its record is written
        self.refused = 0
        self.done = 0
        self._stale = None  # ticks of the last "stale counter" answer

    def attach(self, app, link):
        self.app = app
        self.link = link
        self.storage = app.storage
        self.dev = app.rec.dev
        self.keys = seal.keys(app.storage)
        p = link.tp.prefix
        self.cmd_topic = (p + "/admin/cmd").encode()
        self.reply_topic = (p + "/admin/reply").encode()
        self.topics = [self.cmd_topic]

    def idle(self):
        return not self.replies and not self.waiting

    def on_connect(self, c):
        pass

    def on_msg(self, topic, msg):
        if topic != self.cmd_topic:
            return False
        self._command(msg)
        return True

    def _refuse(self):
        self.refused += 1
        self.app.door.remote(CHANNEL, "other", self.app.clock.ticks_ms())

    def _command(self, msg):
        body = seal.unseal(self.keys["cmd"], msg) if self.keys else None
        try:
            cmd = json.loads(body) if body is not None else None
        except ValueError:
            cmd = None
        if not isinstance(cmd, dict) or cmd.get("dev") != self.dev:
            return self._refuse()
        n, op, args = cmd.get("n"), cmd.get("op"), cmd.get("args") or {}
        last = last_counter(self.storage)
        if not isinstance(n, int) or isinstance(n, bool) or last is None or n <= last:
            self._refuse()
            now = self.app.clock.ticks_ms()
            if isinstance(n, int) and last is not None and (self._stale is None or ticks_diff(now, self._stale) >= self.stale_ms):
                self._stale = now  # the PC's counter fell behind (a restored profile): tell it
                self._answer(n, False, {"error": "stale counter: the device has seen command %d" % last, "last": last})
            return
        # The counter is on flash before the command runs: a power cut can lose a command,
        # never run one twice.
        self.storage.write_json(STATE_FILE, {"n": n})
        if op not in OPS or not isinstance(args, dict):
            return self._answer(n, False, {"error": "unknown command %r" % (op if isinstance(op, str) else "?")})
        try:
            result = self._run(n, op, args)
        except (ValueError, OSError) as e:  # CodeError is a ValueError; flash refused the file
            return self._answer(n, False, {"error": str(e)})
        if op in RECORDED:
            if len(self.waiting) >= self.max_waiting:
                self.waiting.pop(next(iter(self.waiting)))
            self.waiting[n] = {"result": result}
        else:
            self._answer(n, True, {"result": result})

    def _book(self):
        book = self.app.door.codes
        if book is None:
            raise ValueError("the device's codes file is damaged: nothing can be changed until it is repaired over the cable")
        return book

    def _run(self, n, op, args):
        app = self.app
        if op == "info":
            led = app.ledger
            return {"pub": hexlify(app.pub).decode(), "dev": self.dev, "next_seq": led.next_seq,
                    "head": led.head, "boot": app.boot_no}
        if op == "list":
            return self._book().list()
        if op in handover_remote.OPS:
            return handover_remote.run(app, self.keys, self.dev, n, op, args)
        if op == "mark_pulled":
            from doorstep import admin

            return admin.mark_pulled(self.storage, args.get("seq"), args.get("hash"), app.ledger)
        if op == "snapshot":  # a photo now, as a signed record (snapshot.py); never the codes
            now = app.clock.ticks_ms()
            if not app.snapshots.request("mqtt", now, n):
                raise ValueError("rate-limited: the next snapshot can be taken in %d s" % ((app.snapshots.wait_ms(now) + 999) // 1000))
            return {"snapshot": True}
        label = args.get("label")
        ev = {"label": label, "via": "mqtt", "cmd": n}
        if op == "revoke":
            d = self._book().revoke(label)
            ev["ev"] = "code_revoked"
        elif op == "add_code":
            t_from, t_until = args.get("from"), args.get("until")
            if not (_int(t_from) and _int(t_until)):
                raise ValueError("from and until must be UTC Unix times in seconds")
            code = seal.decrypt_hex(self.keys["enc"], self.dev, n, args.get("code"))
            d = self._book().add(code, label, t_from, t_until)
            code = None
            ev.update({"ev": "code_added", "from": t_from, "until": t_until})
        else:
            secret = seal.decrypt_hex(self.keys["enc"], self.dev, n, args.get("secret"))
            d = self._book().add_courier(label, secret)
            secret = None
            ev.update({"ev": "code_added", "courier": True})
        app.emit(ev)
        return d

    def notify(self, rec):
        """A record reached flash: the answer to the command that made it can go now."""
        n = rec.get("cmd")
        if rec.get("via") == "mqtt" and n in self.waiting:
            a = self.waiting.pop(n)
            a["seq"] = rec["seq"]
            a["hash"] = line_hash(canon.dumpb(rec))
            self._answer(n, True, a)

    def _answer(self, n, ok, fields):
        body = {"dev": self.dev, "n": n, "ok": ok}
        for k in fields:
            body[k] = fields[k]
        self.done += 1
        if len(self.replies) < self.max_waiting:  # a flood of stale replays gets no more
            self.replies.append(seal.seal(self.keys["reply"], canon.dumpb(body)))

    async def send(self, c):
        while self.replies and self.link.client is c:
            c.publish(self.reply_topic, self.replies[0], False, 1)
            self.replies.pop(0)
            self.link.sent_something()
