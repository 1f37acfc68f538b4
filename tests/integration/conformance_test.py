"""RFC 6455 conformance of /echo over raw sockets, ported from the case categories of the
Autobahn|Testsuite (which cannot be installed here) and numbered like it: 1 framing,
2 ping/pong, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8 (with Markus Kuhn's stress
test), 7 closing, 9 bounded performance, 12 and 13 permessage-deflate (RFC 7692: compressed
echoes of every size and fragmentation, under each combination of offered parameters, and the
failures compression adds). Expectations are strict: where Autobahn accepts a late failure
("non-strict"), only 6.4.3/6.4.4 (failure inside a half-sent frame) do here.
"""

import contextlib
import os
import random
import sys
import time
import unittest

import zlib

import harness
from deflate_wire import (TAIL, DeflateClient, compress_message, corpus_text, fragment_frames,
                          new_compressor, offer, random_bytes)
from harness import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, build_frame

RESULTS = {"passed": 0, "failed": [], "non_strict": []}
KOSME = "\u03ba\u1f79\u03c3\u03bc\u03b5".encode()  # "κόσμε", Kuhn's sample
FAIL_FAST_S = 2.0  # how long the broker has to fail after the offending fragment


def utf8_first_invalid(data):
    """Unicode Table 3-7 as a streaming check: (index of the first byte after which no
    continuation can make `data` valid UTF-8, or None; True if `data` ends mid-character)."""
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:
            need, lo, hi = 1, 0x80, 0xBF
        elif b == 0xE0:
            need, lo, hi = 2, 0xA0, 0xBF
        elif 0xE1 <= b <= 0xEC or 0xEE <= b <= 0xEF:
            need, lo, hi = 2, 0x80, 0xBF
        elif b == 0xED:
            need, lo, hi = 2, 0x80, 0x9F
        elif b == 0xF0:
            need, lo, hi = 3, 0x90, 0xBF
        elif 0xF1 <= b <= 0xF3:
            need, lo, hi = 3, 0x80, 0xBF
        elif b == 0xF4:
            need, lo, hi = 3, 0x80, 0x8F
        else:
            return i, False
        for k in range(need):
            j = i + 1 + k
            if j >= n:
                return None, True
            if not (lo <= data[j] <= hi if k == 0 else 0x80 <= data[j] <= 0xBF):
                return j, False
        i += need + 1
    return None, False


