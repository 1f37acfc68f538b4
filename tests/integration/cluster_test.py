"""Several Herald nodes through real redis-server processes (issue 13, PROTOCOL.md section 12):
one sequence per topic across nodes, every message once and in order on every node, a node
with no subscribers receiving nothing, Redis restarted with and without persistence, Redis
cutting a node's pub/sub connection, topics sharded over two Redis servers, and a lagging
replica promoted while a publisher runs. Each test starts its own Redis servers and nodes on
loopback ports (cluster_harness.py). Exits 77 (skipped) without redis-server."""

import json
import signal
import threading
import time
import unittest

import harness  # first: it takes --herald PATH out of sys.argv
from cluster_harness import (REDIS_CLI, REDIS_SERVER, ClusterTestCase, SwitchableProxy, fnv1a64,
                             metric, readyz, wait_readyz, wait_reconnected)
from harness import http_request, unique_topic


@unittest.skipUnless(REDIS_SERVER and REDIS_CLI, "needs redis-server and redis-cli")
class ThreeNodes(ClusterTestCase):

    def test_every_message_once_in_order_with_the_same_numbers_on_every_node(self):
        redis = self.redis()
        nodes = [self.node(redis) for _ in range(3)]
        idle = self.node(redis)  # publishes the warm-up only: no subscriber ever
        prefix = unique_topic("c")
        topic = prefix + ".feed"
        subscribers = []
        for node in nodes:
            subscribers += [self.client(node, topic), self.client(node, topic),
                            self.client(node, prefix + ".>")]
        warm = self.warm_up(self.client(idle), topic, subscribers)

        per_publisher = 40
        publishers = [self.client(node) for node in nodes]
        for i in range(per_publisher):
            for p, publisher in enumerate(publishers):
                publisher.pub(topic, '{"p":%d,"i":%d}' % (p, i), id_raw=str(i))
        acked = {}  # seq -> (publisher, i)
        for p, publisher in enumerate(publishers):
            for i in range(per_publisher):
                event = publisher.next_event(timeout=10)
                self.assertEqual((event.type, event.id), ("ack", str(i)), event)
                self.assertNotIn(event.seq, acked, "a seq acked twice")
                acked[event.seq] = (p, i)
        total = per_publisher * len(publishers)
        self.assertEqual(sorted(acked), list(range(warm + 1, warm + total + 1)),
                         "one gap-free sequence across the three nodes")

        for n, subscriber in enumerate(subscribers):
            events = self.read_messages(subscriber, total, "subscriber %d" % n)
            self.assertEqual([e.seq for e in events], list(range(warm + 1, warm + total + 1)))
            last = {}
            for event in events:
                data = json.loads(event.data)
                self.assertEqual(acked[event.seq], (data["p"], data["i"]),
                                 "the same message under the same number on every node")
                self.assertGreater(data["i"], last.get(data["p"], -1), "per-publisher order")
                last[data["p"]] = data["i"]
            with self.assertRaises(TimeoutError):
                subscriber.next_event(timeout=0.2)  # and nothing twice

        self.assertEqual(metric(idle.port, "herald_redis_messages_in_total"), 0,
                         "a node with no subscribers receives nothing")
        self.assertGreater(metric(nodes[0].port, "herald_redis_messages_in_total"), 0)
        self.assertEqual(metric(nodes[0].port, "herald_redis_up", shard="0"), 1)

    def test_a_publishers_own_node_honours_echo_false(self):
        redis = self.redis()
        node = self.node(redis)
        topic = unique_topic("e")
        publisher = self.client(node, topic)
        other = self.client(node, topic)
        warm = self.warm_up(self.client(node), topic, [publisher, other])
        publisher.pub(topic, '{"quiet":1}', id_raw="9", echo=False)
        event = publisher.next_event(timeout=10)
        self.assertEqual((event.type, event.seq), ("ack", warm + 1), event)
        self.assertEqual(other.next_event(timeout=10).seq, warm + 1)
        with self.assertRaises(TimeoutError):
            publisher.next_event(timeout=0.3)


