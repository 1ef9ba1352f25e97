"""Door core scenarios: keypad entry -> verdict -> feedback -> events, on both runtimes."""

from doorstep import codes as C
from doorstep.codes import CodeBook, CodeError
from doorstep.door import Door
from doorstep.lockout import Lockout
from doorstep.relay import RelayGuard
from doorstep.storage import Storage, StorageError
from fakes import Clock, Events, Feedback, PowerCut, Rng, tmpdir

T0 = 1782378000  # 2026-06-25T09:00:00Z


class Rig:
    """A door on a fake board with its own empty flash."""

    def __init__(self, t=T0, policy="refuse", root=None):
        self.root = root or tmpdir()
        self.storage = Storage(self.root)
        if root is None:  # a new device: make its secret
            self.storage.write_atomic(C.SECRET_FILE, Rng(7)(32))
        self.clock = Clock(t)
        self.fb = Feedback()
        self.ev = Events()
        self.codes = CodeBook(self.storage)
        self.lock = Lockout(self.storage, self.clock.ms)
        self.door = Door(self.codes, self.lock, RelayGuard(policy), self.ev, self.fb, self.clock)

    def keys(self, s, gap_ms=300):
        for ch in s:
            self.clock.advance(gap_ms)
            self.door.key(ch, self.clock.ms)

    def advance(self, ms):
        self.clock.advance(ms)
        self.door.poll(self.clock.ms)

    def reboot(self):
        """Power cycle: everything in RAM is gone, flash stays."""
        return Rig(self.clock.now(), root=self.root)


def scenario_right_code_accepted_once():
    r = Rig()
    r.codes.add("482913", "parcel-1")
    r.keys("482913#")
    e = r.ev.last("attempt")
    assert e == {"ev": "attempt", "outcome": "accepted", "digits": 6, "label": "parcel-1"}, e
    assert r.fb.last() == "accepted"
    r.keys("482913#")
    e = r.ev.last("attempt")
    assert e["outcome"] == "used" and e["used_at"] == T0 + 2 and e["label"] == "parcel-1", e
    assert r.fb.last() == "wrong"


def scenario_single_use_survives_reboot():
    r = Rig()
    r.codes.add("482913", "parcel-1")
    r.keys("482913#")
    r2 = r.reboot()
    r2.keys("482913#")
    assert r2.ev.last("attempt")["outcome"] == "used"


def scenario_wrong_code_and_star_clears():
    r = Rig()
    r.codes.add("1234", "a")
    r.keys("9999#")
    assert r.ev.last("attempt")["outcome"] == "wrong"
    r.keys("99*1234#")  # * throws away the 99
    assert r.ev.last("attempt")["outcome"] == "accepted"


def scenario_validity_window():
    r = Rig()
    r.codes.add("11112222", "later", T0 + 3600, T0 + 7200)
    r.codes.add("33334444", "past", T0 - 7200, T0 - 3600)
    r.keys("11112222#")
    e = r.ev.last("attempt")
    assert e["outcome"] == "not_yet_valid" and e["label"] == "later"
    r.keys("33334444#")
    assert r.ev.last("attempt")["outcome"] == "expired"
    r.advance(3700 * 1000)
    r.keys("11112222#")
    assert r.ev.last("attempt")["outcome"] == "accepted"


def scenario_window_needs_clock():
    r = Rig(t=None)
    r.codes.add("11112222", "win", T0, T0 + 60)
    r.codes.add("5555", "plain")
    r.keys("11112222#")
    assert r.ev.last("attempt")["outcome"] == "no_clock"
    r.keys("5555#")  # a code without a window works with no clock
    e = r.ev.last("attempt")
    assert e["outcome"] == "accepted", e
    assert r.codes.list()[1]["used"] is True


