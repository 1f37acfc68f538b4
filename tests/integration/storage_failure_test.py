"""A history write that really fails (PROTOCOL.md section 9, "Durability and acks"), with no
test hook in the broker: it runs under RLIMIT_FSIZE with SIGXFSZ ignored, so once RocksDB's
write-ahead log reaches the limit write() fails with EFBIG. From then on publishes with an id
are answered storage_failed (WebSocket) and 503 (HTTP); every message acknowledged before is
replayed, by the failing broker and after a restart without the limit, where the sequence
skips past every number delivered live; the broker stays up and keeps delivering live;
herald_storage_failures_total counts the failed appends."""

import json
import resource
import shutil
import signal
import tempfile
import threading
import time
import unittest

import harness
from harness import Broker, PubSubClient

WAIT_S = 20.0  # bound on every wait for the broker; generous for ASan builds
# Per file. Above what RocksDB writes at open (its LOG is about 34 KB, each OPTIONS file
# 11 KB), below what the test publishes. RocksDB preallocates its WAL (fallocate with
# FALLOC_FL_KEEP_SIZE, about 70 MB here), which the limit does not stop; write() past the
# limit still fails.
FILE_SIZE_LIMIT = 1 << 20
PAD = "x" * 1000
BATCH = 100
BATCHES_MAX = 40  # 4 MB of payload: four times the limit


def limit_file_size():
    """Runs in the broker's process between fork and exec. An ignored signal stays ignored
    across exec (execve(2)), so a write past the limit fails with EFBIG instead of killing
    the broker with SIGXFSZ."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


class Collector(threading.Thread):
    """Reads a subscriber's messages in the background (so that its queue never overflows)
    until it has `until` or the deadline; keeps (seq, data) in order."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client = client
        self.messages = []
        self.other = []
        self.until = None
        self.error = None

    def run(self):
        deadline = time.monotonic() + 3 * WAIT_S
        try:
            while time.monotonic() < deadline:
                if self.until is not None and self.messages and self.messages[-1][0] >= self.until:
                    return
                try:
                    event = self.client.next_event(timeout=0.5)
                except TimeoutError:
                    continue
                if event.type == "msg":
                    self.messages.append((event.seq, event.data))
                else:
                    self.other.append(event)
        except Exception as e:  # reported by the test
            self.error = e


