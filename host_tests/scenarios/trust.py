"""Evidence a third party can weigh: the posture in genesis and boot records, and `service`
records for every console session (service button, safe mode, REPL helpers in production)."""

from doorstep import admin, service
from doorstep.storage import Storage
from doorstep_tools.virtual.board import VirtualBoard
from doorstep_tools.virtual.device import VirtualDevice
from fakes import Rng, tmpdir
from scenarios.device import CODE, T0, records

SIM = {"hw": "sim", "production": False, "flash_enc": False, "secure_boot": False}


async def provisioned(root=None):
    root = root or tmpdir()
    dev = VirtualDevice(root, VirtualBoard(T0, "host"))
    await dev.provision(Rng(3))
    return dev


async def scenario_simulated_records_say_sim():
    dev = await provisioned()
    await dev.boot()
    recs = records(dev.storage.root)
    assert [r["ev"] for r in recs] == ["genesis", "boot"], recs
    assert recs[0]["posture"] == SIM and recs[1]["posture"] == SIM, recs


async def scenario_a_board_without_a_posture_says_unknown():
    dev = await provisioned()
    dev.board.posture = None  # an older board layer: nothing to read
    await dev.boot()
    p = records(dev.storage.root)[-1]["posture"]
    assert p == {"hw": "unknown", "production": "unknown", "flash_enc": "unknown", "secure_boot": "unknown"}, p


async def scenario_service_start_is_recorded_in_the_same_boot():
    dev = await provisioned()
    service.mark(dev.storage, "service")  # boot.py: the service button was held at power-on
    await dev.boot()
    recs = records(dev.storage.root)
    assert [r["ev"] for r in recs] == ["genesis", "boot", "service"], recs
    s = recs[-1]
    assert s["mode"] == "service" and s["starts"] == 1 and "earlier" not in s and s["boot"] == 1, s
    assert not dev.storage.exists(service.FLAG_FILE)
    await dev.app.drain()
    dev.app.stop()
    await dev.boot()  # the mark is gone: no second record
    assert [r["ev"] for r in records(dev.storage.root)][-1] == "boot"


async def scenario_safe_mode_is_recorded_at_the_next_boot():
    dev = await provisioned()
    await dev.boot()
    dev.app.stop()
    service.mark(dev.storage, "safe")  # twice in safe mode, the door never started
    service.mark(dev.storage, "safe")
    await dev.boot()
    s = records(dev.storage.root)[-1]
    assert s["ev"] == "service" and s["mode"] == "safe" and s["starts"] == 2 and s["earlier"] is True, s
    assert s["boot"] == 2 and not dev.storage.exists(service.FLAG_FILE)


async def scenario_a_service_start_cut_short_is_recorded_as_earlier():
    dev = await provisioned()
    service.mark(dev.storage, "service")  # Ctrl-C before the door started: no boot this time
    await dev.boot()  # ... the door's next start (the mark was for boot 1, this is boot 1)
    dev.app.stop()
    service.mark(dev.storage, "service")  # marked for boot 2 ...
    st = dev.storage
    st.write_json("boot.json", {"boot": 5, "clean": True})  # ... but the door's next start is boot 6
    await dev.boot()
    s = records(st.root)[-1]
    assert s["ev"] == "service" and s["earlier"] is True and s["boot"] == 6, s


async def scenario_a_damaged_mark_still_gives_a_record():
    dev = await provisioned()
    dev.storage.write_atomic(service.FLAG_FILE, b"\x00garbage")
    await dev.boot()
    s = records(dev.storage.root)[-1]
    assert s["ev"] == "service" and s["mode"] == "unknown" and s["earlier"] is True, s


def _production(st, on=True):
    st.write_json("config.json", {"production": on})


async def scenario_repl_helpers_in_production_leave_a_service_record_first():
    dev = await provisioned()
    st = dev.storage
    _production(st)
    n0 = len(records(st.root))
    admin.add_code(st, T0 + 5, CODE, "parcel-1")
    admin.list_codes(st)
    admin.info(st)
    m = admin.manifest(st)
    admin.revoke(st, T0 + 9, "parcel-1")
    recs = records(st.root)[n0:]
    calls = [(r["ev"], r.get("call")) for r in recs]
    assert calls == [("service", "add_code"), ("code_added", None), ("service", "list_codes"), ("service", "info"),
                     ("service", "manifest"), ("service", "revoke"), ("code_revoked", None)], calls
    assert all(r["mode"] == "console" for r in recs if r["ev"] == "service")
    # the manifest's head already includes its own service record
    assert m["info"]["next_seq"] == recs[4]["seq"] + 1
    s = [r for r in recs if r["ev"] == "service"]
    assert s[0]["t"] == T0 + 5 and s[0]["tq"] == "host" and s[1]["t"] is None and s[1]["tq"] == "none", s
    pulled = admin.mark_pulled(st, m["info"]["next_seq"] - 1, m["info"]["head"])
    assert pulled["seq"] == m["info"]["next_seq"] - 1
    assert records(st.root)[-1]["call"] == "mark_pulled"
    for r in recs:
        assert CODE not in str(r)


async def scenario_repl_helpers_outside_production_add_nothing():
    dev = await provisioned()
    st = dev.storage
    _production(st, False)
    n0 = len(records(st.root))
    admin.list_codes(st)
    admin.info(st)
    admin.manifest(st)
    assert len(records(st.root)) == n0


async def scenario_provisioning_a_production_device_again_is_recorded():
    dev = await provisioned()
    st = dev.storage
    _production(st)
    n0 = len(records(st.root))
    admin.provision(st, Rng(9), T0 + 60, None, fw="1" * 64)
    recs = records(st.root)[n0:]
    assert [(r["ev"], r.get("call")) for r in recs] == [("service", "provision")], recs


async def scenario_admin_genesis_states_the_posture():
    st = Storage(tmpdir())
    admin.provision(st, Rng(4), T0, {"heartbeat_min": 30}, fw="2" * 64)
    g = records(st.root)[0]
    assert g["ev"] == "genesis" and g["posture"] == SIM, g  # no `machine` module: not a chip