def scenario_right_code_without_clock_looks_and_counts_like_a_wrong_one():
    """No oracle: a guesser must not learn that a code with a window is right because the
    clock is unset. Only the record (read by the homeowner) says why it was refused."""
    right, wrong = Rig(t=None), Rig(t=None)
    for r in (right, wrong):
        r.codes.add("11112222", "win", T0, T0 + 60)
    for _ in range(3):
        right.keys("11112222#")
        wrong.keys("99998888#")
        state = [(k, v, wrong.lock.__dict__.get(k)) for k, v in right.lock.__dict__.items() if k != "storage"]
        assert [s[1] for s in state] == [s[2] for s in state], state  # the lockout saw the same
    assert right.fb.seen == wrong.fb.seen, (right.fb.seen, wrong.fb.seen)
    assert right.lock.is_locked(right.clock.ms) and right.ev.kinds() == wrong.ev.kinds()
    assert [e.get("outcome") for e in right.ev.all[:3]] == ["no_clock"] * 3
    assert right.ev.all[0]["label"] == "win" and right.codes.list()[0]["used"] is None


def scenario_timeout_clears_without_attempt():
    r = Rig()
    r.codes.add("1234", "a")
    r.keys("12")
    r.advance(10001)
    assert r.fb.last() == "timeout"
    r.keys("34#")  # only "34" was left: wrong, and the timed-out half counted nothing
    assert r.ev.kinds() == ["attempt"]
    assert r.ev.last()["digits"] == 2 and r.ev.last()["outcome"] == "wrong"
    assert r.lock.fails == 1


def scenario_too_long_is_invalid():
    r = Rig()
    r.keys("1234567890123#")
    e = r.ev.last("attempt")
    assert e["outcome"] == "invalid" and e["digits"] == 13, e


def scenario_lockout_after_three_then_the_allowance():
    r = Rig()
    r.codes.add("1234", "a")
    for _ in range(3):
        r.keys("0000#")
    assert r.ev.kinds()[-1] == "lockout_start"
    assert r.ev.last() == {"ev": "lockout_start", "level": 1, "duration_s": 60, "left": 3}
    assert r.fb.seen[-1] == "wrong_locked"  # the driver learns of the lockout at once
    # Keys during lockout: distinct feedback, count nothing, right code refused
    r.keys("1234#")
    assert r.fb.seen[-5:] == ["locked"] * 5
    e = r.ev.last("attempt")
    assert e["outcome"] == "locked" and e["digits"] == 4
    n = len(r.ev.all)
    r.keys("1234#")  # only one record per lockout
    assert len(r.ev.all) == n
    r.advance(60 * 1000)
    assert r.ev.last() == {"ev": "lockout_end", "refused": 10}
    # Three more use up the allowance of six: locked until a guess comes back (20 min
    # after the first wrong code), however the three were spread.
    for _ in range(3):
        r.keys("0000#")
    e = r.ev.last()
    assert e["ev"] == "lockout_start" and e["left"] == 0 and e["level"] == 2, e
    assert 20 * 60 - 70 <= e["duration_s"] <= 20 * 60 - 60, e
    r.advance(e["duration_s"] * 1000)
    assert r.ev.last()["ev"] == "lockout_end"
    r.keys("1234#")  # the guess that came back lets the driver in
    assert r.ev.last("attempt")["outcome"] == "accepted"
    assert r.lock.level == 0 and r.lock.fails == 0


def scenario_one_guess_per_refill_once_the_allowance_is_spent():
    r = Rig()
    for _ in range(6):
        r.keys("0000#")
        if r.lock.is_locked(r.clock.ms):
            r.advance(r.lock.remaining_ms(r.clock.ms))
    for _ in range(3):  # each wrong code now locks until the next guess comes back
        r.keys("0000#")
        e = r.ev.last("lockout_start")
        assert e["left"] == 0 and 20 * 60 - 2 <= e["duration_s"] <= 20 * 60, e
        r.advance(e["duration_s"] * 1000)
    assert r.lock.left == 1  # the one the last lockout waited for
    r.advance(3 * 20 * 60 * 1000)  # an hour without wrong codes: three more back
    assert r.lock.left == 4, r.lock.left
    r.keys("0000#0000#")
    assert not r.lock.is_locked(r.clock.ms) and r.lock.left == 2, r.lock.left


