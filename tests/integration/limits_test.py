"""Limits against the real broker (issue 6): each one reached, answered with its documented
status, error or close code, and counted in herald_refusals_total{reason=...}. Per-address
limits, the publish token bucket, and client addresses from trusted proxies (PROXY v2 and
X-Forwarded-For) are checked here; the older limits' answers are also covered elsewhere
(bad_input_test, pubsub_test), their metrics here."""

import math
import socket
import struct
import time
import unittest

import harness
from harness import (PubSubClient, RawClient, http_request, sample, scrape, unique_topic,
                     upgrade_request)

PROXY_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2(source, source_port=40000, destination="127.0.0.1", destination_port=8080,
             command=0x21):
    """A PROXY v2 header for a TCP/IPv4 connection (HAProxy proxy-protocol.txt 2.2)."""
    addresses = socket.inet_aton(source) + socket.inet_aton(destination)
    block = addresses + struct.pack("!HH", source_port, destination_port)
    return PROXY_SIGNATURE + bytes((command, 0x11)) + struct.pack("!H", len(block)) + block


def refusals(port, reason):
    return sample(scrape(port), "herald_refusals_total", reason=reason)


class LimitCase(harness.BrokerTestCase):
    FLAGS = ()

    def upgrade(self, prefix=b"", extra=()):
        """Sends an upgrade to "/" (after `prefix`); returns (client, HTTP status)."""
        client = RawClient(self.port)
        self.addCleanup(client.close)
        extra = [("Sec-WebSocket-Protocol", harness.SUBPROTOCOL), *extra]
        client.send(prefix + upgrade_request("/", extra=extra))
        return client, client.read_http_response().status

    def open_all(self, count, **kw):
        """Opens `count` WebSockets that must all be accepted. Retried (bounded: 100 tries,
        10 s), because the broker releases an earlier connection's address (the start-up
        probe's, say) only after its last completion, a moment after the client saw EOF."""
        deadline = time.monotonic() + 10
        self.refused_opens = 0
        for _ in range(100):
            opened = [self.upgrade(**kw) for _ in range(count)]
            self.refused_opens += sum(status != 101 for _, status in opened)
            if all(status == 101 for _, status in opened):
                return [client for client, _ in opened]
            for client, _ in opened:
                client.close()
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.fail("%d connections were not admitted" % count)

    def wait_until_admitted(self, **kw):
        """Retries an upgrade until it is accepted (the broker releases a closed
        connection's address asynchronously). Bounded: 100 tries, 10 s."""
        deadline = time.monotonic() + 10
        for _ in range(100):
            client, status = self.upgrade(**kw)
            if status == 101:
                return client
            client.close()
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.fail("the address was not released")


class PublishRateTest(LimitCase):
    RATE, BURST = 2, 3
    FLAGS = ("--max-publish-rate", str(RATE), "--max-publish-burst", str(BURST))

    def test_token_bucket(self):
        before = refusals(self.port, "publish_rate")
        client = PubSubClient(self.port)
        self.addCleanup(client.close)
        client.open()
        topic = unique_topic("rate")
        count = 40
        start = time.monotonic()
        client.send(b"".join(harness.build_frame(
            harness.OP_TEXT, b'{"op":"pub","topic":"%s","data":%d,"id":%d}'
            % (topic.encode(), i, i)) for i in range(count)))
        answers = [client.next_event() for _ in range(count)]
        elapsed = time.monotonic() - start
        acked = [a for a in answers if a.type == "ack"]
        limited = [a for a in answers if a.type == "error"]
        self.assertEqual(len(acked) + len(limited), count, answers)
        for event in limited:
            self.assertEqual(event.code, "rate_limited", event)
        # The bucket starts full: the first BURST publishes pass (their acks may come after
        # later refusals: the topic's owner may be another worker). Later ones pass only as
        # tokens refill: never more than BURST + RATE per elapsed second.
        self.assertLessEqual({str(i) for i in range(self.BURST)}, {a.id for a in acked})
        self.assertLessEqual(len(acked), self.BURST + math.ceil(self.RATE * elapsed) + 1)
        # Acked publishes were sequenced without holes: limited ones never reached the topic.
        self.assertEqual(sorted(a.seq for a in acked), list(range(1, len(acked) + 1)))
        # Not "bad commands": 40 refusals in a row did not close the connection.
        client.sub(self, topic)
        client.close()
        self.assertEqual(refusals(self.port, "publish_rate") - before, len(limited))


