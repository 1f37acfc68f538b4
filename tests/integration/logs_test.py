"""The broker's log against the real binary: with --log-format json every line it writes is one
JSON object with ts, level and msg; --log-level debug adds one line per closed connection with
its reason, close code, duration and bytes; refusals are logged at most a few lines a second
per reason, every one of them written or counted in a later line's "suppressed"."""

import json
import time
import unittest

import harness
from harness import Broker, PubSubClient

BURST = 60
EVIL_UPGRADE = harness.upgrade_request("/", extra=[("Origin", "https://evil.example")])


class LogsTest(unittest.TestCase):
    def start(self, *flags):
        broker = Broker("--workers", "2", "--log-format", "json", *flags)
        self.addCleanup(broker.kill)
        return broker.start()

    def lines(self, broker):
        """Every line so far, each required to be one JSON object with ts, level and msg."""
        records = []
        for line in broker.output().splitlines():
            record = json.loads(line)  # fails the test on anything but JSON
            self.assertIsInstance(record, dict, line)
            self.assertRegex(record["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(record["level"], ("error", "warn", "info", "debug"))
            self.assertIsInstance(record["msg"], str)
            records.append(record)
        return records

    def wait_for(self, broker, predicate, what):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = [r for r in self.lines(broker) if predicate(r)]
            if found:
                return found
            time.sleep(0.05)
        self.fail("no log line for %s:\n%s" % (what, broker.output()))

    def test_json_lines_and_a_close_line_at_debug(self):
        broker = self.start("--log-level", "debug")
        self.assertTrue(any("listening on" in r["msg"] for r in self.lines(broker)))
        client = PubSubClient(broker.port)
        self.addCleanup(client.close)
        client.open()
        client.sub(self, "log.t")
        client.close_cleanly(self, 1000)
        closes = self.wait_for(broker, lambda r: r["msg"] == "connection closed" and
                               r.get("reason") == "peer" and r.get("route") == "pubsub",
                               "the pub/sub close")
        record = closes[-1]
        self.assertEqual(record["level"], "debug")
        self.assertEqual(record["code"], 1000)
        self.assertIsInstance(record["duration_ms"], int)
        self.assertGreater(record["bytes_in"], 100, record)   # the upgrade request, the sub
        self.assertGreater(record["bytes_out"], 100, record)  # the 101, the ack, the Close
        broker.stop()

    def test_info_level_has_no_close_lines(self):
        broker = self.start()
        harness.http_request(broker.port, "GET", "/healthz")
        broker.stop()
        records = self.lines(broker)
        self.assertTrue(records)
        self.assertFalse([r for r in records if r["msg"] == "connection closed"])

    def test_refusals_are_rate_limited_and_counted(self):
        broker = self.start("--allowed-origins", "https://good.example")
        for _ in range(BURST):
            response, _ = harness.http_exchange(broker.port, EVIL_UPGRADE)
            self.assertEqual(response.status, 403)
        # One more in a later second: its line reports what the burst's second held back.
        time.sleep(1.1)
        response, _ = harness.http_exchange(broker.port, EVIL_UPGRADE)
        self.assertEqual(response.status, 403)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            refused = [r for r in self.lines(broker)
                       if r["msg"] == "refused" and r.get("reason") == "origin"]
            total = len(refused) + sum(r.get("suppressed", 0) for r in refused)
            if total >= BURST + 1:
                break
            time.sleep(0.05)
        self.assertEqual(total, BURST + 1, refused)
        self.assertLess(len(refused), BURST // 2, "refusal lines were not limited")
        self.assertTrue(any(r.get("suppressed", 0) > 0 for r in refused))
        broker.stop()


if __name__ == "__main__":
    unittest.main()
