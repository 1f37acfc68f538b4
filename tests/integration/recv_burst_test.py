"""Many connections whose bytes arrive at once, on one worker: the io_uring backend keeps only
a budget of its receive buffers in the kernel's ring (an eighth at first), so a burst runs it
dry, receives are re-armed and the budget grows; after a quiet spell it shrinks and unused
buffers give their pages back. Every echo must still come back whole, in every round."""

import os
import signal
import sys
import time
import unittest

import harness
from harness import OP_BINARY

CLIENTS = 300
MESSAGE_BYTES = 20 * 1024  # more than one 16 KiB receive buffer each
ROUNDS = 3
QUIET_S = 2.5  # more than the budget's one quiet second, so it shrinks between rounds


class RecvBurstTest(harness.BrokerTestCase):
    FLAGS = ("--echo", "--workers", "1")

    def test_every_echo_of_a_burst_comes_back(self):
        clients = [self.open_raw("/echo") for _ in range(CLIENTS)]
        for round_ in range(ROUNDS):
            sent = []
            # All frames are written while the broker is stopped, so that its next wait finds
            # every socket readable at once: one burst of about 600 receives.
            self.broker.send_signal(signal.SIGSTOP)
            try:
                for i, client in enumerate(clients):
                    head = b"%d/%d|" % (i, round_)
                    payload = head + os.urandom(MESSAGE_BYTES - len(head))
                    self.assertTrue(client.send_binary(payload), "client %d, round %d" % (i, round_))
                    sent.append(payload)
            finally:
                self.broker.send_signal(signal.SIGCONT)
            for i, client in enumerate(clients):
                client.expect_message(self, OP_BINARY, sent[i], timeout=harness.IO_TIMEOUT_S * 2)
            if round_ + 1 < ROUNDS:
                time.sleep(QUIET_S)
        for client in clients:
            client.close_cleanly(self)
        # How often a receive found the ring empty and was re-armed: the kernel decides how
        # many receives run per wait, so this is reported, not asserted.
        response = harness.http_request(self.port, "GET", "/metrics")
        self.assertEqual(response.status, 200)
        for line in response.body.decode().splitlines():
            if line.startswith("herald_recv_buffer_shortages_total"):
                print(line, file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