class ConnectionsPerIpTest(LimitCase):
    FLAGS = ("--max-connections-per-ip", "2")

    def test_third_connection_is_429_until_one_closes(self):
        before = refusals(self.port, "connections_per_ip")
        first, second = self.open_all(2)
        third, status = self.upgrade()
        self.assertEqual(status, 429)
        self.assertTrue(third.wait_tcp_closed()[0], "the broker closes after the 429")
        # HTTP requests are connections too.
        self.assertEqual(http_request(self.port, "GET", "/healthz").status, 429)
        first.close()
        again = self.wait_until_admitted()
        again.close()
        second.close()
        self.wait_until_admitted().close()
        # The 429s above, and any retry of open_all().
        self.assertGreaterEqual(refusals(self.port, "connections_per_ip") - before, 2)


class ConnectionRateTest(LimitCase):
    RATE = 2
    FLAGS = ("--max-new-connections-per-ip-per-s", str(RATE))

    def test_new_connections_per_second(self):
        time.sleep(1.1)  # the start-up probe took a token: let the bucket refill
        statuses = []
        start = time.monotonic()
        for _ in range(12):
            client, status = self.upgrade()
            statuses.append(status)
        elapsed = time.monotonic() - start
        self.assertEqual(set(statuses) - {101, 429}, set(), statuses)
        admitted = statuses.count(101)
        self.assertEqual(statuses[:self.RATE], [101] * self.RATE, statuses)
        self.assertLessEqual(admitted, self.RATE + math.ceil(self.RATE * elapsed) + 1, statuses)
        time.sleep(1.1)
        self.assertGreaterEqual(refusals(self.port, "connection_rate_per_ip"),
                                statuses.count(429))


class TrustedProxyTest(LimitCase):
    FLAGS = ("--trusted-proxies", "127.0.0.0/8, ::1", "--max-connections-per-ip", "1")

    def test_proxy_v2_names_the_client(self):
        a, status = self.upgrade(prefix=proxy_v2("192.0.2.1"))
        self.assertEqual(status, 101)
        _, status = self.upgrade(prefix=proxy_v2("192.0.2.1", source_port=40001))
        self.assertEqual(status, 429)
        b, status = self.upgrade(prefix=proxy_v2("192.0.2.2"))
        self.assertEqual(status, 101)
        # The header may arrive in pieces.
        client = RawClient(self.port)
        self.addCleanup(client.close)
        header = proxy_v2("192.0.2.3")
        client.send_chopped(header + upgrade_request("/", extra=[
            ("Sec-WebSocket-Protocol", harness.SUBPROTOCOL)]), 5)
        self.assertEqual(client.read_http_response().status, 101)

    def test_x_forwarded_for_names_the_client(self):
        _, status = self.upgrade(extra=[("X-Forwarded-For", "203.0.113.5")])
        self.assertEqual(status, 101)
        _, status = self.upgrade(extra=[("X-Forwarded-For", "198.51.100.1, 203.0.113.5")])
        self.assertEqual(status, 429, "the rightmost untrusted entry is the client")
        _, status = self.upgrade(extra=[("X-Forwarded-For", "203.0.113.5, 127.0.0.1")])
        self.assertEqual(status, 429, "trusted hops are skipped")
        _, status = self.upgrade(extra=[("X-Forwarded-For", "203.0.113.6")])
        self.assertEqual(status, 101)

    def test_the_proxy_itself_is_not_limited(self):
        first, status = self.upgrade()
        self.assertEqual(status, 101)
        second, status = self.upgrade(prefix=proxy_v2("127.0.0.1", command=0x20))
        self.assertEqual(status, 101, "LOCAL (a health check) names no client")

    def test_broken_proxy_header_closes(self):
        before = refusals(self.port, "proxy_header")
        client = RawClient(self.port)
        self.addCleanup(client.close)
        client.send(PROXY_SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12) + b"GET / HTTP/1.1\r\n")
        closed, data = client.wait_tcp_closed()
        self.assertTrue(closed)
        self.assertEqual(data, b"", "no answer to a broken balancer")
        self.assertEqual(refusals(self.port, "proxy_header") - before, 1)


