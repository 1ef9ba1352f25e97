"""The virtual board: keypad, bell, intercom, camera, clock and feedback on the host.

Written in the Python CPython and MicroPython share, so the same board drives the
firmware in the simulator, the virtual board (WASM) and the two-runtime tests.
"""
