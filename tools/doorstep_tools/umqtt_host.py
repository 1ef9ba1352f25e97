"""A host stand-in for micropython-lib's umqtt.simple 1.8, at the socket level.

The firmware's MQTT code (firmware/doorstep/mqtt.py) runs on the host against this client,
so it must behave as umqtt.simple does on the device, not merely have its method names.
Written here from the MQTT 3.1.1 specification and umqtt.simple's documented behaviour
(micropython-lib, umqtt.simple 1.8.0), nothing copied:

- connect(clean_session=True, timeout=None) sets the timeout on the plain socket, connects,
  wraps it with `ssl.wrap_socket(sock, server_hostname=...)` when ssl is a context, sends
  CONNECT and reads CONNACK; a refusal raises MQTTException(return code);
- every call blocks on the socket; wait_msg() reads one packet, calls the callback for a
  PUBLISH (and answers QoS 1 with PUBACK) and returns its first byte, or None for PINGRESP;
  it calls sock.setblocking(True) after its first read, which clears the socket's timeout;
- check_msg() = setblocking(False) + wait_msg(): None when nothing is waiting;
- publish(qos=1) and subscribe() loop on wait_msg() (delivering callbacks) until their ack;
- keepalive 0 means none; ping() only writes PINGREQ (the answer is read by wait_msg()).

Sockets look like MicroPython's: `sock.read(n)`, `sock.write(buf, n)`; under TLS the socket
umqtt holds has setblocking() but no settimeout(), and only the plain socket's timeout
bounds it, as on the device. Only the firmware's tests and the simulator use this.
"""

import socket
import ssl as _ssl
import struct


class MQTTException(Exception):
    pass


class Stream:
    """A CPython socket with MicroPython's stream methods."""

    def __init__(self, sock):
        self.s = sock

    def read(self, n):
        """n bytes (fewer only at end of stream); None on a non-blocking socket with nothing waiting."""
        out = b""
        while len(out) < n:
            try:
                chunk = self.s.recv(n - len(out))
            except (BlockingIOError, _ssl.SSLWantReadError):
                if not out:
                    return None
                if self.s.gettimeout() == 0:
                    return out
                continue
            if not chunk:
                return out
            out += chunk
        return out

    def write(self, buf, n=None):
        mv = memoryview(buf)
        if n is not None:
            mv = mv[:n]
        self.s.sendall(mv)
        return len(mv)

    def setblocking(self, flag):
        self.s.setblocking(flag)

    def settimeout(self, t):
        self.s.settimeout(t)

    def close(self):
        self.s.close()


class TlsStream(Stream):
    """The TLS socket as MicroPython has it: setblocking() but no settimeout()."""

    settimeout = property()  # hasattr(sock, "settimeout") is False, as on the device


class HostTls:
    """An ssl context with the device's wrap_socket(sock, server_hostname=...) signature."""

    def __init__(self, cadata):
        self.ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.load_verify_locations(cadata=cadata.decode() if b"-----BEGIN" in cadata else cadata)

    def wrap_socket(self, stream, server_hostname=None):
        tls = self.ctx.wrap_socket(stream.s, server_hostname=server_hostname)
        stream.s = tls  # CPython moves the descriptor: the plain socket's timeout is now this one's
        return TlsStream(tls)


