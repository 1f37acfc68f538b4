"""Bad input over raw sockets: every handshake refusal and every frame rule, each with the
exact HTTP status or close code, and each followed by a check that a python-websockets
connection opened before the attack still echoes. Also slow and junk clients."""

import os
import random
import socket
import time
import unittest

import harness
from harness import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, Bystander,
                     build_frame, close_payload, http_exchange, make_key, upgrade_request)

JUNK_SEEDS = range(40)


class AttackTest(harness.BrokerTestCase):
    """Each test attacks; the bystander opened in setUp must echo in tearDown."""

    def setUp(self):
        self.bystander = Bystander(self.port)

    def tearDown(self):
        try:
            super().tearDown()  # the broker is alive
            self.bystander.check(self)
        finally:
            self.bystander.close()

    def refused(self, request, statuses, closed=True):
        """Sends `request` and requires one of `statuses`, then TCP closed by the broker."""
        if isinstance(statuses, int):
            statuses = {statuses}
        try:
            response, tcp_closed = http_exchange(self.port, request)
        except harness.PeerClosed:
            self.fail("TCP closed without an HTTP response (expected %s)" % sorted(statuses))
        self.assertIn(response.status, statuses, "HTTP status for %r" % request[:120])
        if closed:
            self.assertTrue(tcp_closed, "broker kept TCP open after refusing (status %d)"
                            % response.status)
        return response

    def open_raw_with(self, request, key):
        client = self.raw()
        client.handshake(request=request, key=key)
        return client


