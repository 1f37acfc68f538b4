"""The pub/sub core against protocol/PROTOCOL.md: subscribe, publish and their answers byte
for byte, data forwarded unchanged, binary frame layouts, wildcards, sequences, fan-out from
concurrent publishers to many subscribers, every error code, the bad-command limit and the
subprotocol negotiation. Raw sockets and python-websockets, never the broker's own code."""

import asyncio
import json
import os
import struct
import time
import unittest

import websockets.exceptions

import harness
from harness import (ANY_ID, OP_BINARY, OP_CLOSE, OP_CONT, OP_TEXT, PubSubTestCase,
                     decode_server_frame, encode_publish_binary, ps_connect, run, unique_topic,
                     upgrade_request, ws_connect)


def matches(pattern, topic):
    """Reference matcher for section 2 patterns."""
    p, t = pattern.split("."), topic.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(t) > i
        if i >= len(t) or (token != "*" and token != t[i]):
            return False
    return len(p) == len(t)


def msg_frame(topic, seq, data_raw):
    """The exact text frame of section 4 (servers emit exactly this field order)."""
    return b'{"type":"msg","topic":"%s","seq":%d,"data":%s}' % (topic.encode(), seq, data_raw)


def binary_msg_frame(topic, seq, payload):
    topic = topic.encode()
    return bytes((0x02, len(topic))) + topic + struct.pack("!Q", seq) + payload