class StorageFailureTest(unittest.TestCase):
    FLAGS = ("--workers", "2", "--history", "f.>=rocksdb,count=1000000")

    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="herald-storage-failure-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)
        self.clients = []

    def start(self, preexec_fn=None):
        broker = Broker("--data-dir", self.data_dir, *self.FLAGS, preexec_fn=preexec_fn)
        self.addCleanup(broker.kill)
        broker.start()
        return broker

    def client(self, broker):
        client = PubSubClient(broker.port, timeout=WAIT_S)
        self.addCleanup(client.close)
        self.clients.append(client)
        client.open()
        return client

    def stop(self, broker):
        """Closes every client first: the broker's shutdown would wait for their close."""
        for client in self.clients:
            client.close()
        self.clients = []
        broker.stop()

    def subscribe(self, client, topic, options, complete=True):
        client.command('{"op":"sub","topic":%s,%s,"id":"r"}' % (json.dumps(topic), options))
        recovery = client.next_event(timeout=WAIT_S)
        self.assertEqual(recovery.type, "recovery", repr(recovery))
        self.assertEqual(recovery.raw["complete"], "true" if complete else "false")
        ack = client.next_event(timeout=WAIT_S)
        self.assertEqual((ack.type, ack.id), ("ack", '"r"'), repr(ack))
        return int(recovery.raw["from"]), int(recovery.raw["next"])

    def replay_all(self, broker, topic):
        """Subscribes from 1; returns {seq: data} of every replayed message, checking that
        they come once and in order, and the recovery's next."""
        # The latest stored message: after an unclean close, next is past a skip.
        latest, _ = self.subscribe(self.client(broker), topic, '"snapshot":true')
        client = self.client(broker)
        first, next_seq = self.subscribe(client, topic, '"from":1')
        self.assertEqual(first, 1)
        self.assertLess(latest, next_seq)
        stored = {}
        for seq in range(first, latest + 1):
            event = client.next_event(timeout=WAIT_S)
            self.assertEqual((event.type, event.seq), ("msg", seq), "gap or duplicate")
            stored[seq] = event.data
        client.close()
        return stored, next_seq

    def publish_until_failure(self, publisher):
        """Publishes with ids in pipelined batches until one is refused; returns the acked
        {n: seq} and the refused ns. The answers come in publish order."""
        acked, refused, n = {}, [], 0
        for _ in range(BATCHES_MAX):
            for _ in range(BATCH):
                publisher.pub("f.t", '{"n":%d,"pad":"%s"}' % (n, PAD), id_raw=str(n))
                n += 1
            for i in range(n - BATCH, n):
                event = publisher.next_event(timeout=WAIT_S)
                self.assertEqual(event.id, str(i), repr(event))
                if event.type == "ack":
                    self.assertFalse(refused, "an ack after a refusal: a failure is sticky")
                    acked[i] = event.seq
                else:
                    self.assertEqual((event.type, event.code), ("error", "storage_failed"),
                                     repr(event))
                    refused.append(i)
            if refused:
                return acked, refused, n
        self.fail("no history write failed: RLIMIT_FSIZE did not bite")

    def test_failed_writes_are_refused_acked_ones_kept_and_live_goes_on(self):
        broker = self.start(limit_file_size)
        live = self.client(broker)
        live.sub(self, "live.t")  # no history: nothing of this topic touches the disk
        watcher = self.client(broker)
        watcher.command('{"op":"sub","topic":"f.t","id":"w"}')
        self.assertEqual(watcher.next_event().type, "recovery")
        self.assertEqual(watcher.next_event().id, '"w"')
        collector = Collector(watcher)
        collector.start()
        publisher = self.client(broker)

        acked, refused, published = self.publish_until_failure(publisher)
        self.assertGreater(len(acked), 100, "the limit bit before the WAL held anything")
        self.assertEqual(list(acked), list(range(len(acked))))
        self.assertEqual(list(acked.values()), list(range(1, len(acked) + 1)))

        # From now on every acknowledged publish to a topic with history is refused.
        publisher.pub("f.t", '{"n":-1}', id_raw='"after"')
        publisher.expect_error(self, "storage_failed", '"after"', timeout=WAIT_S)
        response = harness.http_request(broker.port, "POST", "/publish?topic=f.t", b'{"n":-2}',
                                        [("Content-Type", "application/json")])
        self.assertEqual(response.status, 503, response)
        self.assertIn(b"history write failed", response.body)
        failed_appends = len(refused) + 2

        # The broker is up, and live delivery goes on: on a topic without history, and on
        # the failing topic too (published messages are delivered before they are stored).
        seq = publisher.pub_acked(self, "live.t", '"still here"', id_raw='"l"')[0]
        event = live.next_event(timeout=WAIT_S)
        self.assertEqual((event.type, event.seq, event.data), ("msg", seq, b'"still here"'))
        collector.until = published + 2
        collector.join(4 * WAIT_S)
        self.assertIsNone(collector.error)
        self.assertEqual([s for s, _ in collector.messages], list(range(1, published + 3)))
        self.assertFalse(collector.other, "unexpected frames: %r" % collector.other[:3])

        deadline = time.monotonic() + WAIT_S
        while True:
            counted = harness.sample(harness.scrape(broker.port), "herald_storage_failures_total")
            if counted == failed_appends or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(counted, failed_appends)
        self.assertIn("a history write failed", broker.output())

        # The failing broker still reads: every acknowledged message is replayed.
        self.check_acked_stored(self.replay_all(broker, "f.t")[0], acked)
        self.stop(broker)

        # After a restart with no limit, the log holds them still, and writes work again.
        # The log was not closed cleanly (a write had failed), so its sequence skips past
        # every number delivered live: none of those is reused.
        broker = self.start()
        self.assertIn("were not closed cleanly", broker.output())
        stored, next_seq = self.replay_all(broker, "f.t")
        self.check_acked_stored(stored, acked)
        self.assertGreater(next_seq, published + 2)
        # A client resuming just past the last stored message asks for numbers that went out
        # live but were never written: the recovery says it is incomplete.
        resume_from, resume_next = self.subscribe(
            self.client(broker), "f.t", '"from":%d' % (max(stored) + 1), complete=False)
        self.assertEqual((resume_from, resume_next), (next_seq, next_seq))
        after = self.client(broker).pub_acked(self, "f.t", '{"n":-3}', id_raw="1")[0]
        self.assertEqual(after, next_seq)
        self.stop(broker)

    def check_acked_stored(self, stored, acked):
        for n, seq in acked.items():
            self.assertIn(seq, stored, "acknowledged message %d (seq %d) is lost" % (n, seq))
            self.assertEqual(json.loads(stored[seq])["n"], n)


if __name__ == "__main__":
    unittest.main()
