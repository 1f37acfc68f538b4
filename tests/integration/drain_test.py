"""Draining for rolling deploys (README "Draining and rolling deploys"), against the real
broker: on SIGTERM or an authorized POST /admin/drain it closes its listeners (new connections
are refused), /readyz answers 503 on a connection accepted before, every pub/sub client gets
one reconnect notice (PROTOCOL.md section 4), clients that stay are closed with 1001 when
--drain-timeout-ms ends (or at once on a second SIGTERM), and the broker exits 0."""

import json
import os
import signal
import socket
import tempfile
import time
import unittest

import harness
from harness import Broker, PubSubClient, RawClient

WAIT_S = 10.0
TOKEN = "drain-test-token-1234"


class DrainTest(unittest.TestCase):
    def start(self, *flags):
        broker = Broker("--workers", "2", *flags)
        self.addCleanup(broker.kill)
        return broker.start()

    def subscriber(self, broker, topic="d.t"):
        client = PubSubClient(broker.port, timeout=WAIT_S)
        self.addCleanup(client.close)
        client.open()
        client.sub(self, topic)
        return client

    def expect_reconnect(self, client, jitter_ms):
        event = client.next_event(timeout=WAIT_S)
        self.assertEqual(event.type, "reconnect", repr(event))
        self.assertEqual(json.loads(event.raw["after_ms"]), 0)
        self.assertEqual(json.loads(event.raw["jitter_ms"]), jitter_ms)
        self.assertEqual(json.loads(event.raw["reason"]), "drain")

    def wait_refused(self, broker):
        """New connections are refused once every worker closed its listener."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                probe = socket.create_connection(("127.0.0.1", broker.port), timeout=1.0)
            except ConnectionRefusedError:
                return
            probe.close()
            time.sleep(0.05)
        self.fail("new connections still accepted %.0f s into the drain" % WAIT_S)

    def readyz_on(self, early):
        """GET /readyz on a connection accepted before the drain began."""
        early.send(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = early.read_http_response(WAIT_S)
        early.close()  # the broker lingers for our EOF, which would hold its exit
        return response

    def test_sigterm_moves_clients_then_closes_stragglers_with_1001(self):
        broker = self.start("--drain-timeout-ms", "2000")
        harness.wait_readyz(broker.port)
        early = RawClient(broker.port, timeout=WAIT_S)
        self.addCleanup(early.close)
        leaver = self.subscriber(broker)
        stragglers = [self.subscriber(broker) for _ in range(3)]
        started = time.monotonic()
        broker.send_signal(signal.SIGTERM)
        for client in [leaver, *stragglers]:
            self.expect_reconnect(client, 1600)
        response = self.readyz_on(early)
        self.assertEqual(response.status, 503, response)
        self.assertIn(b"draining", response.body)
        self.wait_refused(broker)
        # Until it moves the connection works as before: publishes are still delivered.
        seq = leaver.pub_acked(self, "d.t", '"during the drain"', id_raw='"p"', echo=False)[0]
        for client in stragglers:
            event = client.next_event(timeout=WAIT_S)
            self.assertEqual((event.type, event.seq), ("msg", seq), repr(event))
        leaver.close_cleanly(self)
        leaver.close()  # as a client does once the broker closed TCP (it lingers until then)
        for client in stragglers:
            client.expect_close(1001, timeout=WAIT_S, reply=True)
            client.close()
        code = broker.wait(WAIT_S)
        self.assertEqual(code, 0, broker.output())
        # Not before the drain timeout: the stragglers had their time to move.
        self.assertGreaterEqual(time.monotonic() - started, 1.9)
        self.assertIn("drain timeout", broker.output())

    def test_second_sigterm_cuts_the_drain_short(self):
        broker = self.start("--drain-timeout-ms", "60000")
        client = self.subscriber(broker)
        broker.send_signal(signal.SIGTERM)
        self.expect_reconnect(client, 48000)
        broker.send_signal(signal.SIGTERM)
        client.expect_close(1001, timeout=WAIT_S, reply=True)
        client.close()
        self.assertEqual(broker.wait(WAIT_S), 0, broker.output())
        self.assertIn("drain cut short", broker.output())

    def test_admin_drain_needs_the_token_and_ends_when_clients_left(self):
        with tempfile.NamedTemporaryFile("w", suffix=".token", delete=False) as f:
            f.write(TOKEN + "\n")
        self.addCleanup(os.unlink, f.name)
        broker = self.start("--drain-timeout-ms", "60000", "--admin-token-file", f.name)
        early = RawClient(broker.port, timeout=WAIT_S)
        self.addCleanup(early.close)
        clients = [self.subscriber(broker) for _ in range(2)]

        def drain(headers):
            return harness.http_request(broker.port, "POST", "/admin/drain", b"", headers).status

        self.assertEqual(drain([]), 401)
        self.assertEqual(drain([("Authorization", "Bearer " + TOKEN[:-1] + "x")]), 403)
        self.assertEqual(drain([("Authorization", "Bearer " + TOKEN[:-1])]), 403)
        harness.wait_readyz(broker.port)
        self.assertEqual(drain([("Authorization", "Bearer " + TOKEN)]), 202)
        for client in clients:
            self.expect_reconnect(client, 48000)
        self.assertEqual(self.readyz_on(early).status, 503)
        self.wait_refused(broker)
        # Every client moves: the drain ends without waiting its 60 s.
        for client in clients:
            client.close_cleanly(self)
            client.close()
        self.assertEqual(broker.wait(WAIT_S), 0, broker.output())
        self.assertIn("drain done", broker.output())

    def test_admin_drain_is_off_without_a_token_file(self):
        broker = self.start()
        response = harness.http_request(broker.port, "POST", "/admin/drain", b"",
                                        [("Authorization", "Bearer x")])
        self.assertEqual(response.status, 404)
        broker.stop()


if __name__ == "__main__":
    unittest.main()