class PubSubBasicsTest(PubSubTestCase):

    def expect_frame(self, client, opcode, payload, what):
        got_opcode, got = client.read_message()
        self.assertEqual(got_opcode, opcode, "opcode of %s" % what)
        self.assertEqual(got, payload, what)

    def expect_msg(self, client, topic, seq, data_raw, what="message"):
        self.expect_frame(client, OP_TEXT, msg_frame(topic, seq, data_raw), what)

    def test_subscribe_publish_exact_bytes(self):
        topic = unique_topic("prices.nasdaq")
        sub, pub = self.client(), self.client()
        sub.command('{"op":"sub","topic":"%s","id":"s1"}' % topic)
        self.expect_frame(sub, OP_TEXT, b'{"type":"ack","id":"s1"}', "sub ack")
        data = b'{"bid":189.3,"ask":189.4}'
        pub.command(b'{"op":"pub","topic":"%s","data":%s,"id":7}' % (topic.encode(), data))
        self.expect_frame(pub, OP_TEXT, b'{"type":"ack","id":7,"seq":1}', "pub ack")
        self.expect_msg(sub, topic, 1, data)
        # Without an id there is no ack: the next ack answers the next command.
        pub.command(b'{"op":"pub","topic":"%s","data":2}' % topic.encode())
        pub.command(b'{"op":"pub","topic":"%s","data":3,"id":"p3"}' % topic.encode())
        self.expect_frame(pub, OP_TEXT, b'{"type":"ack","id":"p3","seq":3}', "pub ack")
        self.expect_msg(sub, topic, 2, b"2")
        self.expect_msg(sub, topic, 3, b"3")
        sub.command('{"op":"unsub","topic":"%s","id":"u1"}' % topic)
        self.expect_frame(sub, OP_TEXT, b'{"type":"ack","id":"u1"}', "unsub ack")

    def test_ids_echoed_byte_for_byte(self):
        client = self.client()
        ids = ['"s1"', "0", "7", "9007199254740991", '"a\\u0041\\"b\\\\"', '""',
               '"%s"' % ("x" * 64), '"\\u00e9\\n"', '"\u00e9\u4e2d"']
        for id_raw in ids:
            with self.subTest(id=id_raw):
                client.sub(self, unique_topic(), id_raw=id_raw)
        topic = unique_topic()
        for n, id_raw in enumerate(ids, 1):
            with self.subTest(pub_id=id_raw):
                client.pub(topic, "null", id_raw=id_raw)
                self.assertEqual(client.expect_ack(self, id_raw, seq=True), n)

    def test_data_forwarded_byte_for_byte(self):
        topic = unique_topic()
        sub, pub = self.client(), self.client()
        sub.sub(self, topic)
        cases = [
            '{ "a" :\t[ 1 ,2 ,\n 3 ] ,\r\n "b":{ } }',
            '{"s":"quote \\" backslash \\\\ slash \\/ ctl \\b\\f\\n\\r\\t uni \\u00e9 \\uD83D'
            '\\uDE00 raw \u00e9\u4e2d\U0001f600"}',
            '[  ]',
            '[1.50,1E+2,-0.0e-0,123456789012345678901234567890,1e400]',
            '"\\u0000 nul escape"',
            '{"dup":1,"dup":2}',
            '{"deep":' + "[" * 50 + "]" * 50 + "}",
        ]
        for seq, data in enumerate(cases, 1):
            with self.subTest(data=data[:40]):
                pub.command('{"op":"pub","topic":"%s","data":%s}' % (topic, data))
                opcode, frame = sub.read_message()
                self.assertEqual(opcode, OP_TEXT)
                # What follows "data": in the frame, up to the closing brace, exactly.
                prefix = b'{"type":"msg","topic":"%s","seq":%d,"data":' % (topic.encode(), seq)
                self.assertTrue(frame.startswith(prefix), frame[:120])
                self.assertTrue(frame.endswith(b"}"), frame[-40:])
                self.assertEqual(frame[len(prefix):-1], data.encode("utf-8"))
                self.assertEqual(decode_server_frame(opcode, frame).data, data.encode())

    def test_every_json_type_as_data(self):
        topic = unique_topic()
        sub, pub = self.client(), self.client()
        sub.sub(self, topic)
        values = ["null", "true", "false", "0", "-1", "3.25", "-1.5e+10", '""', '"text"',
                  "[]", "{}", '[null,true,{"a":[false,"x"]}]', '{"n":{"m":{"o":[1,[2,[3]]]}}}']
        for seq, data in enumerate(values, 1):
            pub.pub(topic, data)
        for seq, data in enumerate(values, 1):
            with self.subTest(data=data):
                self.expect_msg(sub, topic, seq, data.encode())

    def test_whitespace_around_data_is_not_data(self):
        # The value is the bytes of the JSON value (RFC 8259: whitespace surrounds values).
        topic = unique_topic()
        sub, pub = self.client(), self.client()
        sub.sub(self, topic)
        cases = [("1", '{"op":"pub","topic":"%s","data": 1 ,"id":1}'),
                 ('"x"', '{"op":"pub","topic":"%s","data":\t"x"\n}'),
                 ("[ ]", '{"op":"pub","data":\r\n[ ]  ,"topic":"%s"}'),
                 ("true", '{ "data" : true , "op" : "pub" , "topic" : "%s" }')]
        for seq, (data, command) in enumerate(cases, 1):
            with self.subTest(command=command):
                pub.command(command % topic)
                if '"id"' in command:
                    self.assertEqual(pub.expect_ack(self, "1", seq=True), seq)
                self.expect_msg(sub, topic, seq, data.encode())

    def test_fragmented_command(self):
        topic = unique_topic()
        client = self.client()
        client.sub(self, topic)
        data = ('{"k":"%s"}' % ("\u00e9" * 40)).encode()
        command = b'{"op":"pub","topic":"%s","data":%s,"id":3}' % (topic.encode(), data)
        cut = command.index(b"\xc3") + 1  # inside a two-byte UTF-8 sequence
        parts = [command[:5], command[5:cut], command[cut:]]
        client.send_frame(OP_TEXT, parts[0], fin=False)
        client.send_frame(OP_CONT, parts[1], fin=False)
        client.send_frame(OP_CONT, parts[2], fin=True)
        # The ack and the echoed message, in either order.
        frames = sorted([client.read_message(), client.read_message()])
        self.assertEqual(frames, sorted([(OP_TEXT, b'{"type":"ack","id":3,"seq":1}'),
                                         (OP_TEXT, msg_frame(topic, 1, data))]))

    def test_sequences_per_topic(self):
        a, b = unique_topic(), unique_topic()
        sub, p1, p2 = self.client(), self.client(), self.client()
        sub.sub(self, a)
        sub.sub(self, b)
        order = [(p1, a), (p2, a), (p1, b), (p2, a), (p2, b), (p1, a), (p1, b), (p1, b)]
        expected = {a: 0, b: 0}
        for n, (client, topic) in enumerate(order):
            expected[topic] += 1
            client.pub(topic, str(n), id_raw=str(n))
            self.assertEqual(client.expect_ack(self, str(n), seq=True), expected[topic],
                             "the %dth publish on %s" % (expected[topic], topic))
            self.expect_msg(sub, topic, expected[topic], str(n).encode())

    def test_binary_publish_and_message_layout(self):
        topic = unique_topic("bin")
        sub, pub = self.client(), self.client()
        sub.sub(self, topic)
        payloads = [bytes(range(256)), b"", b"{not json", os.urandom(70000), b"\x00"]
        for seq, payload in enumerate(payloads, 1):
            with self.subTest(bytes=len(payload)):
                pub.send_binary(encode_publish_binary(topic, payload, id=4294967295))
                self.expect_frame(pub, OP_TEXT,
                                  b'{"type":"ack","id":4294967295,"seq":%d}' % seq, "ack")
                self.expect_frame(sub, OP_BINARY, binary_msg_frame(topic, seq, payload),
                                  "binary message")
        # Without the id flag: no ack. Text and binary publishes share the topic's sequence.
        pub.send_binary(encode_publish_binary(topic, b"quiet"))
        pub.pub(topic, '"text"')
        pub.send_binary(encode_publish_binary(topic, b"last", id=0))
        self.expect_frame(pub, OP_TEXT, b'{"type":"ack","id":0,"seq":8}', "ack of id 0")
        self.expect_frame(sub, OP_BINARY, binary_msg_frame(topic, 6, b"quiet"), "no-ack pub")
        self.expect_msg(sub, topic, 7, b'"text"')
        self.expect_frame(sub, OP_BINARY, binary_msg_frame(topic, 8, b"last"), "last")

    def test_binary_no_echo_flag(self):
        topic = unique_topic("bin")
        client, other = self.client(), self.client()
        client.sub(self, topic)
        other.sub(self, topic)
        client.send_binary(encode_publish_binary(topic, b"mine", id=5, echo=False))
        self.expect_frame(client, OP_TEXT, b'{"type":"ack","id":5,"seq":1}', "ack")
        client.send_binary(encode_publish_binary(topic, b"echoed"))
        # The first frame the publisher sees of its topic is seq 2: seq 1 was not echoed.
        self.expect_frame(client, OP_BINARY, binary_msg_frame(topic, 2, b"echoed"), "echo")
        self.expect_frame(other, OP_BINARY, binary_msg_frame(topic, 1, b"mine"), "other 1")
        self.expect_frame(other, OP_BINARY, binary_msg_frame(topic, 2, b"echoed"), "other 2")

    def test_echo_default_and_false(self):
        topic = unique_topic()
        client, other = self.client(), self.client()
        client.sub(self, topic)
        other.sub(self, topic)
        client.pub(topic, '"no echo"', echo=False)
        client.pub(topic, '"explicit echo"', echo=True)
        client.pub(topic, '"default echo"')
        self.expect_msg(client, topic, 2, b'"explicit echo"', "first echo is seq 2")
        self.expect_msg(client, topic, 3, b'"default echo"')
        for seq, data in ((1, b'"no echo"'), (2, b'"explicit echo"'), (3, b'"default echo"')):
            self.expect_msg(other, topic, seq, data)

    def receive_until(self, sub, marker, expected, quiet_s=0.3):
        """Reads `sub` until the marker message (seq 1 of `marker`), then for `quiet_s` more;
        what came besides the marker must be exactly `expected` [(topic, seq, data)], each
        once. Compared as a set, and stragglers after the marker are collected, so that this
        checks matching only: test_order_across_topics checks ordering."""
        got, seen_marker = [], False
        while True:
            try:
                event = sub.next_event(timeout=None if not seen_marker else quiet_s)
            except TimeoutError:
                if seen_marker:
                    break
                raise AssertionError("no marker; got %r" % got) from None
            self.assertEqual(event.type, "msg", event)
            if event.topic == marker:
                self.assertFalse(seen_marker, "the marker twice")
                self.assertEqual((event.seq, event.data), (1, b'"marker"'))
                seen_marker = True
            else:
                got.append((event.topic, event.seq, event.data))
        self.assertEqual(sorted(got), sorted(expected), "the messages delivered")

    def new_marker(self, sub):
        marker = unique_topic("mk")
        sub.sub(self, marker)
        return marker

    def assert_receives_then_marker(self, sub, expected, pub, marker):
        """Publishes to `marker`, which `sub` subscribed to before the publishes under test;
        `sub` must receive exactly `expected` [(topic, seq, data)] and the marker."""
        pub.pub(marker, '"marker"')
        self.receive_until(sub, marker, expected)

    def test_publisher_order_per_topic_while_interleaving_topics(self):
        # Section 6: one connection's messages to one topic reach a subscriber in the order
        # sent, while that connection interleaves ten topics (text and binary alike).
        base = "ord%d" % os.getpid() + unique_topic("x").split(".")[1]
        topics = ["%s.t%d" % (base, n) for n in range(10)]
        sub, pub = self.client(), self.client()
        sub.sub(self, base + ".>")
        for n in range(60):
            if n % 3:
                pub.pub(topics[n % 10], str(n))
            else:
                pub.send_binary(encode_publish_binary(topics[n % 10], b"%d" % n))
        got = {}
        for _ in range(60):
            event = sub.next_event()
            got.setdefault(event.topic, []).append((event.seq, int(event.data)))
        for n, topic in enumerate(topics):
            self.assertEqual(got.get(topic), [(k + 1, n + 10 * k) for k in range(6)],
                             "one publisher's messages on " + topic)

    def test_wildcards(self):
        p = "w%d" % os.getpid() + unique_topic("x").split(".")[1]
        topics = [p, p + ".nasdaq", p + ".nasdaq.AAPL", p + ".x.AAPL", p + ".AAPL",
                  p + ".a.b.AAPL", p + ".nasdaq.MSFT", p + ".nasdaq.AAPL.x", p + ".a.b.c.d",
                  p + "x.a", "q." + p + ".a", p + ".AAPL.AAPL"]
        patterns = [p + ".*.AAPL", p + ".>", p + ".*", p + ".*.>", p + ".*.*.AAPL",
                    "*." + p + ".*", "*", "*.*", ">", p + ".nasdaq.>", p]
        marker = "mk.%s.m" % p
        pub = self.client()
        subs = {}
        for pattern in patterns:
            subs[pattern] = self.client()
            subs[pattern].sub(self, pattern)
            subs[pattern].sub(self, marker)
        for n, topic in enumerate(topics):
            pub.pub(topic, str(n))
        pub.pub(marker, '"marker"')
        time.sleep(0.3)  # stragglers, if any, for every subscriber at once
        for pattern, sub in subs.items():
            with self.subTest(pattern=pattern):
                expected = [(t, 1, str(n).encode()) for n, t in enumerate(topics)
                            if matches(pattern, t)]
                self.assertTrue(expected)
                self.receive_until(sub, marker, expected, quiet_s=0.05)

    def test_overlapping_subscriptions_deliver_once(self):
        base = unique_topic("ov")
        topic = base + ".x"
        client = self.client()
        for pattern in (topic, base + ".*", base + ".>", "ov.>", "*.*.x"):
            client.sub(self, pattern)
        marker = self.new_marker(client)
        pub = self.client()
        pub.pub(topic, "1")
        pub.pub(topic, "2")
        self.assert_receives_then_marker(client, [(topic, 1, b"1"), (topic, 2, b"2")], pub,
                                         marker)

    def test_unsubscribe_stops_delivery(self):
        topic, pattern_base = unique_topic(), unique_topic("pat")
        pattern = pattern_base + ".*"
        sub, pub = self.client(), self.client()
        for t in (topic, pattern):
            sub.sub(self, t)
        marker = self.new_marker(sub)
        pub.pub(topic, "1")
        pub.pub(pattern_base + ".a", "2")
        self.assert_receives_then_marker(
            sub, [(topic, 1, b"1"), (pattern_base + ".a", 1, b"2")], pub, marker)
        sub.unsub(self, topic)
        sub.unsub(self, pattern)
        marker = self.new_marker(sub)
        pub.pub(topic, "3")
        pub.pub(pattern_base + ".a", "4")
        self.assert_receives_then_marker(sub, [], pub, marker)
        sub.sub(self, pattern)  # subscribing again delivers again
        marker = self.new_marker(sub)
        pub.pub(topic, "5")
        pub.pub(pattern_base + ".a", "6")
        self.assert_receives_then_marker(sub, [(pattern_base + ".a", 3, b"6")], pub, marker)

    def test_resubscribe_replaces(self):
        topic = unique_topic()
        sub, pub = self.client(), self.client()
        sub.sub(self, topic)
        sub.sub(self, topic, policy="drop")
        sub.sub(self, topic, policy="conflate")
        marker = self.new_marker(sub)
        pub.pub(topic, "1")
        self.assert_receives_then_marker(sub, [(topic, 1, b"1")], pub, marker)
        sub.unsub(self, topic)  # one unsubscribe removes the one (replaced) subscription
        marker = self.new_marker(sub)
        pub.pub(topic, "2")
        self.assert_receives_then_marker(sub, [], pub, marker)
        sub.command('{"op":"unsub","topic":"%s","id":"again"}' % topic)
        sub.expect_error(self, "not_subscribed", '"again"')

    def test_same_bytes_to_every_subscriber(self):
        topic = unique_topic()
        subs = [self.client() for _ in range(5)]
        for n, sub in enumerate(subs):
            sub.sub(self, topic if n % 2 else topic.split(".")[0] + ".>")
        pub = self.client()
        pub.pub(topic, '{"x": [1, 2]}')
        frames = {sub.read_message() for sub in subs}
        self.assertEqual(frames, {(OP_TEXT, msg_frame(topic, 1, b'{"x": [1, 2]}'))})


