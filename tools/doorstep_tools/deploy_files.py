"""Which firmware files a board gets, and in which form: what `doorstep deploy` copies and
`make bench` counts. Packages (doorstep/...) may go as .mpy; boot.py and main.py always as source.
"""

import os

MARCH = "xtensawin"  # ESP32 and ESP32-S3
ROOT_SCRIPTS = ("boot.py", "main.py")  # run as source by MicroPython: never compiled
NATIVE_ARCH = {"xtensawin": 10}  # sys.implementation._mpy >> 10 on boards that run that code


def runs_native(board):
    """Can the board run the firmware's @micropython.viper code as deployed?"""
    if board["compiled"]:
        return board["arch"] == NATIVE_ARCH.get(MARCH)
    return board["arch"] != 0


# Firmware modules a board needs only in some cases: path -> (does this board need it?, why not).
# board: what probe() found ("sha1": hashlib has sha1, "arch": the native code it runs, 0 = none)
# plus "compiled": deployed as .mpy for MARCH (else as source, compiled on the board itself).
OPTIONAL = {
    "doorstep/sha1.py": (lambda b: not b["sha1"], "the board's hashlib has sha1"),
    "doorstep/sha512_portable.py": (lambda b: not runs_native(b), "the board runs the native engine, sha512_viper"),
    "doorstep/sha512_viper.py": (runs_native, "the board has no native code emitter for it"),
}


# An ESP32 (or ESP32-S3) with MicroPython 1.27, deployed with --mpy: what `make bench` counts.
ESP32 = {"compiled": True, "arch": NATIVE_ARCH[MARCH], "sha1": True}


def needed(rel, board):
    """(True, None), or (False, why the board does not need firmware file rel, .py or .mpy)."""
    if rel.endswith(".mpy"):
        rel = rel[:-4] + ".py"
    need, why = OPTIONAL.get(rel, (None, None))
    if need is None or need(board):
        return True, None
    return False, why


def firmware_files(src):
    """(relative path, absolute path) of every file to deploy, in order: packages, then scripts."""
    pkgs, scripts = [], []
    for name in sorted(os.listdir(src)):
        full = os.path.join(src, name)
        if os.path.isdir(full) and os.path.exists(os.path.join(full, "__init__.py")):
            for dirpath, dirnames, names in os.walk(full):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for n in sorted(names):
                    if n.endswith(".py"):
                        p = os.path.join(dirpath, n)
                        pkgs.append((os.path.relpath(p, src).replace(os.sep, "/"), p))
        elif name.endswith(".py"):
            scripts.append((name, full))
    return pkgs + scripts


def package_dirs(files):
    dirs = set()
    for rel, _, _ in files:
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs)


# Code run on the board (MicroPython; kept small: it is sent over the serial line)