class HandshakeErrorTest(AttackTest):
    FLAGS = ("--echo",)

    def test_method_not_get(self):
        for method in ("POST", "PUT", "HEAD"):
            with self.subTest(method=method):
                self.refused(upgrade_request(method=method), 405)

    def test_http_1_0(self):
        self.refused(upgrade_request(version="HTTP/1.0"), 505)

    def test_unknown_http_version(self):
        self.refused(upgrade_request(version="HTTP/2.0"), 505)

    def test_missing_host(self):
        self.refused(upgrade_request(omit=("host",)), 400)

    def test_missing_or_invalid_upgrade(self):
        # It carries Sec-WebSocket-Key, so it is a handshake attempt, not plain HTTP (404).
        for case in ({"omit": ("upgrade",)}, {"replace": {"upgrade": "h2c"}},
                     {"replace": {"upgrade": "websocket2"}}, {"replace": {"upgrade": ""}}):
            with self.subTest(**{k: str(v) for k, v in case.items()}):
                self.refused(upgrade_request(**case), 400)

    def test_missing_or_invalid_connection(self):
        for case in ({"omit": ("connection",)}, {"replace": {"connection": "keep-alive"}},
                     {"replace": {"connection": "close"}},
                     {"replace": {"connection": "Upgraded"}}):
            with self.subTest(**{k: str(v) for k, v in case.items()}):
                self.refused(upgrade_request(**case), 400)

    def test_tokens_are_case_insensitive_in_lists(self):
        variants = [
            {"replace": {"upgrade": "WebSocket"}},
            {"replace": {"connection": "keep-alive, Upgrade"}},
            {"replace": {"connection": "UPGRADE"}},
            {"replace": {"connection": "keep-alive,upgrade"}},
            {"replace": {"upgrade": "foo/1, websocket"}},
        ]
        for case in variants:
            with self.subTest(**{k: str(v) for k, v in case.items()}):
                key = make_key()
                client = self.open_raw_with(upgrade_request(key=key, **case), key)
                client.echo(self, OP_TEXT, b"ok")
                client.close_cleanly(self)

    def test_header_names_case_insensitive(self):
        key = make_key()
        request = ("GET /echo HTTP/1.1\r\nhost: x\r\nUPGRADE: websocket\r\nconnection: upgrade"
                   "\r\nsec-websocket-key: %s\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n" % key)
        client = self.open_raw_with(request.encode(), key)
        client.echo(self, OP_BINARY, b"\x00\x01")
        client.close_cleanly(self)

    def test_bad_sec_websocket_key(self):
        keys = {
            "missing": None,
            "empty": "",
            "15 bytes": make_key(15),
            "17 bytes": make_key(17),
            "not base64": "!!!!!!!!!!!!!!!!!!!!!!==",
            "32 bytes": make_key(32),
        }
        for name, key in keys.items():
            with self.subTest(key=name):
                if key is None:
                    request = upgrade_request(omit=("sec-websocket-key",))
                else:
                    request = upgrade_request(replace={"sec-websocket-key": key})
                self.refused(request, 400)

    def test_bad_version(self):
        for version in ("8", "12", "14", "130"):
            with self.subTest(version=version):
                response = self.refused(
                    upgrade_request(replace={"sec-websocket-version": version}), 426)
                self.assertEqual(response.header("sec-websocket-version"), "13", response)

    def test_missing_or_non_numeric_version(self):
        for case in ({"omit": ("sec-websocket-version",)},
                     {"replace": {"sec-websocket-version": "abc"}}):
            with self.subTest(**{k: str(v) for k, v in case.items()}):
                response = self.refused(upgrade_request(**case), 426)
                self.assertEqual(response.header("sec-websocket-version"), "13")

    def test_header_block_over_8_kib(self):
        with self.subTest("one long header"):
            self.refused(upgrade_request(extra=[("X-Pad", "a" * 9000)]), 431)
        with self.subTest("many headers"):
            extra = [("X-Pad-%d" % i, "b" * 100) for i in range(90)]
            self.refused(upgrade_request(extra=extra), 431)
        with self.subTest("endless header, never terminated"):
            client = self.raw()
            client.send(upgrade_request()[:-4] + b"\r\nX-Endless: ")
            for _ in range(16):
                if not client.send(b"c" * 1024):
                    break
            response = client.read_http_response()
            self.assertEqual(response.status, 431)
            self.assertTrue(client.wait_tcp_closed()[0])

    def test_header_block_under_8_kib_is_accepted(self):
        key = make_key()
        request = upgrade_request(key=key, extra=[("X-Pad", "p" * 7000)])
        self.assertLess(len(request), 8000)
        client = self.open_raw_with(request, key)
        client.echo(self, OP_TEXT, b"padded")
        client.close_cleanly(self)

    def test_websocket_on_unknown_path(self):
        for path in ("/echo/", "/echox", "/nope", "/ECHO", "//"):  # "/" is the pub/sub route
            with self.subTest(path=path):
                self.refused(upgrade_request(path=path), 404)

    def test_query_string_on_echo(self):
        key = make_key()
        client = self.open_raw_with(upgrade_request(path="/echo?x=1", key=key), key)
        client.echo(self, OP_TEXT, b"query")
        client.close_cleanly(self)

    def test_plain_http_is_404(self):
        for path in ("/", "/echo", "/index.html"):
            with self.subTest(path=path):
                request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode()
                response, _ = http_exchange(self.port, request)
                self.assertEqual(response.status, 404)

    def test_subprotocol_not_selected(self):
        client = self.raw()
        response = client.handshake(protocols="chat, superchat")
        self.assertIsNone(response.header("sec-websocket-protocol"),
                          "no subprotocol may be selected from an empty server list")
        client.echo(self, OP_TEXT, b"no subprotocol")
        client.close_cleanly(self)

    def test_unknown_extension_ignored_and_rsv1_refused(self):
        # permessage-deflate is the only extension Herald knows (compression_test.py); any
        # other offer is ignored, and without an agreed extension RSV bits are 1002.
        key = make_key()
        request = upgrade_request(key=key, extra=[
            ("Sec-WebSocket-Extensions", "x-webkit-deflate-frame; no_context_takeover")])
        client = self.open_raw_with(request, key)  # checks no Sec-WebSocket-Extensions
        client.send_text(b"compressed?", rsv=4)
        client.expect_close(1002)

    def test_malformed_request_lines(self):
        requests = [
            b"GET\r\n\r\n",
            b"GET /echo\r\nHost: x\r\n\r\n",
            b"GET /echo HTTP/1.1 extra\r\nHost: x\r\n\r\n",
            b"GET /echo HTTP/1.1\r\nHost x\r\n\r\n",
            b"GET /echo HTTP/1.1\r\n: empty-name\r\nHost: x\r\n\r\n",
        ]
        for request in requests:
            with self.subTest(request=request):
                self.refused(request, 400)

    def test_handshake_byte_at_a_time(self):
        key = make_key()
        request = upgrade_request(key=key)
        client = self.raw()
        for i in range(len(request)):
            client.send(request[i:i + 1])
            time.sleep(0.001)
        response = client.read_http_response()
        self.assertEqual(response.status, 101)
        harness.check_upgrade_response(response, key)
        frame = build_frame(OP_TEXT, "byte by byte \u20ac")
        for i in range(len(frame)):
            client.send(frame[i:i + 1])
        client.expect_message(self, OP_TEXT, "byte by byte \u20ac".encode())
        client.close_cleanly(self)

    def test_frame_in_same_segment_as_handshake(self):
        key = make_key()
        client = self.raw()
        client.send(upgrade_request(key=key) + build_frame(OP_TEXT, b"early"))
        response = client.read_http_response()
        self.assertEqual(response.status, 101)
        client.expect_message(self, OP_TEXT, b"early")
        client.close_cleanly(self)

    def test_garbage_instead_of_handshake(self):
        rng = random.Random(1)
        samples = [bytes(rng.randrange(256) for _ in range(n)) + b"\r\n\r\n"
                   for n in (1, 16, 300, 4000)]
        samples += [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64) + b"\r\n\r\n",
                    b"\x00" * 64 + b"\r\n\r\n"]
        for i, junk in enumerate(samples):
            with self.subTest(sample=i):
                client = self.raw()
                client.send(junk)
                closed, data = client.wait_tcp_closed(harness.IO_TIMEOUT_S)
                self.assertTrue(closed, "broker kept a garbage connection open")
                self.assertFalse(data.startswith(b"HTTP/1.1 101"), data[:100])
                if data:
                    self.assertRegex(data[:12], rb"^HTTP/1\.[01] 4\d\d", data[:100])

    def test_garbage_without_end_of_header(self):
        client = self.raw()
        rng = random.Random(2)
        junk = bytes(rng.choice(b"abc\x00\xff\r") for _ in range(20000))
        client.send_chopped(junk.replace(b"\r\n\r\n", b"...."), 4096)
        closed, data = client.wait_tcp_closed()
        self.assertTrue(closed, "broker kept reading an unterminated header past 8 KiB")
        if data:
            self.assertRegex(data[:12], rb"^HTTP/1\.[01] 4\d\d", data[:100])