@unittest.skipUnless(REDIS_SERVER and REDIS_CLI, "needs redis-server and redis-cli")
class RedisFaults(ClusterTestCase):

    def publish_acked(self, publisher, topic, first, count):
        """Publishes `count` messages with ids first.. and returns their acked seqs."""
        seqs = []
        for i in range(first, first + count):
            seq, _ = publisher.pub_acked(self, topic, '{"i":%d}' % i, id_raw=str(i))
            seqs.append(seq)
        return seqs

    def test_restart_with_aof_always_loses_no_acknowledged_message(self):
        redis = self.redis("--appendonly", "yes", "--appendfsync", "always")
        # With history in Redis: what the pub/sub connection missed while it came back is
        # read from the stream.
        history = ("--history", "aof.>=redis,count=1000")
        sub_node, pub_node = self.node(redis, flags=history), self.node(redis, flags=history)
        topic = "aof." + unique_topic("t")
        subscriber = self.client(sub_node, topic)
        publisher = self.client(pub_node)
        warm = self.warm_up(publisher, topic, [subscriber])
        before = self.publish_acked(publisher, topic, 100, 20)
        self.assertEqual(before, list(range(warm + 1, warm + 21)))

        redis.kill()
        self.assertEqual(wait_readyz(pub_node.port, ready=False).status, 503)
        response = readyz(sub_node.port)
        self.assertEqual(wait_readyz(sub_node.port, ready=False).body,
                         b"not ready: redis unreachable\n", response)
        publisher.pub(topic, '{"down":1}', id_raw='"d"')
        publisher.expect_error(self, "unavailable", '"d"')
        self.assertEqual(http_request(pub_node.port, "POST", "/publish?topic=" + topic, b"{}").status,
                         503)

        redis.start()
        self.assertEqual(wait_readyz(sub_node.port).status, 200, "ready again by itself")
        self.assertEqual(wait_readyz(pub_node.port).status, 200)
        after = self.publish_acked(publisher, topic, 200, 20)
        self.assertEqual(after, list(range(warm + 21, warm + 41)),
                         "the sequence goes on: the epoch and numbers survived the restart")
        events = self.read_messages(subscriber, 40, "subscriber")
        self.assertEqual([e.seq for e in events], before + after)
        self.assertEqual([json.loads(e.data)["i"] for e in events],
                         list(range(100, 120)) + list(range(200, 220)))
        self.assertGreaterEqual(metric(sub_node.port, "herald_redis_reconnects_total", shard="0"), 1)

    def test_restart_without_persistence_announces_a_new_epoch(self):
        redis = self.redis("--appendonly", "no")
        node = self.node(redis)
        topic = unique_topic("lost")
        subscriber = self.client(node, topic)
        publisher = self.client(node)
        warm = self.warm_up(publisher, topic, [subscriber])
        self.publish_acked(publisher, topic, 1, 5)
        old = self.read_messages(subscriber, 5, "before")
        self.assertEqual(old[-1].seq, warm + 5)

        redis.kill()
        redis.start()  # empty: every history is gone
        wait_reconnected(node.port)  # publishes before that are not received (no history)
        deadline = time.monotonic() + 10
        seqs = []
        while time.monotonic() < deadline:
            publisher.pub(topic, '{"again":1}', id_raw='"a"')
            event = publisher.next_event(timeout=10)
            if event.type == "ack":
                seqs.append(event.seq)
                break
            self.assertEqual(event.code, "unavailable", event)  # not reconnected yet
            time.sleep(0.1)
        self.assertEqual(seqs, [1], "numbers start again in the new history")
        second, _ = publisher.pub_acked(self, topic, '{"again":2}', id_raw='"b"')
        self.assertEqual(second, 2)
        recovery = subscriber.next_event(timeout=10)
        self.assertEqual(recovery.type, "recovery",
                         "a reused number is never delivered silently: %r" % recovery)
        body = json.loads(recovery.frame)
        self.assertEqual((body["topic"], body["next"], body["complete"]), (topic, 1, False))
        self.assertEqual(len(body["epoch"]), 16)
        events = [subscriber.next_event(timeout=10), subscriber.next_event(timeout=10)]
        self.assertEqual([(e.type, e.seq) for e in events], [("msg", 1), ("msg", 2)])
        self.assertEqual(metric(node.port, "herald_redis_resets_total"), 1)

    def test_a_cut_pubsub_connection_is_repaired_from_the_stream(self):
        redis = self.redis()
        # A queue that holds the whole burst: this test is about Redis's cut, not the
        # subscriber's own slow-consumer policy (a repaired page arrives all at once).
        sub_node = self.node(redis, flags=("--history", "big.>=redis,count=100000",
                                           "--max-queued-bytes", str(64 << 20)))
        pub_node = self.node(redis, flags=("--history", "big.>=redis,count=100000"))
        topic = "big." + unique_topic("cut")
        subscriber = self.client(sub_node, topic)
        publisher = self.client(pub_node)
        warm = self.warm_up(publisher, topic, [subscriber])
        # Redis cuts a subscriber that falls this far behind: the node under a burst.
        redis.cli("CONFIG", "SET", "client-output-buffer-limit", "pubsub 20kb 10kb 1")
        payload = json.dumps("x" * 16000)
        count = 300
        for i in range(count):
            publisher.pub(topic, payload, id_raw=str(i))
        for i in range(count):
            event = publisher.next_event(timeout=20)
            self.assertEqual((event.type, event.id), ("ack", str(i)), event)
        events = self.read_messages(subscriber, count, "subscriber")
        self.assertEqual([e.seq for e in events], list(range(warm + 1, warm + count + 1)))
        with self.assertRaises(TimeoutError):
            subscriber.next_event(timeout=0.3)
        self.assertGreaterEqual(metric(sub_node.port, "herald_redis_reconnects_total", shard="0"), 1,
                                "Redis did cut the pub/sub connection")
        self.assertGreater(metric(sub_node.port, "herald_redis_repaired_messages_total"), 0)
        self.assertEqual(metric(sub_node.port, "herald_redis_gap_messages_total"), 0)


