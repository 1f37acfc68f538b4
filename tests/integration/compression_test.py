"""permessage-deflate (RFC 7692) against the real binary with clients that negotiate it:
python-websockets (compression on, its default) for echo and pub/sub of 0 B to 16 MiB, whole
and fragmented; raw clients that see RSV1 on the wire; a broadcast compressed exactly once for
50 subscribers over two workers (from the broker's metrics, checked against the wire); every
slow-consumer policy with a stalled deflate reader; replay pages from history; wss://; the
flags; and the inflate-failure metrics."""

import asyncio
import json
import os
import random
import time
import unittest
import zlib

import harness
from deflate_wire import (DeflateClient, compress_message, corpus_text, inflate_message,
                          new_compressor)
from harness import (OP_BINARY, OP_TEXT, PubSubClient, PubSubTestCase, run, run_herald,
                     sample, scrape)
from tls_pki import TlsBrokerCase, wss_connect
from websockets.frames import Opcode

LIMIT = 16 << 20  # the default --max-message-bytes
MIN_BYTES = 128  # the default --compression-min-bytes
WAIT_S = 10.0  # bound on every metric wait; generous for sanitizer builds


def deflate_connect(port, path="/", **kw):
    """python-websockets with its default permessage-deflate offer."""
    if path == "/":
        kw.setdefault("subprotocols", [harness.SUBPROTOCOL])
    return harness.ws_connect(port, path, compression="deflate", **kw)


def tap(ws):
    """Records whether each data message python-websockets reads came compressed (RSV1 of its
    first frame). websockets has no public hook for it: this wraps its PerMessageDeflate
    extension's decode(), which every frame read passes through (websockets 10, frames.py)."""
    extensions = [e for e in ws.extensions if e.name == "permessage-deflate"]
    if not extensions:
        raise AssertionError("permessage-deflate not negotiated: %r" % ws.extensions)
    deflate, seen = extensions[0], []
    original = deflate.decode

    def decode(frame, *, max_size=None):
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            seen.append(frame.rsv1)
        return original(frame, max_size=max_size)

    deflate.decode = decode
    ws.tapped = seen
    return seen


