"""permessage-deflate (RFC 7692) by hand, for tests that must see the wire: an offer builder, a
strict reader of the server's Sec-WebSocket-Extensions answer (§7.1), a client compressor on
Python's zlib, and a raw client that negotiates the extension and reports RSV1 per message.
It owns no assertions about the broker beyond what RFC 7692 requires of any server."""

import json
import socket
import time
import zlib

import harness
from harness import (OP_BINARY, OP_CLOSE, OP_CONT, OP_TEXT, Frame, PeerClosed, RawClient,
                     build_frame, expected_accept, make_key, upgrade_request)

TAIL = b"\x00\x00\xff\xff"  # the end of a sync flush, removed by the sender (§7.2.1)
PARAMS = ("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
          "client_max_window_bits")


def offer(server_no_context_takeover=False, client_no_context_takeover=False,
          server_max_window_bits=None, client_max_window_bits=None):
    """One permessage-deflate offer. A window bits argument of True offers the parameter
    without a value (allowed for client_max_window_bits only, §7.1.2.2)."""
    parts = ["permessage-deflate"]
    if server_no_context_takeover:
        parts.append("server_no_context_takeover")
    if client_no_context_takeover:
        parts.append("client_no_context_takeover")
    for name, bits in (("server_max_window_bits", server_max_window_bits),
                       ("client_max_window_bits", client_max_window_bits)):
        if bits is True:
            parts.append(name)
        elif bits is not None:
            parts.append("%s=%s" % (name, bits))
    return "; ".join(parts)


def parse_offer_params(text):
    """The parameters of one offer written by offer() (or by hand): {name: value or None}."""
    params = {}
    for part in text.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        params[name] = value.strip('"') if value else None
    return params


def _split_unquoted(text, sep):
    parts, current, quoted = [], [], False
    for c in text:
        if c == '"':
            quoted = not quoted
        if c == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def _window_bits(value):
    """§7.1.2.1: 1*DIGIT, 8 to 15, no leading zero; None when invalid."""
    if value is None or not value.isdigit() or value[0] == "0":
        return None
    bits = int(value)
    return bits if 8 <= bits <= 15 else None


def check_response(value, offered):
    """Checks a Sec-WebSocket-Extensions answer against RFC 7692 §7.1 for the offers in
    `offered` (a list of offer strings, in order) and returns the agreed parameters as a dict
    {name: value or None}. Raises AssertionError on anything a client must reject: another
    extension, two elements, an unknown or duplicated parameter, a bad value, a parameter the
    accepted offer forbids (§7.1.2.2), or no offer that the answer can be accepting."""
    elements = [e.strip() for e in _split_unquoted(value, ",") if e.strip()]
    if len(elements) != 1:
        raise AssertionError("one permessage-deflate element expected: %r" % value)
    parts = [p.strip() for p in _split_unquoted(elements[0], ";")]
    if parts[0] != "permessage-deflate":
        raise AssertionError("an extension that was not offered: %r" % value)
    params = {}
    for part in parts[1:]:
        name, eq, raw = part.partition("=")
        name, raw = name.strip(), raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = raw[1:-1]
        if name not in PARAMS:
            raise AssertionError("unknown parameter %r in %r" % (name, value))
        if name in params:
            raise AssertionError("duplicate parameter %r in %r" % (name, value))
        if name.endswith("no_context_takeover"):
            if eq:
                raise AssertionError("%s takes no value: %r" % (name, value))
            params[name] = None
        else:
            if not eq or _window_bits(raw) is None:
                raise AssertionError("%s needs a value from 8 to 15: %r" % (name, value))
            params[name] = raw
    # The answer accepts one of the offers: find one it is consistent with.
    for text in offered:
        asked = parse_offer_params(text)
        if "server_no_context_takeover" in asked and "server_no_context_takeover" not in params:
            continue  # §7.1.1.1: accepting it means answering it
        if "server_max_window_bits" in asked:
            if "server_max_window_bits" not in params:
                continue  # §7.1.2.1
            if int(params["server_max_window_bits"]) > int(asked["server_max_window_bits"]):
                continue
        if "client_max_window_bits" in params:
            if "client_max_window_bits" not in asked:
                continue  # §7.1.2.2: MUST NOT answer what was not offered
            limit = asked["client_max_window_bits"]
            if limit is not None and int(params["client_max_window_bits"]) > int(limit):
                continue
        return params
    raise AssertionError("the answer %r accepts none of the offers %r" % (value, offered))


def compress_message(payload, compressor):
    """§7.2.1: the DEFLATE blocks of one message, ended by a sync flush without its tail."""
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    if not data.endswith(TAIL):
        raise AssertionError("zlib's sync flush did not end with 00 00 ff ff")
    return data[:-4]