class ReconnectTest(PubSubTestCase):
    ROUNDS = 500

    def test_connection_after_close_handshake_is_served(self):
        # The client closes TCP right after the broker's Close reply, before the broker does;
        # every following connection must still be served (no stale close on a reused slot).
        failures = []
        for n in range(self.ROUNDS):
            try:
                client = harness.PubSubClient(self.port)
                client.open()
                client.command('{"op":"sub","topic":"rc.x","id":%d}' % n)
                self.assertEqual(client.read_message(),
                                 (OP_TEXT, b'{"type":"ack","id":%d}' % n))
                client.send_close(1000)
                self.assertEqual(client.read_frame().close_code, 1000)
            except harness.PeerClosed as e:
                failures.append((n, str(e)))
            finally:
                client.close()
        self.assertEqual(failures, [], "connections closed by the broker without an answer, "
                         "of %d" % self.ROUNDS)


class FanOutTest(PubSubTestCase):
    SUBSCRIBERS = 50
    PUBLISHERS = 4
    MESSAGES = 200  # per publisher, alternating between two topics

    def test_many_subscribers_concurrent_publishers(self):
        base = unique_topic("fan")
        topics = (base + ".a", base + ".b")

        async def subscriber(n, ready, counts):
            async with ps_connect(self.port) as ws:
                filters = [base + ".*"] if n % 2 else list(topics)
                for f in filters:
                    await ws.send(json.dumps({"op": "sub", "topic": f, "id": f}))
                    ack = decode_server_frame(OP_TEXT, (await ws.recv()).encode())
                    self.assertEqual((ack.type, ack.id), ("ack", json.dumps(f)))
                ready.set_result(None)
                got = []
                total = self.PUBLISHERS * self.MESSAGES
                while len(got) < total:
                    frame = await asyncio.wait_for(ws.recv(), 20)
                    self.assertIsInstance(frame, str)
                    got.append(decode_server_frame(OP_TEXT, frame.encode()))
                counts[n] = got

        async def publisher(k, acks):
            async with ps_connect(self.port) as ws:
                async def read_acks():
                    for _ in range(self.MESSAGES):
                        event = decode_server_frame(OP_TEXT, (await ws.recv()).encode())
                        self.assertEqual(event.type, "ack", event)
                        acks[(k, int(event.id))] = event.seq
                reader = asyncio.ensure_future(read_acks())
                for i in range(self.MESSAGES):
                    await ws.send('{"op":"pub","topic":"%s","data":{"p":%d,"i":%d},"id":%d}'
                                  % (topics[i % 2], k, i, i))
                    if i % 16 == 0:
                        await asyncio.sleep(0)
                await asyncio.wait_for(reader, 20)

        async def go():
            loop = asyncio.get_running_loop()
            received, acks = {}, {}
            readies = [loop.create_future() for _ in range(self.SUBSCRIBERS)]
            subs = [asyncio.ensure_future(subscriber(n, readies[n], received))
                    for n in range(self.SUBSCRIBERS)]
            await asyncio.wait_for(asyncio.gather(*readies), 20)
            await asyncio.gather(*(publisher(k, acks) for k in range(self.PUBLISHERS)))
            await asyncio.wait_for(asyncio.gather(*subs), 30)
            return received, acks

        received, acks = run(go(), 60)
        self.check_fan_out(topics, received, acks)

    def check_fan_out(self, topics, received, acks):
        self.assertEqual(len(acks), self.PUBLISHERS * self.MESSAGES)
        per_topic = self.PUBLISHERS * self.MESSAGES // 2
        for topic in topics:
            seqs = sorted(seq for (k, i), seq in acks.items() if topics[i % 2] == topic)
            self.assertEqual(seqs, list(range(1, per_topic + 1)), "acked seqs of " + topic)
        reference = None
        for n in range(self.SUBSCRIBERS):
            events = received[n]
            self.assertTrue(all(e.type == "msg" for e in events))
            for topic in topics:
                seqs = [e.seq for e in events if e.topic == topic]
                self.assertEqual(seqs, list(range(1, per_topic + 1)),
                                 "subscriber %d: %s gap-free, in order, once" % (n, topic))
            last = {}  # section 6: a publisher's order holds per topic
            for e in events:
                data = json.loads(e.data)
                k, i = data["p"], data["i"]
                self.assertEqual(e.topic, topics[i % 2])
                self.assertEqual(e.seq, acks[(k, i)], "the seq acked for (%d, %d)" % (k, i))
                self.assertGreater(i, last.get((k, e.topic), -1),
                                   "publisher %d's order on %s" % (k, e.topic))
                last[(k, e.topic)] = i
            frames = sorted(e.frame for e in events)
            if reference is None:
                reference = frames
            self.assertEqual(frames, reference, "the same frames to every subscriber")


