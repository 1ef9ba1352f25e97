"""Doorstep: keypad-only delivery codes and signed proof-of-presence records.

Modules are imported one by one (``from doorstep import entry``) so the device only
pays RAM for what it uses.
"""

VERSION = "0.1.0"
