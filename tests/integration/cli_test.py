"""herald-cli against the real broker: `sub` prints TOPIC SEQ DATA lines (binary as base64),
`pub` prints the assigned seq, `pub` from stdin publishes one message per line and prints
COUNT LAST_SEQ, and errors exit 1 (server refusal) or 2 (usage) with a reason on stderr."""

import base64
import os
import re
import subprocess
import time
import unittest

import harness
from harness import BrokerTestCase

CLI = harness.BENCH and os.path.join(os.path.dirname(harness.BENCH), "herald-cli")
RUN_TIMEOUT_S = 20


class CliCase(BrokerTestCase):
    FLAGS = ("--workers", "2")

    def setUp(self):
        if not CLI or not os.path.exists(CLI):
            self.fail("herald-cli not found beside herald-bench: %r" % CLI)

    def cli(self, *args, stdin=None):
        return subprocess.run([CLI, "--port", str(self.port)] + list(args), input=stdin,
                              capture_output=True, timeout=RUN_TIMEOUT_S)

    def start_sub(self, *args):
        sub = subprocess.Popen([CLI, "--port", str(self.port), "sub"] + list(args),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(sub.kill)
        # The subscription is acked before the first publish: wait until the broker counts it.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if harness.sample(harness.scrape(self.port), "herald_subscriptions") >= 1:
                return sub
            time.sleep(0.02)
        self.fail("herald-cli sub never subscribed")

    def finish(self, sub):
        out, err = sub.communicate(timeout=RUN_TIMEOUT_S)
        self.assertEqual(sub.returncode, 0, err)
        return out.decode().splitlines()


class CliTest(CliCase):
    def test_pub_and_sub(self):
        topic = harness.unique_topic("cli")
        sub = self.start_sub(topic.rsplit(".", 1)[0] + ".*", "--count", "3")
        first = self.cli("pub", topic, '{"bid": 1.5}')
        self.assertEqual((first.returncode, first.stdout), (0, b"1\n"), first.stderr)
        second = self.cli("pub", topic, "[1,2,3]")
        self.assertEqual((second.returncode, second.stdout), (0, b"2\n"), second.stderr)
        third = self.cli("pub", topic, "--binary", "\x01raw")
        self.assertEqual(third.returncode, 0, third.stderr)
        self.assertEqual(self.finish(sub), [
            "%s 1 {\"bid\": 1.5}" % topic,
            "%s 2 [1,2,3]" % topic,
            "%s 3 base64:%s" % (topic, base64.b64encode(b"\x01raw").decode()),
        ])

    def test_pub_from_stdin(self):
        topic = harness.unique_topic("clistdin")
        sub = self.start_sub(topic, "--count", "100")
        lines = "".join('{"n":%d}\n' % n for n in range(100)).encode()
        result = self.cli("pub", topic, stdin=lines)
        self.assertEqual((result.returncode, result.stdout), (0, b"100 100\n"), result.stderr)
        got = self.finish(sub)
        self.assertEqual(got, ['%s %d {"n":%d}' % (topic, n + 1, n) for n in range(100)])

    def test_errors(self):
        bad_topic = self.cli("pub", "a..b", "1")
        self.assertEqual(bad_topic.returncode, 1)
        self.assertIn(b"bad_topic", bad_topic.stderr)
        bad_json = self.cli("pub", harness.unique_topic("clibad"), "{nope")
        self.assertEqual(bad_json.returncode, 1)
        self.assertIn(b"bad_json", bad_json.stderr)
        usage = self.cli("frobnicate")
        self.assertEqual(usage.returncode, 2)
        self.assertTrue(usage.stderr)
        refused = subprocess.run([CLI, "--port", str(harness.free_port()), "pub", "a", "1"],
                                 capture_output=True, timeout=RUN_TIMEOUT_S)
        self.assertEqual(refused.returncode, 1)
        self.assertTrue(refused.stderr)


class CompressionTest(CliCase):
    """herald-cli --compression against the real broker: it accepts the offer, its compressed
    messages are inflated whole, and they cost fewer bytes on the wire than their size."""

    @staticmethod
    def report(stderr):
        match = re.search(rb"permessage-deflate (on|declined by the server): received (\d+) "
                          rb"frame bytes for (\d+) message bytes; sent (\d+) data frame bytes, "
                          rb"(\d+) messages compressed", stderr)
        if not match:
            raise AssertionError("no compression report in %r" % stderr)
        return match.group(1) == b"on", int(match.group(2)), int(match.group(3)), \
            int(match.group(5))

    def test_pub_and_sub_compressed(self):
        topic = harness.unique_topic("clideflate")
        sub = self.start_sub(topic, "--count", "50", "--compression")
        lines = "".join('{"n":%d,"sym":"AAPL","note":"%s"}\n' % (n, "repetitive text " * 40)
                        for n in range(50)).encode()
        result = self.cli("--compression", "pub", topic, stdin=lines)
        self.assertEqual((result.returncode, result.stdout), (0, b"50 50\n"), result.stderr)
        on, _, _, compressed = self.report(result.stderr)
        self.assertTrue(on, result.stderr)
        self.assertEqual(compressed, 50)
        out, err = sub.communicate(timeout=RUN_TIMEOUT_S)
        self.assertEqual(sub.returncode, 0, err)
        self.assertEqual(out.decode().splitlines(), [
            '%s %d {"n":%d,"sym":"AAPL","note":"%s"}' % (topic, n + 1, n, "repetitive text " * 40)
            for n in range(50)])
        on, frame_bytes, message_bytes, _ = self.report(err)
        self.assertTrue(on, err)
        self.assertLess(frame_bytes * 2, message_bytes, err)

    def test_small_and_binary_messages(self):
        topic = harness.unique_topic("clideflatesmall")
        sub = self.start_sub(topic, "--count", "3", "--compression")
        for args in (("1",), ("--binary", "\x01raw"), ("[" + "1," * 5000 + "1]",)):
            result = self.cli("--compression", "pub", topic, *args)
            self.assertEqual(result.returncode, 0, result.stderr)
        out, err = sub.communicate(timeout=RUN_TIMEOUT_S)
        self.assertEqual(sub.returncode, 0, err)
        self.assertEqual(out.decode().splitlines(), [
            "%s 1 1" % topic,
            "%s 2 base64:%s" % (topic, base64.b64encode(b"\x01raw").decode()),
            "%s 3 [%s1]" % (topic, "1," * 5000)])


if __name__ == "__main__":
    unittest.main()
