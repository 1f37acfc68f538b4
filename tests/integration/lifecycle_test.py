"""Connection and process lifecycle: idle pings and timeouts, the close timeout, graceful
shutdown on SIGTERM and SIGINT, the connection limit, the command line, and start-up
failures (port in use), and io_uring blocked by seccomp: epoll serves, --io uring exits 1."""

import asyncio
import ctypes
import platform
import signal
import socket
import subprocess
import time
import unittest

import harness
from harness import (OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, Broker, RawClient, run, run_herald,
                     upgrade_request, ws_connect)

FLAG_NAMES = ("--host", "--port", "--workers", "--echo", "--max-connections",
              "--max-message-bytes", "--handshake-timeout-ms", "--idle-timeout-ms",
              "--close-timeout-ms", "--shutdown-timeout-ms", "--help")

# Timeouts may be swept once a second and CI may run under ASan: bounds are generous.
SWEEP_SLACK_S = 2.5


class IdleTest(harness.BrokerTestCase):
    FLAGS = ("--echo", "--idle-timeout-ms", "300", "--close-timeout-ms", "300")

    def read_ping(self, client, started):
        frame = client.read_frame(timeout=0.3 + SWEEP_SLACK_S)
        self.assertEqual(frame.opcode, OP_PING, "a silent connection gets a Ping: %r" % frame)
        self.assertGreaterEqual(time.monotonic() - started, 0.25, "pinged before the timeout")
        return frame

    def test_silent_client_gets_ping_then_close_1001(self):
        client = self.open_raw()
        started = time.monotonic()
        self.read_ping(client, started)
        pinged = time.monotonic()
        client.expect_close(1001, timeout=0.3 + SWEEP_SLACK_S, reply=True)
        self.assertGreaterEqual(time.monotonic() - pinged, 0.25, "closed before the period")

    def test_close_timeout_cuts_silent_peer(self):
        client = self.open_raw()
        self.read_ping(client, time.monotonic())
        frame = client.read_frame(timeout=0.3 + SWEEP_SLACK_S)
        self.assertEqual((frame.opcode, frame.close_code), (OP_CLOSE, 1001), frame)
        closed_sent = time.monotonic()
        closed, extra = client.wait_tcp_closed(0.3 + SWEEP_SLACK_S)
        elapsed = time.monotonic() - closed_sent
        self.assertTrue(closed, "TCP still open %.1f s after an unanswered Close" % elapsed)
        self.assertEqual(extra, b"")
        self.assertGreaterEqual(elapsed, 0.2, "TCP cut without waiting for the peer's Close")

    def test_no_data_frames_after_broker_close(self):
        # §5.5.1: after its Close the broker sends no data; our late message is not echoed.
        client = self.open_raw()
        self.read_ping(client, time.monotonic())
        frame = client.read_frame(timeout=0.3 + SWEEP_SLACK_S)
        self.assertEqual((frame.opcode, frame.close_code), (OP_CLOSE, 1001), frame)
        client.send_text(b"too late to echo")
        client.send_close(1001)
        closed, extra = client.wait_tcp_closed()
        self.assertTrue(closed, "TCP open after the closing handshake")
        self.assertEqual(extra, b"", "the broker sent data after its Close")

    def test_raw_client_answering_pings_stays_open(self):
        client = self.open_raw()
        deadline = time.monotonic() + 2.0
        pings = 0
        while time.monotonic() < deadline:
            try:
                frame = client.read_frame(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            self.assertEqual(frame.opcode, OP_PING, "only Pings expected: %r" % frame)
            pings += 1
            client.send_frame(OP_PONG, frame.payload)
        self.assertGreaterEqual(pings, 1, "no Ping in 2 s with a 0.3 s idle timeout")
        client.send_text(b"still open")
        while True:  # a Ping may cross our message
            frame = client.read_frame()
            if frame.opcode != OP_PING:
                break
            client.send_frame(OP_PONG, frame.payload)
        self.assertEqual((frame.opcode, frame.payload), (OP_TEXT, b"still open"))
        client.close_cleanly(self, allow_pings=True)

    def test_websockets_client_stays_open(self):
        async def go():
            async with ws_connect(self.port) as ws:  # answers Pings itself, sends none
                await asyncio.sleep(2.0)
                self.assertTrue(ws.open, "closed: %s %s" % (ws.close_code, ws.close_reason))
                await ws.send("after several idle periods")
                self.assertEqual(await asyncio.wait_for(ws.recv(), 5),
                                 "after several idle periods")
        run(go(), 20)

    def test_busy_client_stays_open(self):
        client = self.open_raw()
        for i in range(15):
            client.send_text(b"busy %d" % i)
            while True:
                frame = client.read_frame()
                if frame.opcode == OP_PING:
                    client.send_frame(OP_PONG, frame.payload)
                    continue
                self.assertEqual((frame.opcode, frame.payload), (OP_TEXT, b"busy %d" % i))
                break
            time.sleep(0.1)
        client.close_cleanly(self, allow_pings=True)


class ShutdownTest(unittest.TestCase):
    SHUTDOWN_TIMEOUT_MS = 1000
    MARGIN_S = 3.0
    # When every client completes the closing handshake, the broker need not wait.
    PROMPT_EXIT_S = 2.5

    def start(self, shutdown_timeout_ms=SHUTDOWN_TIMEOUT_MS):
        broker = Broker("--echo", "--shutdown-timeout-ms", str(shutdown_timeout_ms))
        self.addCleanup(broker.kill)
        return broker.start()

    def graceful(self, sig):
        broker = self.start(shutdown_timeout_ms=10000)
        raws = [RawClient(broker.port) for _ in range(3)]
        for raw in raws:
            self.addCleanup(raw.close)
            raw.handshake()
            raw.echo(self, OP_TEXT, b"before shutdown")

        async def go():
            wss = [await ws_connect(broker.port) for _ in range(3)]
            for ws in wss:
                await ws.send("hello")
                self.assertEqual(await ws.recv(), "hello")
            def raw_closing_handshake(raw):
                code = raw.expect_close(1001, self.MARGIN_S, reply=True)
                raw.close()  # as a client does once the broker closed TCP
                return code

            started = time.monotonic()
            broker.send_signal(sig)
            codes = await asyncio.gather(
                *(asyncio.to_thread(raw_closing_handshake, raw) for raw in raws),
                *(ws.wait_closed() for ws in wss))
            self.assertEqual(codes[:len(raws)], [1001] * len(raws))
            self.assertEqual([ws.close_code for ws in wss], [1001] * len(wss))
            code = await asyncio.to_thread(broker.wait, self.PROMPT_EXIT_S)
            elapsed = time.monotonic() - started
            self.assertIsNotNone(code, "still running %.1f s after %s though every client "
                                 "closed (shutdown timeout 10 s)" % (elapsed, sig.name))
            self.assertEqual(code, 0, "exit code after %s:\n%s" % (sig.name, broker.output()))
        run(go(), 30)

    def test_sigterm_closes_every_client_with_1001(self):
        self.graceful(signal.SIGTERM)

    def test_sigint_closes_every_client_with_1001(self):
        self.graceful(signal.SIGINT)

    def test_unresponsive_client_bounded_by_shutdown_timeout(self):
        broker = self.start()
        silent = RawClient(broker.port)
        self.addCleanup(silent.close)
        silent.handshake()
        started = time.monotonic()
        broker.send_signal(signal.SIGTERM)
        frame = silent.read_frame(timeout=self.MARGIN_S)
        self.assertEqual((frame.opcode, frame.close_code), (OP_CLOSE, 1001), frame)
        # Shutdown has begun: no new WebSocket may open.
        try:
            late = RawClient(broker.port, timeout=2.0)
        except OSError:
            late = None  # refused: the listener is closed
        if late is not None:
            with late.sock:
                late.send(upgrade_request())
                try:
                    response = late.read_http_response(2.0)
                    self.assertNotEqual(response.status, 101, "a WebSocket opened during "
                                        "shutdown")
                except (harness.PeerClosed, TimeoutError):
                    pass
        code = broker.wait(self.SHUTDOWN_TIMEOUT_MS / 1000 + self.MARGIN_S)
        elapsed = time.monotonic() - started
        self.assertIsNotNone(code, "still running %.1f s after SIGTERM with a silent client"
                             % elapsed)
        self.assertEqual(code, 0, broker.output())
        closed, _ = silent.wait_tcp_closed(1.0)
        self.assertTrue(closed, "the silent client's TCP outlived the broker")

    def test_idle_broker_exits_promptly(self):
        broker = self.start()
        started = time.monotonic()
        broker.send_signal(signal.SIGTERM)
        self.assertEqual(broker.wait(self.MARGIN_S), 0, broker.output())
        self.assertLess(time.monotonic() - started, self.MARGIN_S)


class MaxConnectionsTest(harness.BrokerTestCase):
    FLAGS = ("--echo", "--max-connections", "3")

    def test_fourth_connection_gets_503(self):
        async def go():
            wss = [await ws_connect(self.port) for _ in range(3)]
            try:
                response, closed = await asyncio.to_thread(
                    harness.http_exchange, self.port, upgrade_request())
                self.assertEqual(response.status, 503, response)
                self.assertTrue(closed, "TCP open after 503")
                for i, ws in enumerate(wss):
                    await ws.send("still working %d" % i)
                    self.assertEqual(await asyncio.wait_for(ws.recv(), 5),
                                     "still working %d" % i)
                # A freed slot is reusable (the broker may need a moment to reap it).
                await wss.pop().close()
                for _ in range(40):
                    try:
                        wss.append(await ws_connect(self.port))
                        break
                    except Exception:
                        await asyncio.sleep(0.05)
                else:
                    self.fail("no slot after closing one of three connections")
                await wss[-1].send("new")
                self.assertEqual(await wss[-1].recv(), "new")
            finally:
                for ws in wss:
                    await ws.close()
        run(go(), 30)


class CommandLineTest(unittest.TestCase):
    def test_help_lists_every_flag(self):
        result = run_herald(["--help"])
        self.assertEqual(result.returncode, 0, result.stderr)
        for flag in FLAG_NAMES:
            self.assertIn(flag, result.stdout, "--help does not mention %s" % flag)

    def test_unknown_flag_exits_2(self):
        for args in (["--bogus"], ["--echo", "--no-such-flag", "1"], ["-z"]):
            with self.subTest(args=args):
                result = run_herald(args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertTrue(result.stderr.strip(), "no message for a bad flag")

    def test_malformed_values_exit_2(self):
        for args in (["--port", "abc"], ["--port", "70000"], ["--port"], ["--workers", "0"],
                     ["--max-message-bytes", "0"], ["--idle-timeout-ms", "-5"],
                     ["--echo=1"], ["stray"]):
            with self.subTest(args=args):
                result = run_herald(args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)

    def test_port_in_use_exits_1_with_one_line(self):
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            result = run_herald(["--host", "127.0.0.1", "--port", str(port), "--echo"])
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, "stderr: %r" % result.stderr)
        self.assertTrue(str(port) in lines[0] or "in use" in lines[0].lower(), lines[0])

    def seccomp_filters(self):
        """(name, preexec_fn) for a filter answering io_uring's syscalls EPERM (the container
        runtimes' default profiles) and one answering ENOSYS, each checked to work."""
        if platform.machine() != "x86_64":
            self.skipTest("the seccomp filter is written for x86_64")
        for name, errno_value in (("EPERM", 1), ("ENOSYS", 38)):
            block = SeccompBlockIoUring(errno_value)
            probe = subprocess.run(
                ["/usr/bin/python3", "-c",
                 "import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
                 "r = libc.syscall(425, 1, ctypes.create_string_buffer(120)); "
                 "print(r, ctypes.get_errno())"],
                capture_output=True, text=True, timeout=10, preexec_fn=block)
            self.assertEqual(probe.stdout.split(), ["-1", str(errno_value)],
                             "the test's seccomp filter does not work: %r" % (probe,))
            yield name, block

    def test_io_uring_forced_but_blocked_exits_1_with_one_line(self):
        for name, block in self.seccomp_filters():
            with self.subTest(errno=name):
                result = run_herald(["--host", "127.0.0.1", "--port", str(harness.free_port()),
                                     "--echo", "--io", "uring"], preexec_fn=block)
                self.assertEqual(result.returncode, 1, result.stderr)
                lines = result.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, "stderr: %r" % result.stderr)
                self.assertIn("--io uring", lines[0])
                self.assertIn("io_uring_setup", lines[0])

    def test_io_uring_blocked_serves_on_epoll(self):
        causes = {"EPERM": "seccomp", "ENOSYS": "ENOSYS"}
        for name, block in self.seccomp_filters():
            with self.subTest(errno=name):
                broker = Broker("--io", "auto", preexec_fn=block).start()
                try:
                    # Connections are served just before the start-up lines are printed.
                    deadline = time.monotonic() + 5
                    while "listening on" not in broker.output() and time.monotonic() < deadline:
                        time.sleep(0.02)
                    lines = broker.output().strip().splitlines()
                    self.assertIn("I/O on epoll", lines[0], "one line names the fallback")
                    self.assertIn(causes[name], lines[0], "and its cause")
                    self.assertIn("epoll", lines[1], "the listening line names the backend")
                    self.assertEqual(sum("io_uring" in line for line in lines), 1,
                                     "one line about io_uring: %r" % lines)
                    subscriber = harness.PubSubClient(broker.port)
                    publisher = harness.PubSubClient(broker.port)
                    try:
                        subscriber.open()
                        publisher.open()
                        subscriber.sub(self, "seccomp.t")
                        seq, _ = publisher.pub_acked(self, "seccomp.t", '"over epoll"')
                        event = subscriber.next_event()
                        self.assertEqual((event.type, event.topic, event.seq,
                                          event.raw.get("data")),
                                         ("msg", "seccomp.t", seq, '"over epoll"'))
                    finally:
                        subscriber.close()
                        publisher.close()
                    families = harness.scrape(broker.port)
                    self.assertEqual(harness.sample(families, "herald_io_backend",
                                                    backend="epoll"), 1)
                    # At least the scrape itself; the clients above may still be closing.
                    self.assertGreaterEqual(harness.sample(families, "herald_io_connections",
                                                           backend="epoll"), 1)
                finally:
                    broker.stop()
                    broker.kill()


