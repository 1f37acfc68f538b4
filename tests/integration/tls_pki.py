"""Test PKI and TLS client helpers shared by the wss:// integration tests: a root CA, an
intermediate and two server certificates made with the openssl CLI at test time, and small
clients over Python's ssl (raw HTTPS, python-websockets over wss://)."""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import harness

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
SUBPROTOCOL = "herald.v1"


def openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class TestPki:
    """root CA -> intermediate -> leaf certificates for 127.0.0.1 and localhost."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="herald_tls_")
        d = self.dir
        with open(os.path.join(d, "ca.ext"), "w") as f:
            f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
        with open(os.path.join(d, "leaf.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                    "extendedKeyUsage=serverAuth\n")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=Herald Test Root CA", "-addext",
                "basicConstraints=critical,CA:TRUE", cwd=d)
        openssl("req", *ec, "-keyout", "int.key", "-out", "int.csr",
                "-subj", "/CN=Herald Test Intermediate", cwd=d)
        openssl("x509", "-req", "-in", "int.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-set_serial", "2", "-days", "2", "-extfile", "ca.ext", "-out", "int.pem",
                cwd=d)
        for name, serial in (("leaf1", 10), ("leaf2", 11)):
            openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
                    "-subj", "/CN=herald-" + name, cwd=d)
            openssl("x509", "-req", "-in", name + ".csr", "-CA", "int.pem", "-CAkey", "int.key",
                    "-set_serial", str(serial), "-days", "2", "-extfile", "leaf.ext",
                    "-out", name + ".crt", cwd=d)
            # The chain file the broker serves: leaf first, then the intermediate.
            with open(self.path(name + ".chain.pem"), "w") as out:
                for part in (name + ".crt", "int.pem"):
                    with open(self.path(part)) as f:
                        out.write(f.read())
        # What the broker is started with; a reload replaces these files.
        self.install("leaf1")

    def path(self, name):
        return os.path.join(self.dir, name)

    def install(self, leaf, key=None):
        """Atomically replaces cert.pem and key.pem (key of `key`, default the leaf's)."""
        for source, target in ((leaf + ".chain.pem", "cert.pem"),
                               ((key or leaf) + ".key", "key.pem")):
            shutil.copyfile(self.path(source), self.path(target + ".tmp"))
            os.replace(self.path(target + ".tmp"), self.path(target))

    def client_context(self, max_version=None):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.path("ca.pem"))
        if max_version is not None:
            context.maximum_version = max_version
        return context

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def peer_common_name(sock):
    cert = sock.getpeercert()
    for rdn in cert["subject"]:
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


def https_get(port, context, path="/metrics", session=None):
    """One HTTPS request over a fresh TLS connection; returns (response bytes, ssl socket
    facts). Reads until the broker closes (bounded by the socket timeout)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=harness.IO_TIMEOUT_S)
    with context.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
        tls.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode())
        data = bytearray()
        for _ in range(10000):
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        facts = dict(version=tls.version(), alpn=tls.selected_alpn_protocol(),
                     reused=tls.session_reused, session=tls.session,
                     cn=peer_common_name(tls))
    return bytes(data), facts


def wss_connect(port, context, path="/", **kw):
    options = dict(max_size=None, compression=None, ping_interval=None,
                   open_timeout=harness.IO_TIMEOUT_S, close_timeout=harness.IO_TIMEOUT_S,
                   max_queue=None, ssl=context, server_hostname="localhost")
    if path == "/":
        options["subprotocols"] = [SUBPROTOCOL]
    options.update(kw)
    return harness.websockets.connect("wss://127.0.0.1:%d%s" % (port, path), **options)


def read_until_closed(sock, timeout):
    """Reads until EOF or reset; returns True when the broker closed within `timeout`."""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            if not sock.recv(4096):
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


class TlsBrokerCase(unittest.TestCase):
    """One broker per class with a TLS listener beside the plain one (--echo), certificates
    from a fresh TestPki; subclasses add flags in BROKER_FLAGS. The broker must stay up
    through every test."""

    BROKER_FLAGS = ()

    @classmethod
    def setUpClass(cls):
        cls.pki = TestPki()
        cls.addClassCleanup(cls.pki.cleanup)
        cls.tls_port = harness.free_port()
        cls.broker = harness.Broker("--echo", "--tls-port", str(cls.tls_port),
                                    "--cert", cls.pki.path("cert.pem"),
                                    "--key", cls.pki.path("key.pem"), *cls.BROKER_FLAGS)
        cls.addClassCleanup(cls.broker.kill)
        cls.broker.start()
        cls.addClassCleanup(cls.broker.stop)
        cls.port = cls.broker.port

    def setUp(self):
        self.broker.assert_alive()

    def tearDown(self):
        self.broker.assert_alive()

    def metric(self, name):
        return harness.sample(harness.scrape(self.port), name)
