"""`doorstep provision / codes / courier / pull`: the homeowner's commands that talk to a device.

A device is `sim:PATH` (the simulator's flash folder) or anything mpremote connects to
(/dev/ttyUSB0, socket://127.0.0.1:PORT). Either way the work is done by the firmware's own
doorstep.admin module ON the device: keys and code hashes are made there, never here.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

from doorstep_tools.timefmt import parse_utc, parse_utc_until, show_utc

MARK = "@@doorstep "


class DeviceError(Exception):
    """Something the homeowner must act on; the message says what."""


# Devices

class SimDevice:
    def __init__(self, path):
        from doorstep.storage import Storage

        if not os.path.isdir(path):
            raise DeviceError("no simulated device at %s: start it once with `doorstep sim --state %s`, or give the right folder" % (path, path))
        self.path = path
        self.storage = Storage(path)
        self.name = "sim:" + os.path.abspath(path)

    def call(self, fn, *args):
        from doorstep import admin

        if fn == "provision":
            from doorstep.provision import firmware_hash
            from doorstep_tools import FIRMWARE

            # The firmware this simulated device runs is this checkout's firmware/.
            t, cfg, given_fw, merge, admin_key = args
            args = (os.urandom, t, cfg, given_fw or firmware_hash(FIRMWARE), merge, admin_key)
        try:
            return getattr(admin, fn)(self.storage, *args)
        except ValueError as e:  # CodeError, ConfigError: the device refused, with a reason
            raise DeviceError(str(e))

    def fetch(self, rels, dest, progress):
        for i, rel in enumerate(rels, 1):
            target = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(os.path.join(self.path, rel), target + ".part")
            os.replace(target + ".part", target)
            progress(i, len(rels), rel)


class RemoteDevice:
    """A board reached through the real mpremote (serial port or socket:// URL)."""

    def __init__(self, port):
        self.port = port
        self.name = port
        self.mpremote = shutil.which("mpremote") or os.path.join(os.path.dirname(sys.executable), "mpremote")

    def _run(self, *cmd, timeout=600, program=None, stdin=None):
        try:
            r = subprocess.run((program or [self.mpremote]) + ["connect", self.port, *cmd], input=stdin,
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DeviceError("the device at %s stopped answering. Check the cable and power, then try again." % self.port)
        if r.returncode != 0 and MARK not in r.stdout:
            err = (r.stderr + r.stdout).strip().splitlines()
            last = err[-1] if err else "no answer"
            if "failed to access" in last or "could not" in last.lower() or "no device" in last.lower() or "Errno" in last:
                raise DeviceError("cannot reach a device at %s (%s). Check the port name, the cable, and that no other program uses it." % (self.port, last))
            raise DeviceError(_device_message(last))
        return r.stdout

    def call(self, fn, *args):
        if fn == "provision":
            pre, args_code = "from doorstep.provision import default_rng as rng\n", "rng, *a"
        else:
            pre, args_code = "", "*a"
        code = (
            "import json\nfrom doorstep import admin\nfrom doorstep.storage import Storage\n" + pre
            + "a = json.loads(%r)\n" % json.dumps(list(args))
            + "admin.reply(admin.%s(Storage(''), %s))\n" % (fn, args_code)
        )
        if importlib.util.find_spec("mpremote") is None:
            raise DeviceError("mpremote is not installed for %s: run `make setup` (or `%s -m pip install mpremote`)" % (sys.executable, sys.executable))
        # The program goes in on mpremote's stdin: as an `exec` argument the code, passwords
        # or courier secret it carries would be in the process list for anyone on this PC.
        out = self._run(program=[sys.executable, "-c", _EXEC_STDIN], stdin=code)
        for line in out.splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise DeviceError(_device_message(out.strip().splitlines()[-1] if out.strip() else "no answer from the device"))

    def fetch(self, rels, dest, progress):
        # One mpremote session for all files: "cp :a a + cp :b b + ..."
        batch = 20
        for start in range(0, len(rels), batch):
            part = rels[start : start + batch]
            cmd = []
            for rel in part:
                target = os.path.join(dest, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                cmd += ["cp", ":" + rel, target, "+"]
            self._run(*cmd[:-1])
            for i, rel in enumerate(part, start + 1):
                progress(i, len(rels), rel)


# mpremote, run in this Python, with the program for `exec` read from stdin.
_EXEC_STDIN = "import sys\nfrom mpremote.main import main\nsys.argv += ['exec', sys.stdin.read()]\nsys.exit(main())\n"


def _device_message(line):
    """The device's own words from a traceback's last line ('doorstep.codes.CodeError: ...')."""
    if ": " in line:
        kind, msg = line.split(": ", 1)
        if kind.endswith(("CodeError", "ConfigError", "ValueError", "StorageError")):
            return msg
        if kind.endswith("ImportError"):
            return "the device has no Doorstep firmware (%s): run `doorstep deploy` first" % msg
    return "the device reported: %s" % line


def open_device(spec, args=None):
    if not spec:
        raise DeviceError("say which device with --device (sim:FOLDER, /dev/ttyUSB0, socket://HOST:PORT or mqtt:BROKER)")
    if spec.startswith("sim:"):
        return SimDevice(spec[4:])
    if spec.startswith(("mqtt:", "mqtts:")):
        from doorstep_tools import mqtt_device

        return mqtt_device.open_mqtt(spec, load_profiles(), save_profile, getattr(args, "mqtt_user", None),
                                     getattr(args, "mqtt_ca", None), _ask)
    return RemoteDevice(spec)


def _ask(prompt):
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt) or None
    return None


def _cable_only(spec, what):
    if (spec or "").startswith(("mqtt:", "mqtts:")):
        raise DeviceError("%s needs the cable (or sim:FOLDER): over MQTT the doorbell takes codes, courier, handover and"
                          " acknowledgement commands only%s" % (what, "; `doorstep collect` keeps its records" if what == "pull" else ""))


# The homeowner's pinned devices

def home():
    return os.environ.get("DOORSTEP_HOME") or os.path.join(os.path.expanduser("~"), ".doorstep")


def _profiles_path():
    return os.path.join(home(), "devices.json")


def load_profiles():
    try:
        with open(_profiles_path()) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError:
        raise DeviceError("%s is damaged; move it aside and provision again" % _profiles_path())


def save_profile(name, prof):
    profs = load_profiles()
    profs[name] = prof
    os.makedirs(home(), mode=0o700, exist_ok=True)
    tmp = _profiles_path() + ".tmp"
    # The profiles hold each device's admin key: readable by this user only.
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(profs, f, indent=2, sort_keys=True)
    os.replace(tmp, _profiles_path())


def fingerprint(pub_hex):
    return " ".join(pub_hex[i : i + 8] for i in range(0, len(pub_hex), 8))


def pinned_check(dev, info):
    """Refuse to talk to a device whose key is not the one pinned for it."""
    prof = load_profiles().get(dev.name)
    if prof and info and prof["pub"] != info["pub"]:
        raise DeviceError(
            "the device at %s is device %s, not device %s whose key you pinned. It may be a different or reset device: "
            "nothing was done. If you replaced it on purpose, run `doorstep provision --device %s --repin`." % (dev.name, info["dev"], prof["dev"], dev.name)
        )
    return prof


# Subcommands

def ask_secret(given, env, prompt):
    """A password from its flag, else the environment, else a prompt that does not echo
    (flags end up in the shell history); None when there is none to be had."""
    if given:
        return given
    if os.environ.get(env):
        return os.environ[env]
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt) or None
    return None


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
    _cable_only(args.device, "provisioning")  # the one trusted moment: the admin key is made here
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
    print("Pinned in %s. Next: `doorstep codes add CODE --label NAME --device %s`." % (_profiles_path(), args.device))
    return 0


def _connected(args):
    dev = open_device(args.device, args)
    info = dev.call("info")
    if info is None:
        raise DeviceError("the device at %s is not provisioned yet: run `doorstep provision --device %s`" % (dev.name, args.device))
    pinned_check(dev, info)
    return dev, info


def _window(args):
    t_from = parse_utc(args.from_) if args.from_ else None
    t_until = parse_utc_until(args.until) if args.until else None  # a date: to the end of that day
    return t_from, t_until


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
    t_from, t_until = _window(args)
    dev, _ = _connected(args)
    d = dev.call("add_code", int(time.time()), code, args.label, t_from, t_until)
    code = None
    win = ""
    if t_from or t_until:
        win = " valid %s to %s" % (show_utc(t_from) if t_from else "now", show_utc(t_until) if t_until else "until used")
    print("Registered code %r%s. It works once, typed at the door's keypad only.%s" % (d["label"], win, _proof(dev)))
    return 0


def _proof(dev):
    """Over MQTT the device answers once the change is a signed record: say which."""
    rec = getattr(dev, "last_record", None)
    return " (signed record seq %d)" % rec[0] if rec else ""


def cmd_codes_list(args):
    dev, _ = _connected(args)
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
    dev, _ = _connected(args)
    if not any(r["label"] == args.label for r in dev.call("list_codes")):
        raise DeviceError("no code has the label %r: `doorstep codes list --device %s` shows the labels" % (args.label, args.device))
    dev.call("revoke", int(time.time()), args.label)
    print("Revoked %r: it is no longer accepted.%s" % (args.label, _proof(dev)))
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
    dev, info = _connected(args)
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


def _progress(i, n, rel):
    width = 30
    done = width * i // max(n, 1)
    sys.stderr.write("\r[%s%s] %d/%d %s" % ("#" * done, "." * (width - done), i, n, rel[-40:].ljust(40)))
    if i == n:
        sys.stderr.write("\n")
    sys.stderr.flush()


ASIDE = ".before-pull"  # the copies a pull replaces, kept until the new log verifies


def _move(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    os.replace(src, dst)


def _undo(out, rels, rejected=None):
    """Put the copies set aside back. With `rejected`, what the device sent is moved there."""
    aside = os.path.join(out, ASIDE)
    for rel in rels:
        local, old = os.path.join(out, rel), os.path.join(aside, rel)
        if os.path.exists(local) and rejected:
            _move(local, os.path.join(rejected, rel))
        if os.path.exists(old):
            _move(old, local)
    shutil.rmtree(aside, ignore_errors=True)


def _interrupted(out):
    """Files set aside by a pull that never finished: they are the last verified copies."""
    aside = os.path.join(out, ASIDE)
    rels = []
    for base, _, names in os.walk(aside):
        rels += [os.path.relpath(os.path.join(base, n), aside) for n in names]
    return rels


def _plain_name(name):
    """A bare file name (no folder, no .., no drive): what the device's log folders hold."""
    return isinstance(name, str) and name not in ("", ".", "..") and not any(c in name for c in "/\\:\0")


def cmd_pull(args):
    from doorstep_tools.verify import verify

    out = args.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise DeviceError("%s is a file: give --out the folder that keeps this device's log (a new folder for a first pull)" % out)
    _cable_only(args.device, "pull")
    dev, info = _connected(args)
    if load_profiles().get(dev.name) is None:  # pinned below once its log verifies
        print("This PC has not pinned device %s yet: its key is pinned once its log verifies. Its fingerprint"
              " (compare it with the one noted when the doorbell was set up):\n  %s" % (info["dev"], fingerprint(info["pub"])))
    os.makedirs(out, exist_ok=True)
    _undo(out, _interrupted(out))
    # The pulled folder must belong to this device.
    dj = os.path.join(out, "device.json")
    if os.path.exists(dj):
        with open(dj) as f:
            have = json.load(f)
        if have.get("pub") != info["pub"]:
            raise DeviceError("%s holds records of device %s, not %s: pull into another folder" % (out, have.get("dev"), info["dev"]))
    man = dev.call("manifest")
    want = []
    for d in ("records", "photos", "quarantine"):
        for name, size in man[d]:
            if not _plain_name(name) or not isinstance(size, int):
                # Only a tampered device lists such a name: never write outside --out.
                raise DeviceError("the device listed %r in %s/, which is not a file name Doorstep writes;"
                                  " nothing was copied. Keep the device as it is: it may have been tampered with" % (name, d))
            rel = d + "/" + name
            local = os.path.join(out, rel)
            # Photos and closed segments never change: fetch what is new or has grown.
            if not os.path.exists(local) or os.path.getsize(local) != size:
                want.append(rel)
    # A log shortened or rewritten on the device must not replace the copy already here.
    for rel in want:
        if os.path.exists(os.path.join(out, rel)):
            _move(os.path.join(out, rel), os.path.join(out, ASIDE, rel))
    try:
        if want:
            print("Pulling %d new or grown file(s) from %s" % (len(want), info["dev"]))
            dev.fetch(want, out, _progress)
        else:
            print("Nothing new on the device.")
        head_path = os.path.join(out, "head.json")
        last = None
        if os.path.exists(head_path):
            with open(head_path) as f:
                last = json.load(f)
        res = verify(out, pub=bytes.fromhex(info["pub"]), head=last, keep_records=False)
    except BaseException:
        _undo(out, want)
        raise
    for f in res.findings:
        print(f)
    if not res.ok:
        rejected = os.path.join(out, "rejected", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
        _undo(out, want, rejected)
        sent = "; what the device sent is in %s" % rejected if want else ""
        print(
            "The log does NOT verify (%d problem(s), listed above). Your copy in %s is as it was before this pull%s. "
            "Nothing was changed on the device. Keep both as they are (they may be evidence) and pull a fresh copy "
            "into a new folder to compare: `doorstep pull --device %s --out NEW-FOLDER`." % (res.error_count, out, sent, args.device)
        )
        return 1
    shutil.rmtree(os.path.join(out, ASIDE), ignore_errors=True)
    with open(dj, "w") as f:
        json.dump({"pub": info["pub"], "dev": info["dev"]}, f)
    seq, h = res.head
    with open(head_path + ".tmp", "w") as f:
        json.dump({"seq": seq, "hash": h, "pulled_at": int(time.time())}, f)
    os.replace(head_path + ".tmp", head_path)
    dev.call("mark_pulled", seq, h)
    if load_profiles().get(dev.name) is None:
        save_profile(dev.name, {"pub": info["pub"], "dev": info["dev"], "pinned_at": int(time.time())})
        print("Pinned device %s in %s: later commands refuse a device with another key." % (info["dev"], _profiles_path()))
    print("OK: %d records up to seq %d verified and saved in %s." % (res.count, seq, out))
    from doorstep_tools import tsa

    tsa.after_pull(out)  # an independent time for the new head, if a TSA is configured
    return 0


def cmd_ack(args):
    """Tell the doorbell that the copy in DIR holds its records, so it may prune them for space."""
    from doorstep_tools.verify import verify

    if not os.path.isdir(args.dir):
        raise DeviceError("%s is not a folder: give the folder `doorstep pull` or `doorstep collect` keeps" % args.dir)
    dev, info = _connected(args)
    head = None
    if os.path.exists(os.path.join(args.dir, "head.json")):
        with open(os.path.join(args.dir, "head.json")) as f:
            head = json.load(f)
    res = verify(args.dir, pub=bytes.fromhex(info["pub"]), head=head, keep_records=False)
    if not res.ok:
        raise DeviceError("the copy in %s does not verify (%d problem(s); `doorstep verify %s` lists them): nothing was"
                          " acknowledged, and the doorbell keeps everything" % (args.dir, res.error_count, args.dir))
    seq, h = res.head
    dev.call("mark_pulled", seq, h)
    print("The doorbell knows your copy in %s holds its records up to seq %d: it may free them when its flash runs short." % (args.dir, seq))
    return 0


def add_device_args(p, mqtt=False):
    """--device (and, where MQTT can reach the device, the broker's login and CA)."""
    p.add_argument("--device", required=True, help="sim:FOLDER, a serial port or socket://HOST:PORT"
                   + (", or mqtt:BROKER[:PORT][/DEVICE-ID] (mqtts: for TLS) to reach it through your MQTT broker" if mqtt else ""))
    if mqtt:
        p.add_argument("--mqtt-user", default=os.environ.get("DOORSTEP_MQTT_USER"),
                       help="your broker login for --device mqtt:... (password: DOORSTEP_MQTT_PASSWORD or a prompt)")
        p.add_argument("--mqtt-ca", help="CA certificate file of the broker, for mqtts:")


def _guard(fn):
    def run(args):
        try:
            return fn(args)
        except (DeviceError, ValueError) as e:
            print("doorstep %s: %s" % (args.cmd, e), file=sys.stderr)
            return 1
        except OSError as e:
            if e.filename is None:
                raise
            print("doorstep %s: cannot use %s (%s). Check the path and that you may write there." % (args.cmd, e.filename, e.strerror), file=sys.stderr)
            return 1

    return run


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
    p.set_defaults(func=_guard(cmd_provision))

    c = sub.add_parser("codes", help="register, list and revoke delivery codes")
    csub = c.add_subparsers(dest="action", required=True)
    a = csub.add_parser("add", help="register a one-time delivery code (4-12 digits)")
    a.add_argument("code", help="4 to 12 digits, or - to read it from the keyboard without showing it (keeps it out of the shell history)")
    a.add_argument("--label", required=True)
    a.add_argument("--from", dest="from_", help="valid from (UTC, e.g. 2026-06-25T09:00Z)")
    a.add_argument("--until", help="valid until (UTC); a date alone means the end of that day")
    device(a, True)
    a.set_defaults(func=_guard(cmd_codes_add))
    ls = csub.add_parser("list", help="labels, windows, used or not (never the codes)")
    device(ls, True)
    ls.set_defaults(func=_guard(cmd_codes_list))
    r = csub.add_parser("revoke", help="stop accepting a code")
    r.add_argument("label")
    device(r, True)
    r.set_defaults(func=_guard(cmd_codes_revoke))

    co = sub.add_parser("courier", help="courier TOTP codes")
    cosub = co.add_subparsers(dest="action", required=True)
    ca = cosub.add_parser("add", help="make a TOTP secret for a courier and install it on the device")
    ca.add_argument("--label", required=True)
    device(ca, True)
    ca.set_defaults(func=_guard(cmd_courier_add))

    ak = sub.add_parser("ack", help="tell the doorbell a verified copy holds its records (so it may prune them)")
    ak.add_argument("dir", help="the folder `doorstep pull` or `doorstep collect` keeps")
    device(ak, True)
    ak.set_defaults(func=_guard(cmd_ack))

    pl = sub.add_parser("pull", help="copy new records and photos from the device and verify them")
    device(pl, True)
    pl.add_argument("--out", required=True, help="the folder that keeps this device's log")
    pl.set_defaults(func=_guard(cmd_pull))
