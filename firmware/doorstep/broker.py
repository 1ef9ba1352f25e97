"""Reaching the MQTT broker: the checked settings, a probe that does not block, the client.

umqtt.simple is a blocking client: whatever it waits for, the door loop waits too. So the
broker is probed with a non-blocking TCP connect before umqtt's connect, and every
blocking socket call after that is bounded by a timeout, TLS included (Bounded, KeepRaw).
The link that uses all this for the services is mqtt.MqttLink.
"""

from doorstep import hass
from doorstep.compat import sleep_ms, ticks_diff, ticks_ms

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
