"""Replay rate to one subscriber (PROTOCOL.md section 9): subscribes to TOPIC with "from":1 on
a running broker and times how long the replayed messages (recovery.next - 1 of them) take
to arrive. The reader only scans frame headers, but it is Python: the figure is a lower bound
on what the broker can send.

usage: /usr/bin/python3 tests/bench/replay_rate.py --port N --topic T [--runs 3]"""

import argparse
import base64
import json
import os
import socket
import statistics
import time


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: herald.v1\r\n\r\n" % key).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("handshake failed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise SystemExit("handshake refused: %r" % head[:80])
    return sock, bytearray(rest)


def send_text(sock, text):
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    sock.sendall(bytes((0x81, 0x80 | len(payload))) + mask + masked)


def frames(sock, buf):
    """Yields (opcode, payload) forever; bounded by the socket timeout."""
    pos = 0
    while True:
        while True:
            if len(buf) - pos >= 2:
                length = buf[pos + 1] & 0x7F
                header = 2 if length < 126 else 4 if length == 126 else 10
                if len(buf) - pos >= header:
                    if length == 126:
                        length = int.from_bytes(buf[pos + 2:pos + 4], "big")
                    elif length == 127:
                        length = int.from_bytes(buf[pos + 2:pos + 10], "big")
                    if len(buf) - pos >= header + length:
                        opcode = buf[pos] & 0x0F
                        payload = bytes(buf[pos + header:pos + header + length])
                        pos += header + length
                        yield opcode, payload
                        continue
            break
        del buf[:pos]
        pos = 0
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise SystemExit("the broker closed the connection")
        buf += chunk


def one_run(port, topic):
    sock, buf = connect(port)
    start = time.monotonic()
    send_text(sock, '{"op":"sub","topic":%s,"from":1,"id":1}' % json.dumps(topic))
    stream = frames(sock, buf)
    opcode, payload = next(stream)
    recovery = json.loads(payload)
    assert recovery["type"] == "recovery", recovery
    count = recovery["next"] - recovery["from"]
    received = 0
    for opcode, payload in stream:
        if opcode == 0x1 and payload.startswith(b'{"type":"ack"'):
            continue
        received += 1
        if received == count:
            break
    elapsed = time.monotonic() - start
    sock.close()
    return count, elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rates = []
    for _ in range(args.runs):
        count, elapsed = one_run(args.port, args.topic)
        rates.append(count / elapsed)
        print("replayed %d messages in %.3f s: %.0f msg/s" % (count, elapsed, count / elapsed))
    print("median %.0f msg/s" % statistics.median(rates))


if __name__ == "__main__":
    main()
