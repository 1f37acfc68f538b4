"""Shared harness for Herald's integration tests: starts the real broker on a loopback port,
stops it and checks its exit code, and speaks RFC 6455 by hand over raw sockets.
It owns no assertions about the broker beyond "started", "alive" and "exited 0".

Test files import it first: it strips --herald PATH and --bench PATH from sys.argv so that
unittest.main() sees only its own arguments.
"""

import argparse
import asyncio
import base64
import hashlib
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import websockets

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

# Close codes a server may put on the wire (RFC 6455 §7.4.1, §7.4.2, IANA registry).
WIRE_CLOSE_CODES = set(range(1000, 1004)) | set(range(1007, 1015)) | set(range(3000, 5000))

# Generous because CI runs on two cores, sometimes under ASan.
START_TIMEOUT_S = 10.0
IO_TIMEOUT_S = 5.0


def _parse_args():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--herald", default=os.environ.get("HERALD_BIN"))
    parser.add_argument("--bench", default=os.environ.get("HERALD_BENCH_BIN"))
    args, rest = parser.parse_known_args(sys.argv[1:])
    sys.argv[1:] = rest
    if not args.herald:
        sys.exit("usage: %s --herald PATH [--bench PATH] [unittest args]" % sys.argv[0])
    return os.path.abspath(args.herald), args.bench and os.path.abspath(args.bench)


HERALD, BENCH = _parse_args()


# ---------------------------------------------------------------------------------------------
# The broker process.


# HERALD_IO=epoll (or uring) runs every broker the tests start on that I/O backend; unset, the
# broker picks (--io auto). deploy/test.sh runs the suite once per backend.
IO_FLAGS = ["--io", os.environ["HERALD_IO"]] if os.environ.get("HERALD_IO") else []
# A test's clients mostly do not read while stop() waits: the default 5 s for their close
# handshakes would be 5 s of nothing per stop. Tests of the shutdown itself pass their own
# --shutdown-timeout-ms (the last one given wins).
SHUTDOWN_FLAGS = ["--shutdown-timeout-ms", "1000"]


