"""A private mosquitto broker for tests: 127.0.0.1 only, logins required, nothing kept on disk.

Debian's mosquitto (2.0.x) is installed with apt-get when it is missing. Each Broker has its
own folder (config, password file, log) and a free port; stop() and start() again keep the
port, so a test can take the broker away mid-session and bring it back empty (persistence
is off: retained messages are gone after a restart, as after a real broker reinstall).
"""

import os
import shutil
import socket
import subprocess
import time

SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")


def _which(name):
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


def ensure_installed():
    """Paths of (mosquitto, mosquitto_passwd), installing Debian's package if needed."""
    if not (_which("mosquitto") and _which("mosquitto_passwd")):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "mosquitto"],
                check=True, env=env, capture_output=True,
            )
        except (OSError, subprocess.CalledProcessError) as e:
            err = getattr(e, "stderr", None) or b""
            raise RuntimeError(
                "the MQTT tests need the mosquitto broker and it could not be installed (%s). "
                "Install it as root: apt-get install --no-install-recommends mosquitto" % (err.decode(errors="replace").strip() or e)
            )
    return _which("mosquitto"), _which("mosquitto_passwd")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    host = "127.0.0.1"

    def __init__(self, folder, users, tls=None):
        """users: {name: password}; tls: None or (cafile, certfile, keyfile) for a TLS listener."""
        self.folder = str(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.users = dict(users)
        self.tls = tls
        self.port = free_port()
        self.proc = None
        self.mosquitto, passwd = ensure_installed()
        pwfile = os.path.join(self.folder, "passwords")
        for i, (user, password) in enumerate(self.users.items()):
            args = [passwd, "-b"] + (["-c"] if i == 0 else []) + [pwfile, user, password]
            subprocess.run(args, check=True, capture_output=True)
        lines = [
            "listener %d %s" % (self.port, self.host),
            "allow_anonymous false",
            "password_file %s" % pwfile,
            "persistence false",
            "log_dest stderr",
        ]
        if tls:
            lines += ["cafile %s" % tls[0], "certfile %s" % tls[1], "keyfile %s" % tls[2]]
        if os.geteuid() == 0:
            # As root mosquitto drops to the `mosquitto` user, which cannot read a test's
            # private temporary folder; this broker only listens on 127.0.0.1.
            lines.insert(0, "user root")
        self.conf = os.path.join(self.folder, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = os.path.join(self.folder, "mosquitto.log")

    def start(self, timeout=5.0):
        assert self.proc is None, "the broker is already running"
        log = open(self.log, "ab")
        self.proc = subprocess.Popen([self.mosquitto, "-c", self.conf], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto stopped at start:\n" + self.read_log())
            try:
                socket.create_connection((self.host, self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.01)
        self.stop()
        raise RuntimeError("mosquitto did not listen on port %d within %ss" % (self.port, timeout))

    def stop(self):
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def read_log(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")
