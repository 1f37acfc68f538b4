"""History and replay against the real binary (PROTOCOL.md sections 6 and 9): publish, restart,
replay; kill -9 in the middle of a `sync` publish stream; retention by count, age and bytes;
the replay-to-live seam under concurrent publishing; snapshot then live; the catchup policy
with a stalled reader; the replay and catch-up metrics. Every broker gets its own temporary data
directory."""

import json
import random
import shutil
import signal
import tempfile
import threading
import time
import unittest

import harness
from harness import Broker, PubSubClient

WAIT_S = 20.0  # bound on every wait for the broker; generous for ASan builds


def recovery_of(testcase, event, topic):
    testcase.assertEqual(event.type, "recovery", "expected a recovery: %r" % event)
    testcase.assertEqual(event.topic, topic)
    raw = event.raw
    epoch = json.loads(raw["epoch"])
    testcase.assertRegex(epoch, r"^[0-9a-f]{16}$")
    return {"epoch": epoch, "first": int(raw["first"]), "from": int(raw["from"]),
            "next": int(raw["next"]), "complete": raw["complete"] == "true"}


class HistoryCase(unittest.TestCase):
    """Helpers: a broker with a data directory that outlives its restarts."""

    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="herald-history-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)

    def start(self, *flags):
        broker = Broker("--data-dir", self.data_dir, *flags)
        self.addCleanup(broker.kill)
        broker.start()
        return broker

    def client(self, broker, **kw):
        client = PubSubClient(broker.port, **kw)
        self.addCleanup(client.close)
        client.open()
        return client

    def subscribe(self, client, topic, options="", id_raw='"s"'):
        """Sends a subscribe with replay options; returns the recovery and checks the ack."""
        client.command('{"op":"sub","topic":%s%s,"id":%s}' % (json.dumps(topic), options, id_raw))
        recovery = recovery_of(self, client.next_event(), topic)
        ack = client.next_event()
        self.assertEqual(ack.type, "ack", repr(ack))
        self.assertEqual(ack.id, id_raw)
        self.assertEqual(ack.raw["complete"], "true" if recovery["complete"] else "false")
        return recovery

    def read_msgs(self, client, count):
        events = []
        for _ in range(count):
            event = client.next_event()
            self.assertEqual(event.type, "msg", "expected a message: %r" % event)
            events.append(event)
        return events

    def wait_metric(self, broker, name, expected):
        """Scrapes until `name` is `expected` (a number, or a predicate on the value)."""
        check = expected if callable(expected) else (lambda value: value == expected)
        deadline = time.monotonic() + WAIT_S
        while True:
            value = harness.sample(harness.scrape(broker.port), name)
            if check(value) or time.monotonic() > deadline:
                self.assertTrue(check(value), "%s is %s, expected %s" % (name, value, expected))
                return value
            time.sleep(0.05)

    def publish_acked(self, client, topic, count, start=0):
        """Publishes `count` messages with ids, pipelined, and returns their acked seqs."""
        for i in range(count):
            client.pub(topic, '{"n":%d}' % (start + i), id_raw=str(start + i))
        seqs = []
        for i in range(count):
            event = client.next_event()
            self.assertEqual(event.type, "ack", repr(event))
            self.assertEqual(event.id, str(start + i))
            seqs.append(event.seq)
        return seqs


