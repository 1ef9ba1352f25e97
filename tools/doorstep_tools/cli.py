"""The homeowner's `doorstep` command."""

import argparse
import os
import sys


def cmd_verify(args):
    """The standalone verifier's checks (doorstep_tools.bundle_verify), with a checkpoint that
    may come from the MQTT broker and advice for a folder `doorstep pull` keeps."""
    from doorstep_tools import bundle_verify as core

    if not os.path.isdir(args.dir):
        print("doorstep verify: %s is not a folder. Give the folder `doorstep pull --out` wrote." % args.dir, file=sys.stderr)
        return 2
    try:
        pub = core.find_key(args.dir, args.key, args.fingerprint)[0]
        checkpoint = _checkpoint(args, pub)
        res = core.check_folder(args.dir, args.key, args.fingerprint, args.head, checkpoint=checkpoint, tsa_ca=args.tsa_ca)
    except CheckpointError as e:
        print("doorstep verify: checkpoint: %s" % e, file=sys.stderr)
        return 1
    except core.SetupError as e:
        print("doorstep verify: %s" % e, file=sys.stderr)
        return 2
    lines, code = core.summary(res)
    if res.error_count:
        lines[-1] += (" Do not rely on this log as it is: keep the folder unchanged (it may be evidence) and, if it came from"
                      " `doorstep pull`, pull a fresh copy into a new folder and verify that.")
    print("\n".join(lines))
    return code


class CheckpointError(Exception):
    pass


def _mqtt_password(args):
    """The broker password: never on the command line (shell history, ps); env or prompt."""
    from doorstep_tools.device_cmds import ask_secret

    return ask_secret(None, "DOORSTEP_MQTT_PASSWORD", "MQTT password for %s: " % args.mqtt_user)


def _mqtt_url(url):
    """mqtt://HOST[:PORT] or mqtts://HOST[:PORT] -> (host, port, tls)."""
    from urllib.parse import urlsplit

    u = urlsplit(url)
    tls = u.scheme == "mqtts"
    return u.hostname, u.port or (8883 if tls else 1883), tls


def _checkpoint(args, pub):
    """--checkpoint FILE (JSON, checked if signed) or mqtt://HOST:PORT (the retained one)."""
    from doorstep_tools import checkpoint as cpmod

    spec = args.checkpoint
    if not spec:
        return None
    if spec.startswith(("mqtt://", "mqtts://")):
        if pub is None:
            raise CheckpointError("a checkpoint from the broker needs the pinned key (--fingerprint, --key or DIR/device.json)")
        if not args.mqtt_user:
            raise CheckpointError("give --mqtt-user (the password comes from DOORSTEP_MQTT_PASSWORD or a prompt)")
        host, port, tls = _mqtt_url(spec)
        try:
            return cpmod.from_broker(host, port, args.mqtt_user, _mqtt_password(args), pub, topic=args.mqtt_topic, tls=tls, cafile=args.mqtt_ca)
        except cpmod.CheckpointError as e:
            raise CheckpointError(str(e))
    from doorstep_tools.bundle_verify import SetupError, load_checkpoint

    try:
        return load_checkpoint(spec, pub)
    except SetupError as e:
        raise CheckpointError(str(e))


def cmd_sim(args):
    if os.path.exists(args.state) and not os.path.isdir(args.state):
        print("doorstep sim: %s is a file; --state needs a folder (the simulated device's flash)" % args.state, file=sys.stderr)
        return 2
    try:
        mqtt = _sim_mqtt(args)
    except ValueError as e:
        print("doorstep sim: %s" % e, file=sys.stderr)
        return 2
    if args.flash_kb < 64:
        print("doorstep sim: --flash-kb must be 64 or more (the device keeps its key, codes and log there)", file=sys.stderr)
        return 2
    if args.script:
        from doorstep_tools.sim import ScriptError, run_script

        if not os.path.isfile(args.script):
            print("doorstep sim: no script file %s" % args.script, file=sys.stderr)
            return 2
        try:
            run_script(args.state, args.script, mqtt=mqtt, flash_kb=args.flash_kb)
        except ScriptError as e:
            print("doorstep sim: %s: %s" % (args.script, e), file=sys.stderr)
            return 1
        return 0
    if not sys.stdin.isatty():
        print("doorstep sim: the interactive simulator needs a terminal; use --script FILE to replay a scenario", file=sys.stderr)
        return 2
    from doorstep_tools.interactive import run

    run(args.state, mqtt, args.flash_kb)
    return 0


