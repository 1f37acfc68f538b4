"""The C++ client's permessage-deflate (RFC 7692) against an independent implementation: Debian's
python3-websockets, whose server negotiates the extension by default and keeps its window
between messages (no server_no_context_takeover). herald-cli speaks to a small herald.v1
stand-in, herald-bench echo to an echo server; both check every byte, and the bytes on the wire
show the compression. A server whose answer breaks §7.1 makes the client fail the connection.
The same checks against the real broker are in cli_test.py's CompressionTest."""

import asyncio
import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import threading
import unittest

import harness
import websockets

CLI = harness.BENCH and os.path.join(os.path.dirname(harness.BENCH), "herald-cli")
RUN_TIMEOUT_S = 30
OFFER = "permessage-deflate; client_max_window_bits"


class ServerThread:
    """A websockets server on a free 127.0.0.1 port, run by an asyncio loop in a thread."""

    def __init__(self, handler):
        self.handler = handler
        self.offers = []
        self.received = []
        self.port = harness.free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def record(path, headers):
            self.offers.append(headers.get("Sec-WebSocket-Extensions"))

        async def main():
            async with websockets.serve(self.handler(self), "127.0.0.1", self.port,
                                        subprotocols=["herald.v1"], process_request=record,
                                        max_size=1 << 24):
                self.ready.set()
                await self.stop_future
        self.stop_future = self.loop.create_future()
        self.loop.run_until_complete(main())

    def __enter__(self):
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the websockets server did not start")
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stop_future.set_result, None)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


def echo_handler(server):
    async def handler(ws, path):
        async for message in ws:
            await ws.send(message)
    return handler


def tick(n):
    return {"sym": "AAPL", "px": 187.23 + n, "bid": 187.22 + n, "ask": 187.24 + n,
            "vol": 1000000 + n, "note": "field names and values repeat in every tick " * 20}


def herald_handler(server):
    """Enough of herald.v1 for herald-cli: acks for sub and pub, and three ticks after a sub."""
    async def handler(ws, path):
        seq = 0
        async for text in ws:
            command = json.loads(text)
            server.received.append(command)
            if command["op"] == "sub":
                await ws.send(json.dumps({"type": "ack", "id": command["id"]}))
                for n in range(3):
                    await ws.send(json.dumps({"type": "msg", "topic": command["topic"],
                                              "seq": n + 1, "data": tick(n)},
                                             separators=(",", ":")))
            elif command["op"] == "pub":
                seq += 1
                await ws.send(json.dumps({"type": "ack", "id": command["id"], "seq": seq}))
    return handler


def wire_report(stderr):
    """(on, received frame bytes, message bytes, messages sent compressed) from herald-cli."""
    match = re.search(r"permessage-deflate (on|declined by the server): received (\d+) frame "
                      r"bytes for (\d+) message bytes; sent (\d+) data frame bytes, (\d+) "
                      r"messages compressed", stderr)
    if not match:
        raise AssertionError("no compression report in %r" % stderr)
    return (match.group(1) == "on", int(match.group(2)), int(match.group(3)),
            int(match.group(5)))


class CliAgainstWebsocketsTest(unittest.TestCase):
    def setUp(self):
        if not CLI or not os.path.exists(CLI):
            self.fail("herald-cli not found beside herald-bench: %r" % CLI)

    def cli(self, port, *args, stdin=None):
        return subprocess.run([CLI, "--port", str(port), "--compression"] + list(args),
                              input=stdin, capture_output=True, timeout=RUN_TIMEOUT_S, text=True)

    def test_sub_inflates_messages_compressed_with_context_takeover(self):
        with ServerThread(herald_handler) as server:
            result = self.cli(server.port, "sub", "ticks", "--count", "3")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(server.offers, [OFFER])
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), 3)
        for n, line in enumerate(lines):
            topic, seq, data = line.split(" ", 2)
            self.assertEqual((topic, int(seq), json.loads(data)), ("ticks", n + 1, tick(n)))
        on, frame_bytes, message_bytes, _ = wire_report(result.stderr)
        self.assertTrue(on)
        # Three ~1 KiB ticks that differ in a few digits: a fraction of their size on the wire,
        # the later ones through the window the server kept.
        self.assertLess(frame_bytes * 4, message_bytes, result.stderr)

    def test_pub_compresses_what_the_server_inflates(self):
        big = json.dumps(tick(7), separators=(",", ":"))
        with ServerThread(herald_handler) as server:
            result = self.cli(server.port, "pub", "ticks", stdin=big + "\n" + '{"n":1}\n')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "2 2\n")
        self.assertEqual([c["data"] for c in server.received], [tick(7), {"n": 1}])
        on, _, _, compressed = wire_report(result.stderr)
        self.assertTrue(on)
        self.assertEqual(compressed, 1)  # the 7-byte message stays plain (under 64 bytes)

    def test_an_answer_breaking_rfc7692_fails_the_connection(self):
        for answer in ("permessage-deflate; mystery", "permessage-deflate; client_max_window_bits",
                       "permessage-deflate, permessage-deflate", "x-webkit-deflate-frame"):
            with RawAnswerServer(answer) as server:
                result = self.cli(server.port, "sub", "x", "--timeout-ms", "3000")
            self.assertEqual(result.returncode, 1, answer)
            self.assertIn("handshake_rejected", result.stderr, answer)


