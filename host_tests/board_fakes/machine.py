"""A fake `machine` module for host tests of firmware/doorstep/board/ (CPython and MicroPython).

It simulates what the board code can observe: pin levels through a key matrix (pressed
keys join a row and a column; a node reads low when a driven-low node is joined to it,
which also reproduces ghosting), a PCF8574 expander on I2C, PWM, RTC (time and memory),
WDT, Timer, I2S and reset_cause. Tests drive it through ``machine.sim``.
Written in the Python both runtimes share; never copied to a device.
"""

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_ESP32_GPIOS = tuple(range(0, 49))


class _Sim:
    def __init__(self):
        self.reset()

    def reset(self):
        self.pins = {}  # gpio -> the last Pin made on it
        self.levels = {}  # node -> level forced from outside (a button to GND, an opto)
        self.keys = []  # closed switches: (node, node); node = ("gpio", n) or ("pcf", addr, p)
        self.devices = {}  # I2C address -> Pcf8574
        self.i2c_ops = 0
        self.pwms = []  # every PWM made, in order
        self.cause = PWRON_RESET
        self.rtc_seconds = None  # RTC time, seconds since 1970 (None: never set)
        self.rtc_memory = b""
        self.wdt = None
        self.timers = []
        self.i2s = []
        self.efuse = {}  # eFuse read register address -> 32-bit word (mem32 reads only these)
        self.mem_reads = []

    # Electrical model
    def _drives_low(self, node):
        if node[0] == "gpio":
            p = self.pins.get(node[1])
            return p is not None and p.mode in (Pin.OUT, Pin.OPEN_DRAIN) and p.out == 0
        dev = self.devices.get(node[1])
        return dev is not None and not (dev.latch >> node[2]) & 1

    def _joined(self, node):
        seen = [node]
        i = 0
        while i < len(seen):
            n = seen[i]
            i += 1
            for a, b in self.keys:
                for x, y in ((a, b), (b, a)):
                    if x == n and y not in seen:
                        seen.append(y)
        return seen

    def level(self, node):
        if node[0] == "gpio":
            p = self.pins.get(node[1])
            if p is not None and p.mode == Pin.OUT:
                return p.out
        for n in self._joined(node):
            if self._drives_low(n):
                return 0
            if n in self.levels:
                return self.levels[n]
        if node[0] == "gpio" and p is not None and p.pull == Pin.PULL_DOWN:
            return 0  # nothing drives it: the pull-down wins
        return 1  # pull-ups: GPIO PULL_UP, released open-drain, the PCF8574's weak pull-ups

    # What a person does
    def press(self, a, b):
        self.keys.append((a, b))

    def release_all(self):
        self.keys = []


sim = _Sim()


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1

    def __init__(self, id, mode=-1, pull=-1, value=None, **kw):
        if id not in _ESP32_GPIOS:
            raise ValueError("invalid pin")
        self.id = id
        self.mode = mode
        self.pull = pull
        self.out = 1 if value is None else (1 if value else 0)
        sim.pins[id] = self

    def value(self, v=None):
        if v is None:
            return sim.level(("gpio", self.id))
        self.out = 1 if v else 0
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class Pcf8574:
    """The expander as the bus sees it: a latch written, the pin levels read back."""

    def __init__(self, addr=0x20):
        self.addr = addr
        self.latch = 0xFF
        self.writes = []
        sim.devices[addr] = self

    def read(self):
        v = 0
        for p in range(8):
            v |= sim.level(("pcf", self.addr, p)) << p
        return v


class I2C:
    def __init__(self, id=0, scl=None, sda=None, freq=400000):
        self.id = id
        self.scl = scl
        self.sda = sda
        self.freq = freq

    def _dev(self, addr):
        sim.i2c_ops += 1
        dev = sim.devices.get(addr)
        if dev is None:
            raise OSError(19)  # ENODEV: nobody acknowledged the address
        return dev

    def writeto(self, addr, buf, stop=True):
        dev = self._dev(addr)
        dev.latch = buf[len(buf) - 1]
        dev.writes.append(dev.latch)
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        dev = self._dev(addr)
        for i in range(len(buf)):
            buf[i] = dev.read()

    def readfrom(self, addr, n, stop=True):
        buf = bytearray(n)
        self.readfrom_into(addr, buf)
        return bytes(buf)

    def scan(self):
        return sorted(sim.devices)


