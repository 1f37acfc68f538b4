"""Slow consumers (PROTOCOL.md section 6) with real stalled readers: raw sockets with a small
receive buffer that subscribe and then stop reading while a publisher pumps. The kernel's view
of the stalled connection (/proc/net/tcp) tells its state and the bytes the kernel holds, so
the broker's own queue can be bounded from outside. One worker, so that a message read by the
healthy subscriber has been queued for the stalled one too."""

import random
import time
import unittest

import harness
from harness import (PubSubClient, PubSubTestCase, decode_server_frame, process_rss_kib, sample,
                     scrape, tcp_socket_info)

BOUND = 65536  # --max-queued-bytes
CLOSE_TIMEOUT_MS = 200
SWEEP_SLACK_S = 2.5  # timeouts may be swept once a second; CI may run under ASan
BATCH = 16
PAD = "x" * 2000
STALL_RCVBUF = 4096
PUMP_CAP_BYTES = 64 << 20


def fresh_topic():
    """A two-token topic whose first token no other test uses."""
    return "slow%d.t" % random.randrange(1 << 40)


def ws_frame_bytes(payload_bytes):
    """Bytes of an unmasked server frame carrying payload_bytes."""
    return payload_bytes + (2 if payload_bytes <= 125 else 4 if payload_bytes <= 0xFFFF else 10)


class Pump:
    """A publisher and a healthy subscriber on `topics`; publishes round-robin in batches and
    requires the healthy subscriber to receive every message of each batch, in order, with
    consecutive seqs. Counts the frame bytes each subscriber of all topics is sent."""

    def __init__(self, testcase, topics):
        self.t, self.topics = testcase, topics
        self.pub = testcase.client()
        self.healthy = testcase.client()
        for topic in topics:
            self.healthy.sub(testcase, topic)
        self.seqs = {topic: 0 for topic in topics}
        self.sent = 0
        self.bytes = 0
        self.frame_max = 0

    def batch(self):
        commands, expected = [], []
        for _ in range(BATCH):
            topic = self.topics[self.sent % len(self.topics)]
            data = '{"n":%d,"pad":"%s"}' % (self.sent, PAD)
            commands.append(harness.build_frame(
                harness.OP_TEXT, '{"op":"pub","topic":"%s","data":%s}' % (topic, data)))
            self.seqs[topic] += 1
            expected.append(b'{"type":"msg","topic":"%s","seq":%d,"data":%s}'
                            % (topic.encode(), self.seqs[topic], data.encode()))
            self.sent += 1
        self.t.assertTrue(self.pub.send(b"".join(commands)), "publisher connection failed")
        for frame in expected:
            opcode, got = self.healthy.read_message()
            if got != frame:
                self.t.fail("healthy subscriber: expected %r, got %r"
                            % (frame[:60], decode_server_frame(opcode, got)))
            self.bytes += ws_frame_bytes(len(frame))
            self.frame_max = max(self.frame_max, ws_frame_bytes(len(frame)))

    def until(self, done, what):
        """Batches until done() is true; fails past PUMP_CAP_BYTES."""
        while not done():
            if self.bytes > PUMP_CAP_BYTES:
                self.t.fail("%s not reached after %d MiB" % (what, PUMP_CAP_BYTES >> 20))
            self.batch()