BAD_JSON = ["not json", "", " ", "[1,2]", '"op"', "42", "null", '{"op":"sub","topic":"a"',
            '{"op":"sub","topic":"a"} x', '{"op":"sub","topic":"a"}{}', "{op:'sub'}",
            '{"op":"sub","topic":"a",}']

BAD_REQUEST = [
    ("missing op", '{"topic":"a","id":"r1"}'),
    ("missing topic", '{"op":"sub","id":"r1"}'),
    ("missing unsub topic", '{"op":"unsub","id":"r1"}'),
    ("missing pub topic", '{"op":"pub","data":1,"id":"r1"}'),
    ("missing data", '{"op":"pub","topic":"a","id":"r1"}'),
    ("topic not a string", '{"op":"sub","topic":5,"id":"r1"}'),
    ("topic null", '{"op":"pub","topic":null,"data":1,"id":"r1"}'),
    ("policy not a string", '{"op":"sub","topic":"a","policy":1,"id":"r1"}'),
    ("unknown policy", '{"op":"sub","topic":"a","policy":"fast","id":"r1"}'),
    ("echo not a boolean", '{"op":"pub","topic":"a","data":1,"echo":"no","id":"r1"}'),
    ("echo 0", '{"op":"pub","topic":"a","data":1,"echo":0,"id":"r1"}'),
    ("unknown field", '{"op":"sub","topic":"a","foo":1,"id":"r1"}'),
    ("field names are case-sensitive", '{"op":"sub","Topic":"a","id":"r1"}'),
    ("echo is not a sub field", '{"op":"sub","topic":"a","echo":false,"id":"r1"}'),
    ("data is not a sub field", '{"op":"sub","topic":"a","data":1,"id":"r1"}'),
    ("policy is not an unsub field", '{"op":"unsub","topic":"a","policy":"drop","id":"r1"}'),
    ("policy is not a pub field", '{"op":"pub","topic":"a","data":1,"policy":"drop",'
                                  '"id":"r1"}'),
    # Replay options (section 9): their shapes and combinations.
    ("from on a pattern is an object", '{"op":"sub","topic":"a.*","from":1,"id":"r1"}'),
    ("from on a topic is a number", '{"op":"sub","topic":"a","from":{"a":1},"id":"r1"}'),
    ("from negative", '{"op":"sub","topic":"a","from":-1,"id":"r1"}'),
    ("epoch without from", '{"op":"sub","topic":"a","epoch":"0123456789abcdef","id":"r1"}'),
    ("epoch not hex", '{"op":"sub","topic":"a","from":1,"epoch":"xyz","id":"r1"}'),
    ("two positions", '{"op":"sub","topic":"a","last":1,"since":1,"id":"r1"}'),
    ("snapshot not a boolean", '{"op":"sub","topic":"a","snapshot":1,"id":"r1"}'),
    ("replay option on pub", '{"op":"pub","topic":"a","data":1,"last":1,"id":"r1"}')]

