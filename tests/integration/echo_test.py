"""The echo route seen by an independent client (python-websockets): sizes at every length
encoding boundary up to the 16 MiB default limit, fragments, ping/pong, the closing
handshake, and ordered traffic on concurrent connections."""

import asyncio
import os
import random
import unittest

import websockets.exceptions

import harness
from harness import run, ws_connect

SIZES = (0, 125, 126, 65535, 65536, 16 * 1024 * 1024)


def text_of(n, seed=0):
    """n bytes of valid UTF-8 mixing 1-, 2-, 3- and 4-byte sequences (exactly n bytes):
    a random 4 KiB block repeated, then ASCII padding."""
    rng = random.Random(seed)
    alphabet = ["a", "Z", " ", "\u00e9", "\u03ba", "\u20ac", "\u4e2d", "\U0001f600"]
    block = "".join(rng.choice(alphabet) for _ in range(1500))
    block_bytes = len(block.encode())
    whole = block * (n // block_bytes)
    return whole + "x" * (n - len(whole.encode()))


class EchoTest(harness.BrokerTestCase):
    FLAGS = ("--echo",)

    def test_text_sizes(self):
        async def go():
            async with ws_connect(self.port) as ws:
                for n in SIZES:
                    message = text_of(n, seed=n)
                    await ws.send(message)
                    got = await asyncio.wait_for(ws.recv(), 30)
                    self.assertIsInstance(got, str, "text stays text (%d bytes)" % n)
                    self.assertEqual(len(got.encode()), n)
                    self.assertTrue(got == message, "text echo of %d bytes differs" % n)
        run(go(), 90)

    def test_binary_sizes(self):
        async def go():
            async with ws_connect(self.port) as ws:
                for n in SIZES:
                    message = os.urandom(n)
                    await ws.send(message)
                    got = await asyncio.wait_for(ws.recv(), 30)
                    self.assertIsInstance(got, bytes, "binary stays binary (%d bytes)" % n)
                    self.assertEqual(len(got), n)
                    self.assertTrue(got == message, "binary echo of %d bytes differs" % n)
        run(go(), 90)

    def test_fragmented_messages(self):
        cases = [
            ["hello ", "fragmented ", "world"],
            ["", "a", ""],
            # Multi-byte characters (up to 4 bytes) in every fragment.
            ["\u03ba\u1f79", "\u03c3\u03bc\u03b5", "\U0001f600" * 100],
            [b"\x00\x01", b"", b"\xff" * 70000, b"end"],
            [os.urandom(1) for _ in range(200)],
        ]

        async def go():
            async with ws_connect(self.port) as ws:
                for fragments in cases:
                    await ws.send(iter(fragments))
                    got = await asyncio.wait_for(ws.recv(), 10)
                    expected = fragments[0][:0].join(fragments)
                    self.assertEqual(type(got), type(expected))
                    self.assertEqual(got, expected)
                # Fragments from an async iterable, one byte each.
                raw = "\u20ac\U0001f600".encode()

                async def chunks():
                    for i in range(len(raw)):
                        yield raw[i:i + 1]
                await ws.send(chunks())
                got = await asyncio.wait_for(ws.recv(), 10)
                self.assertEqual(got, raw)
        run(go(), 60)

    def test_text_split_inside_characters(self):
        # python-websockets only fragments at str boundaries, so split bytes by hand.
        raw = ("\u20ac\U0001f600\u03ba" * 3).encode()
        client = self.open_raw()
        for i in range(len(raw)):
            client.send_frame(harness.OP_TEXT if i == 0 else harness.OP_CONT, raw[i:i + 1],
                              fin=i == len(raw) - 1)
        client.expect_message(self, harness.OP_TEXT, raw)
        client.close_cleanly(self)

    def test_ping_pong(self):
        async def go():
            async with ws_connect(self.port) as ws:
                for payload in (b"", b"ping", os.urandom(125), "\u03ba\u1f79".encode()):
                    waiter = await ws.ping(payload)
                    await asyncio.wait_for(waiter, 5)
                # Ten pings in a row, all answered.
                waiters = [await ws.ping(b"%d" % i) for i in range(10)]
                await asyncio.wait_for(asyncio.gather(*waiters), 5)
                await ws.send("after pings")
                self.assertEqual(await asyncio.wait_for(ws.recv(), 5), "after pings")
        run(go(), 30)

    def test_close_codes_echoed(self):
        for code, reason in ((1000, ""), (1000, "bye"), (4001, "application"), (3000, "")):
            with self.subTest(code=code, reason=reason):
                async def go():
                    ws = await ws_connect(self.port)
                    await ws.send("x")
                    self.assertEqual(await ws.recv(), "x")
                    await ws.close(code=code, reason=reason)
                    await asyncio.wait_for(ws.wait_closed(), 5)
                    return ws.close_code
                self.assertEqual(run(go(), 15), code)

    def test_many_messages_in_order_on_concurrent_connections(self):
        connections, count = 8, 400

        async def one(index):
            async with ws_connect(self.port) as ws:
                async def sender():
                    for i in range(count):
                        if i % 2:
                            await ws.send(b"%d:%d" % (index, i) + b"." * (i % 300))
                        else:
                            await ws.send("%d:%d" % (index, i) + "\u03ba" * (i % 100))
                async def receiver():
                    for i in range(count):
                        got = await asyncio.wait_for(ws.recv(), 20)
                        if i % 2:
                            expected = b"%d:%d" % (index, i) + b"." * (i % 300)
                        else:
                            expected = "%d:%d" % (index, i) + "\u03ba" * (i % 100)
                        self.assertEqual(got, expected, "connection %d message %d" % (index, i))
                await asyncio.gather(sender(), receiver())

        async def go():
            await asyncio.gather(*(one(i) for i in range(connections)))
        run(go(), 60)

    def test_echo_only_on_its_route(self):
        async def go():
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as caught:
                await ws_connect(self.port, "/nope")
            self.assertEqual(caught.exception.status_code, 404)
        run(go(), 15)


class EchoOneWorkerTest(EchoTest):
    """The same cases with a single ring (the default is one worker per core)."""
    FLAGS = ("--echo", "--workers", "1")


class EchoOffByDefaultTest(harness.BrokerTestCase):
    FLAGS = ()

    def test_no_echo_route_without_flag(self):
        async def go():
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as caught:
                await ws_connect(self.port, "/echo")
            self.assertEqual(caught.exception.status_code, 404)
        run(go(), 15)

if __name__ == "__main__":
    unittest.main()