class FrameErrorTest(AttackTest):
    FLAGS = ("--echo",)

    def test_unmasked_client_frame(self):
        for opcode, payload in ((OP_TEXT, b"plain"), (OP_BINARY, b""), (OP_PING, b"p"),
                                (OP_CLOSE, close_payload(1000))):
            with self.subTest(opcode=opcode):
                client = self.open_raw()
                client.send_frame(opcode, payload, mask=False)
                client.expect_close(1002)

    def test_rsv_bits(self):
        for rsv in range(1, 8):
            for opcode in (OP_TEXT, OP_PING):
                with self.subTest(rsv=rsv, opcode=opcode):
                    client = self.open_raw()
                    client.send_frame(opcode, b"rsv", rsv=rsv)
                    client.expect_close(1002)

    def test_rsv_on_continuation(self):
        client = self.open_raw()
        client.send_text(b"first", fin=False)
        client.send_frame(OP_CONT, b"second", rsv=2)
        client.expect_close(1002)

    def test_reserved_opcodes(self):
        for opcode in list(range(3, 8)) + list(range(0xB, 0x10)):
            with self.subTest(opcode=opcode):
                client = self.open_raw()
                client.send_frame(opcode, b"reserved")
                client.expect_close(1002)

    def test_control_frame_over_125_bytes(self):
        for opcode, payload in ((OP_PING, b"p" * 126), (OP_PONG, b"q" * 126),
                                (OP_CLOSE, close_payload(1000, b"r" * 124)),
                                (OP_PING, b"p" * 70000)):
            with self.subTest(opcode=opcode, size=len(payload)):
                client = self.open_raw()
                client.send_frame(opcode, payload)
                client.expect_close(1002)

    def test_fragmented_control_frame(self):
        for opcode, payload in ((OP_PING, b"frag"), (OP_PONG, b"frag"),
                                (OP_CLOSE, close_payload(1000))):
            with self.subTest(opcode=opcode):
                client = self.open_raw()
                client.send_frame(opcode, payload, fin=False)
                client.send_frame(OP_CONT, b"ment")
                client.expect_close(1002)

    def test_continuation_without_start(self):
        for fin in (True, False):
            with self.subTest(fin=fin):
                client = self.open_raw()
                client.send_frame(OP_CONT, b"orphan", fin=fin)
                client.expect_close(1002)

    def test_continuation_after_complete_message(self):
        client = self.open_raw()
        client.echo(self, OP_TEXT, b"complete")
        client.send_frame(OP_CONT, b"late")
        client.expect_close(1002)

    def test_new_data_frame_inside_fragmented_message(self):
        for second in (OP_TEXT, OP_BINARY):
            for fin in (True, False):
                with self.subTest(second=second, fin=fin):
                    client = self.open_raw()
                    client.send_text(b"start", fin=False)
                    client.send_frame(second, b"intruder", fin=fin)
                    client.expect_close(1002)

    def test_64_bit_length_with_top_bit(self):
        for declared in (1 << 63, (1 << 63) | 5, (1 << 64) - 1):
            with self.subTest(declared=hex(declared)):
                client = self.open_raw()
                client.send(build_frame(OP_BINARY, b"12345", length_bits=64, length=declared))
                client.expect_close(1002)

    def test_invalid_utf8_single_frame(self):
        for payload in (b"\xff", b"abc\xc0\xafdef", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                        b"truncated \xe2\x82"):
            with self.subTest(payload=payload):
                client = self.open_raw()
                client.send_text(payload)
                client.expect_close(1007)

    def test_invalid_utf8_fails_fast(self):
        # The second fragment makes the message invalid; the final fragment never comes.
        for bad in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90", b"ok \xfe more"):
            with self.subTest(bad=bad):
                client = self.open_raw()
                client.send_text("valid \u03ba\u1f79\u03c3\u03bc\u03b5 ", fin=False)
                client.send_frame(OP_CONT, bad, fin=False)
                client.expect_close(1007, timeout=2.0)

    def test_invalid_utf8_split_character_fails_at_first_bad_byte(self):
        # "\xe2" alone may still become valid; "\x28" after it cannot.
        client = self.open_raw()
        client.send_text(b"abc\xe2", fin=False)
        client.send_frame(OP_CONT, b"\x28", fin=False)
        client.expect_close(1007, timeout=2.0)

    def test_close_payload_of_one_byte(self):
        client = self.open_raw()
        client.send_frame(OP_CLOSE, b"\x03")
        client.expect_close(1002)

    def test_close_codes_not_allowed_on_the_wire(self):
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
            with self.subTest(code=code):
                client = self.open_raw()
                client.send_close(code)
                client.expect_close(1002)

    def test_close_reason_invalid_utf8(self):
        for reason in (b"\xff", b"bye \xed\xa0\x80", b"\xc0\x80"):
            with self.subTest(reason=reason):
                client = self.open_raw()
                client.send_close(1000, reason)
                client.expect_close(1007)

    def test_valid_close_echoed(self):
        for code, reason in ((1000, b""), (1001, b"going"), (1003, b""), (3000, b"lib"),
                             (4999, "\u20ac".encode())):
            with self.subTest(code=code):
                client = self.open_raw()
                client.send_close(code, reason)
                client.expect_close(code)

    def test_empty_close_echoed(self):
        client = self.open_raw()
        client.send_close()
        client.expect_close({None, 1000})

    def test_ping_answered_with_same_payload(self):
        client = self.open_raw()
        for payload in (b"", b"hello", os.urandom(125)):
            client.send_frame(OP_PING, payload)
            frame = client.read_frame()
            self.assertEqual(frame.opcode, OP_PONG)
            self.assertEqual(frame.payload, payload)
        client.close_cleanly(self)

    def test_default_limit_16_mib_plus_one(self):
        client = self.open_raw()
        client.send(build_frame(OP_BINARY, bytes(16 * 1024 * 1024 + 1)))
        client.expect_close(1009)

    def test_random_junk_after_handshake(self):
        clients = []
        for seed in JUNK_SEEDS:
            client = self.open_raw()
            client.send(junk_stream(random.Random(seed)))
            try:
                client.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            clients.append((seed, client))
        deadline = time.monotonic() + 20
        for seed, client in clients:
            try:
                drain_frames(client, deadline)
            except AssertionError as e:
                self.fail("junk seed %d: %s" % (seed, e))
            self.broker.assert_alive()
        fresh = self.open_raw()
        fresh.echo(self, OP_TEXT, b"still serving")
        fresh.close_cleanly(self)