BAD_IDS = ['"%s"' % ("x" * 65), "-1", "9007199254740992", "1.5", "true", "null", "[1]",
           '{"a":1}']

BAD_TOPICS = [
    ("empty", ""), ("256 bytes", "a" * 256), ("17 tokens", ".".join(["a"] * 17)),
    ("space", "a b"), ("slash", "a/b"), ("dollar", "a$b"), ("comma", "a,b"),
    ("non-ASCII", "caf\u00e9"), ("tab", "a\tb"), ("NUL", "a\u0000b"), ("quote", 'a"b'),
    ("empty token", "a..b"), ("leading dot", ".a"), ("trailing dot", "a."), ("dot", "."),
    ("* in a token", "pri*"), ("* after a token", "*a"), ("> in a token", "a.b>"),
    ("> before the end", "a.>.b"), ("> first", ">.a"),
]
PUB_ONLY_BAD_TOPICS = [("pattern *", "a.*"), ("pattern >", "a.>"), ("lone *", "*"),
                       ("lone >", ">")]
GOOD_TOPICS = ["a" * 255, ".".join(["a"] * 16), "aZ09_-:@~+=#", "A.b.C", "x" * 127 + ".y"]


class ErrorTest(PubSubTestCase):

    def still_usable(self, client):
        """A good command afterwards is answered (and resets the bad-command count)."""
        client.sub(self, "ok.topic", id_raw='"ok"')

    def test_bad_json(self):
        client = self.client()
        for text in BAD_JSON:
            with self.subTest(text=text):
                client.command(text)
                client.expect_error(self, "bad_json", None, what=repr(text))
                self.still_usable(client)

    def test_bad_request(self):
        client = self.client()
        for what, text in BAD_REQUEST:
            with self.subTest(what):
                client.command(text)
                client.expect_error(self, "bad_request", '"r1"', what=what)
                self.still_usable(client)

    def test_bad_request_integer_id(self):
        client = self.client()
        client.command('{"op":"sub","topic":"a","bogus":true,"id":12}')
        client.expect_error(self, "bad_request", "12")
        self.still_usable(client)

    def test_bad_id(self):
        client = self.client()
        for id_raw in BAD_IDS:
            for command in ('{"op":"sub","topic":"a","id":%s}',
                            '{"op":"pub","topic":"a","data":1,"id":%s}'):
                with self.subTest(command=command % id_raw[:20]):
                    client.command(command % id_raw)
                    event = client.expect_error(self, "bad_request", ANY_ID)
                    self.assertNotEqual(event.id, id_raw, "an invalid id is not echoed")
                    self.still_usable(client)

    def test_unknown_op(self):
        client = self.client()
        for op, id_raw in (("publish", '"o1"'), ("SUB", "2"), ("", '"o3"'), ("ping", "4")):
            with self.subTest(op=op):
                client.command('{"op":"%s","id":%s}' % (op, id_raw))
                client.expect_error(self, "unknown_op", id_raw)
                self.still_usable(client)

    def test_bad_topic_every_rule(self):
        client = self.client()
        for what, topic in BAD_TOPICS + PUB_ONLY_BAD_TOPICS:
            commands = [('{"op":"pub","topic":%s,"data":1,"id":"t1"}', '"t1"')]
            if (what, topic) in BAD_TOPICS:
                commands.append(('{"op":"sub","topic":%s,"id":"t2"}', '"t2"'))
            for command, id_raw in commands:
                with self.subTest(what, command=command[:12]):
                    client.command(command % json.dumps(topic, ensure_ascii=False))
                    client.expect_error(self, "bad_topic", id_raw, what=what)
                    self.still_usable(client)

    def test_boundary_topics_are_good(self):
        client = self.client()
        for topic in GOOD_TOPICS:
            with self.subTest(topic=topic[:20]):
                client.sub(self, topic)
                client.pub(topic, "1", id_raw='"g"')
                events = sorted((client.next_event() for _ in range(2)), key=lambda e: e.type)
                self.assertEqual([(e.type, e.topic, e.seq) for e in events],
                                 [("ack", None, 1), ("msg", topic, 1)])

    def test_binary_bad_requests(self):
        client = self.client()
        topic = b"bin.bad"
        cases = [("empty frame", b""), ("kind only", b"\x01"), ("no length", b"\x01\x00"),
                 ("short topic", b"\x01\x00\x05abc"), ("short id", b"\x01\x01\x01a\x00\x00"),
                 ("kind 0", b"\x00\x00\x01a"), ("kind 2", b"\x02\x00\x01a"),
                 ("kind 3", b"\x03\x00\x01a"), ("kind 0xff", b"\xff\x00\x01a")]
        cases += [("reserved flag bit %d" % b, bytes((1, 1 << b, len(topic))) + topic + b"x")
                  for b in range(2, 8)]
        for what, frame in cases:
            with self.subTest(what):
                client.send_binary(frame)
                client.expect_error(self, "bad_request", None, what=what)
                self.still_usable(client)
        with self.subTest("empty topic"):
            client.send_binary(b"\x01\x00\x00payload")
            client.expect_error(self, {"bad_request", "bad_topic"}, None)
            self.still_usable(client)

    def test_binary_bad_topic_echoes_id(self):
        client = self.client()
        for n, topic in enumerate(("a.*", ">", "a b", "a..b", "caf\u00e9"), 70):
            with self.subTest(topic=topic):
                client.send_binary(encode_publish_binary(topic.encode(), b"x", id=n))
                client.expect_error(self, "bad_topic", str(n))
                self.still_usable(client)

    def test_not_subscribed(self):
        client = self.client()
        base = unique_topic("ns")
        client.sub(self, base + ".>")
        for what, topic in (("never subscribed", base + ".x"), ("another pattern", base + ".*"),
                            ("its prefix", base)):
            with self.subTest(what):
                client.command('{"op":"unsub","topic":%s,"id":"n1"}' % json.dumps(topic))
                client.expect_error(self, "not_subscribed", '"n1"', what=what)
                self.still_usable(client)
        client.unsub(self, base + ".>")
        client.command('{"op":"unsub","topic":"%s","id":3}' % (base + ".>"))
        client.expect_error(self, "not_subscribed", "3", what="twice")
        self.still_usable(client)