class RawAnswerServer:
    """Answers one upgrade with a valid 101 carrying the given Sec-WebSocket-Extensions."""

    def __init__(self, extensions):
        self.extensions = extensions
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        self.listener.settimeout(10)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            key = re.search(rb"Sec-WebSocket-Key: (\S+)", request, re.I).group(1)
            accept = base64.b64encode(hashlib.sha1(key + harness.GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n"
                         b"Sec-WebSocket-Protocol: herald.v1\r\nSec-WebSocket-Extensions: " +
                         self.extensions.encode() + b"\r\n\r\n")
            try:
                conn.recv(4096)  # until the client drops the connection
            except OSError:
                pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.listener.close()
        self.thread.join(15)


class BenchAgainstWebsocketsTest(unittest.TestCase):
    def bench(self, port, *flags):
        result = subprocess.run(
            [harness.BENCH, "echo", "--port", str(port), "--connections", "4", "--pipeline", "4",
             "--payload-bytes", "4096", "--warmup-s", "0", "--duration-s", "1",
             "--messages", "400"] + list(flags),
            capture_output=True, timeout=RUN_TIMEOUT_S, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return json.loads(result.stdout)["results"]["traffic"]

    def test_echo_with_and_without_compression(self):
        with ServerThread(echo_handler) as server:
            compressed = self.bench(server.port, "--compression")
            plain = self.bench(server.port)
        self.assertEqual(server.offers, [OFFER] * 4 + [None] * 4)
        self.assertEqual(compressed["deflate_connections"], 4)
        self.assertGreater(compressed["messages_sent_compressed"], 0)
        self.assertLess(compressed["wire_to_message_ratio"], 0.5, compressed)
        self.assertEqual(plain["deflate_connections"], 0)
        self.assertEqual(plain["messages_sent_compressed"], 0)
        self.assertGreater(plain["wire_to_message_ratio"], 1.0, plain)


class JsonTickFanoutTest(harness.BrokerTestCase):
    """herald-bench fanout with --payload json-tick against the real broker, offering
    compression: every tick arrives whole and in order, every connection agreed on deflate, and
    the ticks cost fewer bytes on the wire than their size."""

    def test_json_ticks_with_compression_offered(self):
        result = subprocess.run(
            [harness.BENCH, "fanout", "--port", str(self.port), "--subscribers", "20",
             "--payload", "json-tick", "--compression", "--warmup-s", "0",
             "--duration-s", "2", "--messages", "500"],
            capture_output=True, timeout=RUN_TIMEOUT_S, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr[-3000:])
        line = json.loads(result.stdout)
        self.assertEqual(line["params"]["payload"], "json-tick")
        results = line["results"]
        self.assertEqual(results["deliveries"], 500 * 20, results)
        for key in ("lost", "reordered", "corrupt", "gaps", "connect_failures"):
            self.assertEqual(results[key], 0, key)
        traffic = results["traffic"]
        # Ticks of about 320 bytes in a text envelope of about 55.
        self.assertGreater(traffic["message_bytes_per_message"], 330, traffic)
        self.assertLess(traffic["message_bytes_per_message"], 450, traffic)
        self.assertEqual(traffic["deflate_connections"], 21, traffic)
        self.assertLess(traffic["wire_to_message_ratio"], 1.0, traffic)


if __name__ == "__main__":
    unittest.main()
