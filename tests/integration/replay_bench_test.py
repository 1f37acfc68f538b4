"""herald-bench replay against the real broker (PROTOCOL.md section 9): a small fill and replay
with memory and with RocksDB history, a cold replay (--no-fill) after a restart, and the exit
status when the log cannot hold the fill or holds nothing. Asserts on the one JSON line."""

import json
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import Broker

MESSAGES = 20000
RUN_TIMEOUT_S = 120


class ReplayBenchTest(unittest.TestCase):
    def setUp(self):
        if not harness.BENCH:
            self.fail("needs --bench PATH (herald-bench)")
        self.data_dir = tempfile.mkdtemp(prefix="herald-replay-bench-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)

    def start(self, rule):
        broker = Broker("--workers", "1", "--data-dir", self.data_dir, "--history", rule)
        self.addCleanup(broker.kill)
        broker.start()
        return broker

    def bench(self, broker, *args):
        """Runs the scenario; returns (exit status, the JSON line's results)."""
        result = subprocess.run(
            [harness.BENCH, "replay", "--port", str(broker.port), "--server-pid",
             str(broker.proc.pid), "--timeout-s", "60", *args],
            capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        lines = result.stdout.strip().splitlines()
        self.assertEqual(len(lines), 1, "one JSON line: %r\n%s" % (result.stdout, result.stderr))
        report = json.loads(lines[0])
        self.assertEqual(report["scenario"], "replay")
        return result.returncode, report["results"], result.stderr

    def assert_clean_replay(self, results, count):
        self.assertTrue(results["recovery"])
        self.assertTrue(results["complete"])
        self.assertEqual((results["from"], results["next"]), (1, count + 1))
        self.assertEqual(results["msgs"], count)
        for check in ("missing", "gaps", "duplicates", "reordered", "out_of_range", "corrupt",
                      "unexpected"):
            self.assertEqual(results[check], 0, check)
        self.assertFalse(results["timed_out"])
        self.assertGreater(results["msgs_per_s"], 0)
        self.assertIn("server_cpu_s", results)

    def fill_and_replay(self, rule):
        broker = self.start(rule)
        status, results, stderr = self.bench(broker, "--messages", str(MESSAGES),
                                             "--publish-window", "1024")
        self.assertEqual(status, 0, stderr)
        fill = results["fill"]
        self.assertEqual((fill["published"], fill["acked"], fill["errors"]),
                         (MESSAGES, MESSAGES, 0))
        self.assertEqual((fill["first_seq"], fill["seq_mismatches"]), (1, 0))
        self.assertGreater(fill["acked_per_s"], 0)
        self.assert_clean_replay(results, MESSAGES)
        self.assertIn("replayed", stderr)
        return broker

    def test_memory(self):
        broker = self.fill_and_replay("bench.>=memory,count=1000000")
        broker.stop()

    def test_rocksdb_then_cold_replay_after_restart(self):
        broker = self.fill_and_replay("bench.>=rocksdb,count=100000000")
        broker.stop()
        broker = self.start("bench.>=rocksdb,count=100000000")
        status, results, stderr = self.bench(broker, "--no-fill")
        self.assertEqual(status, 0, stderr)
        self.assertNotIn("fill", results)
        self.assert_clean_replay(results, MESSAGES)
        broker.stop()

    def test_a_log_too_small_for_the_fill_fails_the_run(self):
        broker = self.start("bench.>=memory,count=1000")
        status, results, stderr = self.bench(broker, "--messages", "5000")
        self.assertEqual(status, 3, stderr)
        self.assertEqual(results["fill"]["acked"], 5000)
        self.assertFalse(results["complete"])  # "from":1 is older than what is retained
        self.assertEqual(results["msgs"], 1000)
        self.assertIn("does not hold every message", stderr)
        broker.stop()

    def test_nothing_to_replay(self):
        broker = self.start("bench.>=memory,count=1000")
        status, results, stderr = self.bench(broker, "--no-fill")
        self.assertEqual(status, 1, stderr)
        self.assertEqual(results["expected"], 0)
        self.assertIn("holds no messages", results["error"])
        broker.stop()


if __name__ == "__main__":
    unittest.main()