def free_port():
    """A port that was free a moment ago (the broker is retried on a bind race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_herald(args, timeout=5.0, preexec_fn=None):
    """Runs herald to completion (for --help, bad flags, start-up failures). A herald still
    running after `timeout` is killed and reported with returncode None."""
    try:
        return subprocess.run([HERALD, *args], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, preexec_fn=preexec_fn, text=True)
    except subprocess.TimeoutExpired as e:
        def text(data):
            return data.decode("utf-8", "replace") if isinstance(data, bytes) else data or ""
        return subprocess.CompletedProcess(e.cmd, None, text(e.stdout),
                                           text(e.stderr) + "\n(still running, killed)")


class Broker:
    """One herald process on 127.0.0.1:port; stderr and stdout go to temporary files.
    `preexec_fn` runs in the child before exec (resource limits, signal dispositions)."""

    def __init__(self, *flags, port=None, preexec_fn=None):
        self.flags = list(flags)
        self.port = port
        self.preexec_fn = preexec_fn
        self._fixed_port = port is not None
        self.proc = None
        self._log = None
        self.returncode = None

    def start(self):
        for _ in range(3):
            port = self.port or free_port()
            if self._log is not None:
                self._log.close()
            self._log = tempfile.TemporaryFile()
            # herald writes through its own open file, in append mode: sharing ours would
            # share its offset, and output() seeking to 0 to read would make herald's next
            # line overwrite the first ones.
            writer = os.open("/proc/self/fd/%d" % self._log.fileno(), os.O_WRONLY | os.O_APPEND)
            try:
                self.proc = subprocess.Popen(
                    [HERALD, "--host", "127.0.0.1", "--port", str(port), *IO_FLAGS,
                     *SHUTDOWN_FLAGS, *self.flags],
                    stdin=subprocess.DEVNULL, stdout=writer, stderr=writer,
                    preexec_fn=self.preexec_fn)
            finally:
                os.close(writer)
            self.port = port
            if self._wait_ready():
                return self
            if self._fixed_port or "in use" not in self.output().lower():
                break
            self.port = None  # lost a race for the port: pick another
        raise AssertionError("herald %s did not start (exit %s):\n%s"
                             % (" ".join(self.flags), self.proc.returncode, self.output()))

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                probe = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
            except OSError:
                time.sleep(0.02)
                continue
            # Wait until the broker has seen the probe's EOF and closed it, so the probe does
            # not count against --max-connections in the test that follows.
            with probe:
                probe.shutdown(socket.SHUT_WR)
                probe.settimeout(2.0)
                try:
                    while probe.recv(4096):
                        pass
                except OSError:
                    pass
            return True
        self.proc.kill()
        self.proc.wait()
        return False

    def output(self):
        """Everything herald wrote to stdout and stderr so far (last 8000 characters)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        return text[-8000:]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def assert_alive(self):
        if not self.alive():
            raise AssertionError("herald died (exit %s):\n%s"
                                 % (self.proc.returncode, self.output()))

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Waits for exit; returns the exit code or None on timeout."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, sig=signal.SIGINT, timeout=10.0):
        """Signals herald and requires exit code 0 within `timeout` seconds. SIGINT by default:
        the graceful shutdown (1001 to every client) without the drain SIGTERM starts first,
        which would give the test's clients --drain-timeout-ms to move (drain_test.py)."""
        if self.proc is None:
            return
        if self.proc.poll() is not None:
            raise AssertionError("herald had already exited (%s) before %s:\n%s"
                                 % (self.proc.returncode, signal.Signals(sig).name,
                                    self.output()))
        self.proc.send_signal(sig)
        code = self.wait(timeout)
        if code is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("herald did not exit within %.1f s of %s:\n%s"
                                 % (timeout, signal.Signals(sig).name, self.output()))
        if code != 0:
            raise AssertionError("herald exited %s after %s (expected 0):\n%s"
                                 % (code, signal.Signals(sig).name, self.output()))

    def kill(self):
        """Cleanup: kills herald if still running and releases the log."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


class BrokerTestCase(unittest.TestCase):
    """One broker per test class, started with FLAGS and required to exit 0 on SIGINT.
    Every test also fails if the broker died during it."""

    FLAGS = ("--echo",)

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(*cls.FLAGS)
        cls.addClassCleanup(cls.broker.kill)
        cls.broker.start()
        cls.addClassCleanup(cls.broker.stop)  # runs before kill(), which then has no work
        cls.port = cls.broker.port

    def tearDown(self):
        self.broker.assert_alive()

    def raw(self, **kw):
        client = RawClient(self.port, **kw)
        self.addCleanup(client.close)
        return client

    def open_raw(self, path="/echo"):
        client = self.raw()
        client.handshake(path)
        return client


# ---------------------------------------------------------------------------------------------
# Frames (RFC 6455 §5.2).


def apply_mask(data, key):
    """XOR with the 4-byte key repeated (§5.3); fast for megabytes via big integers."""
    n = len(data)
    if n == 0:
        return b""
    keystream = key * (n // 4) + key[:n % 4]
    return (int.from_bytes(data, "little") ^ int.from_bytes(keystream, "little")).to_bytes(
        n, "little")


def encode_length(n, bits=None):
    """The 7-bit length field and its extension. bits=None picks the minimal encoding;
    7, 16 or 64 force one (a non-minimal one if asked)."""
    if bits is None:
        bits = 7 if n <= 125 else 16 if n <= 0xFFFF else 64
    if bits == 7:
        if n > 125:
            raise ValueError("length %d does not fit 7 bits" % n)
        return n, b""
    if bits == 16:
        return 126, struct.pack("!H", n)
    if bits == 64:
        return 127, struct.pack("!Q", n)
    raise ValueError("bits must be 7, 16 or 64")


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, key=None, length_bits=None,
                length=None):
    """A client frame. `rsv` is the 3-bit RSV1..3 field (4 = RSV1). `length` overrides the
    declared payload length (the payload is still sent as given)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    declared = len(payload) if length is None else length
    len7, ext = encode_length(declared, length_bits)
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    b1 = (0x80 if mask else 0) | len7
    head = bytes((b0, b1)) + ext
    if not mask:
        return head + payload
    if key is None:
        key = os.urandom(4)
    return head + key + apply_mask(payload, key)


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


class Frame:
    def __init__(self, fin, rsv, opcode, masked, payload, length_bytes):
        self.fin, self.rsv, self.opcode = fin, rsv, opcode
        self.masked, self.payload, self.length_bytes = masked, payload, length_bytes

    @property
    def close_code(self):
        """The close code, or None for an empty Close payload."""
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self):
        return self.payload[2:]

    def __repr__(self):
        payload = self.payload if len(self.payload) <= 40 else (
            self.payload[:40] + b"...(%d bytes)" % len(self.payload))
        return "Frame(fin=%d rsv=%d op=%#x masked=%d %r)" % (
            self.fin, self.rsv, self.opcode, self.masked, payload)


# ---------------------------------------------------------------------------------------------
# HTTP (RFC 6455 §4).


def make_key(nbytes=16):
    return base64.b64encode(os.urandom(nbytes)).decode()


