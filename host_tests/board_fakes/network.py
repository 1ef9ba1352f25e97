"""A fake `network` module for host tests: WLAN interfaces whose link the test controls.

sim["accept"] is the (ssid, password) pair the fake access point takes; a connect() with
it brings the link up after sim["up_after"] isconnected() polls.
"""

STA_IF = 0
AP_IF = 1

sim = {"accept": None, "up_after": 1, "wlans": {}}


def reset():
    sim["accept"] = None
    sim["up_after"] = 1
    sim["wlans"] = {}


def WLAN(iface=STA_IF):
    """One object per interface, like the ESP32 port."""
    w = sim["wlans"].get(iface)
    if w is None:
        w = sim["wlans"][iface] = _Wlan(iface)
    return w


class _Wlan:
    def __init__(self, iface):
        self.iface = iface
        self._active = iface == AP_IF  # tests check that the board turns the AP off
        self.connects = []
        self.link = False
        self.polls = 0
        self.pending = False

    def active(self, v=None):
        if v is None:
            return self._active
        self._active = bool(v)
        return None

    def connect(self, ssid=None, key=None, **kw):
        if not self._active:
            raise OSError("Wifi Not Started")
        self.connects.append((ssid, key))
        self.pending = (ssid, key) == sim["accept"]
        self.polls = 0

    def isconnected(self):
        if self.pending:
            self.polls += 1
            if self.polls >= sim["up_after"]:
                self.link = True
                self.pending = False
        return self.link

    def disconnect(self):
        self.link = False
        self.pending = False

    def drop(self):
        """The access point went away (tests call it)."""
        self.link = False

    def status(self, *a):
        return 1010 if self.link else 1000

    def ifconfig(self, *a):
        return ("192.168.1.50", "255.255.255.0", "192.168.1.1", "192.168.1.1")