def new_compressor(window_bits=15, level=6):
    # zlib cannot make a raw stream with an 8-bit window; 9 is what every client sends then.
    return zlib.compressobj(level, zlib.DEFLATED, -max(9, window_bits))


def inflate_message(data, max_bytes=1 << 26):
    """§7.2.2 with a fresh window (the server answers server_no_context_takeover, so each of
    its messages must inflate on its own)."""
    inflater = zlib.decompressobj(-15)
    out = inflater.decompress(data + TAIL, max_bytes)
    if inflater.unconsumed_tail:
        raise AssertionError("a server message inflates past %d bytes" % max_bytes)
    return out


class DeflateClient(RawClient):
    """A raw client that offers permessage-deflate, sends compressed or plain messages, and
    reads messages with RSV1 checked per RFC 7692 §6.1: only on the first frame of a data
    message. `compressed` records, per data message read, whether it came compressed."""

    def __init__(self, port, host="127.0.0.1", timeout=harness.IO_TIMEOUT_S, rcvbuf=None):
        if rcvbuf is None:
            super().__init__(port, host, timeout)
        else:  # a small receive window, set before connecting, stalls a reader quickly
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.timeout, self.buf, self.send_failed, self.eof = timeout, bytearray(), False, False
        self.agreed = None  # the answer's parameters, None when not negotiated
        self.compressed = []
        self.wire_bytes = 0  # bytes of data frames read (headers included)

    def open(self, path="/", offers=(offer(client_max_window_bits=True),), protocols=None,
             require=True, separate_fields=False):
        """The handshake with `offers` (each its own list element, in order; with
        `separate_fields`, each in its own header field). With `require`, the answer must
        agree; without, the agreement may be absent."""
        key = make_key()
        if separate_fields:
            extra = [("Sec-WebSocket-Extensions", text) for text in offers]
        else:
            extra = [("Sec-WebSocket-Extensions", ", ".join(offers))] if offers else []
        if protocols:
            extra.append(("Sec-WebSocket-Protocol", protocols))
        self.send(upgrade_request(path, key=key, extra=extra))
        response = self.read_http_response()
        if response.status != 101:
            raise AssertionError("handshake refused: %r" % response)
        if response.header("sec-websocket-accept") != expected_accept(key):
            raise AssertionError("wrong Sec-WebSocket-Accept: %r" % response)
        value = response.header("sec-websocket-extensions")
        if value is not None:
            if not offers:
                raise AssertionError("an extension answered without an offer: %r" % response)
            self.agreed = check_response(value, list(offers))
        elif require:
            raise AssertionError("permessage-deflate was not agreed: %r" % response)
        self.response = response
        return response

    def read_frame(self, timeout=None):
        """A server frame; RSV1 is allowed on a data frame that starts a message, once the
        extension is agreed (the caller checks continuations, which read_message() does)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        head = self.read_exact(2, deadline)
        b0, b1 = head
        n = b1 & 0x7F
        ext = b""
        if n == 126:
            ext = self.read_exact(2, deadline)
            n = int.from_bytes(ext, "big")
        elif n == 127:
            ext = self.read_exact(8, deadline)
            n = int.from_bytes(ext, "big")
        if b1 & 0x80:
            raise AssertionError("server sent a masked frame (RFC 6455 §5.1)")
        payload = self.read_exact(n, deadline)
        frame = Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, False, payload, len(ext))
        if frame.rsv & 3:
            raise AssertionError("server set RSV2 or RSV3: %r" % frame)
        if frame.rsv & 4:
            if self.agreed is None:
                raise AssertionError("RSV1 without permessage-deflate: %r" % frame)
            if frame.opcode not in (OP_TEXT, OP_BINARY):
                raise AssertionError("RSV1 on a control or continuation frame (§6.1): %r"
                                     % frame)
        if frame.opcode >= 8 and (not frame.fin or n > 125):
            raise AssertionError("server sent a bad control frame: %r" % frame)
        if frame.opcode < 8:
            self.wire_bytes += 2 + len(ext) + n
        return frame

    def read_message(self, timeout=None):
        """The next data message, inflated when RSV1 says so: (opcode, payload)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        first = self.read_frame(max(0.001, deadline - time.monotonic()))
        if first.opcode not in (OP_TEXT, OP_BINARY):
            raise AssertionError("expected a data message, got %r" % first)
        parts = [first.payload]
        frame = first
        while not frame.fin:
            frame = self.read_frame(max(0.001, deadline - time.monotonic()))
            if frame.opcode != OP_CONT:
                raise AssertionError("expected a continuation, got %r" % frame)
            parts.append(frame.payload)
        data = b"".join(parts)
        compressed = bool(first.rsv & 4)
        self.compressed.append(compressed)
        if compressed:
            data = inflate_message(data)
        if first.opcode == OP_TEXT:
            data.decode("utf-8")  # a server never sends invalid text
        return first.opcode, data

    def send_message(self, opcode, payload, compressor=None, fragments=1):
        """One message, compressed with `compressor` when given, cut into `fragments` frames of
        the wire payload (RSV1 on the first only, §6.1)."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        data = compress_message(payload, compressor) if compressor else payload
        return self.send(b"".join(fragment_frames(opcode, data, fragments,
                                                  compressed=compressor is not None)))

    # -- the pub/sub protocol (PROTOCOL.md), commands compressed ---------------------------

    def command(self, text, compressed=True):
        return self.send_message(OP_TEXT, text, new_compressor() if compressed else None)

    def next_event(self, timeout=None):
        return harness.decode_server_frame(*self.read_message(timeout))

    def sub(self, testcase, topic, policy=None, options="", id_raw='"s"'):
        """Subscribes; skips a recovery notice (topics with history) and requires the ack.
        `options` is raw JSON text of more fields, starting with a comma."""
        text = '{"op":"sub","topic":%s' % json.dumps(topic)
        if policy is not None:
            text += ',"policy":"%s"' % policy
        self.command(text + options + ',"id":%s}' % id_raw)
        event = self.next_event()
        while event.type == "recovery":
            event = self.next_event()
        testcase.assertEqual((event.type, event.id), ("ack", id_raw), event)
        return event

    def expect_close(self, code, timeout=None, reply=False, tcp_timeout=None,
                     allow_pings=False):
        """As RawClient.expect_close(), reading frames with RSV1 allowed."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            frame = self.read_frame(max(0.001, deadline - time.monotonic()))
        except PeerClosed as e:
            raise AssertionError("TCP closed without a Close frame (expected %s): %s"
                                 % (code, e)) from None
        except TimeoutError:
            raise AssertionError("no Close frame in time (expected %s)" % (code,)) from None
        if frame.opcode != OP_CLOSE:
            raise AssertionError("expected Close %s, got %r" % (code, frame))
        expected = code if isinstance(code, (set, frozenset, tuple, list)) else {code}
        if frame.close_code not in expected:
            raise AssertionError("expected close code %s, got %s (reason %r)"
                                 % (code, frame.close_code, frame.close_reason))
        closed, extra = self.wait_tcp_closed(tcp_timeout or self.timeout)
        if not closed:
            raise AssertionError("broker did not close TCP after its Close %s"
                                 % frame.close_code)
        if extra:
            raise AssertionError("bytes after the Close frame: %r" % extra[:80])
        return frame.close_code


