"""What the several-node tests share (cluster_test.py, cluster_proxy_test.py): real
redis-server processes on loopback ports, a TCP proxy that failover can move, the topic-to-
shard hash, readiness and metric waits, and a test case that starts nodes and clients."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness  # first: it takes --herald PATH out of sys.argv
from harness import PubSubClient, http_request, sample, scrape

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
READY_TIMEOUT_S = 20.0


class Redis:
    """One redis-server on 127.0.0.1, in its own directory, restartable on the same port."""

    def __init__(self, *args):
        self.port = harness.free_port()
        self.args = list(args)
        self.dir = tempfile.mkdtemp(prefix="herald-redis-")
        self.proc = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--logfile", os.path.join(self.dir, "redis.log"), *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.cli("PING", check=False) == "PONG":
                return self
            time.sleep(0.05)
        raise AssertionError("redis-server on %d did not answer PING" % self.port)

    def cli(self, *args, check=True):
        done = subprocess.run([REDIS_CLI, "-p", str(self.port), *args], capture_output=True,
                              text=True, timeout=10, check=False)
        if check and done.returncode != 0:
            raise AssertionError("redis-cli %s: %s" % (args, done.stderr))
        return done.stdout.strip()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class SwitchableProxy:
    """A TCP forwarder on a loopback port whose upstream can be switched, as the address nodes
    are given for "the primary" (a virtual IP, or a name that failover tooling moves) is.
    switch() cuts every open connection; new ones go to the new upstream."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.open = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()  # the upstream is down: the node sees a refused connection
                continue
            with self.lock:
                self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def switch(self, upstream_port):
        self.upstream = upstream_port
        with self.lock:
            cut, self.open = self.open, []
        for end in cut:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def close(self):
        self.closed = True
        self.listener.close()
        self.switch(self.upstream)


def fnv1a64(text):
    """PROTOCOL.md section 12's shard hash."""
    value = 0xcbf29ce484222325
    for byte in text.encode():
        value = ((value ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return value


def readyz(port):
    return http_request(port, "GET", "/readyz")


def wait_readyz(port, ready=True, timeout=READY_TIMEOUT_S):
    """Waits for /readyz to answer 200 (or, ready=False, 503); returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        response = readyz(port)
        if (response.status == 200) == ready or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def metric(port, name, **labels):
    return sample(scrape(port), name, **labels)


def wait_reconnected(port, count=1, timeout=READY_TIMEOUT_S):
    """Waits until the node's link to shard 0 is back `count` times: both connections up and
    every subscription renewed (herald_redis_reconnects_total counts those returns)."""
    deadline = time.monotonic() + timeout
    while metric(port, "herald_redis_reconnects_total", shard="0") < count:
        if time.monotonic() > deadline:
            raise AssertionError("the link did not come back within %.0f s" % timeout)
        time.sleep(0.05)


class ClusterTestCase(unittest.TestCase):

    def redis(self, *args):
        server = Redis(*args)
        self.addCleanup(server.close)
        return server.start()

    def node(self, *servers, flags=()):
        args = []
        for server in servers:
            args += ["--redis", server.url]
        broker = harness.Broker(*args, "--workers", "2", *flags)
        broker.start()
        self.addCleanup(broker.stop)
        response = wait_readyz(broker.port)
        self.assertEqual(response.status, 200, "node ready: %r" % response)
        return broker

    def client(self, broker, topic=None):
        client = PubSubClient(broker.port)
        self.addCleanup(client.close)
        client.open()
        if topic is not None:
            # A topic with history answers with its recovery first (PROTOCOL.md section 9).
            client.command('{"op":"sub","topic":%s,"id":"s"}' % json.dumps(topic))
            event = client.next_event(timeout=10)
            if event.type == "recovery":
                event = client.next_event(timeout=10)
            self.assertEqual((event.type, event.id), ("ack", '"s"'), event)
        return client

    def warm_up(self, publisher, topic, subscribers):
        """Publishes on `topic` until every subscriber has received a message: each node's
        SUBSCRIBE to Redis is then in force (a subscription's ack may precede it, section 12).
        Returns the last warm-up's seq; every subscriber has read up to it."""
        seen = [0] * len(subscribers)
        for attempt in range(100):
            seq, _ = publisher.pub_acked(self, topic, '{"warm":%d}' % attempt, id_raw=str(attempt))
            for i, subscriber in enumerate(subscribers):
                try:
                    while seen[i] < seq:
                        event = subscriber.next_event(timeout=0.3)
                        self.assertEqual(event.type, "msg", event)
                        seen[i] = event.seq
                except TimeoutError:
                    pass
            if all(s == seq for s in seen):
                return seq
        self.fail("subscribers never all received a warm-up message: %r" % seen)

    def read_messages(self, subscriber, count, what):
        """The next `count` events of `subscriber`, all of which must be messages."""
        events = []
        for _ in range(count):
            event = subscriber.next_event(timeout=10)
            self.assertEqual(event.type, "msg", "%s: %r after %d" % (what, event, len(events)))
            events.append(event)
        return events