def utf8_stress_groups():
    """Autobahn's 6.5 to 6.23: Markus Kuhn's UTF-8 decoder stress test, as (title, payloads)."""
    starts = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80",
              b"\xfc\x80\x80\x80\x80", b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf",
              b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]
    noncharacters = [b"\xef\xbf\xbe", b"\xef\xbf\xbf"]
    for z1 in b"\xf0\xf1\xf2\xf3\xf4":
        for z2 in b"\x8f\x9f\xaf\xbf":
            if z1 == 0xF4 and z2 != 0x8F:
                continue  # above U+10FFFF
            for z3 in b"\xbe\xbf":
                seq = bytes((z1, z2, 0xBF, z3))
                if seq not in (b"\xf0\x8f\xbf\xbe", b"\xf0\x8f\xbf\xbf"):  # overlong
                    noncharacters.append(seq)
    surrogates = [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf",
                  b"\xed\xb0\x80", b"\xed\xbe\x80", b"\xed\xbf\xbf"]
    return [
        ("valid sequences", [b"hello\x24world", b"hello\xc2\xa2world",
                             b"hello\xe2\x82\xacworld", b"hello\xf0\xa4\xad\xa2world", KOSME]),
        ("prefixes of a valid string", [KOSME[:i] for i in range(1, len(KOSME) + 1)]),
        ("first sequence of each length", [b"\x00", b"\xc2\x80", b"\xe0\xa0\x80",
                                           b"\xf0\x90\x80\x80"]),
        ("first sequence of 5/6 bytes", [b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]),
        ("last sequence of each length", [b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf",
                                          b"\xf4\x8f\xbf\xbf"]),
        ("last sequence of 4/5/6 bytes", [b"\xf7\xbf\xbf\xbf", b"\xfb\xbf\xbf\xbf\xbf",
                                          b"\xfd\xbf\xbf\xbf\xbf\xbf"]),
        ("other boundaries", [b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbd",
                              b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80"]),
        ("unexpected continuation bytes", [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80",
                                           b"\x80\xbf\x80\xbf", b"\x80\xbf\x80\xbf\x80",
                                           b"\x80\xbf\x80\xbf\x80\xbf",
                                           bytes(range(0x80, 0xC0))]),
        ("lonely start bytes", [b"".join(bytes((c, 0x20)) for c in range(lo, hi + 1))
                                for lo, hi in ((0xC0, 0xDF), (0xE0, 0xEF), (0xF0, 0xF7),
                                               (0xF8, 0xFB), (0xFC, 0xFD))]),
        ("last continuation byte missing", starts),
        ("concatenated incomplete sequences", [b"".join(starts)]),
        ("impossible bytes", [b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"]),
        ("overlong ASCII", [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf",
                            b"\xf8\x80\x80\x80\xaf", b"\xfc\x80\x80\x80\x80\xaf"]),
        ("maximum overlong", [b"\xc1\xbf", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf",
                              b"\xf8\x87\xbf\xbf\xbf", b"\xfc\x83\xbf\xbf\xbf\xbf"]),
        ("overlong NUL", [b"\xc0\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80",
                          b"\xf8\x80\x80\x80\x80", b"\xfc\x80\x80\x80\x80\x80"]),
        ("single UTF-16 surrogates", surrogates),
        ("paired UTF-16 surrogates", [a + b for a in surrogates[:4] for b in
                                      (b"\xed\xb0\x80", b"\xed\xbf\xbf")]),
        ("noncharacters (valid)", noncharacters),
        ("specials (valid)", [b"\xef\xbf\xb9", b"\xef\xbf\xba", b"\xef\xbf\xbb",
                              b"\xef\xbf\xbc", b"\xef\xbf\xbd", b"\xef\xbf\xbe",
                              b"\xef\xbf\xbf"]),
    ]


def is_valid_utf8(data):
    bad, truncated = utf8_first_invalid(data)
    return bad is None and not truncated


def _check_reference():
    """The reference validator must agree with Python's codec on every vector."""
    for _, payloads in utf8_stress_groups():
        for payload in payloads:
            try:
                payload.decode("utf-8")
                python_valid = True
            except UnicodeDecodeError:
                python_valid = False
            assert python_valid == is_valid_utf8(payload), payload


_check_reference()


def tearDownModule():
    print("conformance: %d passed, %d failed%s" % (
        RESULTS["passed"], len(RESULTS["failed"]),
        " (non-strict: %s)" % ", ".join(RESULTS["non_strict"]) if RESULTS["non_strict"]
        else ""))
    if RESULTS["failed"]:
        print("failed cases: " + ", ".join(RESULTS["failed"]))
    sys.stdout.flush()


class ConformanceTest(harness.BrokerTestCase):
    FLAGS = ("--echo",)

    @contextlib.contextmanager
    def case(self, case_id):
        """One Autobahn-style case on a fresh connection, counted for the summary."""
        with self.subTest(case=case_id):
            client = harness.RawClient(self.port)
            try:
                client.handshake()
                yield client
            except BaseException:
                RESULTS["failed"].append(case_id)
                raise
            else:
                RESULTS["passed"] += 1
            finally:
                client.close()

    # -- helpers ---------------------------------------------------------------------------

    def finish(self, client):
        """Clean close: nothing else may arrive before the echoed Close 1000."""
        client.close_cleanly(self)

    def expect_pong(self, client, payload):
        frame = client.read_frame()
        self.assertEqual(frame.opcode, OP_PONG, frame)
        self.assertEqual(frame.payload, payload)

    def send_parts(self, client, frames, chop=None, delay=0.0):
        data = b"".join(frames)
        if chop:
            client.send_chopped(data, chop, delay)
        elif delay:
            for frame in frames:
                client.send(frame)
                time.sleep(delay)
        else:
            client.send(data)

    @staticmethod
    def fragments(opcode, parts, **kw):
        return [build_frame(opcode if i == 0 else OP_CONT, part, fin=i == len(parts) - 1, **kw)
                for i, part in enumerate(parts)]

    def utf8_fragments(self, client, payload, cuts):
        """Sends `payload` as a text message cut at `cuts`; wherever the bytes sent so far can
        no longer be valid, requires Close 1007 before anything more is sent."""
        bad, _ = utf8_first_invalid(payload)
        bounds = [0, *cuts, len(payload)]
        for i in range(len(bounds) - 1):
            part = payload[bounds[i]:bounds[i + 1]]
            last = i == len(bounds) - 2
            client.send_frame(OP_TEXT if i == 0 else OP_CONT, part, fin=last)
            if bad is not None and bad < bounds[i + 1]:
                client.expect_close(1007, timeout=FAIL_FAST_S)
                return
        if is_valid_utf8(payload):
            client.expect_message(self, OP_TEXT, payload)
            self.finish(client)
        else:
            client.expect_close(1007)

    # -- 1 framing -------------------------------------------------------------------------

    def test_1_framing(self):
        lengths = (0, 125, 126, 127, 128, 65535, 65536)
        for group, opcode in ((1, OP_TEXT), (2, OP_BINARY)):
            for n, length in enumerate(lengths, 1):
                with self.case("1.%d.%d" % (group, n)) as client:
                    payload = b"*" * length if opcode == OP_TEXT else os.urandom(length)
                    client.echo(self, opcode, payload)
                    self.finish(client)
            with self.case("1.%d.8" % group) as client:  # 64 KiB written in 997-byte chops
                payload = b"*" * 65536 if opcode == OP_TEXT else os.urandom(65536)
                client.send_chopped(build_frame(opcode, payload), 997)
                client.expect_message(self, opcode, payload)
                self.finish(client)
            with self.case("1.%d.9" % group) as client:  # every length 0..300, one connection
                for length in range(301):
                    payload = b"x" * length if opcode == OP_TEXT else os.urandom(length)
                    client.echo(self, opcode, payload)
                self.finish(client)

    # -- 2 ping/pong -----------------------------------------------------------------------

    def test_2_ping_pong(self):
        for case_id, payload in (("2.1", b""), ("2.2", b"Hello, world!"),
                                 ("2.3", b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
                                 ("2.4", b"\xfe" * 125)):
            with self.case(case_id) as client:
                client.send_frame(OP_PING, payload)
                self.expect_pong(client, payload)
                self.finish(client)
        with self.case("2.5") as client:
            client.send_frame(OP_PING, b"\xfe" * 126)
            client.expect_close(1002)
        with self.case("2.6") as client:
            client.send_chopped(build_frame(OP_PING, b"\xfe" * 125), 1, 0.0005)
            self.expect_pong(client, b"\xfe" * 125)
            self.finish(client)
        for case_id, payload in (("2.7", b""), ("2.8", b"unsolicited pong payload")):
            with self.case(case_id) as client:
                client.send_frame(OP_PONG, payload)
                self.finish(client)  # nothing may answer a Pong
        with self.case("2.9") as client:
            client.send_frame(OP_PONG, b"unsolicited pong payload")
            client.send_frame(OP_PING, b"ping payload")
            self.expect_pong(client, b"ping payload")
            self.finish(client)
        for case_id, chop in (("2.10", None), ("2.11", 1)):
            with self.case(case_id) as client:
                pings = [build_frame(OP_PING, b"payload-%d" % i) for i in range(10)]
                self.send_parts(client, pings, chop=chop)
                for i in range(10):
                    self.expect_pong(client, b"payload-%d" % i)
                self.finish(client)

    # -- 3 reserved bits -------------------------------------------------------------------

    def test_3_reserved_bits(self):
        with self.case("3.1") as client:
            client.send_text(b"Hello, world!", rsv=1)
            client.expect_close(1002)
        for case_id, rsv, chop in (("3.2", 2, None), ("3.3", 3, None), ("3.4", 4, 1)):
            with self.case(case_id) as client:
                frames = [build_frame(OP_TEXT, b"Hello, world!"),
                          build_frame(OP_TEXT, b"Hello, world!", rsv=rsv),
                          build_frame(OP_PING)]
                self.send_parts(client, frames, chop=chop)
                client.expect_message(self, OP_TEXT, b"Hello, world!")
                client.expect_close(1002)  # and no Pong: the Ping came after the failure
        for case_id, rsv, opcode, payload in (
                ("3.5", 5, OP_BINARY, bytes(range(8))), ("3.6", 6, OP_PING, b"Hello"),
                ("3.7", 7, OP_CLOSE, harness.close_payload(1000))):
            with self.case(case_id) as client:
                client.send_frame(opcode, payload, rsv=rsv)
                client.expect_close(1002)

    # -- 4 opcodes -------------------------------------------------------------------------

    def test_4_reserved_opcodes(self):
        for group, opcodes in ((1, (3, 4, 5, 6, 7)), (2, (11, 12, 13, 14, 15))):
            with self.case("4.%d.1" % group) as client:
                client.send_frame(opcodes[0])
                client.expect_close(1002)
            with self.case("4.%d.2" % group) as client:
                client.send_frame(opcodes[1], b"reserved opcode payload")
                client.expect_close(1002)
            for n, opcode in enumerate(opcodes[2:], 3):
                with self.case("4.%d.%d" % (group, n)) as client:
                    frames = [build_frame(OP_TEXT, b"Hello, world!"),
                              build_frame(opcode, b"" if n == 3 else b"reserved payload"),
                              build_frame(OP_PING)]
                    self.send_parts(client, frames)
                    client.expect_message(self, OP_TEXT, b"Hello, world!")
                    client.expect_close(1002)

    # -- 5 fragmentation -------------------------------------------------------------------

    def test_5_fragmentation(self):
        for case_id, opcode in (("5.1", OP_PING), ("5.2", OP_PONG)):
            with self.case(case_id) as client:
                self.send_parts(client, self.fragments(opcode, [b"fragment1", b"fragment2"]))
                client.expect_close(1002)
        modes = ((None, 0.0), (1, 0.0), (None, 0.05))  # whole, octet chops, frame per frame
        for n, (chop, delay) in enumerate(modes):
            with self.case("5.%d" % (3 + n)) as client:
                self.send_parts(client, self.fragments(OP_TEXT, [b"fragment1", b"fragment2"]),
                                chop, delay)
                client.expect_message(self, OP_TEXT, b"fragment1fragment2")
                self.finish(client)
            with self.case("5.%d" % (6 + n)) as client:
                first, second = self.fragments(OP_TEXT, [b"fragment1", b"fragment2"])
                self.send_parts(client, [first, build_frame(OP_PING, b"ping payload"), second],
                                chop, delay)
                self.expect_pong(client, b"ping payload")
                client.expect_message(self, OP_TEXT, b"fragment1fragment2")
                self.finish(client)
            with self.case("5.%d" % (9 + n)) as client:
                frames = [build_frame(OP_CONT, b"non-continuation payload")]
                frames += self.fragments(OP_TEXT, [b"Hello, ", b"world!"])
                self.send_parts(client, frames, chop, delay)
                client.expect_close(1002)
            with self.case("5.%d" % (12 + n)) as client:
                frames = [build_frame(OP_CONT, b"non-continuation payload", fin=False)]
                frames += self.fragments(OP_TEXT, [b"Hello, ", b"world!"])
                self.send_parts(client, frames, chop, delay)
                client.expect_close(1002)
        with self.case("5.15") as client:
            frames = self.fragments(OP_TEXT, [b"fragment1", b"fragment2"])
            frames += [build_frame(OP_CONT, b"fragment3", fin=False),
                       build_frame(OP_TEXT, b"fragment4")]
            self.send_parts(client, frames)
            client.expect_message(self, OP_TEXT, b"fragment1fragment2")
            client.expect_close(1002)
        for case_id, first_fin in (("5.16", False), ("5.17", True)):
            with self.case(case_id) as client:
                frames = []
                for _ in range(2):
                    frames += [build_frame(OP_CONT, b"fragment1", fin=first_fin),
                               build_frame(OP_TEXT, b"fragment2", fin=False),
                               build_frame(OP_CONT, b"fragment3")]
                self.send_parts(client, frames)
                client.expect_close(1002)
        with self.case("5.18") as client:
            self.send_parts(client, [build_frame(OP_TEXT, b"fragment1", fin=False),
                                     build_frame(OP_TEXT, b"fragment2")])
            client.expect_close(1002)
        for case_id, chop in (("5.19", None), ("5.20", 1)):
            with self.case(case_id) as client:
                parts = [b"fragment%d" % i for i in range(1, 6)]
                frames = self.fragments(OP_TEXT, parts)
                for i, frame in enumerate(frames):
                    if i == 2:
                        client.send_chopped(build_frame(OP_PING, b"pongme 1!"), chop or 64)
                        self.expect_pong(client, b"pongme 1!")
                    if i == 4:
                        client.send_chopped(build_frame(OP_PING, b"pongme 2!"), chop or 64)
                        self.expect_pong(client, b"pongme 2!")
                    client.send_chopped(frame, chop or len(frame))
                    time.sleep(0.02)
                client.expect_message(self, OP_TEXT, b"".join(parts))
                self.finish(client)
        for case_id, opcode in (("5.21", OP_TEXT), ("5.22", OP_BINARY)):
            with self.case(case_id) as client:  # 1000 one-byte fragments
                payload = (b"0123456789" * 100 if opcode == OP_TEXT else os.urandom(1000))
                self.send_parts(client, self.fragments(
                    opcode, [payload[i:i + 1] for i in range(len(payload))]))
                client.expect_message(self, opcode, payload)
                self.finish(client)
        with self.case("5.23") as client:  # empty fragments around a ping
            frames = self.fragments(OP_BINARY, [b"", b"", b"x", b""])
            frames.insert(2, build_frame(OP_PING, b""))
            self.send_parts(client, frames)
            self.expect_pong(client, b"")
            client.expect_message(self, OP_BINARY, b"x")
            self.finish(client)

    # -- 6 UTF-8 ---------------------------------------------------------------------------

    def test_6_1_to_6_3_utf8_basics(self):
        with self.case("6.1.1") as client:
            client.echo(self, OP_TEXT, b"")
            self.finish(client)
        for case_id, parts in (("6.1.2", [b"", b"", b""]), ("6.1.3", [b"", b"middle", b""])):
            with self.case(case_id) as client:
                self.send_parts(client, self.fragments(OP_TEXT, parts))
                client.expect_message(self, OP_TEXT, b"".join(parts))
                self.finish(client)
        hello = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode()
        with self.case("6.2.1") as client:
            self.utf8_fragments(client, hello, [])
        with self.case("6.2.2") as client:
            self.utf8_fragments(client, hello, [hello.index(b"@")])
        with self.case("6.2.3") as client:
            self.utf8_fragments(client, hello, list(range(1, len(hello))))
        with self.case("6.2.4") as client:
            self.utf8_fragments(client, KOSME, list(range(1, len(KOSME))))
        invalid = KOSME + b"\xed\xa0\x80" + b"edited"
        with self.case("6.3.1") as client:
            self.utf8_fragments(client, invalid, [])
        with self.case("6.3.2") as client:
            self.utf8_fragments(client, invalid, list(range(1, len(invalid))))

    def test_6_4_fail_fast(self):
        part1, part2, part3 = KOSME, b"\xf4\x90\x80\x80", b"edited"
        with self.case("6.4.1") as client:
            client.send_frame(OP_TEXT, part1, fin=False)
            client.send_frame(OP_CONT, part2, fin=False)
            client.expect_close(1007, timeout=FAIL_FAST_S)
        with self.case("6.4.2") as client:
            client.send_frame(OP_TEXT, part1 + part2[:1], fin=False)
            client.send_frame(OP_CONT, part2[1:2], fin=False)
            client.expect_close(1007, timeout=FAIL_FAST_S)
        # One frame, sent in pieces: failing before the rest of the frame arrives is strict;
        # failing once the frame is complete is accepted as non-strict (as Autobahn does).
        payload = part1 + part2 + part3
        for case_id, cut in (("6.4.3", len(part1) + len(part2)), ("6.4.4", len(part1) + 2)):
            with self.case(case_id) as client:
                frame = build_frame(OP_TEXT, payload)
                head = len(frame) - len(payload)
                client.send(frame[:head + cut])
                try:
                    client.expect_close(1007, timeout=0.5)
                except AssertionError as e:
                    if "no Close frame in time" not in str(e):
                        raise
                    client.send(frame[head + cut:])
                    client.expect_close(1007)
                    RESULTS["non_strict"].append(case_id)

    def test_6_5_to_6_23_utf8_stress(self):
        for group, (title, payloads) in enumerate(utf8_stress_groups(), 5):
            for n, payload in enumerate(payloads, 1):
                case_id = "6.%d.%d" % (group, n)
                with self.case(case_id) as client:  # one frame, as Autobahn sends it
                    self.utf8_fragments(client, payload, [])
                # Every split into two fragments, then one fragment per byte.
                for cut in range(1, len(payload)):
                    with self.case("%s/split@%d" % (case_id, cut)) as client:
                        self.utf8_fragments(client, payload, [cut])
                if len(payload) > 2:
                    with self.case("%s/bytewise" % case_id) as client:
                        self.utf8_fragments(client, payload, list(range(1, len(payload))))

    def test_6_x_valid_code_points_across_fragments(self):
        # Every encoded length at each boundary, surrounded by ASCII, split everywhere.
        text = "a\u0080\u07ff\u0800\ud7ff\ue000\uffff\U00010000\U0010ffffz".encode()
        for cut in range(1, len(text)):
            with self.case("6.x/codepoints/split@%d" % cut) as client:
                self.utf8_fragments(client, text, [cut])

    # -- 7 closing -------------------------------------------------------------------------

    def test_7_1_close_then_more(self):
        with self.case("7.1.1") as client:
            client.echo(self, OP_TEXT, b"Hello World!")
            self.finish(client)
        for case_id, after in (("7.1.2", build_frame(OP_CLOSE, harness.close_payload(1000))),
                               ("7.1.3", build_frame(OP_PING, b"after close")),
                               ("7.1.4", build_frame(OP_TEXT, b"after close"))):
            with self.case(case_id) as client:
                client.send(build_frame(OP_CLOSE, harness.close_payload(1000)) + after)
                client.expect_close(1000)  # exactly one Close, no Pong, no echo
        with self.case("7.1.5") as client:
            client.send(build_frame(OP_TEXT, b"fragment1", fin=False)
                        + build_frame(OP_CLOSE, harness.close_payload(1000))
                        + build_frame(OP_CONT, b"fragment2"))
            client.expect_close(1000)
        with self.case("7.1.6") as client:
            big = b"BAsd7&jh23" * 26214
            client.send(build_frame(OP_TEXT, big)
                        + build_frame(OP_CLOSE, harness.close_payload(1000))
                        + build_frame(OP_PING, b"after close"))
            client.expect_message(self, OP_TEXT, big)
            client.expect_close(1000)

    def test_7_3_close_payloads(self):
        with self.case("7.3.1") as client:
            client.send_close()
            client.expect_close({None, 1000})
        with self.case("7.3.2") as client:
            client.send_frame(OP_CLOSE, b"\x03")
            client.expect_close(1002)
        for case_id, reason in (("7.3.3", b""), ("7.3.4", b"Hello World!"),
                                ("7.3.5", b"*" * 123)):
            with self.case(case_id) as client:
                client.send_close(1000, reason)
                client.expect_close(1000)
        with self.case("7.3.6") as client:
            client.send_close(1000, b"*" * 124)
            client.expect_close(1002)
        with self.case("7.5.1") as client:
            client.send_close(1000, KOSME + b"\xed\xa0\x80" + b"edited")
            client.expect_close(1007)
        with self.case("7.5.2") as client:  # truncated character at the end of the reason
            client.send_close(1000, b"bye \xe2\x82")
            client.expect_close(1007)

    def test_7_7_valid_close_codes(self):
        codes = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999)
        for n, code in enumerate(codes, 1):
            with self.case("7.7.%d" % n) as client:
                client.send_close(code)
                client.expect_close(code)

    def test_7_9_invalid_close_codes(self):
        codes = (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999)
        for n, code in enumerate(codes, 1):
            with self.case("7.9.%d" % n) as client:
                client.send_close(code)
                client.expect_close(1002)
        for n, code in enumerate((5000, 65535), 1):
            with self.case("7.13.%d" % n) as client:
                client.send_close(code)
                client.expect_close(1002)

    # -- 9 bounded performance -------------------------------------------------------------

    def test_9_large_and_many(self):
        rng = random.Random(9)
        unit = "\u03ba\u1f79\u03c3\u03bc\u03b5 ascii \U0001f600 ".encode()  # 4-byte chars too
        def text(n):
            whole = unit * (n // len(unit))
            return whole + b"x" * (n - len(whole))
        for group, opcode in ((1, OP_TEXT), (2, OP_BINARY)):
            for n, size in enumerate((1 << 20, 4 << 20), 1):
                with self.case("9.%d.%d" % (group, n)) as client:
                    payload = text(size) if opcode == OP_TEXT else rng.randbytes(size)
                    client.send(build_frame(opcode, payload))
                    client.expect_message(self, opcode, payload, timeout=30)
                    self.finish(client)
        # Fragmented: (message size, fragment size). Fragments split UTF-8 characters.
        plans = [(1 << 20, 64), (4 << 20, 256), (4 << 20, 4096), (4 << 20, 65536),
                 (4 << 20, 1 << 20), (4 << 20, 4 << 20)]
        for group, opcode in ((3, OP_TEXT), (4, OP_BINARY)):
            for n, (size, fragment) in enumerate(plans, 1):
                with self.case("9.%d.%d" % (group, n)) as client:
                    payload = text(size) if opcode == OP_TEXT else rng.randbytes(size)
                    parts = [payload[i:i + fragment] for i in range(0, size, fragment)]
                    client.send(b"".join(self.fragments(opcode, parts)))
                    client.expect_message(self, opcode, payload, timeout=30)
                    self.finish(client)
        # One 1 MiB frame written in small chops.
        for group, opcode in ((5, OP_TEXT), (6, OP_BINARY)):
            for n, chop in enumerate((64, 512, 4096), 1):
                with self.case("9.%d.%d" % (group, n)) as client:
                    payload = text(1 << 20) if opcode == OP_TEXT else rng.randbytes(1 << 20)
                    client.send_chopped(build_frame(opcode, payload), chop)
                    client.expect_message(self, opcode, payload, timeout=30)
                    self.finish(client)
        # Many small messages, pipelined, echoed in order.
        for group, opcode in ((7, OP_TEXT), (8, OP_BINARY)):
            for n, size in enumerate((0, 16, 64, 256, 1024, 4096), 1):
                with self.case("9.%d.%d" % (group, n)) as client:
                    messages = [(b"%06d" % i + b"m" * size)[:max(size, 6)] for i in range(1000)]
                    client.send(b"".join(build_frame(opcode, m) for m in messages))
                    for m in messages:
                        client.expect_message(self, opcode, m)
                    self.finish(client)


# -- 12 and 13 permessage-deflate ----------------------------------------------------------------

# Autobahn's 12.x sizes, 16 B to 256 KiB, and how many messages each case sends (Autobahn sends
# 1000 of each; fewer keep the group within seconds, the code paths are the same).
DEFLATE_SIZES = ((16, 20), (64, 20), (256, 10), (1024, 10), (4096, 5), (8192, 5),
                 (16384, 3), (32768, 3), (65536, 2), (131072, 1), (262144, 1))
# Fragmentation of the compressed payload: whole, in two, 64-byte frames, and one empty frame
# after the first (the shapes Autobahn's 12.x subgroups use, and the corner of an empty
# continuation).
DEFLATE_FRAGMENTS = (1, 2, 64, "empty")
BROWSER_OFFER = offer(client_max_window_bits=True)  # what Chrome sends
BOMB_BYTES = 64 << 20  # inflates far past --max-message-bytes from a few dozen KiB


class DeflateConformanceCase(harness.BrokerTestCase):
    FLAGS = ("--echo",)

    @contextlib.contextmanager
    def dcase(self, case_id, offers=(BROWSER_OFFER,), require=True):
        """One case on a fresh connection that offers `offers`, counted for the summary."""
        with self.subTest(case=case_id):
            client = DeflateClient(self.port)
            try:
                client.open("/echo", offers=offers, require=require)
                yield client
            except BaseException:
                RESULTS["failed"].append(case_id)
                raise
            else:
                RESULTS["passed"] += 1
            finally:
                client.close()

    def send_fragmented(self, client, opcode, payload, compressor, fragments):
        data = payload if compressor is None else compress_message(payload, compressor)
        if fragments == "empty":  # the whole payload, then an empty continuation
            frames = [build_frame(opcode, data, fin=False, rsv=4 if compressor else 0),
                      build_frame(OP_CONT, b"")]
        else:
            count = fragments if fragments <= 2 else max(1, -(-len(data) // fragments))
            frames = fragment_frames(opcode, data, count, compressed=compressor is not None)
        client.send(b"".join(frames))

    def echo_series(self, client, opcode, size, count, compressor_of, fragments=1, seed=0):
        """`count` messages of `size` bytes, compressed by compressor_of() (a new compressor
        per message without context takeover), each echo required byte for byte; pipelined
        in batches so that the kernel buffers never fill."""
        sent = []
        for n in range(count):
            payload = (corpus_text(size, seed + n) if opcode == OP_TEXT
                       else random_bytes(size, seed + n))
            self.send_fragmented(client, opcode, payload, compressor_of(), fragments)
            sent.append(payload)
            if len(sent) * size >= (256 << 10) or n == count - 1:
                for expected in sent:
                    client.expect_message(self, opcode, expected, timeout=10)
                sent = []

    def finish(self, client):
        client.send_close(1000)
        client.expect_close(1000)


class DeflateConformanceTest(DeflateConformanceCase):
    # -- 12 echo of compressed messages ----------------------------------------------------

    def test_12_compressed_echo_sizes_and_fragments(self):
        """12.1 to 12.4: text (a corpus) and binary (random), every size, every fragmentation;
        the answer asks for client_no_context_takeover, so each message is a fresh stream."""
        for group, (opcode, fragments_list) in enumerate(
                ((OP_TEXT, (1,)), (OP_BINARY, (1,)), (OP_TEXT, DEFLATE_FRAGMENTS[1:]),
                 (OP_BINARY, DEFLATE_FRAGMENTS[1:])), 1):
            for n, (size, count) in enumerate(DEFLATE_SIZES, 1):
                for fragments in fragments_list:
                    case_id = "12.%d.%d" % (group, n)
                    if len(fragments_list) > 1:
                        case_id += "/fragments=%s" % fragments
                    with self.dcase(case_id) as client:
                        self.assertIn("client_no_context_takeover", client.agreed)
                        self.assertIn("server_no_context_takeover", client.agreed)
                        self.echo_series(client, opcode, size, count, new_compressor,
                                         fragments, seed=size)
                        self.finish(client)

    def test_12_5_levels_empty_and_final_blocks(self):
        """Stored blocks (level 0), fixed and dynamic Huffman (levels 1 and 9), the empty
        message in both of its forms, a message that ends with a final block (BFINAL, §7.2.3.4)
        followed by another, and plain messages mixed with compressed ones."""
        for n, level in enumerate((0, 1, 9), 1):
            with self.dcase("12.5.%d/level=%d" % (n, level)) as client:
                for size in (1, 200, 5000, 70000):
                    self.echo_series(client, OP_TEXT, size, 2,
                                     lambda: new_compressor(15, level), seed=level)
                self.finish(client)
        with self.dcase("12.5.4/empty") as client:
            for opcode in (OP_TEXT, OP_BINARY):  # §7.2.3.6: one 0x00 byte
                client.send(build_frame(opcode, b"\x00", rsv=4))
                client.expect_message(self, opcode, b"")
                client.send_message(opcode, b"", new_compressor())  # zlib's own form
                client.expect_message(self, opcode, b"")
            self.finish(client)
        with self.dcase("12.5.5/bfinal") as client:
            for size in (10, 3000):
                payload = corpus_text(size, size)
                compressor = new_compressor()
                data = compressor.compress(payload) + compressor.flush(zlib.Z_FINISH)
                client.send(build_frame(OP_TEXT, data, rsv=4))
                client.expect_message(self, OP_TEXT, payload)
            self.finish(client)
        with self.dcase("12.5.6/mixed") as client:
            for n in range(20):
                payload = corpus_text(100 + 37 * n, n)
                client.send_message(OP_TEXT, payload, new_compressor() if n % 2 else None)
                client.expect_message(self, OP_TEXT, payload)
            self.finish(client)
        with self.dcase("12.5.7/control-between-fragments") as client:
            payload = corpus_text(20000, 7)
            frames = fragment_frames(OP_TEXT, compress_message(payload, new_compressor()), 3,
                                     compressed=True)
            frames.insert(1, build_frame(OP_PING, b"between"))
            client.send(b"".join(frames))
            pong = client.read_frame()
            self.assertEqual((pong.opcode, pong.payload), (OP_PONG, b"between"))
            client.expect_message(self, OP_TEXT, payload)
            self.finish(client)
        with self.dcase("12.5.8/octet-chops") as client:
            payload = corpus_text(3000, 8)
            frame = build_frame(OP_TEXT, compress_message(payload, new_compressor()), rsv=4)
            client.send_chopped(frame, 1)
            client.expect_message(self, OP_TEXT, payload)
            self.finish(client)

    def test_12_server_frames_inflate_alone(self):
        """server_no_context_takeover (§7.1.1.1): every compressed echo inflates with a fresh
        window (DeflateClient inflates each alone), and compressible echoes of at least
        --compression-min-bytes (128) are compressed."""
        with self.dcase("12.6/server-messages-alone") as client:
            payload = corpus_text(4000, 1)
            for _ in range(5):  # the same message again: a shared window would shrink it
                client.send_message(OP_TEXT, payload, new_compressor())
                client.expect_message(self, OP_TEXT, payload)
            self.assertEqual(client.compressed, [True] * 5)
            self.finish(client)

    # -- 13 negotiated parameters ----------------------------------------------------------

    def test_13_0_the_answer_checker_can_fail(self):
        """check_response() against RFC 7692 §7.1, on answers a client must reject."""
        from deflate_wire import check_response
        good = "permessage-deflate; server_no_context_takeover"
        self.assertEqual(check_response(good, [offer()]), {"server_no_context_takeover": None})
        for answer, offered in (
                ("permessage-deflate, permessage-deflate", [offer()]),
                ("x-other", [offer()]),
                ("permessage-deflate; foo", [offer()]),
                ("permessage-deflate; server_no_context_takeover=1", [offer()]),
                ("permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                 [offer()]),
                ("permessage-deflate; server_max_window_bits=16", [offer()]),
                ("permessage-deflate; server_max_window_bits=09", [offer()]),
                ("permessage-deflate; client_max_window_bits=10", [offer()]),
                ("permessage-deflate; client_max_window_bits=12",
                 [offer(client_max_window_bits=10)]),
                ("permessage-deflate", [offer(server_no_context_takeover=True)]),
                ("permessage-deflate", [offer(server_max_window_bits=15)]),
                ("permessage-deflate; server_max_window_bits=12",
                 [offer(server_max_window_bits=10)])):
            with self.assertRaises(AssertionError, msg=answer):
                check_response(answer, offered)

    def test_13_parameter_combinations(self):
        """13.1 to 13.7: each offer that Herald accepts, echoing text and binary compressed
        with the window the offer allows. The server never answers client_max_window_bits
        (extensions.h), so the client may use any window (§7.1.2.2); it uses the offered one."""
        combos = [("13.1", offer(), 15)]
        combos += [("13.2.%d" % bits, offer(client_max_window_bits=bits), bits)
                   for bits in range(8, 16)]
        combos += [("13.3.%d" % bits, offer(client_no_context_takeover=True,
                                             client_max_window_bits=bits), bits)
                   for bits in (8, 9, 12, 15)]
        combos += [("13.4", offer(server_no_context_takeover=True), 15),
                   ("13.5", offer(server_no_context_takeover=True,
                                  client_no_context_takeover=True), 15),
                   ("13.6", offer(server_max_window_bits=15), 15),
                   ("13.7", offer(server_no_context_takeover=True,
                                  client_no_context_takeover=True,
                                  server_max_window_bits=15, client_max_window_bits=9), 9),
                   ("13.8", offer(client_max_window_bits=True), 15),
                   ('13.9/quoted', 'permessage-deflate; client_max_window_bits="10"', 10)]
        for case_id, text, bits in combos:
            with self.dcase(case_id, offers=(text,)) as client:
                self.assertIn("server_no_context_takeover", client.agreed, case_id)
                if "server_max_window_bits" in text:
                    self.assertEqual(client.agreed.get("server_max_window_bits"), "15")
                for opcode in (OP_TEXT, OP_BINARY):
                    for size in (16, 300, 5000, 70000):
                        self.echo_series(client, opcode, size, 2,
                                         lambda: new_compressor(bits), seed=bits)
                self.finish(client)

    def test_13_declined_offers(self):
        """server_max_window_bits below 15 is declined (extensions.h): alone, the handshake
        goes on without the extension (and RSV1 then fails the connection, 1002); in a list,
        the next acceptable offer is taken. Malformed offers are declined, never refused."""
        for bits in range(8, 15):
            with self.dcase("13.10.%d" % bits, offers=(offer(server_max_window_bits=bits),),
                            require=False) as client:
                self.assertIsNone(client.agreed, "server_max_window_bits=%d accepted" % bits)
                client.echo(self, OP_TEXT, b"plain after a declined offer")
                client.send_message(OP_TEXT, b"compressed anyway", new_compressor())
                client.expect_close(1002)
        offers = (offer(server_max_window_bits=10), offer(client_max_window_bits=12))
        with self.dcase("13.11/second-offer", offers=offers) as client:
            self.assertNotIn("server_max_window_bits", client.agreed)
            self.echo_series(client, OP_TEXT, 3000, 3, lambda: new_compressor(12))
            self.finish(client)
        offers = (offer(server_max_window_bits=9, client_no_context_takeover=True),
                  offer(server_max_window_bits=15))
        with self.dcase("13.12/second-offer-with-window", offers=offers) as client:
            self.assertEqual(client.agreed.get("server_max_window_bits"), "15")
            self.echo_series(client, OP_BINARY, 3000, 3, new_compressor)
            self.finish(client)
        offers = (offer(server_max_window_bits=11), offer(client_no_context_takeover=True))
        with self.subTest(case="13.14/two-header-fields"):  # RFC 6455 §11.3.2: may repeat
            client = DeflateClient(self.port)
            self.addCleanup(client.close)
            client.open("/echo", offers=offers, separate_fields=True)
            self.assertEqual(client.agreed, {"server_no_context_takeover": None,
                                             "client_no_context_takeover": None})
            self.echo_series(client, OP_TEXT, 1000, 2, new_compressor)
            self.finish(client)
            RESULTS["passed"] += 1
        for n, text in enumerate(("permessage-deflate; client_max_window_bits=7",
                                  "permessage-deflate; client_max_window_bits=16",
                                  "permessage-deflate; server_max_window_bits",
                                  "permessage-deflate; client_no_context_takeover=1",
                                  "permessage-deflate; server_no_context_takeover; "
                                  "server_no_context_takeover",
                                  "permessage-deflate; unknown_param",
                                  "permessage-deflate; client_max_window_bits=010",
                                  'permessage-deflate; client_max_window_bits="1 0"',
                                  "x-webkit-deflate-frame"), 1):
            with self.dcase("13.13.%d/malformed" % n, offers=(text,), require=False) as client:
                self.assertIsNone(client.agreed, "accepted: %r" % text)
                client.echo(self, OP_BINARY, b"still served")
                self.finish(client)

    # -- failures that compression adds ----------------------------------------------------

    def test_13_x_failures(self):
        def compress(payload):
            return compress_message(payload, new_compressor())

        with self.dcase("13.x/rsv1-on-continuation") as client:
            data = compress(corpus_text(1000))
            client.send(b"".join(fragment_frames(OP_TEXT, data, 2, compressed=True,
                                                 rsv_on_all=True)))
            client.expect_close(1002)
        with self.dcase("13.x/rsv1-on-plain-continuation") as client:
            client.send(build_frame(OP_TEXT, b"plain ", fin=False)
                        + build_frame(OP_CONT, compress(b"then compressed"), rsv=4))
            client.expect_close(1002)
        for n, (opcode, payload) in enumerate(((OP_PING, b"ping"), (OP_PONG, b""),
                                               (OP_CLOSE, harness.close_payload(1000))), 1):
            with self.dcase("13.x/rsv1-on-control.%d" % n) as client:
                client.send(build_frame(opcode, payload, rsv=4))
                client.expect_close(1002)
        for n, rsv in enumerate((2, 1, 6), 1):  # RSV2 and RSV3 stay reserved
            with self.dcase("13.x/rsv2-rsv3.%d" % n) as client:
                client.send(build_frame(OP_TEXT, compress(b"hello"), rsv=rsv))
                client.expect_close(1002)
        for n, data in enumerate((b"\xff\xff\xff\xff",  # BTYPE 11: reserved
                                  b"\x01\x05\x00\x00\x00hello",  # stored: LEN/NLEN mismatch
                                  compress(corpus_text(5000)) + b"\x06"), 1):  # BTYPE 11
            with self.dcase("13.x/corrupt.%d" % n) as client:
                client.send(build_frame(OP_BINARY, data, rsv=4))
                client.expect_close(1007, timeout=FAIL_FAST_S)
        with self.dcase("13.x/invalid-utf8") as client:
            client.send(build_frame(OP_TEXT, compress(KOSME + b"\xed\xa0\x80edited"), rsv=4))
            client.expect_close(1007, timeout=FAIL_FAST_S)
        with self.dcase("13.x/invalid-utf8-fragmented") as client:
            data = compress(b"x" * 500 + b"\xc0\xaf" + b"y" * 500)
            client.send(b"".join(fragment_frames(OP_TEXT, data, 3, compressed=True)))
            client.expect_close(1007, timeout=FAIL_FAST_S)
        with self.dcase("13.x/truncated-utf8-at-end") as client:
            client.send(build_frame(OP_TEXT, compress(b"bye \xe2\x82"), rsv=4))
            client.expect_close(1007, timeout=FAIL_FAST_S)
        with self.dcase("13.x/context-takeover-after-no-context-takeover") as client:
            # The answer asked for client_no_context_takeover; a client that back-references
            # its previous message anyway sends a stream the server cannot read (1007).
            compressor = new_compressor()
            payload = random_bytes(2000, 3)
            client.send(build_frame(OP_BINARY, compress_message(payload, compressor), rsv=4))
            client.expect_message(self, OP_BINARY, payload)
            client.send(build_frame(OP_BINARY, compress_message(payload, compressor), rsv=4))
            client.expect_close(1007, timeout=FAIL_FAST_S)
        # Inflating stops at the default --max-message-bytes (16 MiB: tens of milliseconds of
        # work, seconds on a loaded CI machine); DeflateLimitConformanceTest fails fast.
        with self.dcase("13.x/bomb") as client:
            bomb = bomb_stream(BOMB_BYTES)
            self.assertLess(len(bomb), 128 << 10)
            client.send(build_frame(OP_BINARY, bomb, rsv=4))
            client.expect_close(1009, timeout=15)
        with self.dcase("13.x/bomb-fragmented") as client:
            bomb = bomb_stream(BOMB_BYTES)
            client.send(b"".join(fragment_frames(OP_TEXT, bomb, 50, compressed=True)))
            client.expect_close(1009, timeout=15)
        with self.raw_case("13.x/rsv1-without-negotiation") as client:
            client.send(build_frame(OP_TEXT, compress(b"hello"), rsv=4))
            client.expect_close(1002)

    @contextlib.contextmanager
    def raw_case(self, case_id):
        """A case on a connection that offers no extension at all."""
        with self.dcase(case_id, offers=(), require=False) as client:
            self.assertIsNone(client.agreed)
            yield client


def bomb_stream(size):
    """`size` zero bytes as one raw DEFLATE stream, cut like a message (about 1/1000 of it)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    data = b"".join(compressor.compress(chunk) for _ in range(size >> 20))
    data += compressor.flush(zlib.Z_SYNC_FLUSH)
    return data[:-len(TAIL)]


class DeflateLimitConformanceTest(DeflateConformanceCase):
    """The inflated size against --max-message-bytes, at the byte (the limit is on what a
    message inflates to, not on its wire size)."""

    LIMIT = 65536
    FLAGS = ("--echo", "--max-message-bytes", str(LIMIT))

    def test_13_y_inflated_size_limit(self):
        for case_id, opcode, size, fragments in (("13.y.1", OP_TEXT, self.LIMIT, 1),
                                                 ("13.y.2", OP_BINARY, self.LIMIT, 7)):
            with self.dcase(case_id) as client:
                payload = (b"a" * size if opcode == OP_TEXT else bytes(size))
                client.send_message(opcode, payload, new_compressor(), fragments)
                client.expect_message(self, opcode, payload)
                self.finish(client)
        for case_id, fragments in (("13.y.3", 1), ("13.y.4", 5)):
            with self.dcase(case_id) as client:
                client.send_message(OP_BINARY, bytes(self.LIMIT + 1), new_compressor(),
                                    fragments)
                client.expect_close(1009, timeout=FAIL_FAST_S)
        with self.dcase("13.y.5/bomb") as client:
            client.send(build_frame(OP_BINARY, bomb_stream(BOMB_BYTES), rsv=4))
            client.expect_close(1009, timeout=FAIL_FAST_S)
        with self.dcase("13.y.6/header-far-past-the-limit") as client:
            # A compressed frame announcing twice the limit is refused from its header (RFC 6455
            # §10.4), before any of it is read: no deflate stream is that much larger than its
            # message.
            client.send(build_frame(OP_BINARY, b"", rsv=4, length=2 * self.LIMIT))
            client.expect_close(1009, timeout=FAIL_FAST_S)

    def test_13_y_incompressible_message_at_the_limit(self):
        """The limit is on the message: one that inflates to exactly --max-message-bytes is
        echoed even though its deflate stream is a few bytes longer (stored blocks)."""
        client = DeflateClient(self.port)
        self.addCleanup(client.close)
        client.open("/echo")
        payload = random_bytes(self.LIMIT, 11)
        client.send_message(OP_BINARY, payload, new_compressor())
        client.expect_message(self, OP_BINARY, payload)


if __name__ == "__main__":
    unittest.main()
