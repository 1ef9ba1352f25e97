"""`make bench`, handovers: what a challenge at the door costs, by how many are registered.

release() computes one salted keyed hash per registered handover (no early exit, so the
time says nothing about which one matched), plus one MAC check and the keystream for the
one that did. Measured under warmed MicroPython 1.27 (WASM); ESP32 estimates with the
general-code factors of bench.py (shared notes' calibration, +-50%).
"""

from doorstep_tools.mpvm import MicroPython

MP = r"""
import sys, time, gc, os
sys.path.insert(0, '/lib')
from doorstep.storage import Storage
from doorstep import codes as C
from doorstep.handover import HandoverBook
from fakes import Rng
out = []
for n in (1, 4, 16):
    d = '/h%d' % n
    os.mkdir(d)
    st = Storage(d)
    st.write_atomic(C.SECRET_FILE, b'k' * 32)
    book = HandoverBook(st)
    rng = Rng(n)
    t0 = time.ticks_us()
    for i in range(n):
        book.add('p%d' % i, 'CODE-%04d' % i, '%05d' % (10000 + i), None, None, rng)
    add_us = time.ticks_diff(time.ticks_us(), t0) / n
    for w in range(20):
        book.release(b'99999', 0)
    t0 = time.ticks_us()
    for w in range(50):
        book.release(b'99999', 0)
    wrong_us = time.ticks_diff(time.ticks_us(), t0) / 50
    gc.collect()
    a = gc.mem_alloc()
    book.release(b'99999', 0)
    garbage = gc.mem_alloc() - a
    t0 = time.ticks_us()
    for w in range(10):  # the right one: hash all, MAC, "released" to flash, decrypt
        book.entries[0]['released'] = None
        book.release(b'10000', 0)
    right_us = time.ticks_diff(time.ticks_us(), t0) / 10
    out.append('%d %.1f %.1f %.1f %d' % (n, add_us, wrong_us, right_us, garbage))
print('RESULT ' + ';'.join(out))
"""


def report(files=None):
    from doorstep_tools import bench

    files = files or bench.source_files()
    mp = MicroPython()
    try:
        out, _ = mp.run(MP, files=files, timeout=300)
    finally:
        mp.close()
    lo, hi = bench.GENERAL
    print("  handover at the door (HandoverBook.release; WASM warmed, ESP32 est. x%d-x%d):" % (lo, hi))
    for row in out.split("RESULT ")[1].strip().split(";"):
        n, add_us, wrong_us, right_us, garbage = row.split()
        n, add_us, wrong_us, right_us = int(n), float(add_us), float(wrong_us), float(right_us)
        print("    %2d registered: a wrong challenge %7.1f us (ESP32 est. %.1f-%.1f ms), the right one %7.1f us"
              " (with its flash write), garbage %d B (wrong); add %7.1f us each"
              % (n, wrong_us, wrong_us * lo / 1000, wrong_us * hi / 1000, right_us, int(garbage), add_us))
