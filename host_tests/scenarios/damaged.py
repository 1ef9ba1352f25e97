"""Damaged files on the device: always a booted door or a clear recorded outcome, never an
exception out of App.boot or a code attempt that leaves no record.

boot_case() is also what host_tests/test_boot_fuzz.py feeds hypothesis' cases to, on
CPython one by one and in MicroPython as a batch in one VM.
"""

import json

from doorstep.ledger import line_hash
from doorstep.storage import Storage
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from doorstep_tools.virtual.flash import SmallFlash
from fakes import tmpdir
from scenarios.device import CODE, T0, new_device, records

FILES = ("config.json", "boot.json", "codes.json", "lockout.json", "pulled.json")
SEGMENT = "records/00000000.jsonl"
KNOWN = ("accepted", "wrong", "used", "expired", "not_yet_valid", "no_clock", "invalid", "locked",
         "fail_closed", "unavailable")


_template = []


def _copy(src, dst, rel=""):
    s, d = Storage(src), Storage(dst)
    for name in s.listdir(rel):
        sub = rel + "/" + name if rel else name
        try:
            data = s.read(sub)
        except OSError:  # a folder
            d.makedirs(sub)
            _copy(src, dst, sub)
            continue
        with d.open(sub, "wb") as f:
            f.write(data)


async def _used_device():
    """A provisioned device with a code, a courier, a ring and a clean stop behind it
    (made once, then copied: key generation and signing are slow in the WebAssembly VM)."""
    if not _template:
        root = tmpdir()
        dev = await new_device(root, storage=SmallFlash(root, 10 ** 8))
        dev.app.door.codes.add(CODE, "parcel", T0 - 60, T0 + 86400)
        dev.app.door.codes.add_courier("dhl", b"12345678901234567890")
        await dev.ring()
        dev.app.stop()
        _template.append(root)
    root = tmpdir()
    _copy(_template[0], root)
    return root


async def _reboot(root, flash=None):
    dev = VirtualDevice(root, VirtualBoard(T0 + 600, "host"), flash)
    await dev.boot()  # must never raise: on hardware that is a crash loop
    return dev


async def _attempt(dev, root, keys=CODE + "#"):
    n = len([r for r in records(root) if r.get("ev") == "attempt"])
    await dev.press(keys)
    await dev.advance(20)
    att = [r for r in records(root) if r.get("ev") == "attempt"]
    assert len(att) == n + 1, "the attempt left no record"
    assert att[-1]["outcome"] in KNOWN, att[-1]
    return att[-1]


async def boot_case(case):
    """Damage a used device's files as `case` says, boot it, type the right code.

    case: {"files": {name: hex bytes, or None to delete}, "tail": hex bytes appended to
    the last segment, "record": fields of a well-chained record appended to it}.
    Returns the device's folder, its boot record and the attempt."""
    from binascii import unhexlify

    root = await _used_device()
    st = Storage(root)
    for name, data in case.get("files", {}).items():
        if data is None:
            if st.exists(name):
                st.remove(name)
        else:
            st.write_atomic(name, unhexlify(data))
    if case.get("record") is not None:
        lines = [x for x in st.read(SEGMENT).split(b"\n") if x]
        rec = dict(case["record"])
        rec.update({"seq": len(lines), "prev": line_hash(lines[-1]), "sig": "ab" * 64})
        with st.open(SEGMENT, "ab") as f:
            f.write(json.dumps(rec).encode() + b"\n")
    if case.get("tail"):
        with st.open(SEGMENT, "ab") as f:
            f.write(unhexlify(case["tail"]))
    flash = SmallFlash(root, 10 ** 8)
    flash.capacity = flash.used() + 16 * 1024 - 500  # so pulled.json is read to make room
    dev = await _reboot(root, flash)
    boots = [r for r in records(root) if r.get("ev") == "boot"]
    assert boots and boots[-1]["boot"] == dev.app.boot_no, boots[-1:]
    return root, boots[-1], await _attempt(dev, root)


async def scenario_code_entry_without_used_or_from_is_a_recorded_outcome():
    for drop in ("used", "from"):
        root = await _used_device()
        st = Storage(root)
        data = json.loads(st.read("codes.json"))
        del data["codes"][0][drop]
        st.write_json("codes.json", data)
        dev = await _reboot(root)
        boot = records(root)[-1]
        assert boot["ev"] == "boot" and "codes.json is damaged" in boot["codes_err"], boot
        a = await _attempt(dev, root)
        assert a["outcome"] == "unavailable" and dev.board.feedback_log[-1] == "fail_closed", a


async def scenario_courier_with_a_non_hex_secret_is_a_recorded_outcome():
    root = await _used_device()
    st = Storage(root)
    data = json.loads(st.read("codes.json"))
    data["couriers"][0]["s"] = "not hex at all!"
    st.write_json("codes.json", data)
    dev = await _reboot(root)
    assert "courier" in records(root)[-1]["codes_err"], records(root)[-1]
    a = await _attempt(dev, root, "123456#")  # any 6-digit code went through the courier check
    assert a["outcome"] == "unavailable", a


async def scenario_an_unexpected_code_book_error_still_records_the_attempt():
    root = await _used_device()
    dev = await _reboot(root)

    def broken(code, now):
        raise KeyError("h")

    dev.app.door.codes.verify = broken
    a = await _attempt(dev, root)
    assert a["outcome"] == "unavailable" and dev.app.door.lockout.fails == 1, a


async def scenario_damaged_boot_files_each_give_a_booted_door():
    """One hand-picked case per file (the fuzz in test_boot_fuzz.py tries many more)."""
    from binascii import hexlify

    def hx(b):
        return hexlify(b).decode()

    cases = [
        {"files": {"config.json": hx(b'{"heartbeat_min": 3')}},
        {"files": {"boot.json": hx(b"\xff\x00")}},
        {"files": {"codes.json": hx(b'{"codes": [{"h": 5}]}')}},
        {"files": {"lockout.json": hx(b'{"fails": "x", "left": []}')}},
        {"files": {"pulled.json": hx(b'{"seq": 99999999}')}},
        {"tail": hx(b'{"seq": 99, "torn')},
        {"record": {"boot": "seven", "ms": [1], "t": {}, "tq": 5, "ev": None}},
    ]
    for case in cases:
        root, boot, att = await boot_case(case)
        damaged = list(case.get("files", {})) + [k for k in ("tail", "record") if k in case]
        if damaged == ["config.json"]:
            assert "config.json is damaged" in boot["config_err"], boot
        elif damaged == ["boot.json"]:
            assert boot["boot_recovered"] == "boot.json damaged" and boot["boot"] == 2, boot
        elif damaged == ["codes.json"]:
            assert "codes.json is damaged" in boot["codes_err"] and att["outcome"] == "unavailable", (boot, att)
        elif damaged == ["lockout.json"]:
            assert att["outcome"] == "locked", att  # a damaged lockout state fails safe
        elif damaged == ["pulled.json"]:
            assert att["outcome"] == "accepted" and att["photo"] is not None, att
        elif damaged == ["tail"]:
            recs = records(root)
            assert recs[recs.index(boot) - 1]["ev"] == "recovered", recs[-4:]
        else:  # a chained record whose fields are of the wrong types
            assert boot["boot"] == 2 and att["outcome"] == "accepted", (boot, att)
