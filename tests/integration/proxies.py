"""Herald behind a real reverse proxy (issue 14, part 8), shared by nginx_test.py and
haproxy_test.py: the proxy is Debian's binary, started by the test on a free loopback port with
its own temporary directory (pid, logs, temporary files), never a system service, and configured
with deploy/nginx.conf or deploy/haproxy.cfg unchanged but for the values on their "EDIT:" lines
(ports and certificate files). TLS ends at the proxy; the broker behind it is plain ws://.

The client address the broker believes is observed through its per-address limit: clients bind
distinct loopback source addresses (127.0.0.2, 127.0.0.3, ...), the broker trusts only the proxy
(127.0.0.1) and admits LIMIT connections per address, so a refusal (429, counted in
herald_refusals_total{reason="connections_per_ip"}) happens exactly when the forwarded address
is the real client's. Without forwarding every connection would be the proxy's own, which the
broker does not limit.

A missing proxy, Chromium, Node or playwright-core makes the file exit 77 (ctest: skipped) with
a banner saying what did not run; deploy/install-deps.sh installs them all.
"""

import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import harness
import tls_pki

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
JS_TESTS = os.path.join(ROOT, "tests", "js")
MISSING = "MISSING: "


def missing(what):
    return unittest.SkipTest(MISSING + what)


def render(name, substitutions):
    """deploy/NAME with each `old` replaced by `new`. Every `old` must occur exactly once
    outside comment lines, on a line marked "EDIT:", so the test runs the shipped file and
    nothing but its placeholders changes; a config that drifts from the test fails here."""
    with open(os.path.join(ROOT, "deploy", name)) as f:
        lines = f.read().split("\n")
    for old, new in substitutions.items():
        hits = [i for i, line in enumerate(lines)
                if old in line and not line.lstrip().startswith("#")]
        if len(hits) != 1 or lines[hits[0]].count(old) != 1 or "EDIT:" not in lines[hits[0]]:
            raise AssertionError("deploy/%s: %r must occur once, on an EDIT: line" % (name, old))
        lines[hits[0]] = lines[hits[0]].replace(old, new)
    return "\n".join(lines)


