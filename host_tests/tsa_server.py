"""A real RFC 3161 time-stamping authority for tests, on 127.0.0.1 only.

The test CA and TSA certificates are made here (with `cryptography`, which can set any
validity period); each request is answered by `openssl ts -reply`, as a small real TSA
would. `mode` picks the signer: "good" (the TSA, valid), "expired" (a TSA certificate of the
same CA whose validity ended yesterday) or "rogue" (a TSA of another CA). `requests` counts
what was asked.
"""

import datetime
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG = """\
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
serial = {serial}
crypto_device = builtin
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
signer_digest = sha256
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""
NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Doorstep tests"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - 30 * DAY).not_valid_after(NOW + 30 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _tsa(cn, ca_key, ca_cert, not_after):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - 10 * DAY).not_valid_after(not_after)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


class LocalTSA:
    def __init__(self, folder):
        if shutil.which("openssl") is None:
            raise RuntimeError("these tests run a real time-stamping authority with `openssl ts`: install openssl")
        self.folder = str(folder)
        os.makedirs(self.folder, exist_ok=True)
        ca_key, ca = _ca("Doorstep test CA")
        rogue_key, rogue_ca = _ca("Some other CA")
        self.ca_file = self._pem("ca.pem", ca)
        self.other_ca_file = self._pem("other-ca.pem", rogue_ca)
        self.signers = {}
        for mode, (key, cert) in {"good": _tsa("Doorstep test TSA", ca_key, ca, NOW + 20 * DAY),
                                  "expired": _tsa("Doorstep test TSA (old)", ca_key, ca, NOW - DAY),
                                  "rogue": _tsa("Doorstep test TSA", rogue_key, rogue_ca, NOW + 20 * DAY)}.items():
            with open(os.path.join(self.folder, mode + ".key"), "wb") as f:
                f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            self.signers[mode] = (self._pem(mode + ".pem", cert), os.path.join(self.folder, mode + ".key"))
        with open(os.path.join(self.folder, "serial"), "w") as f:
            f.write("01\n")
        with open(os.path.join(self.folder, "ts.cnf"), "w") as f:
            f.write(CONFIG.format(serial=os.path.join(self.folder, "serial")))
        self.mode, self.requests, self.lock = "good", 0, threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = "http://127.0.0.1:%d/tsa" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _pem(self, name, cert):
        path = os.path.join(self.folder, name)
        with open(path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        return path

    def reply(self, query, mode=None):
        """openssl's answer (DER TimeStampResp) to a DER TimeStampReq, signed as `mode` says."""
        signer, key = self.signers[mode or self.mode]
        with self.lock:
            q, r = os.path.join(self.folder, "q.tsq"), os.path.join(self.folder, "r.tsr")
            with open(q, "wb") as f:
                f.write(query)
            subprocess.run(["openssl", "ts", "-reply", "-config", os.path.join(self.folder, "ts.cnf"), "-queryfile", q,
                            "-signer", signer, "-inkey", key, "-out", r], check=True, capture_output=True, timeout=30)
            with open(r, "rb") as f:
                return f.read()

    def _handler(self):
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                tsa.requests += 1
                query = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415)
                    return
                body = tsa.reply(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()
