"""Console sessions leave a signed `service` record: who was at the console cannot be known,
that someone was can.

Two ways in, both recorded:
* the service button inside the case, held at power-on (service start, or safe mode when held
  on): boot.py marks it on flash before the console opens (mark), and the next start that
  runs the door writes the record (recorded) and only then clears the mark;
* a REPL helper (doorstep.admin) on a production device: each one writes its record before it
  touches key.bin, secret.bin or the codes (console).
Someone at the console can still delete the mark or rewrite the log with the key: what that
can and cannot hide is in docs/threat-model.md.
"""

FLAG_FILE = "service.json"
MODES = ("service", "safe")


def _read(storage, rel):
    try:
        d = storage.read_json(rel, None)
    except Exception:  # noqa: BLE001  -- damaged: still a mark, of an unknown kind
        return {}
    return d if isinstance(d, dict) else {}


def mark(storage, mode, boot_file="boot.json"):
    """boot.py: a service or safe start was taken. Several before the door runs are counted."""
    old = _read(storage, FLAG_FILE) if storage.exists(FLAG_FILE) else None
    starts = old.get("starts", 1) + 1 if old is not None and isinstance(old.get("starts", 1), int) else 1
    b = _read(storage, boot_file)
    nxt = b["boot"] + 1 if isinstance(b, dict) and isinstance(b.get("boot"), int) else None
    # The door's next boot gets nxt: a mark with that boot number is this very start.
    storage.write_json(FLAG_FILE, {"mode": mode, "boot": nxt, "starts": starts})


def pending(storage, boot_no):
    """The `service` event for a mark left by boot.py, or None. earlier: the session was in a
    start that did not run the door (safe mode, or Ctrl-C before the door started)."""
    if not storage.exists(FLAG_FILE):
        return None
    f = _read(storage, FLAG_FILE)
    mode = f.get("mode") if f.get("mode") in MODES else "unknown"
    starts = f.get("starts") if isinstance(f.get("starts"), int) and f.get("starts") > 0 else 1
    ev = {"ev": "service", "mode": mode, "starts": starts}
    if mode != "service" or starts > 1 or f.get("boot") != boot_no:
        ev["earlier"] = True
    return ev


async def recorded(storage, rec, boot_no, t, tq, ms):
    """App.boot: write the pending `service` record, then clear the mark (a power cut between
    gives the record twice, never not at all). Returns the record or None."""
    ev = pending(storage, boot_no)
    if ev is None:
        return None
    r = await rec.write(ev, t, tq, ms)
    storage.remove(FLAG_FILE)
    return r
