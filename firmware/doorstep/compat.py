"""The few things CPython and MicroPython spell differently, in one place.

Firmware imports these names from here and never tests for the runtime itself.
"""

try:
    from micropython import const  # noqa: F401
except ImportError:  # CPython

    def const(x):
        return x


try:
    from time import ticks_ms, ticks_diff, ticks_add  # noqa: F401
except ImportError:  # CPython
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000) & 0x3FFFFFFF

    def ticks_diff(a, b):
        d = (a - b) & 0x3FFFFFFF
        return d - 0x40000000 if d & 0x20000000 else d

    def ticks_add(a, d):
        return (a + d) & 0x3FFFFFFF


import sys as _sys

# Does this runtime run MicroPython's native code (@micropython.viper / native)? The .mpy
# header it accepts names the native architecture: 0 (none) on the WebAssembly port; CPython
# has no such field. The ESP32 (xtensawin) and the unix port do.
NATIVE = (getattr(_sys.implementation, "_mpy", 0) >> 10) != 0

import asyncio as _asyncio

try:
    from asyncio import sleep_ms  # noqa: F401
except ImportError:  # CPython

    def sleep_ms(ms):
        return _asyncio.sleep(ms / 1000)


async def wait_for_ms(coro, ms, poll_ms=5):
    """Run coro for at most ms, else cancel it and raise asyncio.TimeoutError.

    Polls instead of using asyncio.wait_for_ms, which never returns in MicroPython's
    WebAssembly port; this way every runtime runs the same code.
    """
    task = _asyncio.create_task(coro)
    await sleep_ms(0)  # a coroutine with nothing to wait for (a frame ready) is done now
    waited = 0
    while not task.done():
        if waited >= ms:
            task.cancel()
            raise _asyncio.TimeoutError()
        await sleep_ms(poll_ms)
        waited += poll_ms
    return await task


def compare_digest(a, b):
    """Constant-time equality of two byte strings (hmac.compare_digest is missing on MicroPython).

    Time depends only on the lengths, never on where the first difference is.
    """
    if len(a) != len(b):
        # Still walk a, so a length mismatch costs the same as a content mismatch.
        b = a
        diff = 1
    else:
        diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