class SeccompBlockIoUring:
    """A preexec_fn that installs a seccomp filter making io_uring_setup, io_uring_enter and
    io_uring_register (425-427 on x86_64) fail with `errno_value`; the rest is allowed.
    Everything is built in the parent so the child only calls prctl twice."""

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte),
                    ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06
    AUDIT_ARCH_X86_64 = 0xC000003E
    SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO = 0x7FFF0000, 0x00050000
    PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS, SECCOMP_MODE_FILTER = 22, 38, 2

    def __init__(self, errno_value):
        program = [
            (self.BPF_LD_W_ABS, 0, 0, 4),                      # seccomp_data.arch
            (self.BPF_JEQ_K, 1, 0, self.AUDIT_ARCH_X86_64),
            (self.BPF_RET_K, 0, 0, self.SECCOMP_RET_ALLOW),
            (self.BPF_LD_W_ABS, 0, 0, 0),                      # seccomp_data.nr
            (self.BPF_JEQ_K, 3, 0, 425),                       # io_uring_setup
            (self.BPF_JEQ_K, 2, 0, 426),                       # io_uring_enter
            (self.BPF_JEQ_K, 1, 0, 427),                       # io_uring_register
            (self.BPF_RET_K, 0, 0, self.SECCOMP_RET_ALLOW),
            (self.BPF_RET_K, 0, 0, self.SECCOMP_RET_ERRNO | errno_value),
        ]
        self.filters = (self.SockFilter * len(program))(*program)
        self.fprog = self.SockFprog(len(program), ctypes.addressof(self.filters))
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.prctl = self.libc.prctl
        self.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                               ctypes.c_ulong]
        self.fprog_address = ctypes.addressof(self.fprog)

    def __call__(self):
        if self.prctl(self.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if self.prctl(self.PR_SET_SECCOMP, self.SECCOMP_MODE_FILTER, self.fprog_address, 0,
                      0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


if __name__ == "__main__":
    unittest.main()
