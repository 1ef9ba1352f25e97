"""Signed, hash-chained proof-of-presence records (format: docs/record-format.md).

A record is the door event plus who/when/where-in-the-chain fields, signed with the
device's Ed25519 key over its canonical JSON bytes, and appended to the ledger. The
photo, when the event has one, is written first: the record binds its hash.
"""

from binascii import hexlify
from hashlib import sha256

from doorstep import canon, ed25519, photo, shots

VERSION = 1
BASE = ("v", "dev", "seq", "boot", "t", "tq", "ms", "ev", "prev", "sig")
# Events that photograph the door.
PHOTO_EVENTS = ("ring", "attempt", "relay_refused", "lockout_start", "handover", "snapshot")


def device_id(pub):
    return hexlify(sha256(pub).digest()).decode()[:16]


class Recorder:
    def __init__(self, storage, ledger, seed, pub, boot):
        self.storage = storage
        self.ledger = ledger
        self.seed = seed
        self.pub = pub
        self.dev = device_id(pub)
        self.boot = boot
        self.check = photo.PhotoCheck()
        self.thumbs = photo.PhotoCheck()  # thumbnails (a camera_check's `frame`) among themselves
        self.counts = {}  # event type -> count since the last heartbeat
        self.last_heartbeat = None  # its seq: a verifier checks nothing is missing between
        self.beat = []  # callables giving more heartbeat fields (motion.py: the sensor's account),
        # each called once per heartbeat: it starts counting again

    async def write(self, event, t, tq, ms, frame=None, photo_err=None):
        """Sign and append one record; returns it. Raises LedgerFull if flash refuses it.

        frame: the camera's JPEG for this event (None when there is none to take);
        photo_err: why there is no photo when one was due. Signing yields to the asyncio
        loop, so the keypad is scanned while it runs.
        """
        rec = self._build(event, t, tq, ms, frame, photo_err)
        sig = await ed25519.sign_async(self.seed, canon.dumpb(rec), self.pub)
        return self._commit(rec, sig)

    def write_now(self, event, t, tq, ms):
        """write() without yielding, for set-up commands run from the REPL (no door loop)."""
        rec = self._build(event, t, tq, ms, None, None)
        return self._commit(rec, ed25519.sign(self.seed, canon.dumpb(rec), self.pub))

    def _build(self, event, t, tq, ms, frame, photo_err):
        """The record without sig (the bytes that are signed), its photo already on flash."""
        seq = self.ledger.next_seq
        rec = {"v": VERSION, "dev": self.dev, "seq": seq, "boot": self.boot, "t": t, "tq": tq, "ms": ms}
        if event["ev"] == "heartbeat":
            # "alive, and this is what happened since the last heartbeat"
            queued = event
            event = {"ev": "heartbeat", "counts": self.counts, "since": self.last_heartbeat}
            free = self.storage.free_bytes()
            if free is not None:
                event["free"] = free
            acct = queued.get("account")
            if acct is None:  # taken once: a heartbeat flash refused is retried with the same account
                acct = queued["account"] = {}
                for more in self.beat:
                    acct.update(more())
            event.update(acct)
        for k in event:
            if k in ("shot", "shot_err"):  # a photo taken at the event (shots.py): bound below
                continue
            if k in BASE and k != "ev":
                raise ValueError("event field %r would overwrite a record field" % k)
            rec[k] = event[k]
        if frame is not None:
            try:
                what = " ev=" + event["ev"] + (" channel=" + event["channel"] if "channel" in event else "")
                field, digest = photo.save(self.storage, frame, self.dev, seq, t, what)
                rec["photo"] = field
                flag = self.check.judge(field["size"], digest)
                if flag:
                    rec["photo_flag"] = flag
            except (ValueError, OSError) as e:  # not a JPEG, or flash refused the file
                rec["photo"] = None
                rec["photo_err"] = str(e)
        elif photo_err is not None:
            rec["photo"] = None
            rec["photo_err"] = photo_err
        elif "shot" in event:
            shots.bind(self.storage, rec, event, seq, self.thumbs if "frame" in event else self.check)
        rec["prev"] = self.ledger.head
        return rec

    def _commit(self, rec, sig):
        rec["sig"] = hexlify(sig).decode()
        self.ledger.append(canon.dumpb(rec))
        ev = rec["ev"]
        if ev == "heartbeat":
            self.counts = {}
            self.last_heartbeat = rec["seq"]
        else:
            self.counts[ev] = self.counts.get(ev, 0) + 1
        return rec

    async def recovered(self, t, tq, ms):
        """Say in the chain that boot recovery cut a torn tail (if it did)."""
        torn = self.ledger.torn
        if torn is None:
            return None
        self.ledger.torn = None
        return await self.write(
            {"ev": "recovered", "bytes": torn["bytes"], "file": torn["file"], "segment": torn["segment"]}, t, tq, ms
        )
