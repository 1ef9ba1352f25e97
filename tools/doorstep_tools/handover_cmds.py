"""`doorstep handover add / list / revoke / reset`: carrier codes the door shows in person.

The carrier's code (what the driver types into the handset) is asked for without echo, or
read from stdin: never on the command line, so it stays out of the shell history and the
process list. The challenge is what the person at the door types after '*' to see it: by
default the last 4 digits of the parcel's tracking number (--tracking), or --challenge.
"""

import sys
import time

from doorstep_tools.device_cmds import DeviceError, add_device_args, connected, guard, proof, window
from doorstep_tools.timefmt import show_utc


def _read_carrier_code():
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Carrier code (not shown): ").strip()
    return sys.stdin.readline().strip()


def challenge_of(args):
    """The digits typed at the door: --challenge, or the last 4 digits of --tracking."""
    if args.challenge and args.tracking:
        raise DeviceError("give --challenge or --tracking, not both. Nothing was registered.")
    if args.challenge:
        ch = args.challenge
    elif args.tracking:
        digits = "".join(c for c in args.tracking if c.isascii() and c.isdigit())
        if len(digits) < 4:
            raise DeviceError("the tracking number has fewer than 4 digits: give --challenge DIGITS. Nothing was registered.")
        ch = digits[-4:]
    else:
        raise DeviceError("say what the person at the door must type: --tracking NUMBER (its last 4 digits)"
                          " or --challenge DIGITS. Nothing was registered.")
    if not (ch.isascii() and ch.isdigit() and 4 <= len(ch) <= 8):
        raise DeviceError("a challenge must be 4 to 8 digits (0-9), typed at the keypad. Nothing was registered.")
    return ch


def cmd_add(args):
    ch = challenge_of(args)
    code = _read_carrier_code()
    ok = 4 <= len(code) <= 16 and all(c.isascii() and (c.isalnum() or c == "-") for c in code)
    if not ok:
        raise DeviceError("a carrier code must be 4 to 16 letters, digits or '-'. Nothing was registered.")
    if code in args.label or ch in args.label:
        raise DeviceError("the label must not contain the code or the challenge: labels are shown in records,"
                          " reports and Home Assistant. Choose another label. Nothing was registered.")
    t_from, t_until = window(args)
    dev, _ = connected(args)
    d = dev.call("add_handover", int(time.time()), args.label, code, ch, t_from, t_until)
    code = None
    win = ""
    if t_from or t_until:
        win = " from %s to %s" % (show_utc(t_from) if t_from else "now", show_utc(t_until) if t_until else "when it is shown")
    print("Registered the carrier code for %r%s. The door shows it once, to the person who types *, the %d-digit"
          " challenge and # at the keypad.%s" % (d["label"], win, len(ch), proof(dev)))
    return 0


def cmd_list(args):
    dev, _ = connected(args)
    rows = dev.call("list_handover")
    if not rows:
        print("No handover codes are registered.")
    for r in rows:
        rel = r["released"]
        state = "waiting" if rel is None else ("shown at the door at %s" % show_utc(rel) if rel is not True else "shown (clock was not set)")
        win = ""
        if r["from"] or r["until"]:
            win = "  valid %s .. %s" % (show_utc(r["from"]) if r["from"] else "-", show_utc(r["until"]) if r["until"] else "-")
        print("%-24s %s%s" % (r["label"], state, win))
    return 0


def _known(dev, args):
    if not any(r["label"] == args.label for r in dev.call("list_handover")):
        raise DeviceError("no handover has the label %r: `doorstep handover list --device %s` shows the labels" % (args.label, args.device))


def cmd_revoke(args):
    dev, _ = connected(args)
    _known(dev, args)
    dev.call("revoke_handover", int(time.time()), args.label)
    print("Revoked %r: the door will not show its code.%s" % (args.label, proof(dev)))
    return 0


def cmd_reset(args):
    if (args.device or "").startswith(("mqtt:", "mqtts:")):
        raise DeviceError("handover reset needs the cable (or sim:FOLDER): over MQTT, revoke it and add it again")
    dev, _ = connected(args)
    _known(dev, args)
    dev.call("reset_handover", int(time.time()), args.label)
    print("The door may show the code for %r once more.%s" % (args.label, proof(dev)))
    return 0


def add_parser(sub):
    h = sub.add_parser("handover", help="carrier codes the door shows to the person at the door (never to a phone)")
    hs = h.add_subparsers(dest="action", required=True)
    a = hs.add_parser("add", help="register a carrier's code; it is asked for without echo (or read from stdin)")
    a.add_argument("label", help="a name for this parcel, e.g. amazon-0625 (shown in records, reports and Home Assistant)")
    a.add_argument("--tracking", help="the parcel's tracking number: its last 4 digits are the challenge")
    a.add_argument("--challenge", help="4 to 8 digits the person at the door types after * (instead of --tracking)")
    a.add_argument("--from", dest="from_", metavar="FROM", help="shown from (UTC, e.g. 2026-06-25T09:00Z)")
    a.add_argument("--until", help="shown until (UTC); a date alone means the end of that day")
    add_device_args(a, True)
    a.set_defaults(func=guard(cmd_add))
    ls = hs.add_parser("list", help="labels, windows, shown or not (never the codes)")
    add_device_args(ls, True)
    ls.set_defaults(func=guard(cmd_list))
    r = hs.add_parser("revoke", help="remove a handover code")
    r.add_argument("label")
    add_device_args(r, True)
    r.set_defaults(func=guard(cmd_revoke))
    rs = hs.add_parser("reset", help="let the door show a code once more (over the cable)")
    rs.add_argument("label")
    add_device_args(rs, True)  # so that mqtt: gets its own answer: it needs the cable
    rs.set_defaults(func=guard(cmd_reset))
