"""What every command that talks to a device shares: opening it, the pinned keys, the --device flag.

A device is `sim:PATH` (the simulator's flash folder), `mqtt:BROKER` (sealed remote administration)
or anything mpremote connects to (/dev/ttyUSB0, socket://127.0.0.1:PORT). Either way the work is
done by the firmware's own doorstep.admin module ON the device: keys and code hashes are made there,
never here. The commands themselves: provision_cmd, codes_cmds, pull_cmd, handover_cmds.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

from doorstep_tools.timefmt import parse_utc, parse_utc_until

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


def cable_only(spec, what):
    if (spec or "").startswith(("mqtt:", "mqtts:")):
        raise DeviceError("%s needs the cable (or sim:FOLDER): over MQTT the doorbell takes codes, courier, handover and"
                          " acknowledgement commands only%s" % (what, "; `doorstep collect` keeps its records" if what == "pull" else ""))


# The homeowner's pinned devices

def home():
    return os.environ.get("DOORSTEP_HOME") or os.path.join(os.path.expanduser("~"), ".doorstep")


def profiles_path():
    return os.path.join(home(), "devices.json")


def load_profiles():
    try:
        with open(profiles_path()) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError:
        raise DeviceError("%s is damaged; move it aside and provision again" % profiles_path())


def save_profile(name, prof):
    profs = load_profiles()
    profs[name] = prof
    os.makedirs(home(), mode=0o700, exist_ok=True)
    tmp = profiles_path() + ".tmp"
    # The profiles hold each device's admin key: readable by this user only.
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(profs, f, indent=2, sort_keys=True)
    os.replace(tmp, profiles_path())


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


# Shared by the commands

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


def connected(args):
    """The device --device names, provisioned and holding the key pinned for it."""
    dev = open_device(args.device, args)
    info = dev.call("info")
    if info is None:
        raise DeviceError("the device at %s is not provisioned yet: run `doorstep provision --device %s`" % (dev.name, args.device))
    pinned_check(dev, info)
    return dev, info


def window(args):
    """--from / --until as UTC seconds (None where not given)."""
    t_from = parse_utc(args.from_) if args.from_ else None
    t_until = parse_utc_until(args.until) if args.until else None  # a date: to the end of that day
    return t_from, t_until


def proof(dev):
    """Over MQTT the device answers once the change is a signed record: say which."""
    rec = getattr(dev, "last_record", None)
    return " (signed record seq %d)" % rec[0] if rec else ""


def add_device_args(p, mqtt=False):
    """--device (and, where MQTT can reach the device, the broker's login and CA)."""
    p.add_argument("--device", required=True, help="sim:FOLDER, a serial port or socket://HOST:PORT"
                   + (", or mqtt:BROKER[:PORT][/DEVICE-ID] (mqtts: for TLS) to reach it through your MQTT broker" if mqtt else ""))
    if mqtt:
        p.add_argument("--mqtt-user", default=os.environ.get("DOORSTEP_MQTT_USER"),
                       help="your broker login for --device mqtt:... (password: DOORSTEP_MQTT_PASSWORD or a prompt)")
        p.add_argument("--mqtt-ca", help="CA certificate file of the broker, for mqtts:")


def guard(fn):
    """Run a command so that what the homeowner must act on is one line on stderr, not a traceback."""
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