def expected_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade_request(path="/echo", host="127.0.0.1", key=None, method="GET",
                    version="HTTP/1.1", omit=(), replace=None, extra=()):
    """A handshake request. `omit` drops headers by (lower-case) name, `replace` maps a
    lower-case name to a new value, `extra` appends (name, value) pairs."""
    replace = {k.lower(): v for k, v in (replace or {}).items()}
    headers = [("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
               ("Sec-WebSocket-Key", key or make_key()), ("Sec-WebSocket-Version", "13")]
    lines = ["%s %s %s" % (method, path, version)]
    for name, value in headers:
        if name.lower() in omit:
            continue
        lines.append("%s: %s" % (name, replace.get(name.lower(), value)))
    for name, value in extra:
        lines.append("%s: %s" % (name, value))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class HttpResponse:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "HttpResponse(%d %s %r %r)" % (self.status, self.reason, self.headers,
                                              self.body[:200])


class PeerClosed(Exception):
    """The broker closed TCP (or reset it) while we expected more bytes."""


class RawClient:
    """A TCP client that speaks WebSocket by hand. All reads are bounded by timeouts."""

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT_S):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.send_failed = False
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- bytes -----------------------------------------------------------------------------

    def send(self, data):
        """Sends all of `data`; returns False (and remembers) if the broker already closed
        or stopped reading for the socket timeout (a broker failing the connection may)."""
        self.sock.settimeout(self.timeout)
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.send_failed = True
            return False

    def send_chopped(self, data, chop, delay=0.0):
        for i in range(0, len(data), chop):
            if not self.send(data[i:i + chop]):
                return False
            if delay:
                time.sleep(delay)
        return True

    def _fill(self, deadline):
        """Reads more bytes into buf; raises PeerClosed on EOF/reset, TimeoutError at deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data from the broker in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            raise TimeoutError("no data from the broker in time") from None
        except ConnectionResetError:
            self.eof = True
            raise PeerClosed("connection reset") from None
        if not data:
            self.eof = True
            raise PeerClosed("connection closed")
        self.buf += data

    def read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def wait_tcp_closed(self, timeout=IO_TIMEOUT_S):
        """True when the broker closes TCP (EOF or reset) within `timeout`; unread bytes in
        between are returned as the second value."""
        deadline = time.monotonic() + timeout
        extra = bytes(self.buf)
        self.buf.clear()
        while True:
            try:
                self._fill(deadline)
            except PeerClosed:
                return True, extra + bytes(self.buf)
            except TimeoutError:
                return False, extra + bytes(self.buf)
            if len(self.buf) > (1 << 24):
                return False, extra + bytes(self.buf)

    # -- HTTP ------------------------------------------------------------------------------

    def read_http_response(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise AssertionError("response head over 64 KiB")
            self._fill(deadline)
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise AssertionError("bad status line %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise AssertionError("bad header line %r" % line)
            name = name.strip().lower()
            value = value.strip()
            headers[name] = headers[name] + ", " + value if name in headers else value
        status = int(parts[1])
        body = b""
        if status != 101 and "content-length" in headers:
            body = self.read_exact(int(headers["content-length"]), deadline)
        return HttpResponse(status, parts[2] if len(parts) > 2 else "", headers, body)

    def handshake(self, path="/echo", request=None, key=None, protocols=None):
        """Opens the WebSocket; checks 101 and Sec-WebSocket-Accept; returns the response."""
        key = key or make_key()
        if request is None:
            extra = [("Sec-WebSocket-Protocol", protocols)] if protocols else []
            request = upgrade_request(path, key=key, extra=extra)
        self.send(request)
        response = self.read_http_response()
        if response.status != 101:
            raise AssertionError("handshake refused: %r" % response)
        check_upgrade_response(response, key)
        return response

    # -- frames ----------------------------------------------------------------------------

    def send_frame(self, opcode, payload=b"", **kw):
        return self.send(build_frame(opcode, payload, **kw))

    def send_text(self, payload, **kw):
        return self.send_frame(OP_TEXT, payload, **kw)

    def send_binary(self, payload, **kw):
        return self.send_frame(OP_BINARY, payload, **kw)

    def send_close(self, code=None, reason=b"", **kw):
        return self.send_frame(OP_CLOSE, close_payload(code, reason), **kw)

    def read_frame(self, timeout=None):
        """The next server frame, checked against what a server may send (§5.1, §5.2)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        b0, b1 = self.read_exact(2, deadline)
        n = b1 & 0x7F
        length_bytes = 0
        if n == 126:
            n = struct.unpack("!H", self.read_exact(2, deadline))[0]
            length_bytes = 2
            if n < 126:
                raise AssertionError("server used a 16-bit length for %d bytes" % n)
        elif n == 127:
            n = struct.unpack("!Q", self.read_exact(8, deadline))[0]
            length_bytes = 8
            if n <= 0xFFFF or n >> 63:
                raise AssertionError("server used a bad 64-bit length %d" % n)
        masked = bool(b1 & 0x80)
        if masked:
            self.read_exact(4, deadline)  # the key; a masked server frame fails below
        payload = self.read_exact(n, deadline)
        frame = Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, masked, payload, length_bytes)
        if masked:
            raise AssertionError("server sent a masked frame (§5.1): %r" % frame)
        if frame.rsv:
            raise AssertionError("server set RSV bits: %r" % frame)
        if frame.opcode >= 8 and (not frame.fin or n > 125):
            raise AssertionError("server sent a bad control frame: %r" % frame)
        if frame.opcode not in (0, 1, 2, 8, 9, 10):
            raise AssertionError("server used a reserved opcode: %r" % frame)
        return frame

    def read_message(self, timeout=None):
        """The next data message, reassembled from fragments: (opcode, payload). Fails on any
        control frame in between (an echo server has no reason to send one)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        first = self.read_frame(max(0.001, deadline - time.monotonic()))
        if first.opcode not in (OP_TEXT, OP_BINARY):
            raise AssertionError("expected a data message, got %r" % first)
        parts = [first.payload]
        while not first.fin:
            frame = self.read_frame(max(0.001, deadline - time.monotonic()))
            if frame.opcode != OP_CONT:
                raise AssertionError("expected a continuation, got %r" % frame)
            parts.append(frame.payload)
            if frame.fin:
                break
        return first.opcode, b"".join(parts)

    def expect_message(self, testcase, opcode, payload, timeout=None):
        got_opcode, got = self.read_message(timeout)
        testcase.assertEqual(got_opcode, opcode, "opcode of the echo")
        if got != payload:
            testcase.fail("echo differs: sent %d bytes, got %d; first difference at %s"
                          % (len(payload), len(got), first_difference(payload, got)))

    def expect_close(self, code, timeout=None, reply=False, tcp_timeout=None,
                     allow_pings=False):
        """Reads until the server's Close (any other frame first is a failure, except Pings
        when allowed), checks its code (None means an empty Close payload; a set means any of
        them), optionally replies with a Close, and requires the broker to close TCP.
        Returns the received code."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                frame = self.read_frame(max(0.001, deadline - time.monotonic()))
            except PeerClosed as e:
                raise AssertionError("TCP closed without a Close frame (expected %s): %s"
                                     % (code, e)) from None
            except TimeoutError:
                raise AssertionError("no Close frame in time (expected %s)"
                                     % (code,)) from None
            if not (allow_pings and frame.opcode == OP_PING):
                break
        if frame.opcode != OP_CLOSE:
            raise AssertionError("expected Close %s, got %r" % (code, frame))
        got = frame.close_code
        if len(frame.payload) == 1:
            raise AssertionError("server sent a 1-byte Close payload")
        if got is not None and got not in WIRE_CLOSE_CODES:
            raise AssertionError("server sent close code %d, not allowed on the wire" % got)
        try:
            frame.close_reason.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError("server sent a close reason that is not UTF-8") from None
        expected = code if isinstance(code, (set, frozenset, tuple, list)) else {code}
        if got not in expected:
            raise AssertionError("expected close code %s, got %s (reason %r)"
                                 % (code, got, frame.close_reason))
        if reply:
            self.send_close(got if got is not None else None)
        closed, extra = self.wait_tcp_closed(tcp_timeout or self.timeout)
        if not closed:
            raise AssertionError("broker did not close TCP after its Close %s" % got)
        if extra:
            raise AssertionError("bytes after the Close frame: %r" % extra[:80])
        return got

    def echo(self, testcase, opcode, payload, **kw):
        self.send_frame(opcode, payload, **kw)
        self.expect_message(testcase, opcode, payload)

    def close_cleanly(self, testcase, code=1000, allow_pings=False):
        """Our Close, then the echoed Close with the same code, then TCP closed."""
        self.send_close(code)
        self.expect_close(code, allow_pings=allow_pings)


