"""A fake micropython-lib `umqtt.simple` for host tests: a broker that keeps what it is sent.

Same constructor and method names as the real MQTTClient. Tests read ``sim``:
"clients" (every client made), "sent" ((topic, payload, retain) in order, topics as text)
and "log" (connect/subscribe/disconnect in order). sim["refuse"], when set, is the
exception connect() raises (a broker that is down or refuses the login).
Written in the Python both runtimes share; never copied to a device.
"""

sim = {"clients": [], "sent": [], "log": [], "refuse": None}


def reset():
    sim["clients"] = []
    sim["sent"] = []
    sim["log"] = []
    sim["refuse"] = None


class MQTTException(Exception):
    pass


def _text(topic):
    return topic.decode() if isinstance(topic, (bytes, bytearray)) else topic


class MQTTClient:
    def __init__(self, client_id, server, port=0, user=None, password=None, keepalive=0, ssl=None, ssl_params={}):
        self.client_id = client_id
        self.server = server
        self.port = port
        self.user = user
        self.pswd = password
        self.keepalive = keepalive
        self.ssl = ssl
        self.sock = None
        self.cb = None
        self.will = None
        self.up = False
        self.inbox = []  # (topic, msg) the broker will deliver at the next check_msg()
        sim["clients"].append(self)

    def set_callback(self, f):
        self.cb = f

    def set_last_will(self, topic, msg, retain=False, qos=0):
        self.will = (_text(topic), bytes(msg), retain, qos)

    def connect(self, clean_session=True, timeout=None):
        if sim["refuse"] is not None:
            raise sim["refuse"]
        self.up = True
        sim["log"].append(("connect", self.client_id))
        return 0

    def _need(self):
        if not self.up:
            raise OSError(128)  # ENOTCONN

    def publish(self, topic, msg, retain=False, qos=0):
        self._need()
        sim["sent"].append((_text(topic), bytes(msg), retain))

    def subscribe(self, topic, qos=0):
        self._need()
        sim["log"].append(("subscribe", _text(topic)))

    def check_msg(self):
        self._need()
        if self.inbox:
            topic, msg = self.inbox.pop(0)
            self.cb(topic, msg)
        return None

    def ping(self):
        self._need()

    def disconnect(self):
        self.up = False
        sim["log"].append(("disconnect", self.client_id))
