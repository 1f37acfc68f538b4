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
    """One herald process on 127.0.0.1:port; stderr and stdout go to temporary files."""

    def __init__(self, *flags, port=None):
        self.flags = list(flags)
        self.port = port
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
            self.proc = subprocess.Popen(
                [HERALD, "--host", "127.0.0.1", "--port", str(port), *self.flags],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
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

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signals herald and requires exit code 0 within `timeout` seconds."""
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
    """One broker per test class, started with FLAGS and required to exit 0 on SIGTERM.
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