def check_upgrade_response(response, key):
    if response.header("upgrade") is None or response.header("upgrade").lower() != "websocket":
        raise AssertionError("101 without Upgrade: websocket: %r" % response)
    tokens = [t.strip().lower() for t in (response.header("connection") or "").split(",")]
    if "upgrade" not in tokens:
        raise AssertionError("101 without Connection: Upgrade: %r" % response)
    if response.header("sec-websocket-accept") != expected_accept(key):
        raise AssertionError("wrong Sec-WebSocket-Accept: %r" % response)
    if response.header("sec-websocket-extensions") is not None:
        raise AssertionError("extension accepted though none is supported: %r" % response)


def http_exchange(port, request, timeout=IO_TIMEOUT_S):
    """Sends `request` on a fresh connection; returns (response, tcp_closed_after)."""
    client = RawClient(port, timeout=timeout)
    try:
        client.send(request)
        response = client.read_http_response(timeout)
        closed, _ = client.wait_tcp_closed(timeout)
        return response, closed
    finally:
        client.close()


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b)) if len(a) != len(b) else None


# ---------------------------------------------------------------------------------------------
# The independent client: python-websockets (Debian's python3-websockets).


def ws_uri(port, path="/echo"):
    return "ws://127.0.0.1:%d%s" % (port, path)


def ws_connect(port, path="/echo", **kw):
    """python-websockets' connect(): use as `await ws_connect(...)` or `async with`."""
    options = dict(max_size=None, compression=None, ping_interval=None, open_timeout=IO_TIMEOUT_S,
                   close_timeout=IO_TIMEOUT_S, max_queue=None)
    options.update(kw)
    return websockets.connect(ws_uri(port, path), **options)


