"""The homeowner's `doorstep` command."""

import argparse
import json
import os
import sys


def _pinned(path):
    """The pinned public key: a hex file, or the profile written by `doorstep provision`."""
    if not path:
        return None
    with open(path) as f:
        text = f.read().strip()
    if text.startswith("{"):
        text = json.loads(text)["pub"]
    return bytes.fromhex(text)


def _ref(path):
    if not path:
        return None
    with open(path) as f:
        return json.load(f)


def cmd_verify(args):
    from doorstep_tools.verify import verify

    if not os.path.isdir(args.dir):
        print("doorstep verify: %s is not a folder. Give the folder `doorstep pull --out` wrote." % args.dir, file=sys.stderr)
        return 2
    head = _ref(args.head) if args.head else _ref_default(args.dir)
    res = verify(args.dir, pub=_pinned(args.key) if args.key else _pinned_default(args.dir), head=head, checkpoint=_ref(args.checkpoint))
    for f in res.findings:
        print(f)
    n = len(res.records)
    if res.ok:
        print("OK: %d records verified (seq %d to %d), signatures, chain and photos intact." % (n, res.records[0]["seq"], res.head[0]))
        return 0
    print("FAILED: %d problem(s) found in %d records. Do not rely on this log as it is." % (len(res.errors), n))
    return 1


def _pinned_default(d):
    p = os.path.join(d, "device.json")
    return _pinned(p) if os.path.exists(p) else None


def _ref_default(d):
    p = os.path.join(d, "head.json")
    return _ref(p) if os.path.exists(p) else None


def cmd_sim(args):
    if args.script:
        from doorstep_tools.sim import ScriptError, run_script

        if not os.path.isfile(args.script):
            print("doorstep sim: no script file %s" % args.script, file=sys.stderr)
            return 2
        try:
            run_script(args.state, args.script)
        except ScriptError as e:
            print("doorstep sim: %s: %s" % (args.script, e), file=sys.stderr)
            return 1
        return 0
    if not sys.stdin.isatty():
        print("doorstep sim: the interactive simulator needs a terminal; use --script FILE to replay a scenario", file=sys.stderr)
        return 2
    from doorstep_tools.interactive import run

    run(args.state)
    return 0


# Subcommands that live in their own modules: each has add_parser(subparsers).
COMMAND_MODULES = ("device_cmds", "report", "vboard", "deploy", "flash")


def build_parser():
    p = argparse.ArgumentParser(prog="doorstep", description="Doorstep: keypad-only delivery codes and signed door records.")
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="check a pulled log: signatures, chain, photos, truncation")
    v.add_argument("dir")
    v.add_argument("--key", help="file with the pinned public key (hex) or device profile (default: DIR/device.json)")
    v.add_argument("--head", help="the last head seen, as JSON {seq, hash} (default: DIR/head.json)")
    v.add_argument("--checkpoint", help="a signed checkpoint JSON {seq, hash, ...} the log must reach")
    v.set_defaults(func=cmd_verify)
    s = sub.add_parser("sim", help="run the device on this PC (a virtual keypad, camera and clock)")
    s.add_argument("--state", default="sim-device", help="the simulated device's flash (a folder; made and provisioned if new)")
    s.add_argument("--script", help="replay a scenario file instead of using the terminal as the keypad")
    s.set_defaults(func=cmd_sim)
    import importlib

    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module("doorstep_tools." + name)
        except ModuleNotFoundError as e:
            if e.name != "doorstep_tools." + name:
                raise
            continue
        mod.add_parser(sub)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
