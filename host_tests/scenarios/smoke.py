"""The harness itself: both runtimes import the firmware package and its shared helpers."""

from doorstep import compat


def scenario_compare_digest():
    assert compat.compare_digest(b"abc", b"abc")
    assert not compat.compare_digest(b"abc", b"abd")
    assert not compat.compare_digest(b"abc", b"ab")


async def scenario_async_runs():
    hits = []

    async def tick():
        hits.append(1)

    await tick()
    await compat.sleep_ms(0)
    assert hits == [1]
