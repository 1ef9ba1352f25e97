"""The handover at the door: '*' challenge '#' shows the carrier's code on the display.

Only the keypad reaches this (Door.key -> Desk.submit): no network, console, MQTT or
intercom path calls it, and the remote administration has no command that releases or
reads a code (remote.py, handover_remote.py). The rules, in order:

* records failing or the handover file damaged: refused, like a code (fail closed);
* the intercom in use or just used (relay.py): refused whatever the relay policy, since
  somebody not at the door may be watching or listening;
* a wrong, used, expired or early challenge counts towards the SAME lockout as a wrong
  code (Door._verdict), on flash before it is shown;
* the right one: "released" is on flash first (HandoverBook.release), then the code is on
  the display for handover_show_s and blanked; the `handover` record (label, photo, time)
  never holds the code or the challenge.
"""

from doorstep import door as D

# words, screen and handover are imported only where a display is (attach()): a doorbell
# without one loads none of them.

MODE = "handover"


class Desk:
    def __init__(self, door, book, screen, show_s=30):
        self.door = door
        self.book = book  # None when handover.json could not be loaded
        self.screen = screen
        self.show_s = show_s
        self.rng = None  # salts for handovers added remotely (os.urandom unless a test sets it)

    def prompt(self, now_ms):
        from doorstep import words

        self.screen.say(words.wrap(words.PROMPT), now_ms, self.door.entry.timeout_ms)

    def submit(self, challenge, n, now_ms):
        from doorstep import words
        from doorstep.handover import DAMAGED, RELEASED

        d = self.door
        if d.fail_closed:
            return d._verdict(D.FAIL_CLOSED, n, now_ms, mode=MODE)
        if self.book is None:
            return d._verdict(D.UNAVAILABLE, n, now_ms, mode=MODE)
        if d.relay.suspect(now_ms):
            d.feedback(D.FEEDBACK[D.RELAY_REFUSED])
            d.emit({"ev": D.RELAY_REFUSED, "channel": "keypad", "reason": d._relay_reason(), "digits": n, "mode": MODE})
            return None
        try:
            outcome, label, code = self.book.release(challenge, d.clock.now())
        except OSError:  # "released" did not reach flash: not shown
            return d._verdict(D.FAIL_CLOSED, n, now_ms, mode=MODE)
        except Exception:  # noqa: BLE001  -- a damaged entry must not lose the attempt
            return d._verdict(D.UNAVAILABLE, n, now_ms, mode=MODE)
        challenge = None
        if outcome != RELEASED:
            if outcome == DAMAGED:
                outcome = D.UNAVAILABLE
            return d._verdict(outcome, n, now_ms, label, None, False, MODE)
        d.lockout.success()
        ok = self.screen.say(words.code_lines(label, code.decode()), now_ms, self.show_s * 1000, True)
        code = None
        ev = {"ev": "handover", "label": label, "digits": n, "shown_s": self.show_s}
        if not ok:  # released on flash, but the display failed: the record must not claim it was seen
            ev["display_failed"] = True
            self.screen.clear()
        d.feedback("handover" if ok else "fail_closed")
        d.emit(ev)
        return None

    def poll(self, now_ms):
        self.screen.poll(now_ms)


def attach(app):
    """Give the app's door a display and, with it, handovers. None when the board has no display."""
    disp = getattr(app.board, "display", None)
    if disp is None:
        return None
    from doorstep.handover import HandoverBook
    from doorstep.screen import Screen

    door = app.door
    screen = Screen(disp)
    board_feedback = door.feedback
    lock = door.lockout
    clock = app.clock

    def feedback(name):
        board_feedback(name)
        now = clock.ticks_ms()
        if name == "locked":
            secs = (lock.remaining_ms(now) + 999) // 1000
        else:
            secs = lock.duration_s()
        screen.verdict(name, now, secs)

    door.feedback = feedback
    try:
        book = HandoverBook(app.storage)
    except Exception as e:  # noqa: BLE001  -- damaged: recorded, and challenges refused (fail closed)
        book = None
        app.emit({"ev": "handover_damaged", "error": str(e)})
    desk = Desk(door, book, screen, app.cfg.get("handover_show_s", 30))
    door.handover = desk
    door.entry.handover = True
    return desk