class RestartTest(HistoryCase):
    def test_publish_restart_replay_and_sequences_continue(self):
        flags = ("--workers", "2", "--history", "h.>=rocksdb,count=100000")
        broker = self.start(*flags)
        seqs = self.publish_acked(self.client(broker), "h.restart", 49)
        self.assertEqual(seqs, list(range(1, 50)))
        # HTTP publishes are answered once durable too, on whichever worker owns the topic.
        response = harness.http_request(broker.port, "POST", "/publish?topic=h.restart",
                                        b'{"n":49}', [("Content-Type", "application/json")])
        self.assertEqual(response.status, 200, response)
        self.assertEqual(json.loads(response.body)["seq"], 50)
        broker.stop()
        broker = self.start(*flags)
        subscriber = self.client(broker)
        recovery = self.subscribe(subscriber, "h.restart", ',"from":1')
        self.assertEqual((recovery["first"], recovery["from"], recovery["next"]), (1, 1, 51))
        self.assertTrue(recovery["complete"])
        messages = self.read_msgs(subscriber, 50)
        self.assertEqual([m.seq for m in messages], list(range(1, 51)))
        self.assertEqual([json.loads(m.data)["n"] for m in messages], list(range(50)))
        # Sequences continue after the restart, and the live stream follows the replay.
        self.assertEqual(self.publish_acked(self.client(broker), "h.restart", 1, 50), [51])
        self.assertEqual(self.read_msgs(subscriber, 1)[0].seq, 51)
        # The same epoch: a client resuming from where it was is complete.
        again = self.client(broker)
        resumed = self.subscribe(again, "h.restart", ',"from":40,"epoch":"%s"' % recovery["epoch"])
        self.assertTrue(resumed["complete"])
        self.assertEqual([m.seq for m in self.read_msgs(again, 12)], list(range(40, 52)))
        # Another epoch: the whole history, marked incomplete.
        other = self.client(broker)
        wrong = "0123456789abcdef" if recovery["epoch"] != "0123456789abcdef" else "fedcba9876543210"
        reset = self.subscribe(other, "h.restart", ',"from":40,"epoch":"%s"' % wrong)
        self.assertFalse(reset["complete"])
        self.assertEqual(reset["from"], 1)
        self.assertEqual([m.seq for m in self.read_msgs(other, 51)], list(range(1, 52)))
        # Three subscribes read history; 50, 12 and 51 messages came from the log (51 was live
        # for the first subscriber).
        self.wait_metric(broker, "herald_replays_total", 3)
        self.wait_metric(broker, "herald_replayed_messages_total", 50 + 12 + 51)
        self.wait_metric(broker, "herald_catchups_total", 0)
        self.wait_metric(broker, "herald_storage_failures_total", 0)
        broker.stop()

    def test_kill_9_in_sync_mode_keeps_every_acked_message_once(self):
        flags = ("--workers", "2", "--history", "d.>=rocksdb,count=1000000,durability=sync")
        broker = self.start(*flags)
        watcher = self.client(broker)
        self.subscribe(watcher, "d.stream")
        publisher = self.client(broker)
        acked = {}
        live = []  # seqs delivered live, some of them perhaps never written
        stop = threading.Event()

        def read(client, on_event):
            try:
                while not stop.is_set():
                    on_event(client.next_event(timeout=WAIT_S))
            except Exception:  # the broker dies under it: expected
                pass

        def on_ack(event):
            if event.type == "ack":
                acked[int(event.id)] = event.seq

        def on_msg(event):
            if event.type == "msg":
                live.append(event.seq)

        readers = [threading.Thread(target=read, args=(publisher, on_ack), daemon=True),
                   threading.Thread(target=read, args=(watcher, on_msg), daemon=True)]
        for reader in readers:
            reader.start()
        sent = 0
        deadline = time.monotonic() + WAIT_S
        # Publish until a few hundred acks are in, then kill the broker mid-stream.
        while len(acked) < 300 and time.monotonic() < deadline and sent < 200000:
            for _ in range(50):
                publisher.pub("d.stream", '{"n":%d}' % sent, id_raw=str(sent))
                sent += 1
        self.assertGreaterEqual(len(acked), 300, "acks did not arrive in time")
        broker.proc.send_signal(signal.SIGKILL)
        broker.proc.wait(WAIT_S)
        stop.set()
        for reader in readers:
            reader.join(WAIT_S)
        snapshot = dict(acked)
        self.assertTrue(live, "the watcher saw nothing live")

        broker = self.start(*flags)
        self.assertIn("were not closed cleanly", broker.output())
        # The latest stored message, then everything from 1 up to it.
        stored = self.subscribe(self.client(broker), "d.stream", ',"snapshot":true')["from"]
        self.assertGreaterEqual(stored, max(snapshot.values()))
        subscriber = self.client(broker)
        recovery = self.subscribe(subscriber, "d.stream", ',"from":1')
        messages = self.read_msgs(subscriber, stored)
        self.assertEqual([m.seq for m in messages], list(range(1, stored + 1)))
        by_seq = {m.seq: json.loads(m.data)["n"] for m in messages}
        # Each publisher sent in order on one connection, so seq i carries message i - 1.
        for n, seq in snapshot.items():
            self.assertEqual(by_seq.get(seq), n, "acked message %d (seq %d) is missing" % (n, seq))
        # Never reused: not what was stored, nor what went out live without being written. The
        # log skips the numbers a crash may have left delivered but unwritten.
        self.assertGreater(recovery["next"], max(live))
        self.assertGreater(recovery["next"], stored + 1)
        self.assertEqual(self.publish_acked(self.client(broker), "d.stream", 1, 10**6),
                         [recovery["next"]])
        # A clean stop after the crash: the next start continues exactly.
        broker.stop()
        broker = self.start(*flags)
        self.assertNotIn("were not closed cleanly", broker.output())
        again = self.subscribe(self.client(broker), "d.stream", ',"snapshot":true')
        self.assertEqual(again["next"], recovery["next"] + 1)
        broker.stop()


