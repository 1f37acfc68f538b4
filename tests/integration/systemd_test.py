"""deploy/herald.service: systemd-analyze verify accepts it without a word, its hardening
scores as systemd rates it, herald accepts its ExecStart flags, and Type=notify holds: herald
sends READY=1 once its port accepts and STOPPING=1 on SIGTERM, to a NOTIFY_SOCKET we bind.
No systemd runs here (no PID 1 of it): the unit itself is checked offline."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                    "herald.service")
SAMPLE_CONFIG = os.path.join(os.path.dirname(UNIT), "herald.toml")
INSTALLED = "/usr/local/bin/herald"
# systemd 252 (Debian 12) rates the unit 1.4; above 2.0 a hardening line has gone missing.
EXPOSURE_MAX = 2.0


def unit_text():
    with open(UNIT) as f:
        return f.read()


def exec_start(text):
    line = next(l for l in text.splitlines() if l.startswith("ExecStart="))
    return shlex.split(line[len("ExecStart="):])


class UnitTest(unittest.TestCase):
    def setUp(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze not found (Debian's systemd package)")
        self.dir = tempfile.mkdtemp(prefix="herald-unit-")
        self.addCleanup(shutil.rmtree, self.dir)

    def analyze(self, text, *command):
        """Writes `text` as herald.service, with ExecStart on the built binary (verify wants
        the binary to exist), and runs systemd-analyze COMMAND on it."""
        path = os.path.join(self.dir, "herald.service")
        with open(path, "w") as f:
            f.write(text.replace(INSTALLED, harness.HERALD))
        result = subprocess.run(["systemd-analyze", *command, path], capture_output=True,
                                text=True, timeout=60, stdin=subprocess.DEVNULL)
        return result, result.stdout + result.stderr

    def unit_lines(self, output):
        return [l for l in output.splitlines() if "herald.service" in l]

    def test_verify_says_nothing(self):
        result, output = self.analyze(unit_text(), "verify")
        self.assertEqual(result.returncode, 0, output)
        self.assertEqual(self.unit_lines(output), [], output)

    def test_verify_catches_a_typo(self):
        # The check above can fail: a misspelt key is only a warning (exit 0), which it sees.
        text = unit_text().replace("LockPersonality=yes", "LockPersonalty=yes")
        result, output = self.analyze(text, "verify")
        self.assertIn("Unknown key", "\n".join(self.unit_lines(output)), output)

    def test_exposure(self):
        result, output = self.analyze(unit_text(), "security", "--offline=yes")
        found = re.search(r"Overall exposure level for herald\.service: ([0-9.]+)", output)
        self.assertIsNotNone(found, output)
        self.assertLessEqual(float(found.group(1)), EXPOSURE_MAX, output)

    def test_filter_allows_io_uring(self):
        allowed = [l for l in unit_text().splitlines()
                   if l.startswith("SystemCallFilter=") and "=~" not in l]
        self.assertEqual(len(allowed), 1, allowed)
        for name in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
            self.assertIn(name, allowed[0].split())


class ExecStartTest(unittest.TestCase):
    def test_flags_are_herald_flags(self):
        # The unit's own arguments, with its paths moved into a temporary directory.
        args = exec_start(unit_text())
        self.assertEqual(args[0], INSTALLED)
        with tempfile.TemporaryDirectory() as state:
            args = [SAMPLE_CONFIG if a == "/etc/herald/herald.toml" else
                    state if a == "/var/lib/herald" else a for a in args[1:]]
            result = harness.run_herald([*args, "--print-config"])
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertIn(state, result.stdout)


def links_libsystemd():
    ldd = subprocess.run(["ldd", harness.HERALD], capture_output=True, text=True, timeout=30)
    return "libsystemd" in ldd.stdout


class NotifyTest(unittest.TestCase):
    """Type=notify as systemd sees it: datagrams on the socket named by NOTIFY_SOCKET."""

    def setUp(self):
        if not links_libsystemd():
            self.skipTest("herald was built without libsystemd (no sd_notify)")
        self.dir = tempfile.mkdtemp(prefix="herald-notify-")
        self.addCleanup(shutil.rmtree, self.dir)
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.sock.close)
        self.sock.bind(self.path)

    def receive(self, proc, timeout):
        """The next notification's fields, or a failure if none comes within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(0.2)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                if proc.poll() is not None:
                    self.fail("herald exited (%s) before notifying" % proc.returncode)
                continue
            return dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        self.fail("no notification within %.0f s" % timeout)

    def test_ready_then_stopping(self):
        port = harness.free_port()
        env = dict(os.environ, NOTIFY_SOCKET=self.path)
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen([harness.HERALD, "--host", "127.0.0.1", "--port", str(port),
                                     *harness.IO_FLAGS], env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log)
            try:
                ready = self.receive(proc, harness.START_TIMEOUT_S)
                self.assertEqual(ready.get("READY"), "1", ready)
                self.assertIn("listening on port %d" % port, ready.get("STATUS", ""))
                # READY=1 means the port accepts now, not soon.
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                proc.send_signal(signal.SIGTERM)
                stopping = self.receive(proc, harness.START_TIMEOUT_S)
                self.assertEqual(stopping.get("STOPPING"), "1", stopping)
                self.assertEqual(proc.wait(timeout=15), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                log.seek(0)
                output = log.read().decode("utf-8", "replace")
            self.assertIn("listening on", output)


if __name__ == "__main__":
    unittest.main()
