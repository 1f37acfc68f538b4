"""Plain HTTP on the broker's port (PROTOCOL.md section 7): /healthz, /metrics parsed as
Prometheus text format 0.0.4 with counters that move exactly as traffic says, and
POST /publish delivering to WebSocket subscribers, with every error status."""

import os
import struct
import time
import unittest

import harness
from harness import (OP_BINARY, OP_TEXT, PubSubTestCase, encode_publish_binary, http_request,
                     sample, scrape, unique_topic)

GAUGES = ("herald_connections", "herald_subscriptions", "herald_topics")
COUNTERS = ("herald_messages_published_total", "herald_messages_delivered_total",
            "herald_bytes_in_total", "herald_bytes_out_total", "herald_slow_consumer_total",
            "herald_worker_busy_seconds_total")
# Counted on the hot path since long before /metrics showed them: one unlabelled sample each.
WORKER_COUNTERS = ("herald_connections_closed_total", "herald_connections_refused_total",
                   "herald_messages_in_total", "herald_messages_out_total",
                   "herald_io_errors_total", "herald_abnormal_closes_total",
                   "herald_handshake_timeouts_total", "herald_idle_timeouts_total",
                   "herald_close_timeouts_total", "herald_recv_pauses_total",
                   "herald_recv_buffer_shortages_total", "herald_channel_overflows_total",
                   "herald_close_codes_other_total", "herald_sends_total",
                   "herald_send_buffers_total")
WORKERS = 2
MAX_MESSAGE_BYTES = 4096


def publish(port, topic, body, content_type="application/json", target=None):
    headers = [("Content-Type", content_type)] if content_type else []
    if isinstance(body, str):
        body = body.encode()
    return http_request(port, "POST", target or "/publish?topic=" + topic, body, headers)


def published(response):
    """(status, [(field, raw value)]) of a POST /publish answer: {"topic":"T","seq":N} in
    this field order, whitespace around it allowed (section 4: JSON, not byte layouts)."""
    if response.status != 200:
        return response.status, response.body
    return response.status, harness.json_object_spans(response.body.decode())


def answer(topic, seq):
    return 200, [("topic", '"%s"' % topic), ("seq", str(seq))]


def msg_frame(topic, seq, data):
    return b'{"type":"msg","topic":"%s","seq":%d,"data":%s}' % (topic.encode(), seq, data)


def binary_msg_frame(topic, seq, payload):
    return bytes((2, len(topic))) + topic.encode() + struct.pack("!Q", seq) + payload