class BadCommandLimitTest(PubSubTestCase):

    def bad(self, client, n):
        kinds = ["nope", '{"op":"zap","id":1}', '{"op":"sub","topic":"a..b"}',
                 '{"op":"sub","topic":"a","x":1}']
        for i in range(n):
            client.command(kinds[i % len(kinds)])
        for i in range(n):
            event = client.next_event()
            self.assertEqual(event.type, "error", "bad command %d of %d: %r" % (i + 1, n, event))

    def test_sixteen_bad_commands_close_1008(self):
        client = self.client()
        self.bad(client, 15)
        client.command("still not json")
        frame = client.read_frame()
        if frame.opcode == OP_TEXT:  # the 16th error may precede the Close
            self.assertEqual(decode_server_frame(OP_TEXT, frame.payload).type, "error")
            frame = client.read_frame()
        self.assertEqual(frame.opcode, OP_CLOSE, frame)
        self.assertEqual(frame.close_code, 1008, frame)
        self.assertEqual(frame.close_reason, b"too many bad commands")
        client.send_close(1008)
        closed, extra = client.wait_tcp_closed()
        self.assertTrue(closed)
        self.assertEqual(extra, b"")
        families = harness.scrape(self.port)
        self.assertGreaterEqual(
            harness.sample(families, "herald_closes_total", reason="bad_commands"), 1)

    def test_good_command_resets_the_count(self):
        client = self.client()
        for _ in range(3):
            self.bad(client, 15)
            client.sub(self, unique_topic())  # good, acked
        client.pub(unique_topic(), "1", id_raw="9")  # still open and answering
        client.expect_ack(self, "9", seq=True)