def run(coro, timeout=60.0):
    """Runs a coroutine to completion with a hard time bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Bystander:
    """A python-websockets connection opened before an attack, checked after it: it must
    still echo text and binary exactly. Runs on its own event loop between attacks."""

    def __init__(self, port):
        self.loop = asyncio.new_event_loop()

        async def connect():  # websockets binds to the loop running when connect() is called
            return await ws_connect(port)
        self.ws = self._run(connect())

    def _run(self, coro, timeout=IO_TIMEOUT_S * 2):
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def check(self, testcase):
        text = "bystander \u03ba\u1f79\u03c3\u03bc\u03b5 %d" % random.randrange(1 << 30)
        binary = os.urandom(300)

        async def go():
            await self.ws.send(text)
            got_text = await self.ws.recv()
            await self.ws.send(binary)
            got_binary = await self.ws.recv()
            return got_text, got_binary

        try:
            got_text, got_binary = self._run(go())
        except Exception as e:  # a closed connection, a timeout: report what happened
            testcase.fail("the bystander connection no longer echoes: %r" % (e,))
        testcase.assertEqual(got_text, text, "bystander text echo")
        testcase.assertEqual(got_binary, binary, "bystander binary echo")

    def close(self):
        try:
            self._run(self.ws.close())
        except Exception:
            pass
        finally:
            self.loop.close()


# ---------------------------------------------------------------------------------------------
# The pub/sub protocol (protocol/PROTOCOL.md): command and frame encoders, a strict reader of
# server frames that keeps the raw bytes of every field, and a raw-socket pub/sub client.

SUBPROTOCOL = "herald.v1"
KIND_PUBLISH, KIND_MESSAGE = 0x01, 0x02
FLAG_ID, FLAG_NO_ECHO = 0x01, 0x02
ANY_ID = object()  # expect_error(): the id is not constrained

# Section 4: servers emit exactly this field order.
SERVER_FIELDS = {
    "msg": (("type", "topic", "seq", "data"),),
    "ack": (("type", "id"), ("type", "id", "seq"), ("type", "id", "complete")),
    "recovery": (("type", "topic", "epoch", "first", "from", "next", "complete"),),
    "error": (("type", "code", "text"), ("type", "id", "code", "text")),
    "gap": (("type", "topic", "missed"),),
    "reconnect": (("type", "after_ms"), ("type", "after_ms", "jitter_ms"),
                  ("type", "after_ms", "jitter_ms", "reason")),
}

_JSON_WS = " \t\r\n"
_JSON_SCALAR = None  # compiled on first use


def _skip_ws(text, i):
    while i < len(text) and text[i] in _JSON_WS:
        i += 1
    return i


def _scan_value(text, i):
    """End index of the JSON value starting at text[i] (no leading whitespace)."""
    global _JSON_SCALAR
    if i >= len(text):
        raise ValueError("value expected at end of text")
    c = text[i]
    if c == '"':
        i += 1
        while i < len(text):
            if text[i] == "\\":
                i += 2
            elif text[i] == '"':
                return i + 1
            else:
                i += 1
        raise ValueError("unterminated string")
    if c in "{[":
        close = "}" if c == "{" else "]"
        i = _skip_ws(text, i + 1)
        if i < len(text) and text[i] == close:
            return i + 1
        while True:
            if c == "{":
                i = _skip_ws(text, _scan_value(text, i))
                if i >= len(text) or text[i] != ":":
                    raise ValueError("':' expected at %d" % i)
                i = _skip_ws(text, i + 1)
            i = _skip_ws(text, _scan_value(text, i))
            if i < len(text) and text[i] == ",":
                i = _skip_ws(text, i + 1)
            elif i < len(text) and text[i] == close:
                return i + 1
            else:
                raise ValueError("',' or %r expected at %d" % (close, i))
    if _JSON_SCALAR is None:
        import re
        _JSON_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
                                  r"|true|false|null")
    m = _JSON_SCALAR.match(text, i)
    if not m:
        raise ValueError("bad JSON value at %d: %r" % (i, text[i:i + 20]))
    return m.end()


def json_object_spans(text):
    """The top-level fields of one JSON object as an ordered list of (name, raw value text):
    the raw text is exactly the value's characters, without surrounding whitespace. Raises
    ValueError unless `text` is exactly one valid JSON object (with unique field names)."""
    import json
    json.loads(text)  # validity (escapes, numbers) by an independent parser
    i = _skip_ws(text, 0)
    if i >= len(text) or text[i] != "{":
        raise ValueError("not a JSON object")
    fields = []
    i = _skip_ws(text, i + 1)
    if i < len(text) and text[i] == "}":
        i += 1
    else:
        while True:
            end = _scan_value(text, i)
            if text[i] != '"':
                raise ValueError("field name expected at %d" % i)
            name = json.loads(text[i:end])
            i = _skip_ws(text, end)
            if i >= len(text) or text[i] != ":":
                raise ValueError("':' expected at %d" % i)
            i = _skip_ws(text, i + 1)
            end = _scan_value(text, i)
            fields.append((name, text[i:end]))
            i = _skip_ws(text, end)
            if i < len(text) and text[i] == ",":
                i = _skip_ws(text, i + 1)
            elif i < len(text) and text[i] == "}":
                i += 1
                break
            else:
                raise ValueError("',' or '}' expected at %d" % i)
    if _skip_ws(text, i) != len(text):
        raise ValueError("bytes after the object")
    names = [name for name, _ in fields]
    if len(set(names)) != len(names):
        raise ValueError("duplicate field names %r" % names)
    return fields


class Event:
    """One server frame of the pub/sub protocol. `raw` maps field names to raw JSON text;
    for binary messages `data` is the payload bytes and `binary` is True."""

    def __init__(self, type_, raw=None, topic=None, seq=None, data=None, binary=False,
                 frame=b""):
        self.type, self.raw = type_, raw or {}
        self.topic, self.seq, self.data, self.binary, self.frame = (topic, seq, data, binary,
                                                                    frame)

    @property
    def id(self):
        """The raw JSON of the id, or None when absent."""
        return self.raw.get("id")

    @property
    def code(self):
        import json
        return json.loads(self.raw["code"]) if "code" in self.raw else None

    @property
    def missed(self):
        return int(self.raw["missed"]) if "missed" in self.raw else None

    def __repr__(self):
        if self.binary:
            return "Event(binary msg %s seq=%s %d bytes)" % (self.topic, self.seq,
                                                             len(self.data))
        text = self.frame.decode("utf-8", "replace")
        return "Event(%s)" % (text if len(text) <= 200 else text[:200] + "...")


def parse_binary_message(payload):
    """Section 5 server message: (topic, seq, payload). Raises ValueError on a bad layout."""
    if len(payload) < 2 or payload[0] != KIND_MESSAGE:
        raise ValueError("not a binary message frame: %r" % payload[:20])
    n = payload[1]
    if n < 1 or len(payload) < 2 + n + 8:
        raise ValueError("truncated binary message: %r" % payload[:40])
    topic = payload[2:2 + n].decode("ascii")
    seq = struct.unpack("!Q", payload[2 + n:10 + n])[0]
    return topic, seq, payload[10 + n:]


def decode_server_frame(opcode, payload):
    """A strict reading of one server data message (sections 4 and 5) into an Event.
    Raises AssertionError on anything the specification does not allow."""
    import json
    if opcode == OP_BINARY:
        try:
            topic, seq, data = parse_binary_message(payload)
        except (ValueError, UnicodeDecodeError) as e:
            raise AssertionError("bad binary frame from the server: %s" % e) from None
        return Event("msg", topic=topic, seq=seq, data=data, binary=True, frame=payload)
    if opcode != OP_TEXT:
        raise AssertionError("unexpected opcode %#x" % opcode)
    text = payload.decode("utf-8")
    try:
        fields = json_object_spans(text)
    except ValueError as e:
        raise AssertionError("server frame is not one JSON object (%s): %r" % (e, text[:200]))
    raw = dict(fields)
    names = tuple(name for name, _ in fields)
    type_ = json.loads(raw["type"]) if "type" in raw else None
    if type_ not in SERVER_FIELDS or names not in SERVER_FIELDS[type_]:
        raise AssertionError("server frame with unexpected fields or order %r: %r"
                             % (names, text[:200]))
    event = Event(type_, raw=raw, frame=payload)
    for name in ("seq", "missed"):
        if name in raw and not raw[name].isdigit():
            raise AssertionError("%s is not a non-negative integer: %r" % (name, text[:200]))
    if "topic" in raw:
        event.topic = json.loads(raw["topic"])
    if "seq" in raw:
        event.seq = int(raw["seq"])
    if type_ == "msg":
        event.data = raw["data"].encode("utf-8")
    if type_ == "error" and not isinstance(json.loads(raw["text"]), str):
        raise AssertionError("error text is not a string: %r" % text[:200])
    return event


def encode_publish_binary(topic, payload=b"", id=None, echo=True, flags=None):
    """A section 5 client publish frame payload. `flags` overrides the computed flags byte
    (the id is still appended when `id` is given)."""
    if isinstance(topic, str):
        topic = topic.encode("ascii")
    if flags is None:
        flags = (FLAG_ID if id is not None else 0) | (0 if echo else FLAG_NO_ECHO)
    head = bytes((KIND_PUBLISH, flags, len(topic))) + topic
    if id is not None:
        head += struct.pack("!I", id)
    return head + payload


def unique_topic(prefix="t"):
    """A topic no earlier test used (brokers are shared by a test class)."""
    return "%s.u%d" % (prefix, random.randrange(1 << 40))


class PubSubClient(RawClient):
    """A raw-socket pub/sub client on path "/" with subprotocol herald.v1. Every read is
    bounded; every answer is checked strictly (field order, exact id bytes). `rcvbuf` sets
    SO_RCVBUF before connecting (a small window makes a stalled reader stall quickly)."""

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT_S, rcvbuf=None):
        if rcvbuf is None:
            super().__init__(port, host, timeout)
            return
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.send_failed = False
        self.eof = False

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def open(self, protocols=SUBPROTOCOL):
        response = self.handshake("/", protocols=protocols)
        return response

    def command(self, text):
        """Sends one text frame (a str or bytes, sent as is)."""
        return self.send_text(text)

    def next_event(self, timeout=None):
        return decode_server_frame(*self.read_message(timeout))

    def expect_ack(self, testcase, id_raw, seq=False, timeout=None):
        """Requires the next frame to be an ack carrying `id_raw` byte for byte; with
        seq=True it must carry a seq, which is returned."""
        event = self.next_event(timeout)
        testcase.assertEqual(event.type, "ack", "expected an ack for id %s: %r"
                             % (id_raw, event))
        testcase.assertEqual(event.id, id_raw, "ack id, byte for byte")
        if seq:
            testcase.assertIsNotNone(event.seq, "a publish ack carries a seq: %r" % event)
        else:
            testcase.assertIsNone(event.seq, "a non-publish ack has no seq: %r" % event)
        return event.seq

    def expect_error(self, testcase, code, id_raw=None, timeout=None, what=""):
        """Requires an error with `code` (or one of a set of codes) carrying exactly
        `id_raw` (None: no id; ANY_ID: the test does not constrain it)."""
        event = self.next_event(timeout)
        testcase.assertEqual(event.type, "error", "expected error %s %s: %r"
                             % (code, what, event))
        codes = code if isinstance(code, (set, frozenset, tuple)) else {code}
        testcase.assertIn(event.code, codes, "error code %s: %r" % (what, event))
        if id_raw is not ANY_ID:
            testcase.assertEqual(event.id, id_raw, "error id, byte for byte %s" % what)
        return event

    def sub(self, testcase, topic, policy=None, id_raw='"s"'):
        import json
        text = '{"op":"sub","topic":%s' % json.dumps(topic)
        if policy is not None:
            text += ',"policy":"%s"' % policy
        self.command(text + ',"id":%s}' % id_raw)
        self.expect_ack(testcase, id_raw)

    def unsub(self, testcase, topic, id_raw='"u"'):
        import json
        self.command('{"op":"unsub","topic":%s,"id":%s}' % (json.dumps(topic), id_raw))
        self.expect_ack(testcase, id_raw)

    def pub(self, topic, data_raw, id_raw=None, echo=None):
        """Sends a JSON publish; `data_raw` is the raw JSON text of data."""
        import json
        text = '{"op":"pub","topic":%s,"data":%s' % (json.dumps(topic), data_raw)
        if echo is not None:
            text += ',"echo":%s' % ("true" if echo else "false")
        if id_raw is not None:
            text += ',"id":%s' % id_raw
        return self.command(text + "}")

    def pub_acked(self, testcase, topic, data_raw, id_raw="1", echo=None):
        """Publishes and returns the acked seq. With echo and a subscription to the topic,
        the message itself may arrive before the ack: it is returned too."""
        self.pub(topic, data_raw, id_raw, echo)
        before = []
        for _ in range(8):
            event = self.next_event()
            if event.type != "msg":
                break
            before.append(event)
        testcase.assertEqual(event.type, "ack", "expected an ack: %r" % event)
        testcase.assertEqual(event.id, id_raw)
        testcase.assertIsNotNone(event.seq)
        return event.seq, before


class PubSubTestCase(BrokerTestCase):
    """A broker serving the pub/sub protocol (no --echo), one per class."""

    FLAGS = ()

    def client(self, protocols=SUBPROTOCOL, **kw):
        client = PubSubClient(self.port, **kw)
        self.addCleanup(client.close)
        client.open(protocols)
        return client


def ps_connect(port, **kw):
    """python-websockets to the pub/sub endpoint, offering herald.v1."""
    kw.setdefault("subprotocols", [SUBPROTOCOL])
    return ws_connect(port, "/", **kw)


def http_request(port, method, target, body=b"", headers=(), timeout=IO_TIMEOUT_S):
    """One HTTP/1.1 request with Connection: close on a fresh connection; returns the
    HttpResponse (a body without Content-Length is read until the broker closes). The broker
    must close TCP after the response (RFC 9112 §9.6); the client never closes first."""
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1", "Connection: close"]
    names = {name.lower() for name, _ in headers}
    lines += ["%s: %s" % (name, value) for name, value in headers]
    if body or method in ("POST", "PUT"):
        if "content-length" not in names:
            lines.append("Content-Length: %d" % len(body))
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    client = RawClient(port, timeout=timeout)
    try:
        client.send(request)
        response = client.read_http_response(timeout)
        if "chunked" in (response.header("transfer-encoding") or "").lower():
            raise AssertionError("chunked response not expected: %r" % response)
        closed, rest = client.wait_tcp_closed(timeout)
        if not closed:
            raise AssertionError("TCP kept open after the response to Connection: close")
        if "content-length" not in response.headers:
            response.body = rest
        elif rest:
            raise AssertionError("bytes after the response: %r" % rest[:80])
        return response
    finally:
        client.close()


def is_sanitized(path=None):
    """True when the broker binary carries AddressSanitizer (its allocator keeps freed
    memory in quarantine, so RSS bounds do not apply)."""
    with open(path or HERALD, "rb") as f:
        return b"__asan_init" in f.read()


# ---------------------------------------------------------------------------------------------
# Kernel view of a loopback TCP connection (/proc/net/tcp), to see a stalled connection's
# state and the bytes the kernel holds for it without reading from it.

TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
              11: "CLOSING"}


def tcp_socket_info(local_port, remote_port):
    """(state name, tx_queue, rx_queue) of the 127.0.0.1 socket local_port -> remote_port,
    or None when the kernel no longer has it."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote = fields[1].split(":"), fields[2].split(":")
            if int(local[1], 16) == local_port and int(remote[1], 16) == remote_port:
                tx, rx = (int(x, 16) for x in fields[4].split(":"))
                return TCP_STATES.get(int(fields[3], 16), fields[3]), tx, rx
    return None