class StallTestCase(PubSubTestCase):
    POLICY = "disconnect"

    @classmethod
    def setUpClass(cls):
        cls.FLAGS = ("--workers", "1", "--max-queued-bytes", str(BOUND),
                     "--slow-consumer-policy", cls.POLICY,
                     "--close-timeout-ms", str(CLOSE_TIMEOUT_MS))
        super().setUpClass()

    def stalled(self, filters):
        """A reader with a small receive window, subscribed to [(filter, policy or None)],
        that reads nothing more until the test says so."""
        client = PubSubClient(self.port, rcvbuf=STALL_RCVBUF)
        self.addCleanup(client.close)
        client.open()
        for topic, policy in filters:
            client.sub(self, topic, policy=policy)
        return client

    def kernel(self, client):
        """(server-side state, bytes the kernel holds for this connection in both sockets)."""
        server = tcp_socket_info(self.port, client.local_port)
        ours = tcp_socket_info(client.local_port, self.port)
        if server is None:
            return None, 0
        return server[0], server[1] + (ours[2] if ours else 0)

    def drain(self, client, quiet_s=0.7):
        """Reads until `quiet_s` without a byte or until the broker closes; returns (frames,
        bytes of the complete frames, closed). A frame cut short by a reset is dropped."""
        frames, total, closed = [], 0, False
        while True:
            try:
                frame = client.read_frame(timeout=quiet_s)
            except TimeoutError:
                break
            except harness.PeerClosed:
                closed = True
                break
            frames.append(frame)
            total += ws_frame_bytes(len(frame.payload))
        return frames, total, closed

    def events(self, frames):
        return [decode_server_frame(f.opcode, f.payload) for f in frames]

    def check_delivered(self, events, final, conflate=False):
        """Gap notices immediately precede a message of their topic whose seq jumps by exactly
        missed + 1 (at least that much under conflate); other messages follow by 1 (by at
        least 1 under conflate); the last seq per topic equals `final`. Returns the jumps."""
        last = {topic: 0 for topic in final}
        jumps = 0
        gap = None
        for e in events:
            if gap is not None:
                self.assertEqual((e.type, e.topic), ("msg", gap.topic),
                                 "a gap must be followed by its topic's message: %r" % e)
            if e.type == "gap":
                self.assertGreaterEqual(e.missed, 1, e)
                gap = e
                continue
            self.assertEqual(e.type, "msg", e)
            missed = gap.missed if gap else 0
            step = e.seq - last[e.topic]
            if conflate:
                self.assertGreaterEqual(step, missed + 1, "seq %d after %d, %r"
                                        % (e.seq, last[e.topic], gap))
            else:
                self.assertEqual(step, missed + 1, "seq %d after %d on %s, gap %r"
                                 % (e.seq, last[e.topic], e.topic, gap))
            jumps += step > 1
            last[e.topic] = e.seq
            gap = None
        self.assertIsNone(gap, "a gap notice with no message after it")
        self.assertEqual(last, final, "the last seq of each topic")
        return jumps

    def stall_then_resume(self, pump, stalled):
        """Pumps until the kernel and the bound are surely full (every message beyond them
        must have been skipped or conflated), checks the connection stayed open, drains it,
        and requires it to have received no more than the kernel held plus the bound."""
        state = {}
        start = pump.bytes

        def full():
            state["now"] = self.kernel(stalled)
            pumped = pump.bytes - start
            return pumped >= state["now"][1] + 4 * BOUND and pumped >= (1 << 20)

        pump.until(full, "a full stall")
        held = self.kernel(stalled)
        self.assertEqual(held[0], "ESTABLISHED", "the stalled reader was disconnected")
        frames, received, closed = self.drain(stalled)
        self.assertFalse(closed, "the stalled reader was disconnected")
        slack = 2 * pump.frame_max + 256
        self.assertLessEqual(received, max(held[1], state["now"][1]) + BOUND + slack,
                             "bytes a stalled reader received after resuming: the kernel held "
                             "%d, the bound is %d" % (held[1], BOUND))
        return self.events(frames)

    def assert_disconnected(self, pump, stalled, topic):
        status = {}
        start = pump.bytes

        def closed():
            state, held = self.kernel(stalled)
            if state == "ESTABLISHED":
                queued = pump.bytes - start - held
                if queued > BOUND + pump.frame_max and "over" not in status:
                    status["over"] = time.monotonic()  # over the bound: must close soon
                if "over" in status:
                    self.assertLess(time.monotonic() - status["over"],
                                    CLOSE_TIMEOUT_MS / 1000 + SWEEP_SLACK_S,
                                    "%d bytes queued (bound %d) and still open"
                                    % (queued, BOUND))
                return False
            return True

        pump.until(closed, "disconnect")
        for _ in range(20):  # the healthy subscriber is not disturbed
            pump.batch()
        frames, _, tcp_closed = self.drain(stalled, quiet_s=SWEEP_SLACK_S + 2)
        self.assertTrue(tcp_closed, "TCP not closed by the broker")
        if frames and frames[-1].opcode == harness.OP_CLOSE:
            self.assertEqual((frames[-1].close_code, frames[-1].close_reason),
                             (1008, b"slow consumer"))
            frames.pop()
        seqs = [e.seq for e in self.events(frames)]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)),
                         "what the stalled reader got before the close")

    def stalled_on(self, filters):
        """A Pump on one fresh topic and a stalled reader subscribed to `filters`: "topic"
        stands for the topic, "%s" in a pattern for its first token."""
        topic = fresh_topic()
        pump = Pump(self, [topic])
        stalled = self.stalled([(f % topic.split(".")[0] if "%" in f else topic, policy)
                                for f, policy in filters])
        return pump, stalled, topic

    def assert_disconnects(self, filters):
        self.assert_disconnected(*self.stalled_on(filters))

    def assert_drops(self, filters):
        pump, stalled, _ = self.stalled_on(filters)
        events = self.stall_then_resume(pump, stalled)
        for _ in range(2):
            pump.batch()
        events += self.events(self.drain(stalled)[0])
        self.assertGreaterEqual(self.check_delivered(events, pump.seqs), 1, "no gap seen")