def scenario_lockout_survives_power_cycle():
    r = Rig()
    r.codes.add("1234", "a")
    for _ in range(3):
        r.keys("0000#")
    r2 = r.reboot()
    r2.keys("1234#")
    assert r2.ev.last("attempt")["outcome"] == "locked"
    r2.advance(60 * 1000)
    r2.keys("1234#")
    assert r2.ev.last("attempt")["outcome"] == "accepted"
    # two wrong codes, reboot, one more: the count survives too
    r3 = Rig()
    r3.keys("0000#0000#")
    r4 = r3.reboot()
    r4.keys("0000#")
    assert r4.ev.last()["ev"] == "lockout_start"


class _PowerGoesAt(Feedback):
    """Feedback after which the power is cut: nothing the door does after showing
    `pattern` happens (an attacker watching the LED can pull the plug that fast)."""

    def __init__(self, pattern):
        Feedback.__init__(self)
        self.pattern = pattern

    def __call__(self, name):
        Feedback.__call__(self, name)
        if name.startswith(self.pattern):  # "wrong_locked" shows "wrong" too
            raise PowerCut()


def scenario_power_cut_at_the_verdict_still_counts_the_guess():
    r = Rig()
    r.codes.add("1234", "a")
    for _ in range(3):
        r.door.feedback = _PowerGoesAt("wrong")
        try:
            r.keys("0000#")
        except PowerCut:
            pass
        else:
            assert False, "the wrong code was not shown"
        r = r.reboot()
    r.keys("1234#")
    e = r.ev.last("attempt")
    assert e["outcome"] == "locked", e  # three guesses, each cut off at its verdict, still lock


def scenario_damaged_lockout_file_fails_safe():
    r = Rig()
    r.storage.write_atomic("lockout.json", b"{not json")
    r2 = r.reboot()
    r2.keys("1234#")
    assert r2.ev.last("attempt")["outcome"] == "locked"


def scenario_intercom_refuses_code():
    r = Rig()
    r.codes.add("1234", "a")
    r.door.intercom(True, r.clock.ms)
    r.keys("1234#")
    e = r.ev.last()
    assert e == {"ev": "relay_refused", "channel": "keypad", "reason": "intercom_active", "digits": 4}, e
    assert r.fb.last() == "refused"
    r.door.intercom(False, r.clock.ms)
    r.advance(27000)
    r.keys("1234#")  # submitted 28.5 s after the call ended
    assert r.ev.last()["reason"] == "intercom_recent"
    r.advance(30000)
    r.keys("1234#")  # the code was never consumed by the refused tries
    assert r.ev.last("attempt")["outcome"] == "accepted"


def scenario_intercom_flag_only_policy():
    r = Rig(policy="flag")
    r.codes.add("1234", "a")
    r.door.intercom(True, r.clock.ms)
    r.keys("1234#")
    e = r.ev.last()
    assert e["ev"] == "attempt" and e["outcome"] == "accepted" and e["relay_suspected"] is True, e


def scenario_remote_channels_refused():
    r = Rig()
    r.codes.add("1234", "a")
    for ch in ("mqtt", "console", "network"):
        for req in ("submit", "reveal", "list", "export"):
            r.clock.advance(r.door.budget.quiet_ms)  # each its own burst: recorded at once
            assert r.door.remote(ch, req, r.clock.ms) is True
            e = r.ev.last()
            assert e == {"ev": "relay_refused", "channel": ch, "request": req}, e
    r.clock.advance(r.door.budget.quiet_ms)
    r.door.remote("mqtt", "submit 1234", r.clock.ms)  # a request is never copied into a record
    assert r.ev.last()["request"] == "other"
    # The code is still unused: no remote path reached it
    assert r.codes.list()[0]["used"] is None


def scenario_remote_flood_is_rate_limited():
    r = Rig()
    for _ in range(1000):
        r.clock.advance(5)
        r.door.remote("mqtt", "submit", r.clock.ms)
    assert len(r.ev.all) == 1
    r.clock.advance(10000)
    r.door.remote("mqtt", "submit", r.clock.ms)
    assert len(r.ev.all) == 2 and r.ev.last()["suppressed"] == 999