def process_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


# ---------------------------------------------------------------------------------------------
# Prometheus text format 0.0.4, parsed strictly.

_METRIC_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _parse_labels(text, line):
    """`text` is what lies between { and }; returns a dict (escapes \\ \" \n decoded)."""
    import re
    labels = {}
    i = 0
    name_re = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
    while i < len(text):
        m = name_re.match(text, i)
        if not m or text[m.end():m.end() + 2] != '="':
            raise AssertionError("bad label in %r" % line)
        name = m.group(0)
        i = m.end() + 2
        value = []
        while True:
            if i >= len(text):
                raise AssertionError("unterminated label value in %r" % line)
            c = text[i]
            if c == "\\":
                esc = text[i + 1:i + 2]
                if esc not in ("\\", '"', "n"):
                    raise AssertionError("bad escape in label value: %r" % line)
                value.append("\n" if esc == "n" else esc)
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                value.append(c)
                i += 1
        if name in labels:
            raise AssertionError("duplicate label %s in %r" % (name, line))
        labels[name] = "".join(value)
        if i < len(text):
            if text[i] != ",":
                raise AssertionError("',' expected between labels in %r" % line)
            i += 1
    return labels


def _family_of(sample_name, families):
    if sample_name in families:
        return sample_name
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample_name[:-len(suffix)]
        if sample_name.endswith(suffix) and families.get(base, {}).get("type") in (
                "histogram", "summary"):
            return base
    return None


