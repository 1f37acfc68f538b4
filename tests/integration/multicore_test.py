"""Pub/sub across worker threads (--workers 2 and 4): many connections, which SO_REUSEPORT
spreads over the workers, publish concurrently over WebSocket and HTTP while exact and
wildcard subscribers everywhere must each see every message once, in one gap-free sequence
per topic, with each publisher's messages in the order it sent them. Half the subscribers
agree on permessage-deflate, so the compressed variant of a frame is made by one worker and
shared by the others (the ThreadSanitizer run covers that hand-over)."""

import asyncio
import json
import random
import unittest

import harness
from harness import OP_TEXT, PubSubTestCase, decode_server_frame, ps_connect, run

SUBSCRIBERS = 24
PUBLISHERS = 8
MESSAGES = 100  # per WebSocket publisher, alternating between the two topics
HTTP_TASKS = 2
HTTP_MESSAGES = 20  # per HTTP task, all on the first topic
RAW_PUBLISHERS = 16
RAW_MESSAGES = 25
PAD = "a" * 160  # every message is then worth compressing


async def http_publish(port, topic, body):
    """POST /publish over a fresh connection (Connection: close); returns (status, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(("POST /publish?topic=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\nContent-Length: %d\r\n"
                      "Connection: close\r\n\r\n" % (topic, len(body))).encode() + body)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), harness.IO_TIMEOUT_S)
        status = int(head.split(b" ", 2)[1])
        length = [int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")]
        body = await asyncio.wait_for(reader.readexactly(length[0]), harness.IO_TIMEOUT_S)
        return status, body
    finally:
        writer.close()


class MulticoreCase(PubSubTestCase):
    WORKERS = 2

    @classmethod
    def setUpClass(cls):
        cls.FLAGS = ("--workers", str(cls.WORKERS), "--compression-min-bytes", "64")
        super().setUpClass()

    def test_everyone_everywhere(self):
        base = "mc%d" % random.randrange(1 << 40)
        topics = (base + ".a", base + ".b")
        filters = [list(topics), [base + ".*"], [base + ".>"], ["*.a", "*.b"], [">"],
                   [base + ".a", base + ".*", ">"]]
        total = PUBLISHERS * MESSAGES + HTTP_TASKS * HTTP_MESSAGES

        async def subscribe(ws, patterns):
            for pattern in patterns:
                await ws.send(json.dumps({"op": "sub", "topic": pattern, "id": pattern}))
                event = decode_server_frame(OP_TEXT, (await ws.recv()).encode())
                self.assertEqual((event.type, event.id), ("ack", json.dumps(pattern)))

        async def receive(ws, got, acks, key, expected_acks):
            while len(got) < total or len(acks) < expected_acks:
                frame = await asyncio.wait_for(ws.recv(), 20)
                event = decode_server_frame(OP_TEXT, frame.encode())
                if event.type == "ack":
                    acks[(key, int(event.id))] = event.seq
                else:
                    self.assertEqual(event.type, "msg", event)
                    got.append(event)

        async def subscriber(n, ready, received):
            compression = "deflate" if n % 2 else None
            async with ps_connect(self.port, compression=compression) as ws:
                await subscribe(ws, filters[n % len(filters)])
                ready.set_result(None)
                received[("sub", n)] = []
                await receive(ws, received[("sub", n)], {}, n, 0)

        async def publisher(k, ready, go, received, acks):
            async with ps_connect(self.port) as ws:
                await subscribe(ws, [base + ".>"])  # publishers receive everything too
                ready.set_result(None)
                await go
                received[("pub", k)] = []
                reader = asyncio.ensure_future(receive(ws, received[("pub", k)], acks, k,
                                                       MESSAGES))
                for i in range(MESSAGES):
                    await ws.send('{"op":"pub","topic":"%s","data":{"p":%d,"i":%d,"pad":"%s"},'
                                  '"id":%d}' % (topics[i % 2], k, i, PAD, i))
                    if i % 8 == 0:
                        await asyncio.sleep(0)
                await reader

        async def http_task(h, go, acks):
            await go
            for j in range(HTTP_MESSAGES):
                status, body = await http_publish(self.port, topics[0],
                                                  b'{"h":%d,"i":%d}' % (h, j))
                self.assertEqual(status, 200, body)
                answer = json.loads(body)
                self.assertEqual(answer["topic"], topics[0])
                acks[("http%d" % h, j)] = answer["seq"]

        async def main():
            loop = asyncio.get_running_loop()
            go = loop.create_future()
            received, acks = {}, {}
            readies = [loop.create_future() for _ in range(SUBSCRIBERS + PUBLISHERS)]
            tasks = [asyncio.ensure_future(subscriber(n, readies[n], received))
                     for n in range(SUBSCRIBERS)]
            tasks += [asyncio.ensure_future(publisher(k, readies[SUBSCRIBERS + k], go,
                                                      received, acks))
                      for k in range(PUBLISHERS)]
            tasks += [asyncio.ensure_future(http_task(h, go, acks)) for h in range(HTTP_TASKS)]
            await asyncio.wait_for(asyncio.gather(*readies), 20)
            go.set_result(None)
            await asyncio.wait_for(asyncio.gather(*tasks), 40)
            return received, acks

        compressed_before = self.compressed()
        received, acks = run(main(), 60)
        self.check(topics, received, acks)
        # The padded messages were compressed, each at most once however many of the twelve
        # deflate subscribers on either worker got it (HTTP's short ones may not shrink).
        compressed = self.compressed() - compressed_before
        self.assertGreaterEqual(compressed, PUBLISHERS * MESSAGES)
        self.assertLessEqual(compressed, total)

    def compressed(self):
        return harness.sample(harness.scrape(self.port), "herald_deflate_frames_total")

    def check(self, topics, received, acks):
        per_topic = {topics[0]: PUBLISHERS * MESSAGES // 2 + HTTP_TASKS * HTTP_MESSAGES,
                     topics[1]: PUBLISHERS * MESSAGES // 2}
        acked = {topics[0]: [], topics[1]: []}
        for (source, i), seq in acks.items():
            acked[topics[0] if isinstance(source, str) else topics[i % 2]].append(seq)
        for topic in topics:
            self.assertEqual(sorted(acked[topic]), list(range(1, per_topic[topic] + 1)),
                             "acked seqs of %s: one gap-free sequence" % topic)
        reference = None
        for who, events in sorted(received.items()):
            for topic in topics:
                self.assertEqual([e.seq for e in events if e.topic == topic],
                                 list(range(1, per_topic[topic] + 1)),
                                 "%s: %s once each, in order, no gap" % (who, topic))
            last = {}  # section 6: a publisher's order holds per topic
            for e in events:
                data = json.loads(e.data)
                source = data["p"] if "p" in data else "http%d" % data["h"]
                self.assertEqual(e.seq, acks[(source, data["i"])], "%s: seq of %r" % (who, data))
                if "p" in data:
                    self.assertGreater(data["i"], last.get((source, e.topic), -1),
                                       "%s: order of %s on %s" % (who, source, e.topic))
                    last[(source, e.topic)] = data["i"]
            frames = sorted(e.frame for e in events)
            if reference is None:
                reference = frames
            self.assertEqual(frames, reference, "%s: the same frames as everyone" % (who,))

    def test_raw_publishers_interleaved_on_one_topic(self):
        topic = "mcraw%d.t" % random.randrange(1 << 40)
        subs = [self.client() for _ in range(4)]
        for n, sub in enumerate(subs):
            sub.sub(self, topic if n % 2 else topic.split(".")[0] + ".*")
        pubs = [self.client() for _ in range(RAW_PUBLISHERS)]
        for i in range(RAW_MESSAGES):  # one message from each connection in turn
            for k, pub in enumerate(pubs):
                pub.pub(topic, '[%d,%d]' % (k, i), id_raw=str(i))
        seqs = {}
        for k, pub in enumerate(pubs):
            mine = [pub.expect_ack(self, str(i), seq=True) for i in range(RAW_MESSAGES)]
            self.assertEqual(mine, sorted(mine), "connection %d's acks in its order" % k)
            seqs.update({s: (k, i) for i, s in enumerate(mine)})
        total = RAW_PUBLISHERS * RAW_MESSAGES
        self.assertEqual(sorted(seqs), list(range(1, total + 1)))
        for sub in subs:
            for seq in range(1, total + 1):
                event = sub.next_event()
                self.assertEqual((event.topic, event.seq, event.data),
                                 (topic, seq, b"[%d,%d]" % seqs[seq]))


class TwoWorkersTest(MulticoreCase):
    WORKERS = 2


class FourWorkersTest(MulticoreCase):
    WORKERS = 4


del MulticoreCase  # run only through its subclasses

if __name__ == "__main__":
    unittest.main()
