"""The bare corking server (tests/bench/corking_server.cc) and herald-bench's regime report:
herald-bench fanout against the corking server delivers every message to every subscriber
and reports the broker counters as null; the commands herald-bench relies on are acked by
hand; a peer that vanishes mid-handshake or mid-stream does not take the server down; and
--publish-window-sweep against the real broker gives one result and one stderr row per window,
with the broker's sends and frames per send; herald-bench conns --reconnect subscribes every
connection again after a broker restart.

usage: corking_server_test.py --herald PATH --bench PATH --corking-server PATH [unittest args]
(registered in tests/CMakeLists.txt as integration.corking_server)."""

import argparse
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import harness  # noqa: E402  (strips --herald and --bench from sys.argv)
from harness import Broker, RawClient, OP_BINARY, OP_TEXT  # noqa: E402

_parser = argparse.ArgumentParser(add_help=False)
_parser.add_argument("--corking-server", required=True)
_args, _rest = _parser.parse_known_args(sys.argv[1:])
sys.argv[1:] = _rest
CORKING_SERVER = os.path.abspath(_args.corking_server)

RUN_TIMEOUT_S = 60
SUBSCRIBERS = 50
MESSAGES = 200


class CorkingServer:
    """corking-server on a free loopback port; ready once it prints its listening line."""

    def __init__(self):
        for _ in range(3):
            self.port = harness.free_port()
            self.proc = subprocess.Popen([CORKING_SERVER, "--port", str(self.port)],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
            line = self.proc.stdout.readline()  # bounded: the server exits on a bind failure
            if line.startswith("corking-server listening on"):
                return
            self.proc.wait(timeout=5)
            self.proc.stdout.close()
        raise AssertionError("corking-server did not start: " + self.proc.stderr.read())

    def stop(self):
        """SIGINT; returns the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.proc.returncode = None
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


def bench(port, *args):
    """herald-bench fanout; returns (exit status, the JSON line, stderr)."""
    result = subprocess.run([harness.BENCH, "fanout", "--port", str(port), *args],
                            capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    lines = result.stdout.strip().splitlines()
    if len(lines) != 1:
        raise AssertionError("one JSON line: %r\n%s" % (result.stdout, result.stderr))
    return result.returncode, json.loads(lines[0]), result.stderr


class CorkingServerTest(unittest.TestCase):
    def setUp(self):
        if not harness.BENCH:
            self.fail("needs --bench PATH (herald-bench)")
        self.server = CorkingServer()
        self.addCleanup(self.server.stop)

    def test_fanout_delivers_every_message_to_every_subscriber(self):
        status, report, stderr = bench(self.server.port, "--subscribers", str(SUBSCRIBERS),
                                       "--messages", str(MESSAGES), "--warmup-s", "0",
                                       "--duration-s", "20", "--publish-window", "10")
        self.assertEqual(status, 0, stderr)
        results = report["results"]
        self.assertEqual(results["subscribed"], SUBSCRIBERS)
        self.assertEqual(results["published_total"], MESSAGES)
        self.assertEqual(results["delivered_total"], MESSAGES * SUBSCRIBERS)
        self.assertEqual(results["expected_deliveries"], MESSAGES * SUBSCRIBERS)
        for check in ("lost", "reordered", "corrupt", "unexpected", "connections_lost"):
            self.assertEqual(results[check], 0, check)
        self.assertEqual(results["close"]["clean"], SUBSCRIBERS + 1)
        regime = results["regime"]
        self.assertEqual(regime["deliveries_in_flight"], 10 * SUBSCRIBERS)
        self.assertFalse(regime["broker_counters"])  # no /metrics: null, not made up
        for key in ("sends_per_s", "frames_per_send", "sends"):
            self.assertIsNone(regime[key], key)
        self.assertIn("in flight 500 (window 10 x 50 subscribers)", stderr)
        self.assertIsNone(self.server.proc.poll())
        self.assertEqual(self.server.stop(), 0)

    def test_acks_and_both_publish_forms(self):
        subscriber = RawClient(self.server.port)
        self.addCleanup(subscriber.close)
        subscriber.handshake("/", protocols="herald.v1")
        subscriber.send_text(b'{"op":"sub","topic":"t.a","id":"s1"}')
        self.assertEqual(subscriber.read_message(), (OP_TEXT, b'{"type":"ack","id":"s1"}'))
        publisher = RawClient(self.server.port)
        self.addCleanup(publisher.close)
        publisher.handshake("/")
        publisher.send_text(b'{"op":"pub","topic":"t.a","data":{"x":1},"id":7}')
        self.assertEqual(publisher.read_message(), (OP_TEXT, b'{"type":"ack","id":7,"seq":1}'))
        self.assertEqual(subscriber.read_message(),
                         (OP_TEXT, b'{"type":"msg","topic":"t.a","seq":1,"data":{"x":1}}'))
        # Binary publish with an id (flag bit 0), PROTOCOL.md section 5.
        publisher.send_binary(b"\x01\x01\x03t.a" + struct.pack("!I", 9) + b"payload")
        self.assertEqual(publisher.read_message(), (OP_TEXT, b'{"type":"ack","id":9,"seq":2}'))
        self.assertEqual(subscriber.read_message(),
                         (OP_BINARY, b"\x02\x03t.a" + struct.pack("!Q", 2) + b"payload"))
        subscriber.send_text(b'{"op":"sub","topic":"t.*","id":"p"}')
        opcode, payload = subscriber.read_message()
        self.assertIn(b'"code":"bad_request"', payload)

    def test_vanishing_peers_do_not_stop_it(self):
        half = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        half.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        half.close()
        # A subscriber that resets its connection while messages are queued for it.
        gone = RawClient(self.server.port)
        gone.handshake("/")
        gone.send_text(b'{"op":"sub","topic":"bench.fanout","id":"g"}')
        gone.read_message()
        gone.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        gone.close()
        status, report, stderr = bench(self.server.port, "--subscribers", "10", "--messages",
                                       "100", "--warmup-s", "0", "--duration-s", "20")
        self.assertEqual(status, 0, stderr)
        self.assertEqual(report["results"]["delivered_total"], 100 * 10)
        self.assertEqual(self.server.stop(), 0)


class SweepTest(unittest.TestCase):
    def test_one_row_per_window_with_broker_counters(self):
        broker = Broker("--workers", "1")
        self.addCleanup(broker.kill)
        broker.start()
        status, report, stderr = bench(broker.port, "--subscribers", "20", "--warmup-s", "0",
                                       "--duration-s", "0.3", "--publish-window-sweep", "1,4,16",
                                       "--server-pid", str(broker.proc.pid))
        self.assertEqual(status, 0, stderr)
        self.assertEqual(report["params"]["publish_window_sweep"], "1,4,16")
        by_window = report["results"]["by_window"]
        self.assertEqual(list(by_window), ["1", "4", "16"])
        for window, run in by_window.items():
            self.assertEqual(run["subscribed"], 20)
            self.assertEqual(run["lost"], 0)
            self.assertGreater(run["deliveries"], 0)
            regime = run["regime"]
            self.assertEqual(regime["deliveries_in_flight"], int(window) * 20)
            self.assertTrue(regime["broker_counters"], regime)
            # Every delivery the broker made went out in some send, each carrying >= 1 frame.
            self.assertGreater(regime["sends"], 0)
            self.assertGreaterEqual(regime["send_buffers"], regime["sends"])
            self.assertGreaterEqual(regime["broker_deliveries"], run["deliveries"] // 2)
        rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)$", stderr, re.M)
        self.assertEqual([(r[0], r[1]) for r in rows], [("1", "20"), ("4", "80"), ("16", "320")],
                         stderr)
        broker.stop()

    def test_a_bad_window_list_is_refused(self):
        result = subprocess.run([harness.BENCH, "fanout", "--port", "1",
                                 "--publish-window-sweep", "1,x"],
                                capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        self.assertEqual(result.returncode, 1)
        self.assertIn("not a window", json.loads(result.stdout)["results"]["error"])


class ReconnectTest(unittest.TestCase):
    def test_conns_reconnect_survives_a_broker_restart(self):
        broker = Broker("--workers", "1")
        self.addCleanup(broker.kill)
        broker.start()
        bench_run = subprocess.Popen(
            [harness.BENCH, "conns", "--port", str(broker.port), "--connections", "50",
             "--shared-topic", "--reconnect", "--hold-s", "6", "--settle-s", "0.5"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(bench_run.kill)
        for _ in range(10):  # bounded: herald-bench prints a few progress lines
            line = bench_run.stderr.readline()
            if not line or "open; holding" in line:
                break
        self.assertIn("open; holding", line)
        broker.stop()
        restarted = Broker("--workers", "1", port=broker.port)
        self.addCleanup(restarted.kill)
        restarted.start()
        out, err = bench_run.communicate(timeout=RUN_TIMEOUT_S)
        self.assertEqual(bench_run.returncode, 0, err)
        reconnect = json.loads(out)["results"]["reconnect"]
        self.assertEqual(reconnect["lost"], 50, reconnect)
        self.assertEqual(reconnect["resubscribed"], 50, reconnect)
        self.assertEqual(reconnect["subscribed_at_end"], 50, reconnect)
        self.assertIsNotNone(reconnect["storm_s"])
        restarted.stop()


if __name__ == "__main__":
    unittest.main()