@unittest.skipUnless(REDIS_SERVER and REDIS_CLI, "needs redis-server and redis-cli")
class RecoveryOnAnyNode(ClusterTestCase):
    """History kept in Redis is replayed on a node that never saw it published."""

    HISTORY = ("--history", "rec.>=redis,count=1000")

    def recover(self, client, topic, options):
        """Subscribes with replay `options` (raw JSON fields); returns the recovery (as a
        dict) and the replayed messages' (seq, data) up to the recovery's next."""
        client.command('{"op":"sub","topic":%s,"id":"r"%s}' % (json.dumps(topic), options))
        recovery = client.next_event(timeout=10)
        self.assertEqual(recovery.type, "recovery", recovery)
        body = json.loads(recovery.frame)
        ack = client.next_event(timeout=10)
        self.assertEqual((ack.type, ack.id), ("ack", '"r"'), ack)
        replayed = []
        for _ in range(body["next"] - body["from"]):
            event = client.next_event(timeout=10)
            self.assertEqual(event.type, "msg", event)
            replayed.append((event.seq, json.loads(event.data)["i"]))
        return body, replayed

    def test_every_start_on_a_node_that_never_saw_the_topic(self):
        redis = self.redis()
        publisher_node = self.node(redis, flags=self.HISTORY)
        reader = self.node(redis, flags=self.HISTORY)
        topic = "rec." + unique_topic("r")
        publisher = self.client(publisher_node)
        for i in range(1, 11):
            seq, _ = publisher.pub_acked(self, topic, '{"i":%d}' % i, id_raw=str(i))
            self.assertEqual(seq, i)

        plain, replayed = self.recover(self.client(reader), topic, "")
        self.assertEqual((plain["first"], plain["from"], plain["next"], replayed), (1, 11, 11, []))
        epoch = plain["epoch"]
        self.assertNotEqual(epoch, "0" * 16)
        body, replayed = self.recover(self.client(reader), topic,
                                      ',"from":4,"epoch":"%s"' % epoch)
        self.assertEqual((body["epoch"], body["from"], body["complete"]), (epoch, 4, True))
        self.assertEqual(replayed, [(i, i) for i in range(4, 11)])
        body, replayed = self.recover(self.client(reader), topic, ',"last":3')
        self.assertEqual(replayed, [(8, 8), (9, 9), (10, 10)])
        body, replayed = self.recover(self.client(reader), topic, ',"snapshot":true')
        self.assertEqual(replayed, [(10, 10)])
        body, replayed = self.recover(self.client(reader), topic,
                                      ',"from":4,"epoch":"%s"' % ("1" * 16))
        self.assertFalse(body["complete"], "another epoch: the position means nothing")
        self.assertEqual(replayed, [(i, i) for i in range(1, 11)])

    def pattern_replay(self, node, pattern, options):
        """Subscribes to `pattern` with replay `options` on a new client until the ack; returns
        ({topic: recovery}, {topic: [replayed seq...]}) once the replays' messages came."""
        client = self.client(node)
        client.command('{"op":"sub","topic":%s,"id":"p"%s}' % (json.dumps(pattern), options))
        recoveries, seqs, ack = {}, {}, None
        while ack is None or sum(map(len, seqs.values())) < sum(
                r["next"] - r["from"] for r in recoveries.values()):
            event = client.next_event(timeout=10)
            if event.type == "recovery":
                self.assertIsNone(ack, "a recovery after the ack")
                recoveries[event.topic] = json.loads(event.frame)
            elif event.type == "ack":
                ack = event
            else:
                self.assertEqual(event.type, "msg", event)
                self.assertIn(event.topic, recoveries, "a message before its recovery")
                seqs.setdefault(event.topic, []).append(event.seq)
        self.assertEqual(ack.raw["complete"], "true")
        return recoveries, seqs

    def test_a_pattern_replays_topics_only_other_nodes_published(self):
        redis = self.redis()
        publisher_node = self.node(redis, flags=self.HISTORY)
        early = self.node(redis, flags=self.HISTORY)  # learns the topics as they are created
        prefix = "rec." + unique_topic("pat")
        publisher = self.client(publisher_node)
        for topic, count in ((prefix + ".a", 3), (prefix + ".b", 2)):
            for i in range(count):
                publisher.pub_acked(self, topic, '{"i":%d}' % i, id_raw=str(i))
        late = self.node(redis, flags=self.HISTORY)  # lists them when it connects
        expected = {prefix + ".a": [2, 3], prefix + ".b": [1, 2]}
        for name, node in (("early", early), ("late", late)):
            # The early node hears of a new topic on its link's thread, a moment after the ack.
            deadline = time.monotonic() + 5
            while True:
                recoveries, seqs = self.pattern_replay(node, prefix + ".*", ',"last":2')
                if len(recoveries) == 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(sorted(recoveries), sorted(expected), name)
            self.assertEqual(seqs, expected, name)
        # A pattern none of them matches replays nothing and is complete at once.
        self.assertEqual(self.pattern_replay(late, "rec.none-such.*", ',"last":2'), ({}, {}))

    def test_a_recovery_joins_the_live_stream_without_loss_or_repeat(self):
        redis = self.redis()
        publisher_node = self.node(redis, flags=self.HISTORY)
        reader = self.node(redis, flags=self.HISTORY)
        topic = "rec." + unique_topic("live")
        publisher = self.client(publisher_node)
        count = 400
        done = threading.Event()
        failures = []

        def publish():
            try:
                for i in range(1, count + 1):
                    publisher.pub_acked(self, topic, '{"i":%d}' % i, id_raw=str(i))
            except Exception as error:  # reported by the main thread
                failures.append(error)
            finally:
                done.set()

        thread = threading.Thread(target=publish)
        thread.start()
        try:
            time.sleep(0.3)  # mid-stream
            subscriber = self.client(reader)
            body, replayed = self.recover(subscriber, topic, ',"from":1')
            self.assertTrue(body["complete"])
            seqs = [seq for seq, _ in replayed]
            while len(seqs) < count:
                event = subscriber.next_event(timeout=10)
                self.assertEqual(event.type, "msg", event)
                seqs.append(event.seq)
                self.assertEqual(json.loads(event.data)["i"], event.seq)
        finally:
            done.wait(60)
            thread.join(60)
        self.assertEqual(failures, [])
        self.assertEqual(seqs, list(range(1, count + 1)), "the replay joined the live stream")
        with self.assertRaises(TimeoutError):
            subscriber.next_event(timeout=0.3)


