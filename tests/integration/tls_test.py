"""wss:// against the real broker with independent clients: Python's ssl and websockets (and
Node's ws when HERALD_NODE_MODULES names a node_modules holding it). A test CA, an
intermediate, two server certificates and bad ones are made with the openssl CLI at test time.
Covers TLS 1.2 and 1.3, ALPN, the chain, resumption, failed and slow handshakes, and
certificate reload under load (good, then bad: refused, the previous one kept)."""

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
from harness import Broker, free_port, run, sample, scrape

HERE = os.path.dirname(os.path.abspath(__file__))
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


class TlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.pki = TestPki()
        cls.addClassCleanup(cls.pki.cleanup)
        cls.tls_port = free_port()
        cls.broker = Broker("--echo", "--tls-port", str(cls.tls_port),
                            "--cert", cls.pki.path("cert.pem"), "--key", cls.pki.path("key.pem"),
                            "--handshake-timeout-ms", "1000")
        cls.addClassCleanup(cls.broker.kill)
        cls.broker.start()
        cls.addClassCleanup(cls.broker.stop)
        cls.port = cls.broker.port

    def setUp(self):
        self.broker.assert_alive()

    def tearDown(self):
        self.broker.assert_alive()

    def metric(self, name):
        return sample(scrape(self.port), name)

    def test_echo_over_wss_tls12_and_tls13(self):
        async def session(max_version):
            context = self.pki.client_context(max_version)
            async with wss_connect(self.tls_port, context, "/echo") as ws:
                # Sizes around one TLS record (16 KiB) and well past it.
                for size in (0, 1, 125, 16384 - 14, 16384, 70000, 1 << 20):
                    text = ("%07d" % size) * (size // 7) + "x" * (size % 7)
                    await ws.send(text)
                    self.assertEqual(await ws.recv(), text, "echo of %d bytes" % size)
                await ws.send(b"\x00\xffbinary")
                self.assertEqual(await ws.recv(), b"\x00\xffbinary")
                return ws.transport.get_extra_info("ssl_object").version()
        self.assertEqual(run(session(ssl.TLSVersion.TLSv1_2)), "TLSv1.2")
        self.assertEqual(run(session(None)), "TLSv1.3")

    def test_pubsub_over_wss_beside_plain(self):
        topic = harness.unique_topic("tls")
        count = 200

        async def scenario():
            context = self.pki.client_context()
            async with wss_connect(self.tls_port, context) as tls_sub, \
                    harness.ps_connect(self.port) as plain_sub, \
                    wss_connect(self.tls_port, context) as tls_pub:
                for sub in (tls_sub, plain_sub):
                    await sub.send(json.dumps({"op": "sub", "topic": topic, "id": "s"}))
                    self.assertEqual(await sub.recv(), '{"type":"ack","id":"s"}')
                for n in range(count):
                    await tls_pub.send('{"op":"pub","topic":"%s","data":%d}' % (topic, n))
                for sub in (tls_sub, plain_sub):
                    for n in range(count):
                        self.assertEqual(
                            await sub.recv(),
                            '{"type":"msg","topic":"%s","seq":%d,"data":%d}' % (topic, n + 1, n))
        run(scenario())

    def test_alpn_chain_and_resumption(self):
        for max_version in (ssl.TLSVersion.TLSv1_2, None):
            with self.subTest(max_version=max_version):
                context = self.pki.client_context(max_version)
                context.set_alpn_protocols(["h2", "http/1.1"])
                before = self.metric("herald_tls_resumptions_total")
                first, facts = https_get(self.tls_port, context)
                self.assertTrue(first.startswith(b"HTTP/1.1 200"), first[:100])
                self.assertEqual(facts["alpn"], "http/1.1")
                self.assertEqual(facts["cn"], "herald-leaf1")  # verified through the chain
                self.assertFalse(facts["reused"])
                second, again = https_get(self.tls_port, context, session=facts["session"])
                self.assertTrue(second.startswith(b"HTTP/1.1 200"))
                self.assertTrue(again["reused"], "the second connection resumed the session")
                self.assertEqual(self.metric("herald_tls_resumptions_total"), before + 1)

    def test_failed_handshakes_close_cleanly_and_count(self):
        before = self.metric("herald_tls_handshake_failures_total")
        # Plain HTTP to the TLS port: not a TLS record.
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(read_until_closed(sock, 5), "plain HTTP on the TLS port closed")
        # A client that does not trust the certificate aborts with an alert.
        untrusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        untrusting.load_default_certs()
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as raw:
            with self.assertRaises(ssl.SSLCertVerificationError):
                untrusting.wrap_socket(raw, server_hostname="localhost")
        # A client offering nothing the server accepts (TLS 1.3 ciphers cannot be narrowed in
        # Python, so use 1.2 with a suite outside the server's list).
        weak = self.pki.client_context(ssl.TLSVersion.TLSv1_2)
        weak.set_ciphers("AES128-SHA256")  # no forward secrecy: refused
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as raw:
            with self.assertRaises(ssl.SSLError):
                weak.wrap_socket(raw, server_hostname="localhost")
        # Bounded wait for the broker to count all three (the last two race the scrape).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.metric("herald_tls_handshake_failures_total") >= before + 3:
                break
            time.sleep(0.05)
        self.assertEqual(self.metric("herald_tls_handshake_failures_total"), before + 3)

    def test_slow_handshake_times_out(self):
        before = self.metric("herald_tls_handshake_failures_total")
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as silent, \
                socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as partial:
            partial.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello that never finishes
            # --handshake-timeout-ms 1000, swept once a second.
            self.assertTrue(read_until_closed(silent, 10), "a silent client is dropped")
            self.assertTrue(read_until_closed(partial, 10), "a partial hello is dropped")
        self.assertGreaterEqual(self.metric("herald_tls_handshake_failures_total"), before + 2)

    def test_reload_under_load_then_refuse_a_bad_certificate(self):
        topic = harness.unique_topic("reload")
        subscribers = 20
        count = 600
        context = self.pki.client_context()
        log_before = self.broker.output()

        async def wait_for_log(text):
            for _ in range(100):  # 5 s
                if self.broker.output().count(text) > log_before.count(text):
                    return
                await asyncio.sleep(0.05)
            self.fail("no %r in the log:\n%s" % (text, self.broker.output()))

        async def new_connection_cn():
            loop = asyncio.get_running_loop()
            _, facts = await loop.run_in_executor(None, https_get, self.tls_port, context)
            return facts["cn"]

        async def scenario():
            subs = [await wss_connect(self.tls_port, context) for _ in range(subscribers)]
            try:
                for sub in subs:
                    await sub.send(json.dumps({"op": "sub", "topic": topic, "id": "s"}))
                    self.assertEqual(await sub.recv(), '{"type":"ack","id":"s"}')
                async with wss_connect(self.tls_port, context) as pub:
                    async def publish():
                        for n in range(count):
                            await pub.send('{"op":"pub","topic":"%s","data":%d}' % (topic, n))
                            if n % 50 == 0:
                                await asyncio.sleep(0.01)  # spread over the reloads

                    async def receive(sub):
                        for n in range(count):
                            expected = '{"type":"msg","topic":"%s","seq":%d,"data":%d}' % (
                                topic, n + 1, n)
                            self.assertEqual(await sub.recv(), expected)

                    async def reload():
                        self.assertEqual(await new_connection_cn(), "herald-leaf1")
                        self.pki.install("leaf2")
                        self.broker.send_signal(signal.SIGHUP)
                        await wait_for_log("TLS certificate reloaded")
                        self.assertEqual(await new_connection_cn(), "herald-leaf2")
                        # leaf1's certificate with leaf2's key: refused, leaf2 kept.
                        self.pki.install("leaf1", key="leaf2")
                        self.broker.send_signal(signal.SIGHUP)
                        await wait_for_log("TLS reload refused")
                        self.assertEqual(await new_connection_cn(), "herald-leaf2")
                        # A file that is not PEM at all: refused too.
                        with open(self.pki.path("cert.pem"), "w") as f:
                            f.write("garbage\n")
                        self.broker.send_signal(signal.SIGHUP)
                        for _ in range(100):
                            if self.broker.output().count("TLS reload refused") >= \
                                    log_before.count("TLS reload refused") + 2:
                                break
                            await asyncio.sleep(0.05)
                        self.assertEqual(await new_connection_cn(), "herald-leaf2")

                    await asyncio.gather(publish(), reload(), *(receive(s) for s in subs))
                # The old connections were never dropped: each still answers.
                for sub in subs:
                    await sub.send(json.dumps({"op": "unsub", "topic": topic, "id": "u"}))
                    self.assertEqual(await sub.recv(), '{"type":"ack","id":"u"}')
            finally:
                for sub in subs:
                    await sub.close()
                self.pki.install("leaf1")

        run(scenario(), timeout=120)

    def run_bench(self, *args):
        result = subprocess.run([harness.BENCH, *args, "--port", str(self.tls_port), "--tls",
                                 "--ca", self.pki.path("ca.pem")],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr[-3000:])
        return json.loads(result.stdout)["results"]

    @unittest.skipUnless(harness.BENCH, "no --bench")
    def test_bench_fanout_and_handshakes_over_tls(self):
        fanout = self.run_bench("fanout", "--subscribers", "20", "--warmup-s", "0.2",
                                "--duration-s", "0.5", "--server-name", "localhost")
        self.assertGreater(fanout["deliveries"], 0)
        for key in ("lost", "reordered", "corrupt", "gaps", "connect_failures"):
            self.assertEqual(fanout[key], 0, key)
        handshakes = self.run_bench("handshakes", "--connections", "50",
                                    "--server-name", "127.0.0.1")
        self.assertEqual(handshakes["connections_opened"], 50)
        self.assertEqual(handshakes["close"]["clean"], 50)
        # A client that verifies against the wrong name fails its handshakes and says so.
        before = self.metric("herald_tls_handshake_failures_total")
        result = subprocess.run([harness.BENCH, "handshakes", "--connections", "3", "--port",
                                 str(self.tls_port), "--tls", "--ca", self.pki.path("ca.pem"),
                                 "--server-name", "wrong.example"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 3, result.stdout + result.stderr)
        detail = json.loads(result.stdout)["results"]["connect_failure_detail"]
        self.assertEqual(detail.get("tls_failures"), 3, detail)
        # The broker saw the three alerts too (bounded wait: they race the scrape).
        for _ in range(100):
            if self.metric("herald_tls_handshake_failures_total") >= before + 3:
                break
            time.sleep(0.05)
        self.assertEqual(self.metric("herald_tls_handshake_failures_total"), before + 3)

    @unittest.skipUnless(harness.BENCH, "no --bench (herald-cli is found beside it)")
    def test_cli_over_tls(self):
        cli = os.path.join(os.path.dirname(harness.BENCH), "herald-cli")
        topic = harness.unique_topic("clitls")
        common = [cli, "--port", str(self.tls_port), "--ca", self.pki.path("ca.pem"),
                  "--server-name", "localhost"]
        subscriptions = sample(scrape(self.port), "herald_subscriptions")
        sub = subprocess.Popen(common + ["sub", topic, "--count", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(sub.kill)
        # The subscription is acked before the first publish: wait for the broker to count it.
        for _ in range(250):  # 5 s
            if sample(scrape(self.port), "herald_subscriptions") >= subscriptions + 1:
                break
            time.sleep(0.02)
        for n, data in enumerate(('{"a":1}', "[2]"), 1):
            pub = subprocess.run(common + ["pub", topic, data], capture_output=True, timeout=20)
            self.assertEqual((pub.returncode, pub.stdout), (0, b"%d\n" % n), pub.stderr)
        out, err = sub.communicate(timeout=20)
        self.assertEqual(sub.returncode, 0, err)
        self.assertEqual(out.decode().splitlines(), ['%s 1 {"a":1}' % topic, "%s 2 [2]" % topic])
        # Without the CA the certificate is refused, with the reason.
        failures = self.metric("herald_tls_handshake_failures_total")
        refused = subprocess.run([cli, "--port", str(self.tls_port), "--tls", "pub", topic, "1"],
                                 capture_output=True, text=True, timeout=20)
        self.assertEqual(refused.returncode, 1, refused.stderr)
        self.assertIn("certificate verification failed", refused.stderr)
        for _ in range(100):  # the broker counts the client's alert (bounded wait)
            if self.metric("herald_tls_handshake_failures_total") >= failures + 1:
                break
            time.sleep(0.05)
        self.assertEqual(self.metric("herald_tls_handshake_failures_total"), failures + 1)

    @unittest.skipUnless(os.environ.get("HERALD_NODE_MODULES"),
                         "HERALD_NODE_MODULES (a node_modules with ws) is not set")
    def test_node_ws_client(self):
        result = subprocess.run(
            ["node", os.path.join(HERE, "tls_node_client.mjs"), str(self.tls_port),
             self.pki.path("ca.pem")],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


class TlsSlowConsumerTest(unittest.TestCase):
    """A subscriber over TLS that stops reading: with the drop policy it loses messages (and
    is told how many) while the broker's queue stays bounded; the encrypted stream stays
    whole, so once it reads again every frame decrypts and follows the gap rules."""

    BOUND = 65536  # --max-queued-bytes
    PAD = "x" * 1000

    @classmethod
    def setUpClass(cls):
        cls.pki = TestPki()
        cls.addClassCleanup(cls.pki.cleanup)
        cls.tls_port = free_port()
        cls.broker = Broker("--workers", "1", "--tls-port", str(cls.tls_port),
                            "--cert", cls.pki.path("cert.pem"), "--key", cls.pki.path("key.pem"),
                            "--max-queued-bytes", str(cls.BOUND),
                            "--slow-consumer-policy", "drop")
        cls.addClassCleanup(cls.broker.kill)
        cls.broker.start()
        cls.addClassCleanup(cls.broker.stop)
        cls.port = cls.broker.port

    def tls_client(self, rcvbuf):
        """harness.PubSubClient over an ssl socket with a small receive window."""
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(harness.IO_TIMEOUT_S)
        raw.connect(("127.0.0.1", self.tls_port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = harness.PubSubClient.__new__(harness.PubSubClient)
        client.sock = self.pki.client_context().wrap_socket(raw, server_hostname="localhost")
        client.timeout = harness.IO_TIMEOUT_S
        client.buf = bytearray()
        client.send_failed = False
        client.eof = False
        self.addCleanup(client.close)
        client.open()
        return client

    def test_stalled_tls_reader_gets_gaps_then_everything_in_order(self):
        topic = harness.unique_topic("tlsslow")
        stalled = self.tls_client(rcvbuf=4096)
        stalled.sub(self, topic)
        pub = harness.PubSubClient(self.port)
        self.addCleanup(pub.close)
        pub.open()
        sent = 0
        # Publish until the broker has dropped for the stalled reader (bounded: 32 MiB).
        for batch in range(320):
            for _ in range(99):
                pub.pub(topic, '{"n":%d,"pad":"%s"}' % (sent, self.PAD))
                sent += 1
            self.assertEqual(pub.pub_acked(self, topic, "0")[0], sent + 1)
            sent += 1
            if sample(scrape(self.port), "herald_slow_consumer_total", policy="drop") > 0:
                break
        else:
            self.fail("the broker never dropped for a reader that stopped")
        # Once more after the drops, so a gap notice must precede the next message.
        for _ in range(3):
            pub.pub(topic, "null")
            sent += 1
        pub.pub_acked(self, topic, "0")
        sent += 1
        events = []
        for _ in range(100000):  # bounded: far more than could ever be queued
            try:
                opcode, payload = stalled.read_message(timeout=1.0)
            except TimeoutError:
                break
            events.append(harness.decode_server_frame(opcode, payload))
        last, gaps, expect_after_gap = 0, 0, None
        for e in events:
            if e.type == "gap":
                self.assertEqual(e.topic, topic)
                gaps += 1
                expect_after_gap = last + e.missed + 1
                continue
            self.assertEqual(e.type, "msg", e)
            self.assertEqual(e.seq, expect_after_gap or last + 1, "seq after %d" % last)
            last, expect_after_gap = e.seq, None
        self.assertGreaterEqual(gaps, 1, "at least one gap notice")
        self.assertEqual(last, sent, "the last message arrives, every frame decrypted")


class TlsOnlyTest(unittest.TestCase):
    """--tls-only: the TLS listener instead of the plain one."""

    def test_tls_only_serves_wss(self):
        pki = TestPki()
        self.addCleanup(pki.cleanup)
        port = free_port()
        # Broker's readiness probe connects to --port: point it at the TLS port.
        broker = Broker("--echo", "--tls-port", str(port), "--tls-only", "--cert",
                        pki.path("cert.pem"), "--key", pki.path("key.pem"), port=port)
        self.addCleanup(broker.kill)
        broker.start()
        line = "TLS listening on 127.0.0.1:%d" % port
        for _ in range(100):  # the line follows the listeners by a moment: up to 5 s
            if line in broker.output():
                break
            time.sleep(0.05)
        self.assertIn(line, broker.output())

        async def echo():
            async with wss_connect(port, pki.client_context(), "/echo") as ws:
                await ws.send("only tls")
                return await ws.recv()
        self.assertEqual(run(echo()), "only tls")
        broker.stop()

    def test_bad_files_fail_at_start_with_one_line(self):
        pki = TestPki()
        self.addCleanup(pki.cleanup)
        result = harness.run_herald(["--port", "0", "--tls-port", "0", "--cert",
                                     pki.path("leaf1.chain.pem"), "--key",
                                     pki.path("leaf2.key")])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("private key", result.stderr)
        result = harness.run_herald(["--tls-port", "0", "--cert", pki.path("cert.pem")])
        self.assertEqual(result.returncode, 2)
        self.assertIn("--tls-port needs --cert and --key", result.stderr)


if __name__ == "__main__":
    unittest.main()