def _sim_mqtt(args):
    """The simulator's --mqtt HOST:PORT options as config["mqtt"], or None."""
    if not args.mqtt:
        return None
    host, _, port = args.mqtt.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("--mqtt must look like 192.168.1.10:1883")
    if not args.mqtt_user:
        raise ValueError("--mqtt needs --mqtt-user and a password (--mqtt-password, DOORSTEP_MQTT_PASSWORD or a prompt): brokers get no default login")
    pw = args.mqtt_password if args.mqtt_password is not None else _mqtt_password(args)
    if not pw:
        raise ValueError("no MQTT password given (--mqtt-password, DOORSTEP_MQTT_PASSWORD or a prompt)")
    return {"host": host, "port": int(port), "user": args.mqtt_user, "password": pw}


# Subcommands that live in their own modules: each has add_parser(subparsers).
COMMAND_MODULES = ("provision_cmd", "codes_cmds", "pull_cmd", "handover_cmds", "collect", "report", "vboard", "deploy", "flash", "tsa", "snapshot_cmd")


def build_parser():
    p = argparse.ArgumentParser(prog="doorstep", description="Doorstep: keypad-only delivery codes and signed door records.")
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="check a pulled log: signatures, chain, photos, truncation")
    v.add_argument("dir")
    v.add_argument("--fingerprint", help="the device's key as `doorstep provision` printed it (8 groups of 8 hex digits)")
    v.add_argument("--key", help="file with the pinned public key (hex) or device profile (default: DIR/device.json)")
    v.add_argument("--head", help="the last head seen, as JSON {seq, hash} (default: DIR/head.json)")
    v.add_argument("--checkpoint", help="a checkpoint the log must reach: a JSON file {seq, hash, ...} (its signature is checked if it has one), or mqtt://HOST[:PORT] / mqtts://HOST[:PORT] to read the device's retained signed checkpoint")
    v.add_argument("--mqtt-user", help="broker user for --checkpoint mqtt://... (password: DOORSTEP_MQTT_PASSWORD or a prompt)")
    v.add_argument("--mqtt-topic", help="checkpoint topic if the device uses another topic_prefix (default doorstep/<device id>/checkpoint)")
    v.add_argument("--mqtt-ca", help="CA certificate file for mqtts://")
    v.add_argument("--tsa-ca", help="the time-stamping authority's CA certificate, PEM (default: DIR/timestamps/tsa-ca.pem)")
    v.set_defaults(func=cmd_verify)
    s = sub.add_parser("sim", help="run the device on this PC (a virtual keypad, camera and clock)")
    s.add_argument("--state", default="sim-device", help="the simulated device's flash (a folder; made and provisioned if new)")
    s.add_argument("--script", help="replay a scenario file instead of using the terminal as the keypad")
    s.add_argument("--flash-kb", type=int, default=2048, metavar="KB",
                   help="the simulated device's flash for its files (default 2048: an ESP32's 2 MB LittleFS)")
    s.add_argument("--mqtt", metavar="HOST:PORT", help="also report to this MQTT broker, as the device would (Home Assistant discovery)")
    s.add_argument("--mqtt-user", help="broker user for --mqtt")
    s.add_argument("--mqtt-password", help="broker password for --mqtt (better: DOORSTEP_MQTT_PASSWORD or the prompt)")
    s.set_defaults(func=cmd_sim)
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module("doorstep_tools." + name).add_parser(sub)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