@unittest.skipUnless(REDIS_SERVER and REDIS_CLI, "needs redis-server and redis-cli")
class TwoShards(ClusterTestCase):

    def test_topics_sharded_over_two_servers_keep_every_guarantee(self):
        first, second = self.redis(), self.redis()
        sub_node, pub_node = self.node(first, second), self.node(first, second)
        prefix = unique_topic("s")
        topics = {0: [], 1: []}
        n = 0
        while min(len(t) for t in topics.values()) < 2:
            topic = "%s.t%d" % (prefix, n)
            n += 1
            shard = fnv1a64(topic) % 2
            if len(topics[shard]) < 2:
                topics[shard].append(topic)
        all_topics = topics[0] + topics[1]
        exact = {topic: self.client(sub_node, topic) for topic in all_topics}
        pattern = self.client(sub_node, prefix + ".*")
        publisher = self.client(pub_node)
        warm = {}
        for topic in all_topics:
            warm[topic] = self.warm_up(publisher, topic, [exact[topic]])
        # The pattern subscriber saw the warm-ups too: drain them.
        for _ in range(sum(warm.values())):
            self.assertEqual(pattern.next_event(timeout=10).type, "msg")

        rounds = 25
        for i in range(rounds):
            for topic in all_topics:
                publisher.pub(topic, '{"i":%d}' % i, id_raw=str(i))
        for i in range(rounds):
            for topic in all_topics:
                event = publisher.next_event(timeout=10)
                self.assertEqual(event.type, "ack", event)
        for topic in all_topics:
            events = self.read_messages(exact[topic], rounds, topic)
            self.assertEqual([e.seq for e in events],
                             list(range(warm[topic] + 1, warm[topic] + rounds + 1)))
        by_topic = {topic: [] for topic in all_topics}
        for event in self.read_messages(pattern, rounds * len(all_topics), "pattern"):
            by_topic[event.topic].append(event.seq)
        for topic in all_topics:
            self.assertEqual(by_topic[topic],
                             list(range(warm[topic] + 1, warm[topic] + rounds + 1)), topic)
        # Each topic's state lives on its own server only.
        for shard, server in ((0, first), (1, second)):
            for topic in topics[shard]:
                self.assertEqual(server.cli("EXISTS", "herald:{%s}:state" % topic), "1")
            for topic in topics[1 - shard]:
                self.assertEqual(server.cli("EXISTS", "herald:{%s}:state" % topic), "0")


