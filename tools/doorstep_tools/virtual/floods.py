"""Floods and guessers in virtual time, for the tests and `make bench`.

What a remote command every 10 s or the bell every 2 s does to a small flash, and what the
keypad lockout lets a guesser and a passer-by do, measured with the firmware's own App and
Lockout. Written in the Python both runtimes share.
"""

MIN = 60 * 1000
HOUR = 60 * MIN


async def flood(dev, what, every_ms, ms):
    """Ring the bell (what="ring") or send a refused MQTT command (what="remote") every
    every_ms for ms of virtual time. Returns how many were sent."""
    board, door = dev.board, dev.app.door
    end = board.clock.ms + ms
    n = 0
    while board.clock.ms < end:
        if what == "ring":
            board.ring()
        else:
            door.remote("mqtt", "submit", board.clock.ticks_ms())
        n += 1
        await dev.advance(every_ms)
    return n


def counted(recs, ev):
    """How many events of type ev the records account for: each record stands for itself
    and its `suppressed`, a burst_end for its `suppressed`."""
    n = 0
    for r in recs:
        if r["ev"] == ev:
            n += 1 + r.get("suppressed", 0)
        elif r["ev"] == "burst_end" and r["of"] == ev:
            n += r["suppressed"]
    return n


# The keypad lockout, with the real Lockout on a real Storage.

def _tick(lock, now):
    lock.expired(now)  # what Door.poll does on every pass of the door loop
    return lock.is_locked(now)


def guesses(lock, start, ms, every_ms=5000):
    """Wrong codes a guesser gets in ms, typing one every every_ms whenever the keypad takes
    one. Returns (guesses, end time)."""
    now, n, end = start, 0, start + ms
    while now < end:
        if _tick(lock, now):
            now += max(min(lock.remaining_ms(now), end - now), 1)
            continue
        lock.failure(now)
        n += 1
        now += every_ms
    return n, now


def locked_after_visit(make_lock, visit_ms, every_ms=5000):
    """A passer-by types wrong codes for visit_ms and leaves: ms the keypad stays locked."""
    lock = make_lock()
    _n, end = guesses(lock, 0, visit_ms, every_ms)
    _tick(lock, end)
    return lock.remaining_ms(end)


def locked_per_day(make_lock, per_hour=3, every_ms=5000):
    """Someone types per_hour wrong codes at the start of every hour, for a day: ms locked."""
    lock = make_lock()
    locked = 0
    for h in range(24):
        now = h * HOUR
        for _ in range(per_hour):
            if not _tick(lock, now):
                lock.failure(now)
            now += every_ms
        step = 10000
        while now < (h + 1) * HOUR:
            if _tick(lock, now):
                locked += step
            now += step
    return locked


def lockout_figures(make_lock):
    """{guesses_day1, guesses_day2, passer_by_ms (worst visit of 1 min to 2 h), locked_3h_ms}."""
    lock = make_lock()
    day1, end = guesses(lock, 0, 24 * HOUR)
    day2, _ = guesses(lock, end, 24 * HOUR)
    worst = 0
    for m in list(range(1, 31)) + list(range(35, 121, 5)):
        worst = max(worst, locked_after_visit(make_lock, m * MIN))
    return {"guesses_day1": day1, "guesses_day2": day2, "passer_by_ms": worst, "locked_3h_ms": locked_per_day(make_lock)}