def scenario_fail_closed_and_unavailable():
    r = Rig()
    r.codes.add("1234", "a")
    r.door.fail_closed = True
    r.keys("1234#")
    assert r.ev.last()["outcome"] == "fail_closed" and r.fb.last() == "fail_closed"
    assert r.codes.list()[0]["used"] is None
    r.door.fail_closed = False
    r.door.codes = None
    r.keys("1234#")
    assert r.ev.last()["outcome"] == "unavailable"


def scenario_registration_rules():
    r = Rig()
    for bad in ("123", "1234567890123", "12a4", "", "12 34", "١٢٣٤"):
        try:
            r.codes.add(bad, "x")
        except CodeError as e:
            assert "digits" in str(e)
            assert len(bad) < 3 or bad not in str(e)  # the message never repeats the code
        else:
            assert False, "accepted a bad code"
    r.codes.add("1234", "x")
    for args, word in ((("5678", "x"), "in use"), (("1234", "y"), "already registered"),
                       (("5678", "box-5678"), "must not contain the code"), (("5678", "56789"), "must not contain"),
                       (("5678", ""), "label"), (("5678", "z", 10, 5), "after its start")):
        try:
            r.codes.add(*args)
        except CodeError as e:
            assert word in str(e), str(e)
        else:
            assert False, args
    assert r.codes.revoke("x")["label"] == "x"
    assert r.codes.list() == []
    try:
        r.codes.revoke("x")
    except CodeError as e:
        assert "no code" in str(e)
    else:
        assert False


def scenario_codes_never_stored_in_clear():
    r = Rig()
    r.codes.add("48291377", "p")
    data = r.storage.read("codes.json")
    assert b"48291377" not in data
    assert b"4829" not in data


def scenario_damaged_codes_file_is_clear_error():
    r = Rig()
    for bad in (b"{", b"[]", b'{"codes": [{"label": "a"}]}', b'{"codes": 5}'):
        r.storage.write_atomic("codes.json", bad)
        try:
            CodeBook(r.storage)
        except (CodeError, StorageError) as e:
            assert "codes.json" in str(e), str(e)
        else:
            assert False, bad


def scenario_key_flood_never_crashes():
    r = Rig()
    r.codes.add("1234", "a")
    x = 12345
    alphabet = "0123456789*#ABCD?x"
    for _ in range(1000):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        r.clock.advance(x % 400)
        r.door.key(alphabet[(x >> 8) % len(alphabet)], r.clock.ms)
        r.door.poll(r.clock.ms)
    for e in r.ev.all:
        for v in e.values():
            assert not (isinstance(v, str) and v.isdigit()), e  # no digits strings in events


def scenario_courier_totp_single_use():
    from doorstep import totp

    r = Rig(t=59)  # RFC 6238's first test time
    secret = b"12345678901234567890"
    r.codes.add_courier("courier-dhl", secret)
    assert b"1234567890" not in r.storage.read("codes.json")  # the secret is masked on flash
    code = totp.totp(secret, 59)
    assert code == "287082"
    r.keys(code + "#")
    e = r.ev.last("attempt")
    assert e["outcome"] == "accepted" and e["label"] == "courier-dhl", e
    r.keys(code + "#")  # the same value again: single use
    assert r.ev.last("attempt")["outcome"] == "used"
    r.clock.advance(30000)
    r.keys(totp.totp(secret, r.clock.now()) + "#")  # the next step's value works
    assert r.ev.last("attempt")["outcome"] == "accepted"
    r.clock.advance(120000)
    r.keys(totp.totp(secret, r.clock.now() - 90) + "#")  # 3 steps old: wrong
    assert r.ev.last("attempt")["outcome"] == "wrong"
    assert r.codes.list() == [{"label": "courier-dhl", "courier": True, "last_used_step": 3}]


def scenario_courier_needs_clock():
    r = Rig(t=None)
    r.codes.add_courier("c", b"12345678901234567890")
    r.keys("287082#")
    assert r.ev.last("attempt")["outcome"] == "wrong"