def wait_for_port(port, proc, log, what, timeout=harness.START_TIMEOUT_S):
    """Waits until something accepts on 127.0.0.1:port while `proc` runs (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("%s did not start on port %d (exit %s):\n%s"
                         % (what, port, proc.poll(), log()))


class Proxy:
    """A proxy process the test owns: BINARY with argv from `command()`, its output in a
    file under its own temporary directory; stopped with SIGTERM, killed if it lingers.
    CONFIG is its file in deploy/; IDLE_TIMEOUTS the directives that bound a quiet WebSocket
    there, in UNIT unless the value names one."""

    NAME = BINARY = CONFIG = UNIT = None
    IDLE_TIMEOUTS = ()

    def __init__(self, pki, upstream_port):
        self.pki = pki
        self.upstream_port = upstream_port
        self.dir = tempfile.mkdtemp(prefix="herald_%s_" % self.NAME)
        self.port = harness.free_port()
        self.proc = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def output(self):
        try:
            with open(self.path("output.log"), errors="replace") as f:
                return f.read()[-8000:]
        except OSError:
            return ""

    def start(self):
        binary = shutil.which(self.BINARY) or "/usr/sbin/" + self.BINARY
        if not os.access(binary, os.X_OK):
            raise missing("%s is not installed (deploy/install-deps.sh installs it)" % self.NAME)
        self.binary = binary
        with open(self.path("output.log"), "wb") as log:
            self.proc = subprocess.Popen([binary, *self.command()], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        wait_for_port(self.port, self.proc, self.output, self.NAME)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Nginx(Proxy):
    """deploy/nginx.conf (a site file) included from a minimal main configuration: one
    foreground process (no master), pid, logs and temporary files in its own directory."""

    NAME = BINARY = "nginx"
    CONFIG = "nginx.conf"
    IDLE_TIMEOUTS = ("proxy_read_timeout", "proxy_send_timeout")
    UNIT = "s"

    def command(self):
        site = render(self.CONFIG, {
            "127.0.0.1:8080": "127.0.0.1:%d" % self.upstream_port,
            "listen 443 ssl": "listen 127.0.0.1:%d ssl" % self.port,
            "/etc/ssl/herald/fullchain.pem": self.pki.path("cert.pem"),
            "/etc/ssl/herald/privkey.pem": self.pki.path("key.pem"),
        })
        with open(self.path("herald.conf"), "w") as f:
            f.write(site)
        temp = "".join("    %s_temp_path %s;\n" % (kind, self.path(kind))
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(self.path("nginx.conf"), "w") as f:
            f.write("daemon off;\nmaster_process off;\npid %s;\nerror_log stderr notice;\n"
                    "events { worker_connections 256; }\n"
                    "http {\n    access_log %s;\n%s    include %s;\n}\n"
                    % (self.path("nginx.pid"), self.path("access.log"), temp,
                       self.path("herald.conf")))
        return ["-p", self.dir, "-e", "stderr", "-c", self.path("nginx.conf")]

    def check_in_distribution_config(self):
        """`nginx -t` of Debian's own /etc/nginx/nginx.conf with this site in place of
        sites-enabled, as an operator installs it (pid and logs moved to our directory)."""
        with open("/etc/nginx/nginx.conf") as f:
            text = f.read()
        text, sites = re.subn(r"include /etc/nginx/sites-enabled/\*;",
                              "include %s;" % self.path("herald.conf"), text)
        if sites != 1:
            raise AssertionError("/etc/nginx/nginx.conf includes sites-enabled %d times" % sites)
        text = re.sub(r"^(\s*)(pid|error_log|access_log) [^;]*;",
                      lambda m: "%s%s %s;" % (m.group(1), m.group(2), self.path(m.group(2))),
                      text, flags=re.MULTILINE)
        with open(self.path("debian-nginx.conf"), "w") as f:
            f.write(text)
        return [self.binary, "-t", "-c", self.path("debian-nginx.conf")]


class Haproxy(Proxy):
    """A global section of the test's own (no chroot, user or syslog), then deploy/haproxy.cfg:
    haproxy loads both, in the foreground (-db)."""

    NAME = BINARY = "haproxy"
    CONFIG = "haproxy.cfg"
    IDLE_TIMEOUTS = ("timeout tunnel",)  # after the upgrade, the only one that applies
    UNIT = "ms"

    def command(self):
        # haproxy's crt file holds the chain and the key together.
        with open(self.path("herald.pem"), "w") as out:
            for part in ("cert.pem", "key.pem"):
                with open(self.pki.path(part)) as f:
                    out.write(f.read())
        config = render(self.CONFIG, {
            "bind :443": "bind 127.0.0.1:%d" % self.port,
            "/etc/haproxy/certs/herald.pem": self.path("herald.pem"),
            "127.0.0.1:8080": "127.0.0.1:%d" % self.upstream_port,
        })
        with open(self.path("herald.cfg"), "w") as f:
            f.write(config)
        with open(self.path("global.cfg"), "w") as f:
            f.write("global\n    maxconn 1000\n    pidfile %s\n" % self.path("haproxy.pid"))
        return ["-db", "-f", self.path("global.cfg"), "-f", self.path("herald.cfg")]

    def check_in_distribution_config(self):
        """`haproxy -c` of Debian's own /etc/haproxy/haproxy.cfg (global, defaults) followed by
        this file, as an operator installs it."""
        return [self.binary, "-c", "-f", "/etc/haproxy/haproxy.cfg", "-f", self.path("herald.cfg")]


def configured_seconds(config, directive, unit):
    """The value of `directive` (outside comments) in deploy/CONFIG, in seconds."""
    with open(os.path.join(ROOT, "deploy", config)) as f:
        found = re.findall(r"^\s*%s\s+(\d+)(ms|s|m|h)?\b" % re.escape(directive), f.read(),
                           re.MULTILINE)
    if len(found) != 1:
        raise AssertionError("deploy/%s: %s set %d times" % (config, directive, len(found)))
    value, suffix = found[0]
    return int(value) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[suffix or unit]


def herald_default_idle_timeout_s():
    """--idle-timeout-ms's default, from herald --help."""
    help_text = harness.run_herald(["--help"]).stdout
    match = re.search(r"--idle-timeout-ms N .*\(default: (\d+)\)", help_text)
    if match is None:
        raise AssertionError("no --idle-timeout-ms default in herald --help:\n" + help_text)
    return int(match.group(1)) / 1000


