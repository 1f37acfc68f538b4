"""wss:// against the real broker with independent clients: Python's ssl and websockets (and
Node's ws when HERALD_NODE_MODULES names a node_modules holding it), with a test CA made at
test time (tls_pki.py). TLS 1.2 and 1.3, ALPN, the chain, resumption, failed and slow
handshakes, --tls-only and start-up failures. Reload under load, slow consumers and the C++
tools over TLS are in tls_load_test.py."""

import json
import os
import socket
import ssl
import subprocess
import time
import unittest

import harness
from harness import Broker, free_port, run
from tls_pki import TestPki, TlsBrokerCase, https_get, read_until_closed, wss_connect

HERE = os.path.dirname(os.path.abspath(__file__))


class TlsTest(TlsBrokerCase):
    BROKER_FLAGS = ("--handshake-timeout-ms", "1000")

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

    @unittest.skipUnless(os.environ.get("HERALD_NODE_MODULES"),
                         "HERALD_NODE_MODULES (a node_modules with ws) is not set")
    def test_node_ws_client(self):
        result = subprocess.run(
            ["node", os.path.join(HERE, "tls_node_client.mjs"), str(self.tls_port),
             self.pki.path("ca.pem")],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


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
