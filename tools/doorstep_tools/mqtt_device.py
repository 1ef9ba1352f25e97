"""`--device mqtt:BROKER[:PORT][/DEVICE]`: the doorbell reached through the MQTT broker.

Only what remote administration offers (remote.py on the device): info, codes list / add
/ revoke, courier add and marking a copy as held. Provisioning, pull and deploy need the
cable. Each command is sealed with the admin key from this PC's profile, carries the
profile's next counter (saved before the command is sent, so it is never used twice) and
waits for the device's sealed answer; a code or secret is sent encrypted.
"""

import os
import secrets
import threading
import time
from urllib.parse import urlsplit

from doorstep_tools import sealing


class MqttDeviceError(ValueError):
    """Something the homeowner must act on (a ValueError, so the commands print it as one line)."""


def parse(spec):
    """mqtt:HOST[:PORT][/DEVICE] or mqtts:... -> (host, port, tls, device id prefix or None)."""
    scheme, _, rest = spec.partition(":")
    u = urlsplit("//" + rest.lstrip("/"))
    if not u.hostname:
        raise MqttDeviceError("--device %s: give the broker as mqtt:HOST[:PORT] (mqtts: for TLS), e.g. mqtt:192.168.1.10" % spec)
    tls = scheme == "mqtts"
    try:
        port = u.port or (8883 if tls else 1883)
    except ValueError:
        raise MqttDeviceError("--device %s: the port must be a number" % spec)
    return u.hostname, port, tls, u.path.strip("/") or None


def find_profile(profiles, want):
    """(name, profile) of the pinned device with an admin key that `want` (a device id or its
    start; None: the only one) names."""
    have = [(n, p) for n, p in profiles.items() if p.get("admin")]
    if want:
        have = [(n, p) for n, p in have if p["dev"].startswith(want)]
    if len(have) == 1:
        return have[0]
    if not have:
        raise MqttDeviceError(
            "no provisioned device%s has an admin key on this PC. Remote administration needs the key"
            " made by `doorstep provision` over the cable on this PC." % (" " + want if want else ""))
    raise MqttDeviceError("several devices are provisioned from this PC (%s): add one to the address, e.g. --device mqtt:BROKER/%s"
                          % (", ".join(p["dev"] for _, p in have), have[0][1]["dev"]))