def fragment_frames(opcode, data, fragments, compressed=False, rsv_on_all=False):
    """Masked client frames carrying `data` in `fragments` pieces (some may be empty)."""
    fragments = max(1, fragments)
    step = -(-len(data) // fragments) if data else 0
    pieces = [data[i * step:(i + 1) * step] for i in range(fragments)] if step else (
        [data] + [b""] * (fragments - 1))
    frames = []
    for i, piece in enumerate(pieces):
        rsv = 4 if compressed and (i == 0 or rsv_on_all) else 0
        frames.append(build_frame(opcode if i == 0 else OP_CONT, piece,
                                  fin=i == len(pieces) - 1, rsv=rsv))
    return frames


def corpus_text(size, seed=0):
    """Compressible UTF-8 text of exactly `size` bytes (JSON-like ticks with multi-byte
    characters), for the text payloads of Autobahn's 12.x ("text from a corpus")."""
    import random
    rng = random.Random(seed)
    words = ["price", "volume", "bid", "ask", "\u03ba\u1f79\u03c3\u03bc\u03b5", "AAPL",
             "MSFT", "\u00e9t\u00e9", "\U0001f600", "nasdaq", "tick", "last"]
    out = bytearray()
    while len(out) < size:
        out += ('{"%s":%d.%02d,"%s":"%s"} ' % (rng.choice(words), rng.randrange(1000),
                                                rng.randrange(100), rng.choice(words),
                                                rng.choice(words))).encode()
    # Cut back to a character boundary, then pad with ASCII.
    text = bytes(out[:size]).decode("utf-8", "ignore").encode()
    return text + b" " * (size - len(text))


def random_bytes(size, seed=0):
    import random
    return random.Random(seed).randbytes(size) if size else b""