class DisconnectTest(StallTestCase):
    POLICY = "disconnect"

    def test_stalled_reader_is_disconnected(self):
        self.assert_disconnects([("topic", None)])

    def test_drop_subscription_overrides_default(self):
        self.assert_drops([("topic", "drop")])

    def test_exact_topic_policy_wins_over_pattern(self):
        self.assert_drops([("%s.*", "disconnect"), ("topic", "drop")])

    def test_pattern_subscribed_first_decides(self):
        self.assert_drops([("%s.>", "drop"), ("%s.*", "disconnect")])


class DropTest(StallTestCase):
    POLICY = "drop"

    def test_gap_counts_exactly_the_missed(self):
        topic = fresh_topic()
        pump = Pump(self, [topic])
        stalled = self.stalled([(topic, None)])
        events = self.stall_then_resume(pump, stalled)
        for _ in range(2):  # after the drain, the next messages follow a gap notice
            pump.batch()
        frames = self.drain(stalled)[0]
        after = self.events(frames)
        self.assertEqual(after[0].type, "gap", "the first frame after resuming: %r" % after[0])
        self.assertGreaterEqual(self.check_delivered(events + after, pump.seqs), 1)
        self.assertEqual([e.seq for e in after[1:]],
                         list(range(pump.seqs[topic] - 2 * BATCH + 1, pump.seqs[topic] + 1)))

    def test_disconnect_subscription_overrides_default(self):
        self.assert_disconnects([("topic", "disconnect")])

    def test_exact_topic_policy_wins_over_pattern(self):
        self.assert_disconnects([("%s.>", "drop"), ("topic", "disconnect")])

    def test_pattern_subscribed_first_decides(self):
        self.assert_disconnects([("%s.*", "disconnect"), ("%s.>", "drop")])

    def test_memory_bounded_with_stalled_readers(self):
        if harness.is_sanitized():
            self.skipTest("ASan's allocator quarantines freed memory: RSS is not bounded")
        topic = fresh_topic()
        pump = Pump(self, [topic])
        stalled = [self.stalled([(topic, None)]) for _ in range(3)]
        pump.until(lambda: pump.bytes >= 6 << 20, "warm-up")
        before = process_rss_kib(self.broker.proc.pid)
        start = pump.bytes
        pump.until(lambda: pump.bytes >= start + (24 << 20), "24 MiB more")
        after = process_rss_kib(self.broker.proc.pid)
        self.assertLessEqual(after - before, 4096, "broker RSS grew from %d KiB to %d KiB over "
                             "%d messages with 3 stalled readers" % (before, after, pump.sent))
        for client in stalled:
            self.assertEqual(self.kernel(client)[0], "ESTABLISHED")


class ConflateTest(StallTestCase):
    POLICY = "conflate"
    TOPICS = 4

    def test_latest_value_of_each_topic_arrives(self):
        base = fresh_topic()
        topics = ["%s.%d" % (base, n) for n in range(self.TOPICS)]
        pump = Pump(self, topics)
        stalled = self.stalled([(base + ".*", None)])
        events = self.stall_then_resume(pump, stalled)
        jumps = self.check_delivered(events, pump.seqs, conflate=True)
        self.assertGreaterEqual(jumps, 1, "nothing was conflated")


class ConflateOverrideTest(StallTestCase):
    POLICY = "disconnect"

    def test_conflate_subscription_overrides_default(self):
        base = fresh_topic()
        topics = ["%s.%d" % (base, n) for n in range(2)]
        pump = Pump(self, topics)
        stalled = self.stalled([(topics[0], "conflate"), (topics[1], "conflate")])
        events = self.stall_then_resume(pump, stalled)
        self.assertGreaterEqual(self.check_delivered(events, pump.seqs, conflate=True), 1)


class SlowConsumerMetricTest(StallTestCase):
    POLICY = "drop"

    def test_counters_by_policy(self):
        before = scrape(self.port)
        topic = fresh_topic()
        pump = Pump(self, [topic])
        stalled = self.stalled([(topic, "disconnect")])
        self.assert_disconnected(pump, stalled, topic)
        dropping = self.stalled([(topic, None)])
        self.stall_then_resume(pump, dropping)
        after = scrape(self.port)
        name = "herald_slow_consumer_total"

        def earlier(policy):  # a series may appear with its first event
            try:
                return sample(before, name, policy=policy)
            except AssertionError:
                return 0
        self.assertEqual(sample(after, name, policy="disconnect") - earlier("disconnect"), 1)
        self.assertGreaterEqual(sample(after, name, policy="drop") - earlier("drop"), 1)


if __name__ == "__main__":
    unittest.main()