class MqttDevice:
    # The device answers a change once its signed record is on flash (about a second on an
    # ESP32); DOORSTEP_MQTT_WAIT_S allows more for a slow link.
    timeout_s = float(os.environ.get("DOORSTEP_MQTT_WAIT_S") or 30)

    def __init__(self, spec, profiles, save_profile, user, password, cafile=None):
        self.host, self.port, self.tls, want = parse(spec)
        self.name, self.prof = find_profile(profiles, want)
        self.save = save_profile
        self.user, self.password, self.cafile = user, password, cafile
        self.dev = self.prof["dev"]
        self.last_record = None  # (seq, hash) of the signed record the last change made
        self.keys = sealing.Keys(bytes.fromhex(self.prof["admin"]))
        p = self.prof.get("topic_prefix") or "doorstep/" + self.dev
        self.cmd_topic, self.reply_topic = p + "/admin/cmd", p + "/admin/reply"

    def call(self, fn, *args):
        ops = {
            "info": lambda: ("info", {}, None),
            "list_codes": lambda: ("list", {}, None),
            "add_code": lambda t, code, label, f, u: ("add_code", {"label": label, "from": f, "until": u}, ("code", code.encode())),
            "add_courier": lambda t, label, secret_hex: ("add_courier", {"label": label}, ("secret", bytes.fromhex(secret_hex))),
            "revoke": lambda t, label: ("revoke", {"label": label}, None),
            "mark_pulled": lambda seq, h: ("mark_pulled", {"seq": seq, "hash": h}, None),
            # the code and the challenge in one encrypted blob (one counter, one keystream)
            "add_handover": lambda t, label, code, ch, f, u: ("add_handover", {"label": label, "from": f, "until": u},
                                                              ("secret", (code + "\n" + ch).encode())),
            "list_handover": lambda: ("list_handover", {}, None),
            "revoke_handover": lambda t, label: ("revoke_handover", {"label": label}, None),
            "snapshot": lambda: ("snapshot", {}, None),
        }
        if fn not in ops:
            raise MqttDeviceError("this needs the cable: over MQTT the doorbell only takes codes, courier, handover and"
                                  " acknowledgement commands (use `doorstep collect` for its records)")
        op, a, secret = ops[fn](*args)
        answer = self._send(op, a, secret)
        if answer.get("error", "").startswith("stale counter") and isinstance(answer.get("last"), int):
            self._bump(answer["last"])  # this PC's counter fell behind (a restored profile): once more
            answer = self._send(op, a, secret)
        if not answer["ok"]:
            raise MqttDeviceError(answer.get("error") or "the device refused the command")
        if isinstance(answer.get("seq"), int):
            self.last_record = (answer["seq"], answer.get("hash"))
        return answer.get("result")

    def _bump(self, last):
        self.prof["admin_n"] = max(self.prof.get("admin_n", 0), last)
        self.save(self.name, self.prof)

    def _send(self, op, args, secret):
        import paho.mqtt.client as mqtt

        n = self.prof.get("admin_n", 0) + 1
        self._bump(n)  # on disk before it is sent: a counter is never used twice
        msg = sealing.command(self.keys, self.dev, n, op, args, secret)
        got, ready = [], threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dsadm-" + secrets.token_hex(4), protocol=mqtt.MQTTv311)
        if self.user:
            c.username_pw_set(self.user, self.password)
        if self.tls:
            c.tls_set(ca_certs=self.cafile)

        def on_message(cl, u, m):
            a = sealing.unseal(self.keys.reply, m.payload)
            if isinstance(a, dict) and a.get("dev") == self.dev and a.get("n") == n:
                got.append(a)

        c.on_connect = lambda cl, u, f, rc, p: ready.set() if rc.is_failure else cl.subscribe(self.reply_topic, 1)
        c.on_subscribe = lambda cl, u, mid, rcs, p: (cl.publish(self.cmd_topic, msg, 1), ready.set())
        c.on_message = on_message
        try:
            c.connect(self.host, self.port, 30)
        except OSError as e:
            raise MqttDeviceError("cannot reach the MQTT broker %s:%d (%s)" % (self.host, self.port, e))
        c.loop_start()
        try:
            if not ready.wait(10):
                raise MqttDeviceError("the MQTT broker %s:%d did not answer" % (self.host, self.port))
            if not c.is_connected():
                raise MqttDeviceError("the MQTT broker %s:%d refused the login (check --mqtt-user and the password)" % (self.host, self.port))
            deadline = time.monotonic() + self.timeout_s
            while not got and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            c.disconnect()
            c.loop_stop()
        if not got:
            raise MqttDeviceError(
                "no answer from device %s within %d s (is it on line, and is its MQTT set up with this broker?)."
                " The command may still be carried out when it comes back: check with `doorstep codes list`." % (self.dev, self.timeout_s))
        return got[0]

    def fetch(self, rels, dest, progress):
        raise MqttDeviceError("pull needs the cable; over the network `doorstep collect` keeps the records")


def open_mqtt(spec, profiles, save_profile, user, cafile=None, ask=None):
    """An MqttDevice, with the broker password from DOORSTEP_MQTT_PASSWORD or a prompt."""
    if not user:
        raise MqttDeviceError("--device %s needs --mqtt-user (your own broker login; the password comes from"
                              " DOORSTEP_MQTT_PASSWORD or a prompt)" % spec)
    password = os.environ.get("DOORSTEP_MQTT_PASSWORD") or (ask("MQTT password for %s: " % user) if ask else None)
    if not password:
        raise MqttDeviceError("no MQTT password: set DOORSTEP_MQTT_PASSWORD or run it at a terminal to be asked")
    return MqttDevice(spec, profiles, save_profile, user, password, cafile)
