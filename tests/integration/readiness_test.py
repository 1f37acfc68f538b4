"""GET /readyz against the real broker: ready once it serves, 503 with the reason once a
history write has failed (RLIMIT_FSIZE, as in storage_failure_test.py) while /healthz stays
200. Draining (503 "draining") is checked in drain_test.py. "Starting" lasts from the moment the
listeners accept to the moment the workers all run, usually too short to catch from outside:
harness.wait_readyz() requires any answer in it to be 503 "starting", and
tests/broker/http_routes_test.cc checks the answer itself."""

import resource
import shutil
import signal
import tempfile
import unittest

import harness
from harness import Broker, PubSubClient

WAIT_S = 20.0
FILE_SIZE_LIMIT = 1 << 20
PAD = "x" * 1000
BATCH = 100
BATCHES_MAX = 40


def limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


class ReadinessTest(unittest.TestCase):
    def start(self, *flags, preexec_fn=None):
        broker = Broker(*flags, preexec_fn=preexec_fn)
        self.addCleanup(broker.kill)
        broker.start()
        return broker

    def readyz(self, broker):
        response = harness.http_request(broker.port, "GET", "/readyz")
        return response.status, response.body.decode()

    def test_ready_once_serving_and_healthz_apart(self):
        broker = self.start("--workers", "2")
        harness.wait_readyz(broker.port)  # any answer before was 503 "starting"
        self.assertEqual(self.readyz(broker), (200, "ready\n"))
        self.assertEqual(harness.http_request(broker.port, "GET", "/healthz").status, 200)
        self.assertEqual(harness.http_request(broker.port, "POST", "/readyz").status, 405)
        broker.stop()

    def test_a_failed_history_write_makes_it_not_ready(self):
        data_dir = tempfile.mkdtemp(prefix="herald-readiness-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        broker = self.start("--workers", "2", "--data-dir", data_dir,
                            "--history", "f.>=rocksdb,count=1000000",
                            preexec_fn=limit_file_size)
        harness.wait_readyz(broker.port)
        publisher = PubSubClient(broker.port, timeout=WAIT_S)
        self.addCleanup(publisher.close)
        publisher.open()
        failed, n = False, 0
        for _ in range(BATCHES_MAX):
            for _ in range(BATCH):
                publisher.pub("f.t", '{"n":%d,"pad":"%s"}' % (n, PAD), id_raw=str(n))
                n += 1
            for _ in range(BATCH):
                event = publisher.next_event(timeout=WAIT_S)
                failed = failed or (event.type == "error" and event.code == "storage_failed")
            if failed:
                break
        self.assertTrue(failed, "no history write failed: RLIMIT_FSIZE did not bite")
        # The worker marks the failure on the tick that answered storage_failed.
        status, body = self.readyz(broker)
        self.assertEqual(status, 503, body)
        self.assertIn("history storage failed", body)
        self.assertEqual(harness.http_request(broker.port, "GET", "/healthz").status, 200)
        publisher.close()
        broker.stop()


if __name__ == "__main__":
    unittest.main()