@unittest.skipUnless(REDIS_SERVER and REDIS_CLI, "needs redis-server and redis-cli")
class ReplicaPromotion(ClusterTestCase):

    def test_writes_the_promoted_replica_lacks_are_never_renumbered_under_their_epoch(self):
        primary = self.redis()
        replica = self.redis("--replicaof", "127.0.0.1", str(primary.port))
        proxy = SwitchableProxy(primary.port)
        self.addCleanup(proxy.close)
        history = ("--history", "fo.>=redis,count=1000")
        node = harness.Broker("--redis", "redis://127.0.0.1:%d" % proxy.port, "--workers", "2",
                              *history)
        node.start()
        self.addCleanup(node.stop)
        self.assertEqual(wait_readyz(node.port).status, 200)
        topic = "fo." + unique_topic("p")
        subscriber = self.client(node, topic)
        publisher = self.client(node)

        # A publisher that keeps going through the failover: each publish waits for its ack
        # or its error, so acks are in publish order.
        results = []  # ("ack", seq) or ("error", code), in order
        stop = threading.Event()
        failures = []

        def publish():
            try:
                for i in range(3000):
                    if stop.is_set():
                        return
                    publisher.pub(topic, '{"i":%d}' % i, id_raw=str(i))
                    event = publisher.next_event(timeout=15)
                    if event.type == "ack":
                        results.append(("ack", event.seq))
                    else:
                        self.assertEqual((event.type, event.code), ("error", "unavailable"), event)
                        results.append(("error", event.code))
                        time.sleep(0.02)
                    time.sleep(0.005)
            except Exception as error:  # reported by the main thread
                failures.append(error)

        def acks():
            return [seq for kind, seq in results if kind == "ack"]

        def wait_for(condition, what, timeout=20):
            deadline = time.monotonic() + timeout
            while not condition():
                if failures or time.monotonic() > deadline:
                    self.fail("%s: %r %r" % (what, failures, results[-5:]))
                time.sleep(0.02)

        thread = threading.Thread(target=publish)
        thread.start()
        try:
            wait_for(lambda: len(acks()) >= 20, "acks before the failover")
            probe = self.client(node)
            probe.command('{"op":"sub","topic":%s,"id":"e"}' % json.dumps(topic))
            old_epoch = json.loads(probe.next_event(timeout=10).frame)["epoch"]
            self.assertEqual(primary.cli("WAIT", "1", "5000"), "1", "the replica caught up")
            replica.proc.send_signal(signal.SIGSTOP)  # it lags from here
            replicated = max(acks())
            wait_for(lambda: max(acks()) >= replicated + 10, "acks the replica never got")
            primary.kill()
            lost = max(acks())  # acked by the old primary alone (at least 10 of them)
            replica.proc.send_signal(signal.SIGCONT)
            self.assertEqual(replica.cli("REPLICAOF", "NO", "ONE"), "OK")
            proxy.switch(replica.port)
            settled = len(results)
            wait_for(lambda: len([r for r in results[settled:] if r[0] == "ack"]) >= 20,
                     "acks from the promoted replica")
        finally:
            stop.set()
            thread.join(30)
        self.assertEqual(failures, [])

        # The acks: one history, then a new one from 1 (a publish answered unavailable may
        # have been applied and so have used a number: strictly increasing, not consecutive).
        seqs = acks()
        restart = next((i for i in range(1, len(seqs)) if seqs[i] <= seqs[i - 1]), None)
        self.assertIsNotNone(restart, "the numbers went on after the promotion, reusing those "
                             "the replica lacked under the old epoch: %r" % seqs[-30:])
        old, new = seqs[:restart], seqs[restart:]
        self.assertEqual(old, sorted(set(old)))
        self.assertGreaterEqual(old[-1], lost)
        self.assertEqual(new[0], 1, "after the promotion numbers start again, in a new history: "
                         "seqs %d.. the replica lacks are never acked again under the old epoch"
                         % (replicated + 1))
        self.assertEqual(new, sorted(set(new)))

        # The subscriber: the old history's messages, then the new history announced, then its
        # messages; every acked message once, none of the old history's numbers again.
        delivered = []
        while True:
            event = subscriber.next_event(timeout=10)
            if event.type == "recovery":
                break
            self.assertEqual(event.type, "msg", event)
            delivered.append(event.seq)
        self.assertEqual(delivered, sorted(set(delivered)))
        self.assertTrue(set(old) <= set(delivered), "every acked message of the old history")
        body = json.loads(recovery_frame := event.frame)
        self.assertEqual((body["next"], body["complete"]), (1, False), recovery_frame)
        new_epoch = body["epoch"]
        self.assertNotEqual(new_epoch, old_epoch)
        delivered = []
        while len(delivered) == 0 or delivered[-1] < new[-1]:
            event = subscriber.next_event(timeout=10)
            self.assertEqual(event.type, "msg", event)
            delivered.append(event.seq)
        self.assertEqual(delivered, list(range(1, new[-1] + 1)))

        # A client resuming with an old-history position learns the history is gone.
        late = self.client(node)
        late.command('{"op":"sub","topic":%s,"id":"r","from":%d,"epoch":"%s"}'
                     % (json.dumps(topic), replicated + 1, old_epoch))
        body = json.loads(late.next_event(timeout=10).frame)
        self.assertEqual((body["epoch"], body["complete"]), (new_epoch, False))
        self.assertGreaterEqual(metric(node.port, "herald_redis_resets_total"), 1)

if __name__ == "__main__":
    if not (REDIS_SERVER and REDIS_CLI):
        print("cluster_test: redis-server and redis-cli are needed (deploy/install-deps.sh)")
        raise SystemExit(77)
    unittest.main()