class LimitsTest(PubSubTestCase):
    FLAGS = ("--max-subscriptions", "3")

    def test_too_many_subscriptions(self):
        client = self.client()
        topics = [unique_topic("lim") for _ in range(4)]
        for topic in topics[:3]:
            client.sub(self, topic)
        client.command('{"op":"sub","topic":"%s","id":"over"}' % topics[3])
        client.expect_error(self, "too_many_subscriptions", '"over"')
        client.command('{"op":"sub","topic":"lim.*","id":5}')
        client.expect_error(self, "too_many_subscriptions", "5")
        client.sub(self, topics[1], policy="drop")  # replacing is not adding
        client.unsub(self, topics[0])
        client.sub(self, topics[3])
        # The limit is per connection; the subscriptions held do deliver.
        other = self.client()
        for topic in topics[:3]:
            other.sub(self, topic)
        other.pub(topics[3], "1")
        event = client.next_event()
        self.assertEqual((event.type, event.topic, event.seq), ("msg", topics[3], 1))


class TopicLimitTest(PubSubTestCase):
    FLAGS = ("--max-topics", "5")

    def test_too_many_topics(self):
        client = self.client()
        topics = ["tl.%d" % n for n in range(7)]
        for n, topic in enumerate(topics[:5]):
            client.pub(topic, "1", id_raw=str(n))
            self.assertEqual(client.expect_ack(self, str(n), seq=True), 1)
        client.pub(topics[5], "1", id_raw='"six"')
        client.expect_error(self, "too_many_topics", '"six"')
        client.send_binary(encode_publish_binary(topics[6], b"x", id=9))
        client.expect_error(self, "too_many_topics", "9")
        client.pub(topics[2], "2", id_raw="10")  # existing topics still take messages
        self.assertEqual(client.expect_ack(self, "10", seq=True), 2)