def compressible_text(size, seed=0):
    """ASCII text of exactly `size` bytes that deflate shrinks a lot; nothing to escape in
    a JSON string."""
    rng = random.Random(seed)
    unit = ("{'sym':'AAPL','px':%d.%02d,'qty':%d}," % (rng.randrange(200), rng.randrange(100),
                                                      rng.randrange(1000)))
    return (unit * (size // len(unit) + 1))[:size]


def random_text(size, seed=0):
    """Random hex digits: text that deflate shrinks only by its entropy, to about half."""
    return os.urandom(size // 2 + 1).hex()[:size]


def random_bytes(size):
    return os.urandom(size)


def header_bytes(payload_bytes):
    return 2 if payload_bytes <= 125 else 4 if payload_bytes <= 0xFFFF else 10


def server_compresses(payload, level=1, min_bytes=MIN_BYTES):
    """Whether the broker sends `payload` (a whole server message) compressed, and the size
    of the frame it sends: the model of FrameCompressor, on the same zlib with the same
    parameters (raw, 15 window bits, memory level 8, one sync flush, §7.2.1)."""
    plain = header_bytes(len(payload)) + len(payload)
    if len(payload) < min_bytes:
        return False, plain
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    data = compress_message(payload, compressor)
    size = header_bytes(len(data)) + len(data)
    return (True, size) if size < plain else (False, plain)


def msg_frame_bytes(topic, seq, data_raw_bytes):
    """Payload bytes of the server's text msg for data of `data_raw_bytes` raw JSON bytes."""
    return len('{"type":"msg","topic":"%s","seq":%d,"data":}' % (topic, seq)) + data_raw_bytes


def metric(port, name, **labels):
    try:
        return sample(scrape(port), name, **labels)
    except AssertionError as e:
        if "no sample" in str(e):
            return 0.0  # a labelled series appears with its first event
        raise


def wait_metric(port, name, predicate, what, **labels):
    """Polls until predicate(value) holds (bounded); returns the value or fails."""
    deadline = time.monotonic() + WAIT_S
    while True:
        value = metric(port, name, **labels)
        if predicate(value) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if not predicate(value):
        raise AssertionError("%s%r = %s: %s" % (name, labels, value, what))
    return value


def deflate_counters(port):
    families = scrape(port)

    def get(name, **labels):
        try:
            return sample(families, name, **labels)
        except AssertionError:
            return 0.0
    return {"frames": get("herald_deflate_frames_total"),
            "in": get("herald_deflate_bytes_in_total"),
            "out": get("herald_deflate_bytes_out_total"),
            "compressed": get("herald_deflate_deliveries_total", frame="compressed"),
            "plain": get("herald_deflate_deliveries_total", frame="plain"),
            "negotiated": get("herald_deflate_negotiated_total")}


def counters_reaching(port, before, done):
    """deflate_counters() once done(delta) holds, or at the bound (the counters are read live
    from each worker; the frames they count have been read by then, this only waits out the
    visibility of relaxed stores). Returns the delta."""
    deadline = time.monotonic() + WAIT_S
    while True:
        after = deflate_counters(port)
        delta = {k: after[k] - before[k] for k in after}
        if done(delta) or time.monotonic() > deadline:
            return delta
        time.sleep(0.02)


class WebsocketsTest(PubSubTestCase):
    """python-websockets, which offers permessage-deflate by default, on / and /echo. The
    queue bound is raised so that a 16 MiB message is delivered, not dropped (drop policy)."""

    FLAGS = ("--echo", "--max-queued-bytes", str(64 << 20))

    def check_answer(self, ws):
        value = ws.response_headers.get("Sec-WebSocket-Extensions")
        self.assertEqual(value, "permessage-deflate; server_no_context_takeover; "
                                "client_no_context_takeover")

    def test_echo_text_and_binary_of_every_size(self):
        # Sizes across the threshold and up to the limit. Random bytes at the limit too:
        # python-websockets compresses them anyway and deflate makes them a little larger, but
        # the limit is on the message. (Random text stops at 1 MiB: zlib's level 6 in
        # python-websockets takes seconds a MiB on it.)
        sizes = [0, 1, MIN_BYTES - 1, MIN_BYTES, 300, 64 << 10, 1 << 20]
        cases = [(size, kind, kind) for size in sizes for kind in ("compressible", "random")]
        cases += [(LIMIT, "compressible", "compressible"),
                  (LIMIT, "compressible", "random")]

        async def scenario():
            async with deflate_connect(self.port, "/echo") as ws:
                self.check_answer(ws)
                seen = tap(ws)
                expected = []
                for size, text_kind, binary_kind in cases:
                    text = (compressible_text(size) if text_kind == "compressible"
                            else random_text(size))
                    binary = (compressible_text(size, 1).encode()
                              if binary_kind == "compressible" else random_bytes(size))
                    for message in (text, binary):
                        await ws.send(message)
                        got = await ws.recv()
                        if got != message:
                            self.fail("echo of %d bytes differs" % size)
                        raw = message.encode() if isinstance(message, str) else message
                        expected.append(server_compresses(raw)[0])
                self.assertEqual(seen, expected, "RSV1 of each echo")
        run(scenario(), timeout=120)

    def test_echo_fragmented(self):
        async def scenario():
            async with deflate_connect(self.port, "/echo") as ws:
                seen = tap(ws)
                text = compressible_text(1 << 20, 3)
                await ws.send([text[i:i + 150000] for i in range(0, len(text), 150000)])
                self.assertEqual(await ws.recv(), text)
                binary = random_bytes(300000)
                await ws.send([binary[:1], b"", binary[1:200000], binary[200000:]])
                self.assertEqual(await ws.recv(), binary)
                await ws.send(["x"] * 200)  # 200 one-byte fragments, each compressed
                self.assertEqual(await ws.recv(), "x" * 200)
                self.assertEqual(seen, [True, False, True])
        run(scenario())

    async def recv_or_error(self, sub, pub):
        """The subscriber's next message; fails with the publisher's error if one came."""
        receiving = asyncio.ensure_future(sub.recv())
        replied = asyncio.ensure_future(pub.recv())
        done, _ = await asyncio.wait([receiving, replied], timeout=60,
                                     return_when=asyncio.FIRST_COMPLETED)
        if replied in done:
            self.fail("the publisher got %r" % replied.result()[:300])
        replied.cancel()
        if receiving not in done:
            self.fail("no message within 60 s (%d before)" % len(sub.tapped))
        return receiving.result()

    def test_pubsub_every_size_text_and_binary(self):
        topic = harness.unique_topic("z")

        async def scenario():
            async with deflate_connect(self.port) as sub, deflate_connect(self.port) as pub:
                self.check_answer(sub)
                await sub.send(json.dumps({"op": "sub", "topic": topic, "id": "s"}))
                self.assertEqual(await sub.recv(), '{"type":"ack","id":"s"}')
                seen = tap(sub)
                expected = []
                seq = 0
                command_head = len('{"op":"pub","topic":"%s","data":}' % topic)
                # JSON data: a string whose msg frame is exactly MIN_BYTES - 1 and MIN_BYTES
                # bytes, then larger; the largest publish command is exactly the limit.
                targets = [("raw", 2), ("raw", 3)]
                targets += [("frame", MIN_BYTES - 1), ("frame", MIN_BYTES), ("raw", 300),
                            ("raw", 64 << 10), ("raw", 1 << 20), ("raw", LIMIT - command_head)]
                for kind in ("compressible", "random"):
                    for how, size in targets:
                        if kind == "random" and size > (1 << 20):
                            continue  # as in the echo test
                        seq += 1
                        raw_bytes = size
                        if how == "frame":
                            raw_bytes = size - msg_frame_bytes(topic, seq, 0)
                        random_body = kind == "random" and how == "raw" and size > 3
                        body = (random_text if random_body else compressible_text)(
                            raw_bytes - 2, seq)
                        data = '"%s"' % body
                        await pub.send('{"op":"pub","topic":"%s","data":%s}' % (topic, data))
                        want = '{"type":"msg","topic":"%s","seq":%d,"data":%s}' % (topic, seq,
                                                                                  data)
                        got = await self.recv_or_error(sub, pub)
                        if got != want:
                            self.fail("message %d (%d bytes of data) differs" % (seq, raw_bytes))
                        expected.append(server_compresses(want.encode())[0])
                # Binary (section 5): a message is 2 + topic + 8 bytes of header, then data.
                head = 2 + len(topic) + 8
                for kind in ("compressible", "random"):
                    for size in (0, 1, MIN_BYTES - 1 - head, MIN_BYTES - head, 300, 64 << 10,
                                 1 << 20, LIMIT - 3 - len(topic)):
                        if kind == "random" and size > (1 << 20):
                            continue  # the echo test sends random bytes near the limit
                        seq += 1
                        data = (compressible_text(size, seq).encode() if kind == "compressible"
                                else random_bytes(size))
                        await pub.send(harness.encode_publish_binary(topic, data))
                        got = await self.recv_or_error(sub, pub)
                        self.assertIsInstance(got, bytes)
                        if harness.parse_binary_message(got) != (topic, seq, data):
                            self.fail("binary message %d (%d bytes) differs" % (seq, size))
                        expected.append(server_compresses(got)[0])
                self.assertEqual(seen, expected, "RSV1 of each message")
        run(scenario(), timeout=120)

    def test_pubsub_fragmented_publish(self):
        topic = harness.unique_topic("zf")

        async def scenario():
            async with deflate_connect(self.port) as sub, deflate_connect(self.port) as pub:
                await sub.send(json.dumps({"op": "sub", "topic": topic, "id": "s"}))
                self.assertEqual(await sub.recv(), '{"type":"ack","id":"s"}')
                data = json.dumps(compressible_text(500000, 9))
                command = '{"op":"pub","topic":"%s","data":%s,"id":7}' % (topic, data)
                await pub.send([command[i:i + 65536] for i in range(0, len(command), 65536)])
                self.assertEqual(await pub.recv(), '{"type":"ack","id":7,"seq":1}')
                self.assertEqual(await sub.recv(),
                                 '{"type":"msg","topic":"%s","seq":1,"data":%s}' % (topic, data))
                frame = harness.encode_publish_binary(topic, random_bytes(100000))
                await pub.send([frame[:10], frame[10:50000], frame[50000:]])
                self.assertEqual(harness.parse_binary_message(await sub.recv())[1:],
                                 (2, frame[3 + len(topic):]))
        run(scenario())

    def test_limit_counts_the_inflated_size(self):
        """A compressed message inflating to one byte more than --max-message-bytes is closed
        with 1009, however small it is on the wire; one at the limit is served."""
        client = DeflateClient(self.port)
        self.addCleanup(client.close)
        client.open("/echo")
        client.send_message(OP_BINARY, bytes(LIMIT), new_compressor())
        client.expect_message(self, OP_BINARY, bytes(LIMIT), timeout=30)
        self.assertEqual(client.compressed, [True])
        client.send_message(OP_BINARY, bytes(LIMIT + 1), new_compressor())
        client.expect_close(1009)


class CompressedOnceTest(PubSubTestCase):
    """Each broadcast is compressed once, whichever worker queues it first, for every deflate
    subscriber on both workers (SO_REUSEPORT spreads 50 connections over the two: that all
    land on one has a chance of 2^-49)."""

    FLAGS = ("--workers", "2")
    DEFLATE = 50
    PLAIN = 3
    MESSAGES = 20

    def test_each_broadcast_compressed_exactly_once(self):
        topic = harness.unique_topic("once")
        deflaters, plains = [], []
        for i in range(self.DEFLATE):
            client = DeflateClient(self.port)
            self.addCleanup(client.close)
            client.open("/", protocols=harness.SUBPROTOCOL)
            client.sub(self, topic)
            deflaters.append(client)
        for _ in range(self.PLAIN):
            plain = PubSubClient(self.port)
            self.addCleanup(plain.close)
            plain.open()
            plain.sub(self, topic)
            plains.append(plain)
        before = deflate_counters(self.port)
        bodies = [json.dumps({"n": n, "ticks": [compressible_text(40, n)] * 25})
                  for n in range(self.MESSAGES)]
        for body in bodies:
            response = harness.http_request(
                self.port, "POST", "/publish?topic=" + topic, body.encode(),
                headers=[("Content-Type", "application/json")])
            self.assertEqual(response.status, 200, response)
        frames = []
        for n, body in enumerate(bodies, 1):
            frames.append(b'{"type":"msg","topic":"%s","seq":%d,"data":%s}'
                          % (topic.encode(), n, body.encode()))
        plain_wire = 0
        for plain in plains:
            for frame in frames:
                self.assertEqual(plain.read_message(), (OP_TEXT, frame))
        plain_wire = sum(len(f) + (2 if len(f) <= 125 else 4) for f in frames)
        for client in deflaters:
            for frame in frames:
                self.assertEqual(client.read_message(), (OP_TEXT, frame))
        observed = sum(sum(c.compressed) for c in deflaters)
        deliveries = self.DEFLATE * self.MESSAGES
        # Deliveries are counted as they are queued, before the bytes above were sent.
        delta = counters_reaching(self.port, before, lambda d: d["frames"] >= self.MESSAGES and
                                  d["compressed"] + d["plain"] >= deliveries)
        self.assertEqual(delta["frames"], self.MESSAGES,
                         "compressions for %d broadcasts to %d deflate subscribers: %r"
                         % (self.MESSAGES, self.DEFLATE, delta))
        # A worker that finds another one compressing the frame sends it plain (kBusy).
        self.assertEqual(delta["compressed"] + delta["plain"], deliveries, delta)
        self.assertEqual(delta["compressed"], observed, "compressed deliveries vs the wire")
        self.assertGreaterEqual(observed, deliveries // 2, "most deliveries compressed")
        self.assertGreater(delta["in"], 0)
        self.assertLess(delta["out"] * 3, delta["in"], "compression ratio: %r" % delta)
        for client in deflaters:
            if all(client.compressed):
                self.assertLess(client.wire_bytes * 3, plain_wire)


class SlowConsumerTest(PubSubTestCase):
    """Every slow-consumer policy with a stalled reader that negotiated deflate: the broker
    stays up, the policy acts (gap, conflation, close 1008, catch-up from history), and what
    the reader gets after resuming inflates to the right messages."""

    BOUND = 65536
    FLAGS = ("--workers", "1", "--max-queued-bytes", str(BOUND), "--close-timeout-ms", "200",
             "--history", "k.>=memory,count=100000")
    BATCH = 16
    PUMP_CAP_BYTES = 64 << 20  # payload bytes; the policies act long before

    def setUp(self):
        self.publisher = self.client()
        self.healthy = DeflateClient(self.port)
        self.addCleanup(self.healthy.close)
        self.healthy.open("/", protocols=harness.SUBPROTOCOL)
        self.seqs = {}

    def stalled(self, topic, policy):
        client = DeflateClient(self.port, rcvbuf=4096)
        self.addCleanup(client.close)
        client.open("/", protocols=harness.SUBPROTOCOL)
        client.sub(self, topic, policy=policy)
        return client

    def pump(self, topics, acted=None):
        """Publishes batches round-robin over `topics` until acted() says the policy acted on
        the stalled reader (then 8 batches more), or one batch when acted is None. The healthy
        subscriber must get every message, in order, compressed."""
        sent, n, after = 0, 0, None
        first = len(self.healthy.compressed)
        while after is None or after > 0:
            if sent > self.PUMP_CAP_BYTES:
                self.fail("the policy did not act after %d MiB" % (sent >> 20))
            commands, expected = [], []
            for _ in range(self.BATCH):
                topic = topics[n % len(topics)]
                data = '"%d %s"' % (n, os.urandom(2000).hex())  # shrinks to about 0.55
                commands.append(harness.build_frame(
                    OP_TEXT, '{"op":"pub","topic":"%s","data":%s}' % (topic, data)))
                self.seqs[topic] = self.seqs.get(topic, 0) + 1
                expected.append((topic, self.seqs[topic], data.encode()))
                sent += len(data)
                n += 1
            self.assertTrue(self.publisher.send(b"".join(commands)))
            for topic, seq, data in expected:
                event = self.healthy.next_event(timeout=WAIT_S)
                self.assertEqual((event.type, event.topic, event.seq, event.data),
                                 ("msg", topic, seq, data))
            if acted is None:
                after = 0
            elif after is not None:
                after -= 1
            elif n % (4 * self.BATCH) == 0 and acted():
                after = 8
        self.assertTrue(all(self.healthy.compressed[first:]), "the healthy reader's messages")

    def policy_acted(self, policy):
        """A predicate: herald_slow_consumer_total{policy} moved since now."""
        name = "herald_slow_consumer_total"
        before = metric(self.port, name, policy=policy)
        return lambda: metric(self.port, name, policy=policy) > before

    def drain(self, client, quiet_s=0.7):
        """Events until `quiet_s` without one, or until the broker closes: (events, close)."""
        events, close = [], None
        while True:
            try:
                frame_events = client.read_frame(timeout=quiet_s)
            except TimeoutError:
                return events, close
            except harness.PeerClosed:
                return events, close
            if frame_events.opcode == harness.OP_CLOSE:
                close = frame_events
                continue
            opcode, payload = frame_events.opcode, frame_events.payload
            self.assertTrue(frame_events.fin, "the broker fragments nothing")
            compressed = bool(frame_events.rsv & 4)
            client.compressed.append(compressed)
            if compressed:
                payload = inflate_message(payload)
            events.append(harness.decode_server_frame(opcode, payload))

    def check_sequence(self, events, final, conflate=False, gaps=True):
        """Gap notices precede a message whose seq jumps by missed + 1 (conflate: at least
        1); the last seq per topic equals `final`. Returns how many jumps there were."""
        last = {topic: 0 for topic in final}
        jumps, gap = 0, None
        for e in events:
            if e.type == "gap":
                self.assertTrue(gaps, "a gap under a policy that has none: %r" % e)
                self.assertIsNone(gap, "two gaps in a row")
                gap = e
                continue
            self.assertEqual(e.type, "msg", e)
            step = e.seq - last[e.topic]
            if gap is not None:
                self.assertEqual(gap.topic, e.topic)
            if conflate:
                self.assertGreaterEqual(step, 1 + (gap.missed if gap else 0))
            else:
                self.assertEqual(step, 1 + (gap.missed if gap else 0),
                                 "seq %d after %d, %r" % (e.seq, last[e.topic], gap))
            jumps += step > 1
            last[e.topic] = e.seq
            self.assertTrue(e.data.startswith(b'"'), e)
            gap = None
        self.assertEqual(last, final)
        return jumps

    def test_drop(self):
        topic = harness.unique_topic("d")
        self.healthy.sub(self, topic)
        stalled = self.stalled(topic, "drop")
        self.pump([topic], self.policy_acted("drop"))
        events, close = self.drain(stalled)
        self.assertIsNone(close)
        self.pump([topic])  # after the gap, live again
        more, _ = self.drain(stalled)
        self.assertIn("gap", [e.type for e in events + more])
        self.assertGreaterEqual(self.check_sequence(events + more, dict(self.seqs)), 1)
        self.assertTrue(any(stalled.compressed))

    def test_conflate(self):
        base = harness.unique_topic("c")
        topics = ["%s.%d" % (base, i) for i in range(4)]
        self.healthy.sub(self, base + ".*")
        stalled = self.stalled(base + ".*", "conflate")
        self.pump(topics, self.policy_acted("conflate"))
        events, close = self.drain(stalled)
        self.assertIsNone(close)
        self.assertGreaterEqual(self.check_sequence(events, dict(self.seqs), conflate=True), 1)
        self.assertTrue(any(stalled.compressed))

    def test_disconnect(self):
        topic = harness.unique_topic("x")
        self.healthy.sub(self, topic)
        stalled = self.stalled(topic, "disconnect")
        self.pump([topic], self.policy_acted("disconnect"))
        events, close = self.drain(stalled, quiet_s=3.0)
        self.assertTrue(stalled.eof, "TCP not closed by the broker")
        if close is not None:  # the Close may not fit in what the reader still accepts
            self.assertEqual((close.close_code, close.close_reason), (1008, b"slow consumer"))
        seqs = [e.seq for e in events]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))

    def test_catchup(self):
        topic = "k.stall%d" % random.randrange(1 << 30)
        self.healthy.sub(self, topic)
        stalled = self.stalled(topic, "catchup")
        before = metric(self.port, "herald_catchups_total")
        self.pump([topic], lambda: metric(self.port, "herald_catchups_total") > before)
        events, close = self.drain(stalled)
        self.assertIsNone(close)
        self.pump([topic])
        more, _ = self.drain(stalled)
        seqs = [e.seq for e in events + more if e.type == "msg"]
        self.assertEqual(seqs, list(range(1, self.seqs[topic] + 1)), "no gap, no duplicate")
        self.check_sequence(events + more, dict(self.seqs), gaps=False)
        self.assertGreater(metric(self.port, "herald_catchups_total"), before)
        self.assertTrue(any(stalled.compressed))


class HistoryReplayTest(PubSubTestCase):
    FLAGS = ("--workers", "2", "--history", "h.>=memory,count=1000")
    COUNT = 300

    def test_replayed_pages_arrive_compressed(self):
        topic = "h.replay%d" % random.randrange(1 << 30)
        publisher = self.client()
        datas = []
        for n in range(self.COUNT):
            data = json.dumps({"n": n, "text": compressible_text(400, n)})
            datas.append(data.encode())
            publisher.pub(topic, data, id_raw=str(n))
        for n in range(self.COUNT):
            event = publisher.next_event()
            self.assertEqual((event.type, event.id), ("ack", str(n)))
        before = deflate_counters(self.port)
        client = DeflateClient(self.port)
        self.addCleanup(client.close)
        client.open("/", protocols=harness.SUBPROTOCOL)
        client.sub(self, topic, options=',"from":1')
        for n in range(self.COUNT):
            event = client.next_event()
            self.assertEqual((event.type, event.seq, event.data), ("msg", n + 1, datas[n]))
        self.assertEqual(client.compressed[-self.COUNT:], [True] * self.COUNT)
        delta = counters_reaching(self.port, before, lambda d: d["frames"] >= self.COUNT)
        self.assertEqual(delta["frames"], self.COUNT, "each replayed frame compressed once")
        self.assertLess(delta["out"] * 3, delta["in"])
        # The same replay to a client without deflate: the same messages, plain.
        plain = self.client()
        plain.command('{"op":"sub","topic":"%s","from":1,"id":"p"}' % topic)
        self.assertEqual(plain.next_event().type, "recovery")
        self.assertEqual(plain.next_event().type, "ack")
        for n in range(self.COUNT):
            self.assertEqual(plain.next_event().data, datas[n])
        # And live after the replay, compressed.
        publisher.pub(topic, json.dumps(compressible_text(500)), id_raw='"live"')
        event = client.next_event()
        self.assertEqual((event.type, event.seq), ("msg", self.COUNT + 1))
        self.assertTrue(client.compressed[-1])


class TlsDeflateTest(TlsBrokerCase):
    def test_echo_and_pubsub_over_wss(self):
        topic = harness.unique_topic("tlsz")
        context = self.pki.client_context()

        async def scenario():
            async with wss_connect(self.tls_port, context, "/echo",
                                   compression="deflate") as echo:
                seen = tap(echo)
                for size in (0, 200, 16384, 70000, 4 << 20):
                    text = compressible_text(size, size)
                    await echo.send(text)
                    self.assertEqual(await echo.recv(), text)
                    binary = random_bytes(size)
                    await echo.send(binary)
                    self.assertEqual(await echo.recv(), binary)
                self.assertEqual(seen, [x for size in (0, 200, 16384, 70000, 4 << 20)
                                        for x in (size >= MIN_BYTES, False)])
            async with wss_connect(self.tls_port, context, compression="deflate") as sub, \
                    wss_connect(self.tls_port, context, compression="deflate") as pub:
                await sub.send(json.dumps({"op": "sub", "topic": topic, "id": "s"}))
                self.assertEqual(await sub.recv(), '{"type":"ack","id":"s"}')
                seen = tap(sub)
                for n in range(50):
                    data = json.dumps(compressible_text(100 + 1000 * n, n))
                    await pub.send('{"op":"pub","topic":"%s","data":%s}' % (topic, data))
                    self.assertEqual(await sub.recv(), '{"type":"msg","topic":"%s","seq":%d,'
                                     '"data":%s}' % (topic, n + 1, data))
                self.assertEqual(seen, [True] * 50)
        run(scenario())
        self.assertGreater(self.metric("herald_deflate_negotiated_total"), 2)


class CompressionOffTest(PubSubTestCase):
    FLAGS = ("--echo", "--compression", "off")

    def test_no_extension_and_plain_frames(self):
        client = DeflateClient(self.port)
        self.addCleanup(client.close)
        response = client.open("/echo", require=False)
        self.assertIsNone(response.header("sec-websocket-extensions"))
        payload = compressible_text(10000).encode()
        client.echo(self, OP_TEXT, payload)  # RSV1 on a reply would fail read_frame()
        client.send_message(OP_TEXT, b"compressed anyway", new_compressor())
        client.expect_close(1002)

        async def scenario():
            async with deflate_connect(self.port) as ws:
                self.assertEqual(ws.extensions, [])
                await ws.send('{"op":"sub","topic":"off.t","id":1}')
                self.assertEqual(await ws.recv(), '{"type":"ack","id":1}')
                await ws.send('{"op":"pub","topic":"off.t","data":"%s"}' % ("y" * 5000))
                self.assertEqual(await ws.recv(), '{"type":"msg","topic":"off.t","seq":1,'
                                 '"data":"%s"}' % ("y" * 5000))
        run(scenario())
        self.assertEqual(metric(self.port, "herald_deflate_negotiated_total"), 0)
        self.assertEqual(metric(self.port, "herald_deflate_frames_total"), 0)


class SmallAndSmallestTest(PubSubTestCase):
    FLAGS = ("--echo", "--compression-min-bytes", "0", "--compression-level", "9")

    def test_every_size_compressed_when_it_shrinks(self):
        client = DeflateClient(self.port)
        self.addCleanup(client.close)
        client.open("/echo")
        expected = []
        for size in (0, 1, 8, 20, 127, 128, 1000, 100000):
            payload = b"a" * size
            client.echo(self, OP_BINARY, payload)
            expected.append(server_compresses(payload, 9, 0)[0])
        self.assertEqual(client.compressed, expected)
        random_payload = os.urandom(5000)
        client.echo(self, OP_BINARY, random_payload)
        self.assertFalse(client.compressed[-1], "incompressible data goes plain")
        # Level 9 is in use: the frame is the size zlib's level 9 makes, not level 1's.
        text = corpus_text(50000, 4)
        client.send_message(OP_TEXT, text, new_compressor())
        client.wire_bytes = 0
        client.expect_message(self, OP_TEXT, text)
        level9 = server_compresses(text, 9)[1]
        self.assertNotEqual(level9, server_compresses(text, 1)[1], "levels differ on this text")
        self.assertEqual(client.wire_bytes, level9)


class FlagsTest(unittest.TestCase):
    def test_bad_values_exit_2_with_one_clear_line(self):
        for flag, value in (("--compression", "maybe"), ("--compression", "ON"),
                            ("--compression", ""), ("--compression-level", "0"),
                            ("--compression-level", "10"), ("--compression-level", "-1"),
                            ("--compression-level", "fast"),
                            ("--compression-min-bytes", "-1"),
                            ("--compression-min-bytes", "12k"),
                            ("--compression-min-bytes", str((1 << 31) + 1))):
            with self.subTest(flag=flag, value=value):
                result = run_herald([flag, value, "--port", "0"])
                self.assertEqual(result.returncode, 2, result)
                self.assertIn(flag.lstrip("-"), result.stderr, result)
                self.assertLessEqual(len(result.stderr.strip().splitlines()), 3, result.stderr)

    def test_good_values_are_accepted(self):
        for flags, printed in ((["--compression", "off"], "off"),
                               (["--compression", "on"], "on"),
                               (["--compression-level", "1"], "1"),
                               (["--compression-level", "9"], "9"),
                               (["--compression-min-bytes", "0"], "0"),
                               (["--compression-min-bytes", str(1 << 31)], str(1 << 31))):
            with self.subTest(flags=flags):
                result = run_herald([*flags, "--print-config"])
                self.assertEqual(result.returncode, 0, result)
                self.assertRegex(result.stdout, r"(?m)^%s\b.*\b%s\b" % (
                    flags[0].lstrip("-"), printed))


class DeflateBystander(harness.Bystander):
    """harness.Bystander over a connection that negotiated deflate."""

    def __init__(self, port):  # pylint: disable=super-init-not-called
        self.loop = asyncio.new_event_loop()

        async def connect():
            return await deflate_connect(port, "/echo")
        self.ws = self._run(connect())


class InflateFailureTest(PubSubTestCase):
    FLAGS = ("--echo",)

    def test_failures_counted_by_reason_and_others_unaffected(self):
        bystander = DeflateBystander(self.port)
        self.addCleanup(bystander.close)
        tap(bystander.ws)
        corrupt0 = metric(self.port, "herald_inflate_failures_total", reason="corrupt")
        big0 = metric(self.port, "herald_inflate_failures_total", reason="too_big")

        corrupt = DeflateClient(self.port)
        self.addCleanup(corrupt.close)
        corrupt.open("/echo")
        corrupt.send(harness.build_frame(OP_TEXT, b"\xff\xff\xff\xff", rsv=4))
        corrupt.expect_close(1007)
        wait_metric(self.port, "herald_inflate_failures_total", lambda v: v == corrupt0 + 1,
                    "one corrupt stream", reason="corrupt")
        bystander.check(self)

        bomb = DeflateClient(self.port)
        self.addCleanup(bomb.close)
        bomb.open("/")
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = b"".join(compressor.compress(bytes(1 << 20)) for _ in range(64))
        data += compressor.flush(zlib.Z_SYNC_FLUSH)
        bomb.send(harness.build_frame(OP_BINARY, data[:-4], rsv=4))
        bomb.expect_close(1009)
        wait_metric(self.port, "herald_inflate_failures_total", lambda v: v == big0 + 1,
                    "one bomb", reason="too_big")
        bystander.check(self)
        # A protocol error is not an inflate failure.
        rsv1 = DeflateClient(self.port)
        self.addCleanup(rsv1.close)
        rsv1.open("/echo", offers=(), require=False)
        rsv1.send(harness.build_frame(OP_TEXT, compress_message(b"x", new_compressor()), rsv=4))
        rsv1.expect_close(1002)
        self.assertEqual(metric(self.port, "herald_inflate_failures_total", reason="corrupt"),
                         corrupt0 + 1)
        self.assertEqual(metric(self.port, "herald_inflate_failures_total", reason="too_big"),
                         big0 + 1)


if __name__ == "__main__":
    unittest.main()