def junk_stream(rng):
    """Random bytes, random frame headers and mutated valid frames, mixed."""
    out = bytearray()
    for _ in range(rng.randrange(1, 12)):
        kind = rng.randrange(4)
        if kind == 0:
            out += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        elif kind == 1:
            opcode = rng.randrange(16)
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 140)))
            out += build_frame(opcode, payload, fin=rng.random() < 0.7,
                               rsv=rng.choice((0, 0, 0, rng.randrange(8))),
                               mask=rng.random() < 0.9, key=bytes(rng.randrange(256)
                                                                  for _ in range(4)))
        elif kind == 2:
            frame = bytearray(build_frame(rng.choice((OP_TEXT, OP_BINARY, OP_PING)),
                                          b"mutate me please",
                                          key=bytes(rng.randrange(256) for _ in range(4))))
            for _ in range(rng.randrange(1, 4)):
                frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
            out += frame
        else:
            # A header that declares more than is sent, then more junk.
            out += bytes((rng.randrange(256), 0x80 | rng.choice((126, 127))))
            out += bytes(rng.randrange(256) for _ in range(rng.randrange(2, 20)))
    return bytes(out)


def drain_frames(client, deadline):
    """Reads well-formed server frames until the broker closes TCP; any Close must carry a
    code allowed on the wire. Fails if the broker keeps the half-closed connection open."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("connection still open after our EOF")
        try:
            frame = client.read_frame(remaining)
        except harness.PeerClosed:
            if client.buf:
                raise AssertionError("TCP closed in the middle of a frame: %r"
                                     % bytes(client.buf[:40]))
            return
        except TimeoutError:
            raise AssertionError("connection still open after our EOF") from None
        if frame.opcode == OP_CLOSE:
            code = frame.close_code
            if code is not None and code not in harness.WIRE_CLOSE_CODES:
                raise AssertionError("close code %d may not be sent" % code)
            closed, extra = client.wait_tcp_closed(max(0.1, deadline - time.monotonic()))
            if not closed:
                raise AssertionError("TCP open after the broker's Close %s" % code)
            if extra:
                raise AssertionError("bytes after Close: %r" % extra[:40])
            return


class MessageTooBigTest(AttackTest):
    FLAGS = ("--echo", "--max-message-bytes", "1024")

    def test_at_limit_echoed(self):
        client = self.open_raw()
        client.echo(self, OP_BINARY, os.urandom(1024))
        client.echo(self, OP_TEXT, b"t" * 1024)
        for opcode, chunks in ((OP_TEXT, (b"a" * 512, b"b" * 511, b"c")),
                               (OP_BINARY, (b"\x00" * 1000, b"", b"\x01" * 24))):
            for i, chunk in enumerate(chunks):
                client.send_frame(opcode if i == 0 else OP_CONT, chunk,
                                  fin=i == len(chunks) - 1)
            client.expect_message(self, opcode, b"".join(chunks))
        client.close_cleanly(self)

    def test_one_byte_over_in_one_frame(self):
        for opcode in (OP_TEXT, OP_BINARY):
            with self.subTest(opcode=opcode):
                client = self.open_raw()
                client.send_frame(opcode, b"x" * 1025)
                client.expect_close(1009)

    def test_one_byte_over_in_fragments(self):
        for opcode in (OP_TEXT, OP_BINARY):
            with self.subTest(opcode=opcode):
                client = self.open_raw()
                client.send_frame(opcode, b"y" * 512, fin=False)
                client.send_frame(OP_CONT, b"y" * 512, fin=False)
                client.send_frame(OP_CONT, b"y", fin=True)
                client.expect_close(1009)

    def test_declared_length_over_limit_fails_before_payload(self):
        # Only the header is sent: the broker must not wait for (or buffer) the payload.
        for declared in (1025, 1 << 32, (1 << 63) - 1):
            with self.subTest(declared=declared):
                client = self.open_raw()
                header = build_frame(OP_BINARY, b"", length_bits=64, length=declared)
                client.send(header)
                client.expect_close(1009, timeout=2.0)

    def test_ping_not_counted_against_message(self):
        client = self.open_raw()
        client.send_text(b"a" * 1000, fin=False)
        client.send_frame(OP_PING, b"p" * 125)
        frame = client.read_frame()
        self.assertEqual((frame.opcode, frame.payload), (OP_PONG, b"p" * 125))
        client.send_frame(OP_CONT, b"b" * 24)
        client.expect_message(self, OP_TEXT, b"a" * 1000 + b"b" * 24)
        client.close_cleanly(self)


class SlowClientTest(AttackTest):
    FLAGS = ("--echo", "--handshake-timeout-ms", "500")
    # The handshake timeout is 0.5 s; sweeps may run once a second; ASan is slow.
    EARLIEST_S, LATEST_S = 0.4, 4.0

    def assert_cut(self, client, started, feed=None):
        """Waits for the broker to close TCP, calling feed() between reads."""
        deadline = started + self.LATEST_S + 1
        data = b""
        while time.monotonic() < deadline:
            if feed is not None:
                feed()
            closed, chunk = client.wait_tcp_closed(0.05)
            data += chunk
            if closed:
                elapsed = time.monotonic() - started
                self.assertGreaterEqual(elapsed, self.EARLIEST_S, "cut before the timeout")
                self.assertLessEqual(elapsed, self.LATEST_S, "cut too late")
                if data:  # an optional 408 or 400, never 101
                    self.assertRegex(data[:12], rb"^HTTP/1\.1 40[08]", data[:100])
                return elapsed
        self.fail("an unfinished handshake was still open after %.1f s" % self.LATEST_S)

    def test_silent_client_cut(self):
        client = self.raw()
        self.assert_cut(client, time.monotonic())

    def test_half_header_then_silence_cut(self):
        client = self.raw()
        started = time.monotonic()
        client.send(upgrade_request()[:40])
        self.assert_cut(client, started)

    def test_trickling_client_cut(self):
        # One byte every 50 ms would take seconds to finish; the timeout counts from accept.
        request = upgrade_request()
        client = self.raw()
        started = time.monotonic()
        sent = [0]

        def feed():
            if sent[0] < len(request) and client.send(request[sent[0]:sent[0] + 1]):
                sent[0] += 1
        self.assert_cut(client, started, feed)
        self.assertLess(sent[0], len(request))

    def test_finished_handshake_not_cut(self):
        client = self.open_raw()
        time.sleep(1.5)
        client.echo(self, OP_TEXT, b"still here after the handshake timeout")
        client.close_cleanly(self)


if __name__ == "__main__":
    unittest.main()
