"""`doorstep provision`: the one trusted moment, over the cable. The device makes its key; this PC pins it
and keeps the new admin key that remote administration is sealed with."""

import json
import os
import time

from doorstep_tools.device_cmds import (DeviceError, add_device_args, ask_secret, cable_only, fingerprint, guard,
                                        load_profiles, open_device, pinned_check, profiles_path, save_profile)
from doorstep_tools.timefmt import show_utc


def _config_from(args):
    """The configuration given by --config and the flags, or None if none was given."""
    given = args.config or args.heartbeat_min is not None or args.board or args.wifi_ssid or args.wifi_password or args.mqtt
    if not given:
        return None
    cfg = {}
    if args.config:
        try:
            with open(args.config) as f:
                cfg = json.load(f)
        except (OSError, ValueError) as e:
            raise DeviceError("cannot read the configuration file %s: %s" % (args.config, e))
        if not isinstance(cfg, dict):
            raise DeviceError("the configuration file %s must hold a JSON object" % args.config)
    if args.heartbeat_min is not None:
        cfg["heartbeat_min"] = args.heartbeat_min
    if args.board:
        cfg.setdefault("board", {})["profile"] = args.board
    if args.wifi_ssid or args.wifi_password:
        pw = ask_secret(args.wifi_password, "DOORSTEP_WIFI_PASSWORD", "Wi-Fi password for %s: " % args.wifi_ssid) if args.wifi_ssid else None
        if not (args.wifi_ssid and pw):
            raise DeviceError("Wi-Fi needs both --wifi-ssid and --wifi-password (or DOORSTEP_WIFI_PASSWORD; there is no default password)")
        cfg["wifi"] = {"ssid": args.wifi_ssid, "password": pw}
    if args.mqtt:
        args.mqtt_password = ask_secret(args.mqtt_password, "DOORSTEP_MQTT_PASSWORD", "MQTT password for %s: " % args.mqtt_user) if args.mqtt_user else None
        if not (args.mqtt_user and args.mqtt_password):
            raise DeviceError("MQTT needs --mqtt-user and --mqtt-password (or DOORSTEP_MQTT_PASSWORD; Doorstep has no default credentials)")
        host, _, port = args.mqtt.partition(":")
        if not host or not (port or "1883").isdigit():
            raise DeviceError("--mqtt must look like 192.168.1.10:1883 (the broker's address and port)")
        cfg["mqtt"] = {"host": host, "port": int(port or 1883), "user": args.mqtt_user, "password": args.mqtt_password}
    return cfg


def cmd_provision(args):
    cable_only(args.device, "provisioning")  # the one trusted moment: the admin key is made here
    dev = open_device(args.device, args)
    info = dev.call("info")
    prof = load_profiles().get(dev.name)
    if prof and info and prof["pub"] != info["pub"] and not args.repin:
        pinned_check(dev, info)
    cfg = _config_from(args)
    kept = info and info["next_seq"] > 0 and cfg is None  # provisioned: keep its configuration (Wi-Fi...)
    now = int(time.time())
    # A new admin key every time: provisioning again over the cable is how a lost PC is replaced.
    admin_key = os.urandom(32).hex()
    # Flags change only the settings they name; --config FILE replaces the configuration.
    res = dev.call("provision", now, None if kept else (cfg or {}), "", not args.config, admin_key)
    if prof and prof["pub"] != res["pub"] and not args.repin:
        raise DeviceError("the device made a new key although one is pinned: run with --repin to accept it")
    new = {"pub": res["pub"], "dev": res["dev"], "pinned_at": int(time.time()), "admin": admin_key, "admin_n": 0}
    prefix = ((cfg or {}).get("mqtt") or {}).get("topic_prefix") or (prof or {}).get("topic_prefix")
    if prefix:
        new["topic_prefix"] = prefix
    save_profile(dev.name, new)
    print("Device %s is provisioned. Its public key (keep this fingerprint with your records):" % res["dev"])
    print("  " + fingerprint(res["pub"]))
    if res.get("clock_set"):
        print("Its clock is set to %s UTC (from this PC)." % show_utc(now, "%Y-%m-%d %H:%M:%S"))
    if kept:
        print("Its configuration was left as it was (give --config or --wifi-ssid ... to change it).")
    print("A new admin key for remote administration (`--device mqtt:BROKER`) is kept in your profile only;"
          " the one before it no longer works.")
    print("Pinned in %s. Next: `doorstep codes add CODE --label NAME --device %s`." % (profiles_path(), args.device))
    return 0


def add_parser(sub):
    device = add_device_args

    p = sub.add_parser("provision", help="first-time set-up: device key, clock, configuration; pin the key")
    device(p)
    p.add_argument("--config", help="a JSON file with the configuration (wifi, mqtt, heartbeat_min, board, ...)")
    p.add_argument("--wifi-ssid", help="your Wi-Fi network (WPA; the password is asked for, or give it)")
    p.add_argument("--wifi-password", help="better: leave it out to be asked, or set DOORSTEP_WIFI_PASSWORD")
    p.add_argument("--mqtt", metavar="HOST[:PORT]", help="your MQTT broker (Home Assistant), port 1883 by default")
    p.add_argument("--mqtt-user")
    p.add_argument("--mqtt-password", help="better: leave it out to be asked, or set DOORSTEP_MQTT_PASSWORD")
    p.add_argument("--heartbeat-min", type=int)
    p.add_argument("--board", help="board profile (see docs/hardware.md)")
    p.add_argument("--repin", action="store_true", help="accept a device whose key differs from the pinned one")
    p.set_defaults(func=guard(cmd_provision))