class MQTTClient:
    def __init__(self, client_id, server, port=0, user=None, password=None, keepalive=0, ssl=None, ssl_params={}):
        if port == 0:
            port = 8883 if ssl else 1883
        self.client_id = client_id
        self.sock = None
        self.server = server
        self.port = port
        self.ssl = ssl
        self.pid = 0
        self.cb = None
        self.user = user
        self.pswd = password
        self.keepalive = keepalive
        self.lw = None

    @staticmethod
    def _b(x):
        return x.encode() if isinstance(x, str) else bytes(x)

    def _str(self, s):
        s = self._b(s)
        return struct.pack("!H", len(s)) + s

    @staticmethod
    def _len(n):
        out = bytearray()
        while True:
            b = n & 0x7F
            n >>= 7
            out.append(b | 0x80 if n else b)
            if not n:
                return bytes(out)

    def _recv_len(self):
        n, sh = 0, 0
        while True:
            b = self.sock.read(1)[0]
            n |= (b & 0x7F) << sh
            if not b & 0x80:
                return n
            sh += 7

    def set_callback(self, f):
        self.cb = f

    def set_last_will(self, topic, msg, retain=False, qos=0):
        assert 0 <= qos <= 2 and topic
        self.lw = (topic, msg, retain, qos)

    def connect(self, clean_session=True, timeout=None):
        if self.sock:
            self.sock.close()
        raw = Stream(socket.socket())
        raw.settimeout(timeout)
        raw.s.connect(socket.getaddrinfo(self.server, self.port)[0][-1])
        self.sock = self.ssl.wrap_socket(raw, server_hostname=self.server) if self.ssl else raw
        flags = clean_session << 1
        payload = self._str(self.client_id)
        if self.lw:
            topic, msg, retain, qos = self.lw
            flags |= 0x4 | qos << 3 | retain << 5
            payload += self._str(topic) + self._str(msg)
        if self.user:
            flags |= 0xC0
            payload += self._str(self.user) + self._str(self.pswd)
        var = b"\x00\x04MQTT\x04" + bytes((flags,)) + struct.pack("!H", self.keepalive)
        self.sock.write(b"\x10" + self._len(len(var) + len(payload)) + var + payload)
        resp = self.sock.read(4)
        if len(resp) < 4 or resp[0] != 0x20 or resp[1] != 0x02:
            raise OSError(-1, "not an MQTT CONNACK")
        if resp[3] != 0:
            raise MQTTException(resp[3])
        return resp[2] & 1

    def disconnect(self):
        self.sock.write(b"\xe0\0")
        self.sock.close()

    def ping(self):
        self.sock.write(b"\xc0\0")

    def publish(self, topic, msg, retain=False, qos=0):
        topic = self._b(topic)
        sz = 2 + len(topic) + len(msg) + (2 if qos else 0)
        assert sz < 2097152
        self.sock.write(bytes((0x30 | qos << 1 | retain,)) + self._len(sz) + self._str(topic))
        if qos:
            self.pid += 1
            pid = self.pid
            self.sock.write(struct.pack("!H", pid))
        self.sock.write(msg)
        if qos == 1:
            while True:
                if self.wait_msg() == 0x40:
                    assert self.sock.read(1) == b"\x02"
                    if struct.unpack("!H", self.sock.read(2))[0] == pid:
                        return
        elif qos == 2:
            assert 0

    def _subunsub(self, topic, typ, ack_op, ack_n, qos=0):
        self.pid += 1
        pid = self.pid
        topic = self._str(topic)
        body = struct.pack("!H", pid) + topic + (bytes((qos,)) if ack_n > 3 else b"")
        self.sock.write(bytes((typ,)) + self._len(len(body)) + body)
        while True:
            if self.wait_msg() == ack_op:
                resp = self.sock.read(ack_n)
                assert (resp[1] << 8 | resp[2]) == pid
                if ack_n > 3 and resp[3] == 0x80:
                    raise MQTTException(resp[3])
                return

    def subscribe(self, topic, qos=0):
        assert self.cb is not None, "Subscribe callback is not set"
        self._subunsub(topic, 0x82, 0x90, 4, qos)

    def unsubscribe(self, topic):
        self._subunsub(topic, 0xA2, 0xB0, 3)

    def wait_msg(self):
        res = self.sock.read(1)
        self.sock.setblocking(True)
        if res is None:
            return None
        if res == b"":
            raise OSError(-1, "the broker closed the connection")
        if res == b"\xd0":  # PINGRESP
            assert self.sock.read(1)[0] == 0
            return None
        op = res[0]
        if op & 0xF0 != 0x30:
            return op
        sz = self._recv_len()
        tl = struct.unpack("!H", self.sock.read(2))[0]
        topic = self.sock.read(tl)
        sz -= tl + 2
        pid = None
        if op & 6:
            pid = struct.unpack("!H", self.sock.read(2))[0]
            sz -= 2
        msg = self.sock.read(sz)
        self.cb(topic, msg)
        if op & 6 == 2:
            self.sock.write(b"\x40\x02" + struct.pack("!H", pid))
        elif op & 6 == 4:
            assert 0
        return op

    def check_msg(self):
        self.sock.setblocking(False)
        return self.wait_msg()

    # Not in umqtt: drop the TCP connection without DISCONNECT, as a device losing power or
    # Wi-Fi does, so the broker publishes the last will (the simulator's power cut).
    def abort(self):
        s, self.sock = self.sock, None
        if s is not None:
            s.close()


def factory(settings, client_id):
    """make_client for doorstep.mqtt.MqttLink on the host (the simulator and the tests)."""
    ctx = HostTls(settings["ca_data"]) if settings["tls"] else None
    return MQTTClient(client_id, settings["host"], settings["port"], settings["user"], settings["password"],
                      settings["keepalive"], ctx)