class HttpTest(PubSubTestCase):
    FLAGS = ("--workers", str(WORKERS), "--max-message-bytes", str(MAX_MESSAGE_BYTES))

    def test_healthz(self):
        response = http_request(self.port, "GET", "/healthz")
        self.assertEqual(response.status, 200, response)
        self.assertIn(response.body, (b"ok", b"ok\n"))

    def test_client_closing_first_does_not_hurt_the_next_connection(self):
        # The client closes right after reading the response, before the broker closes; the
        # next connection must be answered (no stale close applied to a reused slot).
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        failures = []
        for n in range(2000):
            client = harness.RawClient(self.port)
            try:
                client.send(request)
                response = client.read_http_response()
                self.assertEqual(response.status, 200)
                self.assertIn(response.body, (b"ok", b"ok\n"))
            except harness.PeerClosed as e:
                failures.append((n, str(e)))
            finally:
                client.close()
        self.assertEqual(failures, [], "requests closed without an answer, of 2000")

    def test_unknown_path_404(self):
        for method, target in (("GET", "/nope"), ("POST", "/nope?topic=a"), ("GET", "/metricsx"),
                               ("GET", "/healthz/x"), ("POST", "/publishx?topic=a")):
            with self.subTest(method=method, target=target):
                response = http_request(self.port, method, target, b"1",
                                        [("Content-Type", "application/json")])
                self.assertEqual(response.status, 404, response)

    def test_publish_wrong_method_405(self):
        for method in ("GET", "PUT", "DELETE"):
            with self.subTest(method=method):
                response = http_request(self.port, method, "/publish?topic=a")
                self.assertEqual(response.status, 405, response)

    def test_publish_json_delivered_byte_identical(self):
        topic = unique_topic("http")
        sub = self.client()
        sub.sub(self, topic)
        bodies = ['{ "a" : [1, 2.50] ,\n "s":"\\u00e9\u00e9\\"" }', "null", '"s"', "[ ]", "-0.5e3"]
        for seq, body in enumerate(bodies, 1):
            with self.subTest(body=body):
                self.assertEqual(published(publish(self.port, topic, body)), answer(topic, seq))
                self.assertEqual(sub.read_message(), (OP_TEXT, msg_frame(topic, seq,
                                                                         body.encode())))

    def test_publish_other_content_types_are_binary(self):
        topic = unique_topic("http")
        sub = self.client()
        sub.sub(self, topic)
        cases = [("application/octet-stream", os.urandom(1000) + b"\x00"),
                 ("application/octet-stream", b""), ("text/plain", b"plain {not json"),
                 (None, b"no content type")]
        for seq, (content_type, body) in enumerate(cases, 1):
            with self.subTest(content_type=content_type, size=len(body)):
                self.assertEqual(published(publish(self.port, topic, body, content_type)),
                                 answer(topic, seq))
                self.assertEqual(sub.read_message(),
                                 (OP_BINARY, binary_msg_frame(topic, seq, body)))

    def test_http_and_websocket_share_the_sequence(self):
        topic = unique_topic("http")
        sub, pub = self.client(), self.client()
        sub.sub(self, topic.split(".")[0] + ".>")
        seqs = []
        for n in range(6):
            if n % 2:
                status, fields = published(publish(self.port, topic, str(n)))
                self.assertEqual(status, 200, fields)
                seqs.append(int(dict(fields)["seq"]))
            else:
                pub.pub(topic, str(n), id_raw=str(n))
                seqs.append(pub.expect_ack(self, str(n), seq=True))
        self.assertEqual(seqs, list(range(1, 7)))
        for n in range(6):
            self.assertEqual(sub.read_message(), (OP_TEXT, msg_frame(topic, n + 1, b"%d" % n)))

    def test_publish_errors_400(self):
        cases = [("missing topic", "/publish", b"1"), ("empty topic", "/publish?topic=", b"1"),
                 ("other parameter", "/publish?topik=a", b"1"),
                 ("empty token", "/publish?topic=a..b", b"1"),
                 ("pattern *", "/publish?topic=a.*", b"1"),
                 ("pattern >", "/publish?topic=a.%3E", b"1"),
                 ("bad byte", "/publish?topic=a%24b", b"1"),
                 ("too long", "/publish?topic=" + "a" * 256, b"1"),
                 ("too deep", "/publish?topic=" + ".".join("a" * 17), b"1")]
        cases += [("invalid JSON %r" % body, "/publish?topic=http.bad", body)
                  for body in (b"", b"{", b'{"a":}', b"1 2", b"[1,]", b"nope", b"{} x",
                               b"\xff")]
        for what, target, body in cases:
            with self.subTest(what):
                response = publish(self.port, None, body, target=target)
                self.assertEqual(response.status, 400, response)
                self.assertTrue(response.body.strip(), "a reason in the body: %r" % response)

    def test_body_over_max_message_bytes_413(self):
        topic = unique_topic("http")
        sub = self.client()
        sub.sub(self, topic)
        body = b"b" * MAX_MESSAGE_BYTES
        self.assertEqual(publish(self.port, topic, body, "application/octet-stream").status, 200)
        self.assertEqual(sub.read_message(), (OP_BINARY, binary_msg_frame(topic, 1, body)))
        try:
            response = publish(self.port, topic, body + b"b", "application/octet-stream")
        except harness.PeerClosed:
            self.fail("TCP closed without a 413")
        self.assertEqual(response.status, 413, response)
        response = publish(self.port, topic, b'"%s"' % (b"j" * MAX_MESSAGE_BYTES))
        self.assertEqual(response.status, 413, response)
        # Nothing was published: the next message is seq 2.
        self.assertEqual(publish(self.port, topic, b"2").status, 200)
        self.assertEqual(sub.read_message(), (OP_TEXT, msg_frame(topic, 2, b"2")))