def parse_prometheus(text):
    """Families {name: {"type", "help", "samples": [(name, labels, value)]}}. Fails on any
    line outside the format, a sample before or without its family's TYPE, a family split
    in two groups, duplicate TYPE/HELP lines or duplicate samples."""
    import math
    import re
    name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
    sample_re = re.compile(r"^(%s)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+(-?[0-9]+))?$" % name_re)
    families, seen_samples = {}, set()
    current, closed = None, set()
    if text and not text.endswith("\n"):
        raise AssertionError("exposition does not end with a newline")
    for line in text.split("\n")[:-1] if text else []:
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not re.fullmatch(name_re, name):
                    raise AssertionError("bad metric name in %r" % line)
                family = families.setdefault(name, {"type": None, "help": None,
                                                    "samples": []})
                if name in closed or (current not in (None, name) and family["samples"]):
                    raise AssertionError("family %s split: %r" % (name, line))
                if current != name and current is not None:
                    closed.add(current)
                current = name
                key = parts[1].lower()
                if family[key] is not None:
                    raise AssertionError("second %s line for %s" % (parts[1], name))
                if parts[1] == "TYPE":
                    if family["samples"]:
                        raise AssertionError("TYPE after samples of %s" % name)
                    if len(parts) != 4 or parts[3] not in _METRIC_TYPES:
                        raise AssertionError("bad TYPE line %r" % line)
                family[key] = parts[3] if len(parts) == 4 else ""
            continue  # other comments are allowed
        if not line.strip():
            continue
        m = sample_re.match(line)
        if not m:
            raise AssertionError("not a sample line: %r" % line)
        name, labels_text, value_text = m.group(1), m.group(2), m.group(3)
        family_name = _family_of(name, families)
        if family_name is None or families[family_name]["type"] is None:
            raise AssertionError("sample %s without a TYPE line before it" % name)
        if family_name != current:
            raise AssertionError("sample %s outside its family's group" % name)
        labels = _parse_labels(labels_text, line) if labels_text else {}
        if value_text in ("NaN", "+Inf", "-Inf", "Inf"):
            value = float(value_text.replace("Inf", "inf").replace("NaN", "nan"))
        else:
            try:
                value = float(value_text)
            except ValueError:
                raise AssertionError("bad sample value in %r" % line) from None
            if math.isnan(value) or math.isinf(value):
                raise AssertionError("bad sample value spelling in %r" % line)
        key = (name, tuple(sorted(labels.items())))
        if key in seen_samples:
            raise AssertionError("duplicate sample %r" % line)
        seen_samples.add(key)
        families[family_name]["samples"].append((name, labels, value))
    return families