class RetentionTest(HistoryCase):
    def test_count_bytes_and_age(self):
        broker = self.start("--workers", "1",
                            "--history", "c.>=memory,count=10",
                            "--history", "b.>=memory,bytes=1000",
                            "--history", "a.>=rocksdb,age=1s")
        publisher = self.client(broker)
        self.publish_acked(publisher, "c.t", 30)
        sub = self.client(broker)
        recovery = self.subscribe(sub, "c.t", ',"from":1')
        self.assertEqual((recovery["first"], recovery["from"], recovery["next"]), (21, 21, 31))
        self.assertFalse(recovery["complete"], "from 1 is older than what is retained")
        self.assertEqual([m.seq for m in self.read_msgs(sub, 10)], list(range(21, 31)))

        payload = '"%s"' % ("x" * 98)  # 100 bytes of JSON
        for i in range(30):
            publisher.pub("b.t", payload, id_raw=str(i))
        for _ in range(30):
            self.assertEqual(publisher.next_event().type, "ack")
        sub = self.client(broker)
        recovery = self.subscribe(sub, "b.t", ',"last":100')
        kept = recovery["next"] - recovery["from"]
        self.assertGreaterEqual(kept, 1)
        self.assertLessEqual(kept * 100, 1000)
        self.assertEqual(recovery["next"], 31)
        self.read_msgs(sub, kept)

        self.publish_acked(publisher, "a.t", 5)
        deadline = time.monotonic() + WAIT_S
        first = 1
        while first == 1 and time.monotonic() < deadline:
            time.sleep(0.5)
            self.publish_acked(publisher, "a.t", 1, 100)
            probe = self.client(broker)
            first = self.subscribe(probe, "a.t", ',"last":0')["first"]
            probe.close()
        self.assertGreater(first, 5, "messages older than 1 s were not trimmed")
        broker.stop()


class SeamTest(HistoryCase):
    def test_replay_to_live_under_concurrent_publishing(self):
        self.check_seam(workers=2)

    def test_replay_to_live_under_concurrent_publishing_4_workers(self):
        # More owners and readers: the topic's owner, the subscribers' workers and the storage
        # writer are more often different threads (the ThreadSanitizer run relies on it).
        self.check_seam(workers=4)

    def check_seam(self, workers):
        broker = self.start("--workers", str(workers), "--history", "s.>=rocksdb,count=1000000")
        topic = "s.seam"
        total = 20000
        published = threading.Event()
        failures = []

        def publish():
            try:
                client = PubSubClient(broker.port)
                client.open()
                for i in range(total):
                    client.pub(topic, str(i))
                client.pub(topic, "-1", id_raw='"last"')
                deadline = time.monotonic() + WAIT_S
                while time.monotonic() < deadline:
                    if client.next_event(timeout=WAIT_S).type == "ack":
                        break
                client.close()
            except Exception as e:
                failures.append(e)
            published.set()

        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        subscribers = []
        # Subscribe at several points of the stream, each from a different position.
        for k in range(4):
            time.sleep(0.05)
            client = self.client(broker)
            start = 1 + random.randrange(1, 2000) * k
            if k == 3:  # a pattern, with the topic's position in its `from` object
                client.command('{"op":"sub","topic":"s.*","from":{"%s":%d},"id":"p"}'
                               % (topic, start))
                # Before the topic's first message reached the broker, the ack comes first
                # (no topic matched yet) and the recovery introduces the topic later.
                first, second = client.next_event(), client.next_event()
                if first.type == "ack":
                    first, second = second, first
                recovery = recovery_of(self, first, topic)
                self.assertEqual(second.type, "ack")
            else:
                recovery = self.subscribe(client, topic, ',"from":%d' % start)
            subscribers.append((client, recovery))
        publisher.join(WAIT_S * 3)
        self.assertFalse(failures, failures)
        for client, recovery in subscribers:
            expected = recovery["from"]
            while expected <= total + 1:
                event = client.next_event(timeout=WAIT_S)
                self.assertEqual(event.type, "msg", repr(event))
                self.assertEqual(event.seq, expected, "gap or duplicate at the seam")
                self.assertEqual(event.data, (b"-1" if expected == total + 1
                                              else str(expected - 1).encode()))
                expected += 1
        broker.stop()


