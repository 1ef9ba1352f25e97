"""The running device: boot in order, then asyncio tasks for the door, records and heartbeat.

The door loop never waits for the camera, the signature or flash: door events go into a
queue and the record task turns them into signed records one by one, in order. A record
that flash refuses stays queued and the door fails closed until it has been written.

The board (real ESP32 or the host's virtual one) provides: read_matrix(), bell(),
intercom(), audio(), feedback(name), camera (async capture()), clock (now(), quality,
ticks_ms(), set(t, quality)), reset_cause(), feed_watchdog(), and optionally notify(rec).
"""

import asyncio

from doorstep import codes as C
from doorstep import config as cfgmod
from doorstep import keypad, presence, prune, service
from doorstep.compat import sleep_ms, ticks_diff, wait_for_ms
from doorstep.door import Door
from doorstep.entry import CodeEntry
from doorstep.ledger import Ledger, LedgerFull
from doorstep.lockout import Lockout
from doorstep.photo import photo_name
from doorstep.records import PHOTO_EVENTS, Recorder
from doorstep.relay import RelayGuard

KEY_FILE = "key.bin"
BOOT_FILE = "boot.json"


UNKNOWN_POSTURE = {"hw": "unknown", "production": "unknown", "flash_enc": "unknown", "secure_boot": "unknown"}


def posture_of(board):
    """The board's reading of production, flash encryption and secure boot (board/posture.py);
    a board that cannot tell says "unknown", never a guess."""
    get = getattr(board, "posture", None)
    return get() if get is not None else dict(UNKNOWN_POSTURE)


class NotProvisioned(Exception):
    """The device has no key yet: run `doorstep provision`."""


class Uptime:
    """Milliseconds since boot that do not wrap (ticks_ms wraps every ~12 days)."""

    def __init__(self, clock):
        self.clock = clock
        self.last = clock.ticks_ms()
        self.ms = 0

    def __call__(self):
        now = self.clock.ticks_ms()
        self.ms += ticks_diff(now, self.last)
        self.last = now
        return self.ms


def boot_count(storage, ledger):
    """(counter of the last run, whether it ended cleanly, why boot.json was not used or None).

    boot.json can be lost or damaged (a crash loop if that stopped the boot): the counter
    then comes from the log's last record, so it never goes back and the log still verifies.
    """
    try:
        b = storage.read_json(BOOT_FILE, None)
    except Exception:  # noqa: BLE001  -- damaged: recovered below
        b = False
    last = ledger.last.get("boot") if isinstance(ledger.last, dict) else None
    last = last if isinstance(last, int) and not isinstance(last, bool) and last > 0 else 0
    n = b.get("boot") if isinstance(b, dict) else None
    ok = isinstance(n, int) and not isinstance(n, bool)
    if ok and n >= last:
        return n, b.get("clean") is True, None
    return last, False, "boot.json " + ("behind the log" if ok else "missing" if b is None else "damaged")