def spki_sha256(key_file):
    """base64(SHA-256(SubjectPublicKeyInfo)) of a PEM private key, as Chromium's
    --ignore-certificate-errors-spki-list wants it."""
    der = subprocess.run([tls_pki.OPENSSL, "pkey", "-in", key_file, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True, timeout=30).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def handshake_status(error):
    """The HTTP status of a refused handshake (python-websockets 10 and newer spellings)."""
    response = getattr(error, "response", None)
    return getattr(error, "status_code", None) or getattr(response, "status_code", None)


class ProxyCase(unittest.TestCase):
    """One broker and one PROXY in front of it per class; the broker trusts the proxy's
    address only and admits LIMIT connections per client address."""

    PROXY = None
    LIMIT = 2
    IDLE_TIMEOUT_MS = 1000  # the broker pings after 1 s of silence, closes 1 s later

    @classmethod
    def setUpClass(cls):
        cls.pki = tls_pki.TestPki()
        cls.addClassCleanup(cls.pki.cleanup)
        cls.broker = harness.Broker("--trusted-proxies", "127.0.0.1/32",
                                    "--max-connections-per-ip", str(cls.LIMIT),
                                    "--idle-timeout-ms", str(cls.IDLE_TIMEOUT_MS))
        cls.addClassCleanup(cls.broker.kill)
        cls.broker.start()
        cls.addClassCleanup(cls.broker.stop)
        cls.proxy = cls.PROXY(cls.pki, cls.broker.port)
        cls.addClassCleanup(cls.proxy.stop)
        cls.proxy.start()
        cls.context = cls.pki.client_context()

    def tearDown(self):
        self.broker.assert_alive()
        self.assertTrue(self.proxy.alive(), "%s died:\n%s" % (self.proxy.NAME,
                                                               self.proxy.output()))

    def connect(self, source, **kw):
        """A python-websockets client over wss:// to the proxy, from `source` (a loopback
        address of its own), verifying the proxy's certificate against the test CA."""
        return tls_pki.wss_connect(self.proxy.port, self.context, local_addr=(source, 0), **kw)

    def refusals(self):
        return harness.sample(harness.scrape(self.broker.port), "herald_refusals_total",
                              reason="connections_per_ip")

    def test_pubsub_over_wss_in_order(self):
        count = 50
        topic = harness.unique_topic("proxy")

        async def scenario():
            async with self.connect("127.0.0.10") as sub, self.connect("127.0.0.11") as pub:
                self.assertEqual(sub.subprotocol, tls_pki.SUBPROTOCOL)
                await sub.send(json.dumps({"op": "sub", "topic": topic, "id": "s"}))
                self.assertEqual(json.loads(await sub.recv()), {"type": "ack", "id": "s"})
                for i in range(count):
                    await pub.send(json.dumps({"op": "pub", "topic": topic, "data": {"i": i},
                                               "id": i}))
                acks = [json.loads(await pub.recv()) for _ in range(count)]
                received = [json.loads(await sub.recv()) for _ in range(count)]
                return acks, received

        acks, received = harness.run(scenario(), timeout=30)
        self.assertEqual(acks, [{"type": "ack", "id": i, "seq": i + 1} for i in range(count)])
        self.assertEqual(received, [{"type": "msg", "topic": topic, "seq": i + 1,
                                     "data": {"i": i}} for i in range(count)])

    def test_broker_sees_the_client_address(self):
        """LIMIT connections from 127.0.0.2 are admitted, one more is refused even when it
        forges X-Forwarded-For, and 127.0.0.3 is still admitted: the broker keys its limit by
        the address the proxy saw, not the proxy's own and not the client's claim."""
        before = self.refusals()

        async def status(source, **kw):
            try:
                async with self.connect(source, **kw):
                    return 101
            except harness.websockets.exceptions.InvalidHandshake as error:
                return handshake_status(error)

        async def scenario():
            held = [await self.connect("127.0.0.2") for _ in range(self.LIMIT)]
            try:
                return (await status("127.0.0.2"),
                        await status("127.0.0.2",
                                     extra_headers={"X-Forwarded-For": "198.51.100.7"}),
                        await status("127.0.0.3"))
            finally:
                for client in held:
                    await client.close()

        same, forged, other = harness.run(scenario(), timeout=30)
        self.assertEqual(same, 429, "a third connection from the same client address")
        self.assertEqual(forged, 429, "a forged X-Forwarded-For does not change the address")
        self.assertEqual(other, 101, "another client address has its own limit")
        self.assertEqual(self.refusals() - before, 2)

    def test_quiet_connection_lives_on_pings(self):
        """A client silent for 5 s stays open: the broker's pings (after 1 s of silence) and
        the client's pongs cross the proxy, or the broker would close it within 4 s (its
        sweep runs once a second)."""
        before = harness.sample(harness.scrape(self.broker.port), "herald_idle_timeouts_total")

        async def scenario():
            async with self.connect("127.0.0.20") as client:
                await asyncio.sleep(5)
                await client.send('{"op":"sub","topic":"quiet","id":"q"}')
                return json.loads(await client.recv())

        self.assertEqual(harness.run(scenario(), timeout=20), {"type": "ack", "id": "q"})
        self.assertEqual(harness.sample(harness.scrape(self.broker.port),
                                        "herald_idle_timeouts_total"), before)

    def test_shipped_idle_timeouts_outlast_the_ping(self):
        """The shipped config keeps a quiet WebSocket open longer than herald's default idle
        timeout and its wait for the pong (2 x --idle-timeout-ms): the proxy never cuts a
        healthy connection before the broker's ping, and dead ones are closed by the broker."""
        idle_s = herald_default_idle_timeout_s()
        for directive in self.PROXY.IDLE_TIMEOUTS:
            seconds = configured_seconds(self.PROXY.CONFIG, directive, self.PROXY.UNIT)
            self.assertGreater(seconds, 2 * idle_s, "%s %s" % (self.PROXY.CONFIG, directive))

    def test_loads_into_debians_own_config(self):
        check = subprocess.run(self.proxy.check_in_distribution_config(), capture_output=True,
                               text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_metrics_are_not_published_through_the_proxy(self):
        raw = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=harness.IO_TIMEOUT_S)
        with self.context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            head = tls.recv(4096)
        self.assertTrue(head.startswith(b"HTTP/1.1 403"), head[:100])

    def test_pubsub_from_chromium(self):
        node = shutil.which("node")
        chromium = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
        if not node or not os.access(chromium, os.X_OK):
            raise missing("node and chromium are needed for the browser test")
        if not os.path.isdir(os.path.join(JS_TESTS, "node_modules", "playwright-core")):
            raise missing("tests/js/node_modules: run `npm ci --prefix tests/js`")
        count = 10
        url = "wss://127.0.0.1:%d/" % self.proxy.port
        run = subprocess.run([node, os.path.join(HERE, "proxy_browser.mjs"), url,
                              spki_sha256(self.pki.path("key.pem")), str(count)],
                             capture_output=True, text=True, timeout=90)
        self.assertEqual(run.returncode, 0, run.stderr + run.stdout)
        result = json.loads(run.stdout.strip().splitlines()[-1])
        self.assertEqual(result["acks"], list(range(1, count + 1)))
        self.assertEqual(result["received"], [{"seq": i + 1, "data": {"i": i}}
                                              for i in range(count)])
        self.assertEqual(result["errors"], [])


def main():
    """unittest.main, then exit 77 (ctest: skipped) with a banner when a needed tool is
    missing, 1 on any failure, 0 when everything ran and passed."""
    result = unittest.main(exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    reasons = sorted({reason[len(MISSING):] for _, reason in result.skipped
                      if reason.startswith(MISSING)})
    if reasons:
        lines = ["SKIPPED: %s" % reason for reason in reasons]
        bar = "!" * max(len(line) for line in lines)
        print("\n".join(["", bar, *lines, bar, ""]), file=sys.stderr)
        sys.exit(77)
    sys.exit(0)