class SnapshotTest(HistoryCase):
    def test_snapshot_then_live(self):
        broker = self.start("--workers", "2", "--history", "p.>=memory,count=100")
        publisher = self.client(broker)
        self.publish_acked(publisher, "p.AAPL", 5)
        sub = self.client(broker)
        recovery = self.subscribe(sub, "p.AAPL", ',"snapshot":true')
        self.assertEqual((recovery["from"], recovery["next"]), (5, 6))
        self.assertTrue(recovery["complete"])
        latest = self.read_msgs(sub, 1)[0]
        self.assertEqual((latest.seq, json.loads(latest.data)["n"]), (5, 4))
        self.publish_acked(publisher, "p.AAPL", 1, 5)
        self.assertEqual(self.read_msgs(sub, 1)[0].seq, 6)
        # A plain subscribe on a topic with history learns its epoch and where live starts.
        plain = self.client(broker)
        recovery = self.subscribe(plain, "p.AAPL")
        self.assertEqual((recovery["from"], recovery["next"]), (7, 7))
        # A topic with history but no message yet.
        empty = self.subscribe(self.client(broker), "p.NONE", ',"snapshot":true')
        self.assertEqual((empty["first"], empty["from"], empty["next"]), (0, 1, 1))
        # Both snapshots count as replays, the plain subscribe does not; one message replayed.
        self.wait_metric(broker, "herald_replays_total", 2)
        self.wait_metric(broker, "herald_replayed_messages_total", 1)
        broker.stop()


class NoHistoryTest(HistoryCase):
    def test_replay_options_without_history_are_refused(self):
        def expect_no_history(client, command):
            client.command(command)
            event = client.next_event()
            self.assertEqual((event.type, event.id, event.code), ("error", '"n"', "no_history"),
                             repr(event))

        broker = self.start("--history", "kept.>=memory,count=10")
        client = self.client(broker)
        expect_no_history(client, '{"op":"sub","topic":"other.t","last":5,"id":"n"}')
        expect_no_history(client, '{"op":"sub","topic":"other.t","snapshot":true,"id":"n"}')
        # The refused subscribe did not subscribe: a publish there reaches nobody.
        client.pub("other.t", "1", id_raw="1")
        self.assertEqual(client.next_event().type, "ack")
        self.subscribe(client, "kept.t", ',"last":5')  # a topic with a rule is served
        broker.stop()
        plain = Broker()  # no --history at all: every replay option is refused
        self.addCleanup(plain.kill)
        plain.start()
        client = self.client(plain)
        expect_no_history(client, '{"op":"sub","topic":"a.*","from":{"a.b":3},"id":"n"}')
        expect_no_history(client, '{"op":"sub","topic":"a.b","from":3,"id":"n"}')
        plain.stop()


