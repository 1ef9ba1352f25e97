"""`doorstep codes add / list / revoke` and `doorstep courier add`: what the door will accept.

Codes are hashed on the device; this PC never keeps one. Over the cable or, sealed, over MQTT."""

import os
import sys
import time

from doorstep_tools.device_cmds import DeviceError, add_device_args, connected, guard, proof, window
from doorstep_tools.timefmt import show_utc


def _read_code(args):
    """The code from the command line, or with `-` from stdin (no echo at a terminal),
    which keeps it out of the shell history and the process list."""
    if args.code != "-":
        return args.code
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Code (not shown): ").strip()
    return sys.stdin.readline().strip()


def cmd_codes_add(args):
    code = _read_code(args)
    if not (code.isascii() and code.isdigit() and 4 <= len(code) <= 12):
        raise DeviceError("a delivery code must be 4 to 12 digits (0-9). Nothing was registered.")
    if code in args.label:
        raise DeviceError("the label must not contain the code: labels are shown in records, reports and Home Assistant."
                          " Choose another label. Nothing was registered.")
    t_from, t_until = window(args)
    dev, _ = connected(args)
    d = dev.call("add_code", int(time.time()), code, args.label, t_from, t_until)
    code = None
    win = ""
    if t_from or t_until:
        win = " valid %s to %s" % (show_utc(t_from) if t_from else "now", show_utc(t_until) if t_until else "until used")
    print("Registered code %r%s. It works once, typed at the door's keypad only.%s" % (d["label"], win, proof(dev)))
    return 0


def cmd_codes_list(args):
    dev, _ = connected(args)
    rows = dev.call("list_codes")
    if not rows:
        print("No codes are registered.")
    for r in rows:
        if r.get("courier"):
            print("%-24s courier (TOTP)" % r["label"])
            continue
        state = "unused" if r["used"] is None else ("used at %s" % show_utc(r["used"]) if r["used"] is not True else "used (clock was not set)")
        win = ""
        if r["from"] or r["until"]:
            win = "  valid %s .. %s" % (show_utc(r["from"]) if r["from"] else "-", show_utc(r["until"]) if r["until"] else "-")
        print("%-24s %s%s" % (r["label"], state, win))
    return 0


def cmd_codes_revoke(args):
    dev, _ = connected(args)
    if not any(r["label"] == args.label for r in dev.call("list_codes")):
        raise DeviceError("no code has the label %r: `doorstep codes list --device %s` shows the labels" % (args.label, args.device))
    dev.call("revoke", int(time.time()), args.label)
    print("Revoked %r: it is no longer accepted.%s" % (args.label, proof(dev)))
    return 0


def otpauth_uri(label, secret):
    """The courier's authenticator URI (Key URI format), every part escaped: a label such as
    'dhl #2' or 'ups?night' must not end the path or start the query."""
    import base64
    from urllib.parse import quote, urlencode

    b32 = base64.b32encode(secret).decode().rstrip("=")
    query = urlencode({"secret": b32, "issuer": "Doorstep", "algorithm": "SHA1", "digits": 6, "period": 30})
    return "otpauth://totp/Doorstep:%s?%s" % (quote(label, safe=""), query)


def cmd_courier_add(args):
    dev, info = connected(args)
    secret = os.urandom(20)
    dev.call("add_courier", int(time.time()), args.label, secret.hex())
    uri = otpauth_uri(args.label, secret)
    print("Courier %r registered. Give this to the courier ONCE (it is not stored on this PC):" % args.label)
    print(uri)
    try:
        import qrcode

        q = qrcode.QRCode(border=1)
        q.add_data(uri)
        q.print_ascii(invert=True)
    except ImportError:
        pass
    return 0


def add_parser(sub):
    device = add_device_args

    c = sub.add_parser("codes", help="register, list and revoke delivery codes")
    csub = c.add_subparsers(dest="action", required=True)
    a = csub.add_parser("add", help="register a one-time delivery code (4-12 digits)")
    a.add_argument("code", help="4 to 12 digits, or - to read it from the keyboard without showing it (keeps it out of the shell history)")
    a.add_argument("--label", required=True)
    a.add_argument("--from", dest="from_", help="valid from (UTC, e.g. 2026-06-25T09:00Z)")
    a.add_argument("--until", help="valid until (UTC); a date alone means the end of that day")
    device(a, True)
    a.set_defaults(func=guard(cmd_codes_add))
    ls = csub.add_parser("list", help="labels, windows, used or not (never the codes)")
    device(ls, True)
    ls.set_defaults(func=guard(cmd_codes_list))
    r = csub.add_parser("revoke", help="stop accepting a code")
    r.add_argument("label")
    device(r, True)
    r.set_defaults(func=guard(cmd_codes_revoke))

    co = sub.add_parser("courier", help="courier TOTP codes")
    cosub = co.add_subparsers(dest="action", required=True)
    ca = cosub.add_parser("add", help="make a TOTP secret for a courier and install it on the device")
    ca.add_argument("--label", required=True)
    device(ca, True)
    ca.set_defaults(func=guard(cmd_courier_add))