class UntrustedProxyTest(LimitCase):
    FLAGS = ("--max-connections-per-ip", "1")

    def test_headers_from_untrusted_peers_are_ignored(self):
        first, = self.open_all(1, extra=[("X-Forwarded-For", "203.0.113.7")])
        _, status = self.upgrade(extra=[("X-Forwarded-For", "203.0.113.8")])
        self.assertEqual(status, 429, "X-Forwarded-For from an untrusted peer is not believed")
        first.close()
        client = self.wait_until_admitted()
        client.close()
        time.sleep(0.2)
        for _ in range(50):  # bounded: until the address is free again
            probe = RawClient(self.port)
            probe.send(proxy_v2("192.0.2.9") + upgrade_request("/"))
            response = probe.read_http_response()
            probe.close()
            if response.status != 429:
                break
            time.sleep(0.1)
        self.assertEqual(response.status, 400, "a PROXY header from an untrusted peer")


class ExistingLimitMetricsTest(LimitCase):
    FLAGS = ("--max-subscriptions", "2", "--max-message-bytes", "1024",
             "--handshake-timeout-ms", "1000")

    def delta(self, reason, action):
        before = refusals(self.port, reason)
        action()
        self.assertEqual(refusals(self.port, reason) - before, 1, reason)

    def test_subscriptions(self):
        def action():
            client = PubSubClient(self.port)
            self.addCleanup(client.close)
            client.open()
            client.sub(self, unique_topic("s1"))
            client.sub(self, unique_topic("s2"))
            client.command('{"op":"sub","topic":"x","id":3}')
            client.expect_error(self, "too_many_subscriptions", "3")
        self.delta("subscriptions", action)

    def test_bad_commands(self):
        def action():
            client = PubSubClient(self.port)
            self.addCleanup(client.close)
            client.open()
            for _ in range(16):
                client.command("nope")
            for _ in range(16):
                client.expect_error(self, "bad_json")
            client.expect_close(1008, reply=True)
        self.delta("bad_commands", action)

    def test_body_too_large(self):
        self.delta("body_too_large", lambda: self.assertEqual(http_request(
            self.port, "POST", "/publish?topic=t", b"x" * 2000).status, 413))

    def test_header_too_large(self):
        def action():
            _, status = self.upgrade(extra=[("X-Pad", "a" * 9000)])
            self.assertEqual(status, 431)
        self.delta("header_too_large", action)

    def test_handshake_timeout(self):
        def action():
            client = RawClient(self.port)
            self.addCleanup(client.close)
            client.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
            self.assertTrue(client.wait_tcp_closed(timeout=10)[0])
        self.delta("handshake_timeout", action)


class ConnectionLimitMetricTest(LimitCase):
    FLAGS = ("--max-connections", "2", "--workers", "1")

    def test_503_is_counted(self):
        before = refusals(self.port, "connections")
        first, second = self.open_all(2)
        _, status = self.upgrade()
        self.assertEqual(status, 503)
        first.close()
        second.close()
        refused_scrapes = 0
        for _ in range(100):  # bounded: until the broker has released both
            try:
                after = refusals(self.port, "connections")
                break
            except AssertionError:  # this scrape was itself answered 503
                refused_scrapes += 1
                time.sleep(0.1)
        self.assertEqual(after - before, 1 + refused_scrapes + self.refused_opens)


class TopicLimitMetricTest(LimitCase):
    FLAGS = ("--max-topics", "1", "--workers", "1")

    def test_too_many_topics_is_counted(self):
        before = refusals(self.port, "topics")
        client = PubSubClient(self.port)
        self.addCleanup(client.close)
        client.open()
        client.pub_acked(self, "one", "1")
        client.pub("two", "1", id_raw="2")
        client.expect_error(self, "too_many_topics", "2")
        self.assertEqual(http_request(self.port, "POST", "/publish?topic=three", b"1").status,
                         503)
        self.assertEqual(refusals(self.port, "topics") - before, 2)


if __name__ == "__main__":
    unittest.main()