class MetricsTest(PubSubTestCase):
    FLAGS = ("--workers", str(WORKERS))

    def wait_sample(self, name, expected, timeout=3.0):
        """Scrapes until `name` equals `expected` (updates may lag the acks a little)."""
        deadline = time.monotonic() + timeout
        while True:
            value = sample(scrape(self.port), name)
            if value == expected or time.monotonic() > deadline:
                self.assertEqual(value, expected, name)
                return
            time.sleep(0.05)

    def test_format_and_families(self):
        families = scrape(self.port)
        for name in GAUGES + COUNTERS:
            self.assertIn(name, families, "family %s" % name)
            self.assertEqual(families[name]["type"], "gauge" if name in GAUGES else "counter",
                             name)
        for name in GAUGES + COUNTERS[:4]:
            samples = families[name]["samples"]
            self.assertEqual([(n, labels) for n, labels, _ in samples], [(name, {})], name)
        for name in WORKER_COUNTERS:
            self.assertIn(name, families, "family %s" % name)
            self.assertEqual(families[name]["type"], "counter", name)
            samples = families[name]["samples"]
            self.assertEqual([(n, labels) for n, labels, _ in samples], [(name, {})], name)
        codes = families["herald_close_codes_total"]["samples"]
        self.assertEqual(sorted(labels["code"] for _, labels, _ in codes),
                         [str(code) for code in range(1000, 1016)])
        busy = families["herald_worker_busy_seconds_total"]["samples"]
        self.assertEqual(sorted(labels["worker"] for _, labels, _ in busy),
                         [str(n) for n in range(WORKERS)])
        for _, labels, value in families["herald_slow_consumer_total"]["samples"]:
            self.assertIn(labels.get("policy"), ("disconnect", "drop", "conflate"), labels)
            self.assertEqual(list(labels), ["policy"])
        for family in families.values():
            for name, _, value in family["samples"]:
                self.assertGreaterEqual(value, 0, name)

    def test_counters_follow_traffic(self):
        # Start from a settled broker: the connections of the test before may still be
        # closing, and only this scrape's own connection should be open.
        self.wait_sample("herald_connections", 1)
        base = scrape(self.port)
        gauge = {name: sample(base, name) for name in GAUGES}
        a, b = self.client(), self.client()
        self.wait_sample("herald_connections", gauge["herald_connections"] + 2)
        t = [unique_topic("met") for _ in range(5)]
        for topic in t[:3]:
            a.sub(self, topic)
        b.sub(self, t[3])
        b.sub(self, t[4])
        self.wait_sample("herald_subscriptions", gauge["herald_subscriptions"] + 5)

        before = scrape(self.port)
        payload = "p" * 1000
        for _ in range(10):
            b.pub(t[0], '"%s"' % payload)
        for _ in range(3):
            b.send_binary(encode_publish_binary(t[0], payload.encode()))
        for _ in range(2):
            self.assertEqual(publish(self.port, t[0], '"%s"' % payload).status, 200)
        for _ in range(15):
            self.assertEqual(a.read_message()[1].count(b"p" * 1000), 1)
        topics = sample(scrape(self.port), "herald_topics")
        b.pub(unique_topic("fresh"), "1")  # three topics nobody subscribes to
        b.pub(unique_topic("fresh"), "1")
        b.pub(unique_topic("fresh"), "1", id_raw="1")
        b.expect_ack(self, "1", seq=True)
        self.wait_sample("herald_messages_published_total",
                         sample(before, "herald_messages_published_total") + 18)
        self.wait_sample("herald_messages_delivered_total",
                         sample(before, "herald_messages_delivered_total") + 15)
        self.wait_sample("herald_topics", topics + 3)
        after = scrape(self.port)
        self.assertGreaterEqual(sample(after, "herald_bytes_in_total") -
                                sample(before, "herald_bytes_in_total"), 15 * 1000)
        self.assertGreaterEqual(sample(after, "herald_bytes_out_total") -
                                sample(before, "herald_bytes_out_total"), 15 * 1000)
        # 13 publishes over WebSocket and three more to fresh topics in; 15 deliveries out.
        self.assertGreaterEqual(sample(after, "herald_messages_in_total") -
                                sample(before, "herald_messages_in_total"), 16)
        self.assertGreaterEqual(sample(after, "herald_messages_out_total") -
                                sample(before, "herald_messages_out_total"), 15)
        # Each of the 15 frames a subscriber read went out in some send, one buffer each
        # (several to a send when they queued in one tick).
        sends = sample(after, "herald_sends_total") - sample(before, "herald_sends_total")
        buffers = (sample(after, "herald_send_buffers_total") -
                   sample(before, "herald_send_buffers_total"))
        self.assertGreaterEqual(sends, 1)
        self.assertGreaterEqual(buffers, max(sends, 15))
        for name in COUNTERS + WORKER_COUNTERS:  # counters never go down
            old = {(n, tuple(sorted(lb.items()))): v for n, lb, v in before[name]["samples"]}
            for n, labels, value in after[name]["samples"]:
                key = (n, tuple(sorted(labels.items())))
                self.assertGreaterEqual(value, old.get(key, 0), key)

        a.unsub(self, t[1])
        self.wait_sample("herald_subscriptions", gauge["herald_subscriptions"] + 4)
        b.close()
        self.wait_sample("herald_subscriptions", gauge["herald_subscriptions"] + 2)
        self.wait_sample("herald_connections", gauge["herald_connections"] + 1)


class TopicLimitHttpTest(PubSubTestCase):
    FLAGS = ("--max-topics", "2")

    def test_too_many_topics_503(self):
        for topic in ("h.a", "h.b"):
            self.assertEqual(published(publish(self.port, topic, "1")), answer(topic, 1))
        self.assertEqual(publish(self.port, "h.c", "1").status, 503)
        self.assertEqual(published(publish(self.port, "h.a", "2")), answer("h.a", 2))


if __name__ == "__main__":
    unittest.main()