class PatternTest(HistoryCase):
    def collect(self, client, recoveries, messages):
        """Reads until `recoveries` recovery messages, the ack and `messages` messages came;
        returns ({topic: recovery}, {topic: [seq...]}, complete from the ack). The ack must
        follow every recovery."""
        found, seqs, complete = {}, {}, None
        deadline = time.monotonic() + WAIT_S
        while (len(found) < recoveries or complete is None
               or sum(map(len, seqs.values())) < messages) and time.monotonic() < deadline:
            event = client.next_event(timeout=WAIT_S)
            if event.type == "recovery":
                self.assertIsNone(complete, "a recovery after the ack")
                self.assertNotIn(event.topic, found)
                found[event.topic] = recovery_of(self, event, event.topic)
            elif event.type == "ack":
                self.assertEqual(len(found), recoveries, "the ack before every recovery")
                complete = event.raw["complete"] == "true"
            else:
                self.assertEqual(event.type, "msg", repr(event))
                self.assertIn(event.topic, found, "a message before its topic's recovery")
                seqs.setdefault(event.topic, []).append(event.seq)
        self.assertEqual(sum(map(len, seqs.values())), messages)
        return found, seqs, complete

    def test_each_topic_from_its_own_position_snapshot_and_new_topics(self):
        broker = self.start("--workers", "2", "--history", "p.>=memory,count=100")
        publisher = self.client(broker)
        self.publish_acked(publisher, "p.a", 3)
        self.publish_acked(publisher, "p.b", 2)
        self.publish_acked(publisher, "q.a", 2)  # no history: never replayed
        sub = self.client(broker)
        sub.command('{"op":"sub","topic":"p.*","from":{"p.a":2},"id":"s"}')
        found, seqs, complete = self.collect(sub, 2, 2)
        self.assertTrue(complete)
        self.assertEqual((found["p.a"]["from"], found["p.a"]["next"]), (2, 4))
        self.assertEqual((found["p.b"]["from"], found["p.b"]["next"]), (3, 3))
        self.assertEqual(seqs, {"p.a": [2, 3]})
        # Live from each topic's next, and a topic first published now is introduced.
        self.publish_acked(publisher, "p.a", 1, 3)
        self.assertEqual((sub.next_event().topic, ), ("p.a", ))
        self.publish_acked(publisher, "p.c", 1)
        recovery = recovery_of(self, sub.next_event(), "p.c")
        self.assertEqual((recovery["first"], recovery["from"]), (1, 1))
        event = sub.next_event()
        self.assertEqual((event.type, event.topic, event.seq), ("msg", "p.c", 1))

        snap = self.client(broker)
        snap.command('{"op":"sub","topic":"p.>","snapshot":true,"id":7}')
        found, seqs, complete = self.collect(snap, 3, 3)
        self.assertTrue(complete)
        self.assertEqual(seqs, {"p.a": [4], "p.b": [2], "p.c": [1]})

        # A position older than what is kept makes the ack incomplete.
        for i in range(120):
            publisher.pub("p.b", str(i))
        self.publish_acked(publisher, "p.b", 1, 500)
        old = self.client(broker)
        old.command('{"op":"sub","topic":"p.*","from":{"p.b":1},"id":"o"}')
        found, seqs, complete = self.collect(old, 3, 100)
        self.assertFalse(complete)
        self.assertFalse(found["p.b"]["complete"])
        self.assertEqual(seqs["p.b"], list(range(24, 124)))
        broker.stop()


class CatchupTest(HistoryCase):
    def test_stalled_reader_catches_up_without_gap_or_disconnect(self):
        broker = self.start("--workers", "1", "--max-queued-bytes", "65536",
                            "--history", "k.>=rocksdb,count=1000000")
        topic = "k.stall"
        stalled = self.client(broker, rcvbuf=4096)
        self.subscribe(stalled, topic, ',"policy":"catchup"')
        publisher = self.client(broker)
        pad = "x" * 2000
        # About 12 MB: far past the 64 KiB bound plus what the kernel buffers (tcp_wmem's
        # maximum is 4 MiB by default), so the queue overflows and the catch-up must act.
        total = 6000
        for i in range(0, total, 100):
            for j in range(i, i + 100):
                publisher.pub(topic, '"%d %s"' % (j, pad), id_raw=str(j))
            for j in range(i, i + 100):
                self.assertEqual(publisher.next_event(timeout=WAIT_S).type, "ack")
        # Now the stalled reader reads: every message, in order, no gap, no close.
        for seq in range(1, total + 1):
            event = stalled.next_event(timeout=WAIT_S)
            self.assertEqual(event.type, "msg", "expected message %d: %r" % (seq, event))
            self.assertEqual(event.seq, seq)
            self.assertTrue(event.data.startswith(b'"%d ' % (seq - 1)))
        # And it is live again.
        publisher.pub(topic, '"after"', id_raw='"a"')
        self.assertEqual(stalled.next_event(timeout=WAIT_S).seq, total + 1)
        # At least one catch-up fed it from the log; its subscribe asked for no replay.
        catchups = self.wait_metric(broker, "herald_catchups_total", lambda n: n >= 1)
        self.wait_metric(broker, "herald_replayed_messages_total", lambda n: 1 <= n <= total)
        self.wait_metric(broker, "herald_replays_total", 0)
        self.assertLessEqual(catchups, total)
        broker.stop()


if __name__ == "__main__":
    unittest.main()