class SoftI2C(I2C):
    def __init__(self, scl=None, sda=None, freq=400000, **kw):
        I2C.__init__(self, -1, scl, sda, freq)


class PWM:
    def __init__(self, pin, freq=None, duty_u16=None, **kw):
        self.pin = pin
        self._freq = freq
        self._duty = duty_u16
        self.log = []
        sim.pwms.append(self)

    def freq(self, f=None):
        if f is None:
            return self._freq
        self._freq = f
        self.log.append(("freq", f))
        return None

    def duty_u16(self, d=None):
        if d is None:
            return self._duty
        self._duty = d
        self.log.append(("duty", d))
        return None

    def deinit(self):
        self.log.append(("deinit",))


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


class RTC:
    """Time and memory live in `sim`, so a new RTC() after a simulated reboot keeps them."""

    def __init__(self, id=0):
        pass

    def datetime(self, dt=None):
        if dt is None:
            import time

            t = sim.rtc_seconds or 0
            y, mo, d, h, mi, s, wd = time.gmtime(t)[:7]
            return (y, mo, d, wd, h, mi, s, 0)
        y, mo, d, _wd, h, mi, s = dt[:7]
        sim.rtc_seconds = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
        return None

    def memory(self, data=None):
        if data is None:
            return sim.rtc_memory
        if len(data) > 2048:
            raise ValueError("buffer too long")
        sim.rtc_memory = bytes(data)
        return None


class Time:
    """A `time` module whose clock is the fake RTC; epoch 2000 or 1970 like real ports."""

    def __init__(self, epoch=2000):
        self.shift = 946684800 if epoch == 2000 else 0

    def time(self):
        return (sim.rtc_seconds or 0) - self.shift

    def gmtime(self, t=None):
        import time

        return time.gmtime((self.time() if t is None else t) + self.shift)


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self.feeds = 0
        sim.wdt = self

    def feed(self):
        self.feeds += 1


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        self.id = id
        self.callback = None
        self.period = None
        self.running = False
        sim.timers.append(self)
        if kw:
            self.init(**kw)

    def init(self, mode=PERIODIC, period=-1, callback=None, **kw):
        self.mode = mode
        self.period = period
        self.callback = callback
        self.running = True

    def deinit(self):
        self.running = False

    def fire(self):
        """What the hardware timer does each period (tests call it)."""
        if self.running and self.callback is not None:
            self.callback(self)


class I2S:
    RX = 1
    TX = 2
    MONO = 0
    STEREO = 1

    def __init__(self, id, **kw):
        self.id = id
        self.kw = kw
        self.handler = None
        self.pending = None
        sim.i2s.append(self)

    def irq(self, handler):
        self.handler = handler

    def readinto(self, buf):
        self.pending = buf  # non-blocking mode: filled "later", by complete()
        return 0

    def complete(self, samples):
        """The bus filled the pending buffer with `samples`; the irq handler runs."""
        buf = self.pending
        self.pending = None
        for i in range(len(buf)):
            buf[i] = samples[i % len(samples)]
        if self.handler is not None:
            self.handler(self)

    def deinit(self):
        pass


def reset_cause():
    return sim.cause


class _Mem32:
    """machine.mem32 for the eFuse read registers the tests set; any other address is refused,
    so a test sees exactly which registers the firmware reads."""

    def __getitem__(self, addr):
        sim.mem_reads.append(addr)
        if addr not in sim.efuse:
            raise ValueError("the fake has no register at 0x%08x" % addr)
        return sim.efuse[addr]


mem32 = _Mem32()


def unique_id():
    return b"\x24\x0a\xc4\x00\x00\x01"


def freq(hz=None):
    return 240000000
