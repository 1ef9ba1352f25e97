"""Wi-Fi station and network time, as asyncio tasks the door never waits for.

Wi-Fi: station mode only, with the homeowner's network from config.json; the access-point
interface is switched off, so the doorbell never offers a network of its own (and so has
no password to leak or to guess). A lost connection is retried with growing pauses.

Time: ntptime (micropython-lib) asks the server over a blocking UDP socket, DNS included,
which can take seconds when the network is poor. That runs in a thread where the port
has them (_thread on the ESP32: the socket calls release the interpreter lock), so the
door loop keeps scanning the keypad meanwhile; elsewhere it runs inline.
"""

from doorstep.compat import sleep_ms

TYPE_CHECKING = False
if TYPE_CHECKING:  # read by mypy against the ESP32 stubs (host_tests/test_board_typecheck.py) only
    import network

_EARLIEST = 1704067200  # a time before 2024 from a server is wrong


class Wifi:
    check_ms = 5000  # how often a connected link is looked at
    connect_ms = 20000  # how long one attempt may take
    backoff_ms = (5000, 300000)  # first and longest pause between failed attempts

    def __init__(self, sta, ssid, password, ap=None):
        self.sta = sta  # type: network.WLAN
        self.ssid = ssid
        self._password = password
        self.attempts = 0
        self.pause_ms = self.backoff_ms[0]
        if ap is not None:
            ap.active(False)  # never an access point

    def connected(self):
        try:
            return bool(self.sta.isconnected())
        except OSError:
            return False

    async def _attempt(self):
        self.attempts += 1
        try:
            self.sta.connect(self.ssid, self._password)  # returns at once; the link comes up later
        except OSError:
            return False
        waited = 0
        while waited < self.connect_ms:
            await sleep_ms(250)
            waited += 250
            if self.connected():
                return True
        try:
            self.sta.disconnect()
        except OSError:
            pass
        return False

    async def run(self):
        self.sta.active(True)
        self.pause_ms = self.backoff_ms[0]
        while True:
            if self.connected():
                self.pause_ms = self.backoff_ms[0]
                await sleep_ms(self.check_ms)
            elif await self._attempt():
                self.pause_ms = self.backoff_ms[0]
            else:
                await sleep_ms(self.pause_ms)
                self.pause_ms = min(self.pause_ms * 2, self.backoff_ms[1])


class NtpSync:
    """Sets the clock from NTP when Wi-Fi is up: at once, then every interval.

    fetch: returns UTC seconds since 1970 (raises on failure); see ntp_fetch.
    on_time(t, "ntp"): App.set_time, so a clock jump becomes a signed time_set record.
    """

    interval_ms = 6 * 3600 * 1000
    retry_ms = (60000, 1800000)
    poll_ms = 100
    deadline_ms = 30000  # a query thread silent this long is given up on

    def __init__(self, wifi, fetch, on_time, spawn=None):
        self.wifi = wifi
        self.fetch = fetch
        self.on_time = on_time
        self.spawn = spawn
        self.last_error = None
        self.syncs = 0
        self._result = None

    def _job(self):
        try:
            self._result = ("ok", self.fetch())
        except Exception as e:  # noqa: BLE001  -- any failure is just "no time this round"
            self._result = ("err", e)

    async def once(self):
        """One query. True when the clock was set."""
        self._result = None
        if self.spawn is None:
            self._job()
        else:
            self.spawn(self._job, ())
            waited = 0
            while self._result is None:
                if waited >= self.deadline_ms:
                    self._result = ("err", "no answer within %d s" % (self.deadline_ms // 1000))
                    break
                await sleep_ms(self.poll_ms)
                waited += self.poll_ms
        res = self._result
        kind, val = res if res is not None else ("err", "no answer")
        if kind != "ok":
            self.last_error = str(val)
            return False
        if not isinstance(val, int) or val < _EARLIEST:
            self.last_error = "implausible time %r" % (val,)
            return False
        self.last_error = None
        self.syncs += 1
        self.on_time(val, "ntp")
        return True

    async def run(self):
        pause = self.retry_ms[0]
        while True:
            while not self.wifi.connected():
                await sleep_ms(1000)
            if await self.once():
                pause = self.retry_ms[0]
                await sleep_ms(self.interval_ms)
            else:
                await sleep_ms(pause)
                pause = min(pause * 2, self.retry_ms[1])


def ntp_fetch(ntptime, offset, host=None):
    """A fetch function over micropython-lib's ntptime: UTC seconds since 1970."""

    def fetch():
        if host:
            ntptime.host = host
        return int(ntptime.time()) + offset

    return fetch