class App:
    scan_ms = 10

    def __init__(self, storage, board, public_key):
        self.storage = storage
        self.board = board
        self.clock = board.clock
        self.pub = public_key
        self.uptime = Uptime(self.clock)
        self.queue = []
        self.wake = asyncio.Event()
        self.running = False
        self.notify = getattr(board, "notify", None)

    # Boot
    async def boot(self):
        st = self.storage
        if not st.exists(KEY_FILE):
            raise NotProvisioned("this device has no key yet: run `doorstep provision`")
        seed = st.read(KEY_FILE)
        self.cfg, cfg_err = cfgmod.load(st)
        self.ledger = Ledger(st)
        last, clean, lost = boot_count(st, self.ledger)
        self.boot_no = last + 1
        st.write_json(BOOT_FILE, {"boot": self.boot_no, "clean": False})
        self.rec = Recorder(st, self.ledger, seed, self.pub, self.boot_no)
        seed = None
        ms = self.uptime()
        t, tq = self.clock.now(), self.clock.quality
        self._notify(await self.rec.recovered(t, tq, ms))
        boot = {"ev": "boot", "reason": self.board.reset_cause(), "clean": clean, "posture": posture_of(self.board)}
        if lost:
            boot["boot_recovered"] = lost
        if cfg_err:
            boot["config_err"] = cfg_err
        codes = None
        try:
            codes = C.CodeBook(st)
        except Exception as e:  # damaged codes file: record it, fail closed on codes
            boot["codes_err"] = str(e)
        self._notify(await self.rec.write(boot, t, tq, ms))
        self._notify(await service.recorded(st, self.rec, self.boot_no, t, tq, ms))
        cfg = self.cfg
        lock = Lockout(st, self.clock.ticks_ms())
        relay = RelayGuard(cfg["relay_policy"], cfg["relay_after_s"] * 1000)
        entry = CodeEntry(cfg["entry_timeout_s"] * 1000, cfg["max_digits"])
        dtmf = None
        if getattr(self.board, "audio", None) is not None:
            from doorstep.dtmf import DtmfDetector

            dtmf = DtmfDetector()
        self.door = Door(codes, lock, relay, self._on_event, self.board.feedback, self.clock, entry, dtmf)
        if getattr(self.board, "display", None) is not None:  # verdicts in words, and handovers
            from doorstep import handover_door

            handover_door.attach(self)
        layout = keypad.LAYOUT_4X4 if cfg["layout"] == "4x4" else keypad.LAYOUT_3X4
        self.scanner = keypad.KeyScanner(self.board.read_matrix, layout)
        presence.attach(self)  # shots, sensors (motion, camera liveness), snapshots
        if lock.is_locked(self.clock.ticks_ms()):
            self._on_event({"ev": "lockout_start", "level": lock.level, "duration_s": lock.duration_s(), "left": lock.left, "resumed": True})
        self._intercom = False
        self.next_heartbeat = self.uptime() + cfg["heartbeat_min"] * 60000

    def emit(self, ev):
        """Queue an event from outside the door (a remote command's change) for the record task."""
        self._on_event(ev)

    # Door events -> queue (never blocks the door loop)
    def _on_event(self, ev):
        item = (ev, self.clock.now(), self.clock.quality, self.uptime())
        if ev["ev"] in PHOTO_EVENTS and not ev.get("suppressed"):
            self.shots.want(ev, item[3])  # the photo of the moment, before any signature
        self.queue.append(item)
        self.wake.set()

    def step(self):
        """One pass of the door loop: keypad, bell, intercom, timeouts, heartbeat due.

        Takes microseconds and never waits; the simulator calls it with virtual time.
        """
        board, door = self.board, self.door
        now = self.clock.ticks_ms()
        k = self.scanner.scan(now)
        if k is not None:
            door.key(k, now)
        if board.bell():
            door.ring(now)
        ic = bool(board.intercom())
        if ic != self._intercom:
            self._intercom = ic
            door.intercom(ic, now)
        if ic and door.dtmf is not None:
            pcm = board.audio()
            if pcm:
                door.audio(pcm, now)
        door.poll(now)
        for s in self.sensors:
            s.poll(now)
        if self.uptime() >= self.next_heartbeat:
            self.next_heartbeat += self.cfg["heartbeat_min"] * 60000
            self._on_event({"ev": "heartbeat"})
        board.feed_watchdog()

    async def door_loop(self):
        while self.running:
            self.step()
            await sleep_ms(self.scan_ms)

    async def _photo(self, ev):
        # A record that stands for a burst (suppressed) has no photo: its first one had.
        if ev["ev"] not in PHOTO_EVENTS or ev.get("suppressed") or "shot" in ev:
            return None, None
        try:
            frame = await wait_for_ms(self.board.camera.capture(), self.cfg["photo_timeout_ms"])
        except asyncio.TimeoutError:
            return None, "timeout"
        except Exception as e:  # the driver failed: the record still goes out, on time
            return None, "camera: %s" % e
        if frame is None:
            return None, "no frame"
        return frame, None

    async def drain(self):
        """Write every queued door event as a signed record, oldest first.

        Returns False when flash refused a record: it stays queued and the door fails
        closed (refuses codes) until a later drain succeeds.
        """
        while self.queue:
            await self.shots.catch_up()  # photos of events queued meanwhile, before this signature
            ev, t, tq, ms = self.queue[0]
            try:
                room = await self._make_room(t, tq, ms, prune.rank(ev["ev"], ev.get("channel")))
            except OSError:  # LedgerFull, or a photo flash would not delete: retried later
                self.door.fail_closed = True
                return False
            if not room and self.door.budget.give_back(ev, self.clock.ticks_ms()):
                self.shots.drop(self.queue.pop(0)[0])  # a ring, refusal or visit must not eat the reserve
                continue
            frame, err = await self._photo(ev)
            try:
                rec = await self.rec.write(ev, t, tq, ms, frame, err)
            except LedgerFull:
                self.door.fail_closed = True
                return False
            frame = None
            self.queue.pop(0)
            self.door.fail_closed = False
            self._notify(rec)
            if self.ledger.torn is not None:
                self._notify(await self.rec.recovered(t, tq, self.uptime()))
        return True

    def _notify(self, rec):
        """Tell the board (MQTT) about a record now on flash. Every record, so a subscriber
        sees no gaps in seq; a failure here never stops the ledger."""
        if rec is None or not self.notify:
            return
        try:
            self.notify(rec)
        except Exception as e:  # noqa: BLE001
            print("doorstep: notify failed: %s" % e)

    async def _make_room(self, t, tq, ms, rank):
        """Keep min_free_kb free for a record of prune rank `rank`, evidence first.

        First what costs no evidence or the least: photos the homeowner already pulled and
        photos of refused remote requests, then record segments already pulled; only then
        photos of events that matter no more than this one (a ring never pushes out a code
        attempt's photo, a refusal never a ring's). Returns False when min_free_kb could not
        be freed: what is left is the reserve for code attempts, which rings and refusals
        must not use (Budget.give_back).
        """
        st = self.storage
        need = self.cfg["min_free_kb"] * 1024
        free = st.free_bytes()
        if free is not None and free < need:
            await self._prune_photos(need, 0, t, tq, ms)
            while (st.free_bytes() or 0) < need:
                seg = prune.prunable_segment(st, self.ledger)
                if seg is None:
                    break
                name, first, last, last_hash = seg
                # The record comes first: a power cut must not leave an unexplained gap.
                self._notify(await self.rec.write({"ev": "records_pruned", "from": first, "to": last, "last_hash": last_hash}, t, tq, ms))
                st.remove(name)
            if rank:
                await self._prune_photos(need, rank, t, tq, ms)
            free = st.free_bytes()
        return free is None or free >= need

    async def _prune_photos(self, need, rank, t, tq, ms):
        while True:
            gone = prune.photos_to_prune(self.storage, need, rank)
            if not gone:
                return
            # Recorded before they go, so a power cut never leaves a photo missing unexplained.
            self._notify(await self.rec.write({"ev": "photo_pruned", "seqs": gone}, t, tq, ms))
            for seq in gone:
                self.storage.remove(photo_name(seq))

    async def record_loop(self):
        while self.running:
            if not self.queue:
                self.wake.clear()
                await self.wake.wait()
            elif not await self.drain():
                await sleep_ms(1000)

    def set_time(self, t, source):
        """The clock was set (NTP, the host at provisioning): a jump forward of more than
        time_jump_s is recorded, and any step back, however small: a record's time may go
        back only at a time_set record, or the log no longer verifies."""
        old = self.clock.now()
        self.clock.set(t, source)
        if old is None or t < old or t - old > self.cfg["time_jump_s"]:
            self._on_event({"ev": "time_set", "old": old, "new": t, "source": source})

    async def run(self):
        """Boot, then run until stop(). Exceptions in a task end the app (the watchdog resets)."""
        await self.boot()
        self.running = True
        tasks = [asyncio.create_task(c) for c in (self.door_loop(), self.record_loop(), self.shots.run())]
        while self.running:
            await sleep_ms(50)
        for t in tasks:
            t.cancel()

    def stop(self):
        """Clean shutdown: the next boot record says the previous one was clean."""
        self.running = False
        self.wake.set()
        self.storage.write_json(BOOT_FILE, {"boot": self.boot_no, "clean": True})
