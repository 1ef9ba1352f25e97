"""The heap cap `make bench` relies on: a capped VM really stops at its heap size."""

import pytest

from doorstep_tools import bench
from doorstep_tools.mpvm import MicroPython

KEEP = """
keep = []
try:
    for i in range(200):
        keep.append(bytearray(1024))
    print('RESULT all', len(keep))
except MemoryError:
    n = len(keep)
    keep = None
    print('RESULT stopped', n)
"""


@pytest.mark.parametrize("cap,expect", [(None, "all 200"), (16384, "stopped")])
def test_capped_vm_raises_memoryerror_at_its_heap_size(cap, expect):
    mp = MicroPython()
    try:
        out, _ = mp.run(KEEP, heapsize=64 * 1024, cap=cap, timeout=30)
    finally:
        mp.close()
    got = out.split("RESULT ")[1].strip()
    assert got.startswith(expect), got
    if cap:
        assert 40 <= int(got.split()[1]) < 64, got  # about the 64 KB heap, not more


def test_door_session_fits_a_generous_heap_not_a_tiny_one():
    capped = bench.session_files(bench.source_files())
    assert bench.capped_ok(capped, 512 * 1024)
    assert not bench.capped_ok(capped, 64 * 1024)


def test_presence_bench_reports_capture_before_the_record_task():
    from doorstep_tools import bench_presence

    lines = []
    bench_presence.capture_figures(lines.append)
    now = [int(x) for x in lines[1].split(": ")[1].split(" ms")[0].split(", ")]
    before = [int(x) for x in lines[2].split(": ")[1].split(" ms")[0].split(", ")]
    assert len(now) == len(before) == 5 and "ESP32 est." in lines[4], lines
    # the 5th frame no longer waits for the four records ahead of it (each a signature)
    assert now[4] < before[4], lines


def test_deployed_parts_add_up_to_what_deploy_copies():
    from doorstep_tools import bench_crypto

    n, total, _mpy, left = bench_crypto.deployed_size()
    parts = dict(bench_crypto.deployed_parts())
    assert abs(sum(parts.values()) * 1024 - total) < 1, (parts, total)
    assert parts["MQTT room"] > 10 and parts["signing"] > 4 and "doorstep/sha1.mpy" in left, (parts, left)


def test_unix_port_session_fits_a_generous_heap_not_a_tiny_one():
    """The ESP32-like heap figure: the unix port's -X heapsize really caps the session."""
    from doorstep_tools import bench_heap_unix, unixport

    exe, why = unixport.find()
    if exe is None:
        pytest.skip(why)
    got = bench_heap_unix.trials([64, 256])
    assert got[64] is None, got  # out of memory: the cap holds
    assert "doorstep.ed25519" in got[256] and "doorstep.records" in got[256], got
    asyncio_kb, firmware_kb, harness_kb, board_kb = got["code_kb"]
    assert firmware_kb > 20 and 0 < asyncio_kb < firmware_kb and 0 < harness_kb < firmware_kb and board_kb > 5, got