def wait_readyz(port, timeout=START_TIMEOUT_S):
    """Waits until GET /readyz answers 200 (the broker accepts connections a moment before it
    calls itself ready); returns every earlier answer's (status, body), which must be 503
    "starting". Fails after `timeout`."""
    earlier = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = http_request(port, "GET", "/readyz")
        if response.status == 200:
            return earlier
        earlier.append((response.status, response.body))
        if (response.status, response.body) != (503, b"not ready: starting\n"):
            raise AssertionError("/readyz while starting: %r" % response)
        time.sleep(0.02)
    raise AssertionError("/readyz not 200 within %.0f s: %r" % (timeout, earlier[-1:]))


def scrape(port, timeout=IO_TIMEOUT_S):
    """GET /metrics, checked (200, text/plain; version=0.0.4) and parsed strictly."""
    response = http_request(port, "GET", "/metrics", timeout=timeout)
    if response.status != 200:
        raise AssertionError("GET /metrics: %r" % response)
    content_type = (response.header("content-type") or "").replace(" ", "").lower()
    if not content_type.startswith("text/plain") or "version=0.0.4" not in content_type:
        raise AssertionError("GET /metrics content type %r" % content_type)
    return parse_prometheus(response.body.decode("utf-8"))


def sample(families, name, **labels):
    """The value of the one sample `name` with exactly `labels`; fails when absent."""
    for family in families.values():
        for sample_name, sample_labels, value in family["samples"]:
            if sample_name == name and sample_labels == labels:
                return value
    raise AssertionError("no sample %s%r" % (name, labels))