class SubprotocolTest(PubSubTestCase):

    def handshake(self, protocols=None, extra=()):
        client = self.raw()
        headers = list(extra)
        if protocols is not None:
            headers.append(("Sec-WebSocket-Protocol", protocols))
        key = harness.make_key()
        client.send(upgrade_request("/", key=key, extra=headers))
        return client, client.read_http_response(), key

    def assert_served(self, client, response, key, confirmed):
        self.assertEqual(response.status, 101, response)
        harness.check_upgrade_response(response, key)
        self.assertEqual(response.header("sec-websocket-protocol"), confirmed, response)
        client.send_text('{"op":"sub","topic":"sp","id":"x"}')
        self.assertEqual(client.read_message(), (OP_TEXT, b'{"type":"ack","id":"x"}'))

    def test_offered_is_confirmed(self):
        for offer in ("herald.v1", "chat, herald.v1", "herald.v1, chat"):
            with self.subTest(offer=offer):
                self.assert_served(*self.handshake(offer), confirmed="herald.v1")
        with self.subTest("two headers"):
            self.assert_served(*self.handshake("chat", [("Sec-WebSocket-Protocol",
                                                         "herald.v1")]), confirmed="herald.v1")

    def test_none_offered_is_served(self):
        # RFC 6455 §4.1: a server must not confirm a subprotocol the client did not offer.
        self.assert_served(*self.handshake(None), confirmed=None)

    def test_only_other_refused(self):
        for offer in ("chat", "herald.v2, mqtt", "HERALD.V1"):
            with self.subTest(offer=offer):
                client, response, _ = self.handshake(offer)
                self.assertEqual(response.status, 400, response)
                closed, _ = client.wait_tcp_closed()
                self.assertTrue(closed, "TCP closed after the 400")

    def test_python_websockets(self):
        async def go():
            async with ps_connect(self.port) as ws:
                self.assertEqual(ws.subprotocol, "herald.v1")
                await ws.send('{"op":"sub","topic":"sp","id":1}')
                self.assertEqual(await asyncio.wait_for(ws.recv(), 5), '{"type":"ack","id":1}')
            async with ws_connect(self.port, "/") as ws:
                self.assertIsNone(ws.subprotocol)
                await ws.send('{"op":"sub","topic":"sp","id":2}')
                self.assertEqual(await asyncio.wait_for(ws.recv(), 5), '{"type":"ack","id":2}')
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as cm:
                async with ws_connect(self.port, "/", subprotocols=["other"]):
                    pass
            self.assertEqual(cm.exception.status_code, 400)
        run(go(), 20)


if __name__ == "__main__":
    unittest.main()
