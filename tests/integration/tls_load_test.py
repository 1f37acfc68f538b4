"""wss:// under load and with the C++ tools: certificate reload while 20 subscribers receive
every message in order (a good certificate swapped in, two bad ones refused), a stalled TLS
reader under the drop policy, and herald-bench and herald-cli over TLS."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import unittest

import harness
from harness import Broker, free_port, run, sample, scrape
from tls_pki import TestPki, TlsBrokerCase, https_get, wss_connect


class TlsLoadTest(TlsBrokerCase):
    """One broker with a TLS listener beside the plain one."""

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


    @unittest.skipUnless(harness.BENCH, "needs --bench")
    def test_cli_and_bench_compressed_over_tls(self):
        cli = os.path.join(os.path.dirname(harness.BENCH), "herald-cli")
        topic = harness.unique_topic("clitlsdeflate")
        common = [cli, "--port", str(self.tls_port), "--ca", self.pki.path("ca.pem"),
                  "--server-name", "localhost", "--compression"]
        subscriptions = sample(scrape(self.port), "herald_subscriptions")
        sub = subprocess.Popen(common + ["sub", topic, "--count", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(sub.kill)
        for _ in range(250):  # 5 s
            if sample(scrape(self.port), "herald_subscriptions") >= subscriptions + 1:
                break
            time.sleep(0.02)
        data = '{"note":"%s"}' % ("compressible " * 500)
        pub = subprocess.run(common + ["pub", topic, data], capture_output=True, timeout=20)
        self.assertEqual((pub.returncode, pub.stdout), (0, b"1\n"), pub.stderr)
        self.assertIn(b"permessage-deflate on", pub.stderr)
        out, err = sub.communicate(timeout=20)
        self.assertEqual(sub.returncode, 0, err)
        self.assertEqual(out.decode().splitlines(), ["%s 1 %s" % (topic, data)])
        self.assertIn(b"permessage-deflate on", err)
        fanout = self.run_bench("fanout", "--subscribers", "20", "--warmup-s", "0.2",
                                "--duration-s", "0.5", "--server-name", "localhost",
                                "--payload", "json-tick", "--compression")
        self.assertGreater(fanout["deliveries"], 0)
        for key in ("lost", "reordered", "corrupt", "gaps", "connect_failures"):
            self.assertEqual(fanout[key], 0, key)
        self.assertEqual(fanout["traffic"]["deflate_connections"], 21)


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

    def stall_and_pump(self, policy):
        """A TLS reader subscribed with `policy` stops reading while a plain publisher sends
        1 KB messages until the broker applies the policy (bounded: 32 MiB); then 4 more.
        Returns (the stalled client, its topic, messages published, the publisher)."""
        topic = harness.unique_topic("tlsslow")
        stalled = self.tls_client(rcvbuf=4096)
        stalled.sub(self, topic, policy=policy)
        pub = harness.PubSubClient(self.port)
        self.addCleanup(pub.close)
        pub.open()
        before = sample(scrape(self.port), "herald_slow_consumer_total", policy=policy)
        sent = 0
        for _ in range(320):
            for _ in range(99):
                pub.pub(topic, '{"n":%d,"pad":"%s"}' % (sent, self.PAD))
                sent += 1
            self.assertEqual(pub.pub_acked(self, topic, "0")[0], sent + 1)
            sent += 1
            if sample(scrape(self.port), "herald_slow_consumer_total", policy=policy) > before:
                break
        else:
            self.fail("the broker never applied %s to a reader that stopped" % policy)
        for _ in range(3):
            pub.pub(topic, "null")
            sent += 1
        pub.pub_acked(self, topic, "0")
        return stalled, topic, sent + 1, pub

    def read_all(self, client):
        """Frames until a second of silence or the broker's close (bounded)."""
        frames = []
        for _ in range(100000):
            try:
                frames.append(client.read_frame(timeout=1.0))
            except (TimeoutError, harness.PeerClosed):
                break
        return frames

    def read_through(self, stalled, pub, topic, sent):
        """Everything the stalled reader gets once it reads again, then one more message.
        The tail published while it stalled may have been dropped too, and a gap notice only
        precedes the topic's next message (PROTOCOL.md section 6): the last one settles the
        count. Returns the decoded events and the last sequence published."""
        events = [harness.decode_server_frame(f.opcode, f.payload) for f in self.read_all(stalled)]
        final = pub.pub_acked(self, topic, '"end"')[0]
        for _ in range(100):
            frame = stalled.read_frame(timeout=5.0)
            event = harness.decode_server_frame(frame.opcode, frame.payload)
            events.append(event)
            if event.type == "msg" and event.seq == final:
                break
        self.assertEqual(final, sent + 1)
        return events, final

    def test_stalled_tls_reader_gets_gaps_then_everything_in_order(self):
        stalled, topic, sent, pub = self.stall_and_pump("drop")
        events, sent = self.read_through(stalled, pub, topic, sent)
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

    def test_stalled_tls_reader_with_conflate_gets_the_latest(self):
        stalled, topic, sent, pub = self.stall_and_pump("conflate")
        events, sent = self.read_through(stalled, pub, topic, sent)
        seqs = [e.seq for e in events if e.type == "msg"]
        self.assertEqual(seqs, sorted(set(seqs)), "in order, each at most once")
        self.assertLess(len(seqs), sent, "some messages were replaced")
        self.assertEqual(seqs[-1], sent, "the latest value arrives")

    def test_stalled_tls_reader_with_disconnect_gets_close_1008(self):
        stalled, _, _, _ = self.stall_and_pump("disconnect")
        frames = self.read_all(stalled)
        self.assertTrue(frames, "the queued frames and the Close decrypt")
        self.assertEqual(frames[-1].opcode, harness.OP_CLOSE, frames[-1])
        self.assertEqual(frames[-1].close_code, 1008)
        seqs = [harness.decode_server_frame(f.opcode, f.payload).seq for f in frames[:-1]]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)), "a prefix, in order")


if __name__ == "__main__":
    unittest.main()
