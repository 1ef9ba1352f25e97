"""umqtt.simple's client API on top of paho-mqtt, so the firmware's MQTT code runs on the host.

The device uses micropython-lib's ``umqtt.simple.MQTTClient``; this class has the same
constructor and method names and behaves the same way where the firmware relies on it:

- every call is synchronous and made from the caller's thread (paho's loop is driven here,
  never in a background thread), like umqtt's blocking socket;
- connect() returns once the broker has answered and raises MQTTException(code) with the
  MQTT 3.1.1 CONNACK code (4: bad user name or password, 5: not authorised) when refused;
- publish/subscribe/check_msg/ping raise OSError once the connection is gone;
- the callback gets (topic bytes, message bytes); check_msg() returns None when idle.

Only what umqtt can do is offered (QoS 0/1, one will, clean sessions). paho answers the
broker's keep-alive by itself; ping() just lets it run. The firmware never imports this.
"""

import ssl as _ssl
import time

import paho.mqtt.client as mqtt

# paho 2 reports MQTT 3.1.1 CONNACK codes as MQTT 5 reason codes; umqtt raises the 3.1.1 ones.
_CONNACK = {132: 1, 133: 2, 136: 3, 134: 4, 135: 5}


class MQTTException(Exception):
    pass


def _str(x):
    return x.decode() if isinstance(x, (bytes, bytearray, memoryview)) and not isinstance(x, str) else x


def _bytes(x):
    return x.encode() if isinstance(x, str) else bytes(x)


class MQTTClient:
    timeout_s = 5.0  # how long connect/subscribe/QoS 1 wait for the broker's answer

    def __init__(self, client_id, server, port=0, user=None, password=None, keepalive=0, ssl=None, ssl_params=None):
        if port == 0:
            port = 8883 if ssl else 1883
        self.client_id = _str(client_id)
        self.server = server
        self.port = port
        self.user = user
        self.pswd = password
        self.keepalive = keepalive
        self.ssl = ssl  # an ssl.SSLContext (as umqtt takes now), or True with ssl_params
        self.ssl_params = ssl_params or {}
        self.cb = None
        self.lw = None
        self._c = None
        self._connack = None
        self._subacks = set()

    # umqtt.simple's methods
    def set_callback(self, f):
        self.cb = f

    def set_last_will(self, topic, msg, retain=False, qos=0):
        assert 0 <= qos <= 2 and topic
        self.lw = (_str(topic), _bytes(msg), qos, bool(retain))

    def connect(self, clean_session=True):
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=bool(clean_session),
            protocol=mqtt.MQTTv311, reconnect_on_failure=False,
        )
        if self.user:
            c.username_pw_set(_str(self.user), _str(self.pswd))
        if self.lw:
            topic, msg, qos, retain = self.lw
            c.will_set(topic, msg, qos, retain)
        if self.ssl:
            c.tls_set_context(self.ssl if isinstance(self.ssl, _ssl.SSLContext) else self._context())
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        self._connack = None
        c.connect(self.server, self.port, self.keepalive or 60)  # raises OSError when refused/unreachable
        self._c = c
        self._until(lambda: self._connack is not None)
        rc, session = self._connack
        if rc:
            self._c = None
            c.disconnect()
            raise MQTTException(rc)
        return session

    def disconnect(self):
        c = self._live()
        c.disconnect()
        self._c = None

    def ping(self):
        self._loop(0)

    def publish(self, topic, msg, retain=False, qos=0):
        c = self._live()
        info = c.publish(_str(topic), _bytes(msg), qos, bool(retain))
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self._gone(info.rc)
        deadline = time.monotonic() + self.timeout_s
        while c.want_write():  # umqtt writes the whole message before returning
            rc = c.loop_write()
            if rc != mqtt.MQTT_ERR_SUCCESS:
                self._gone(rc)
            if c.want_write():
                if time.monotonic() > deadline:
                    raise OSError(110, "timed out writing to the broker")
                time.sleep(0.001)
        if qos:
            self._until(info.is_published)

    def subscribe(self, topic, qos=0):
        assert self.cb is not None, "Subscribe callback is not set"
        c = self._live()
        rc, mid = c.subscribe(_str(topic), qos)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            self._gone(rc)
        self._until(lambda: mid in self._subacks)

    def check_msg(self):
        self._loop(0)
        return None

    def wait_msg(self):
        self._loop(self.timeout_s)
        return None

    # Test helper (not in umqtt): drop the TCP connection without DISCONNECT, as a device
    # losing power or Wi-Fi does, so the broker publishes the last will.
    def abort(self):
        c, self._c = self._c, None
        if c is not None and c.socket() is not None:
            c.socket().close()

    # paho plumbing
    def _context(self):
        ctx = _ssl.create_default_context()
        p = self.ssl_params
        if p.get("cadata") is not None or p.get("cafile"):
            ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(cafile=p.get("cafile"), cadata=p.get("cadata"))
        return ctx

    def _on_connect(self, client, userdata, flags, reason, properties):
        code = 0 if not reason.is_failure else _CONNACK.get(reason.value, reason.value)
        self._connack = (code, 1 if flags.session_present else 0)

    def _on_message(self, client, userdata, message):
        if self.cb is not None:
            self.cb(message.topic.encode(), bytes(message.payload))

    def _on_subscribe(self, client, userdata, mid, reasons, properties):
        self._subacks.add(mid)

    def _live(self):
        if self._c is None:
            raise OSError(-1, "not connected")
        return self._c

    def _gone(self, rc):
        self._c = None
        raise OSError(-1, "connection to the broker lost (%s)" % mqtt.error_string(rc))

    def _loop(self, timeout):
        c = self._live()
        rc = c.loop(timeout)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            self._gone(rc)

    def _until(self, done):
        deadline = time.monotonic() + self.timeout_s
        c = self._live()
        while not done():
            if time.monotonic() > deadline:
                raise OSError(110, "the broker did not answer within %ss" % self.timeout_s)
            rc = c.loop(0.01)
            if rc != mqtt.MQTT_ERR_SUCCESS and not done():  # a refused CONNACK ends the loop too
                self._gone(rc)


def factory(settings, client_id):
    """make_client for doorstep.mqtt.MqttNotifier on the host (the simulator and tests)."""
    ctx = None
    if settings["tls"]:
        ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        data = settings["ca_data"]
        ctx.load_verify_locations(cadata=data.decode() if b"-----BEGIN" in data else data)
    return MQTTClient(
        client_id, settings["host"], settings["port"], settings["user"], settings["password"], settings["keepalive"], ctx
    )
