"""Three Herald nodes behind Debian's haproxy with deploy/haproxy-cluster.cfg (issue 13,
README "Running several nodes"): one redis-server, three nodes sharing it, haproxy in front
(wss:// to haproxy, ws:// with a PROXY v2 header to the nodes). Through the proxy: the
WebSocket upgrade works, connections are spread over the nodes (each node's own
herald_connections), a publish reaches every subscriber, on every node, under one seq; a node
told to drain (SIGTERM) asks its client to reconnect, fails haproxy's /readyz check and leaves
the rotation (haproxy's stats socket says DOWN), exits 0, and new connections through the
proxy land on the two others and receive messages; with Redis down the nodes live but fail
/readyz, haproxy takes them all out, and brings them back with Redis.

The config runs unchanged but for its "EDIT:" lines (proxies.render): ports, certificate
file, node addresses, and the check interval 2s -> 200ms. Exits 77 (ctest: skipped) without
haproxy or redis-server."""

import signal
import socket
import subprocess
import time
import unittest

import harness  # first: it takes --herald PATH out of sys.argv
import proxies
import tls_pki
from cluster_harness import REDIS_CLI, REDIS_SERVER, ClusterTestCase, wait_readyz
from harness import PubSubClient, sample, scrape, unique_topic

WAIT_S = 10.0
NODES = 3
CHECK_INTERVAL = "inter 200ms"


class TlsPubSubClient(PubSubClient):
    """PubSubClient over TLS to the proxy (verifying its certificate against the test CA)."""

    def __init__(self, port, context, timeout=WAIT_S):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.timeout = timeout
        self.buf = bytearray()
        self.send_failed = False
        self.eof = False


class ClusterHaproxy(proxies.Haproxy):
    """deploy/haproxy-cluster.cfg over the three nodes, plus a stats socket in the test's own
    global section (the servers' states, as haproxy sees them)."""

    CONFIG = "haproxy-cluster.cfg"

    def __init__(self, pki, node_ports):
        super().__init__(pki, None)
        self.node_ports = node_ports

    def command(self):
        with open(self.path("herald.pem"), "w") as out:
            for part in ("cert.pem", "key.pem"):
                with open(self.pki.path(part)) as f:
                    out.write(f.read())
        substitutions = {
            "bind :443": "bind 127.0.0.1:%d" % self.port,
            "/etc/haproxy/certs/herald.pem": self.path("herald.pem"),
            "inter 2s": CHECK_INTERVAL,
        }
        for i, port in enumerate(self.node_ports):
            substitutions["10.0.0.1%d:8080" % (i + 1)] = "127.0.0.1:%d" % port
        with open(self.path("herald.cfg"), "w") as f:
            f.write(proxies.render(self.CONFIG, substitutions))
        with open(self.path("global.cfg"), "w") as f:
            f.write("global\n    maxconn 1000\n    pidfile %s\n    stats socket %s\n"
                    % (self.path("haproxy.pid"), self.path("stats.sock")))
        return ["-db", "-f", self.path("global.cfg"), "-f", self.path("herald.cfg")]

    def server_states(self):
        """{server name: (status, last check)} from `show stat` on the stats socket."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(harness.IO_TIMEOUT_S)
            s.connect(self.path("stats.sock"))
            s.sendall(b"show stat\n")
            data = b""
            for _ in range(1000):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        lines = data.decode().splitlines()
        columns = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(columns, line.split(",")))
            if row.get("pxname") == "herald_nodes" and row["svname"].startswith("herald"):
                states[row["svname"]] = (row["status"], row["check_status"])
        return states


@unittest.skipUnless(REDIS_SERVER and REDIS_CLI,
                     proxies.MISSING + "redis-server and redis-cli (deploy/install-deps.sh)")
class ClusterProxyTest(ClusterTestCase):

    def setUp(self):
        self.pki = tls_pki.TestPki()
        self.addCleanup(self.pki.cleanup)
        self.context = self.pki.client_context()
        self.redis_server = redis = self.redis()
        self.nodes = []
        for _ in range(NODES):
            node = harness.Broker("--redis", redis.url,
                                  "--trusted-proxies", "127.0.0.1/32", "--workers", "2",
                                  "--drain-timeout-ms", "1000")
            self.addCleanup(node.kill)
            node.start()
            self.nodes.append(node)
        for node in self.nodes:
            self.assertEqual(wait_readyz(node.port).status, 200, node.output())
        self.proxy = ClusterHaproxy(self.pki, [node.port for node in self.nodes])
        self.addCleanup(self.proxy.stop)
        self.proxy.start()
        self.wait_states(["UP"] * NODES)

    def tearDown(self):
        for node in self.nodes:
            if node.returncode is None:  # all but a node the test drained and saw exit
                node.assert_alive()
        self.assertTrue(self.proxy.alive(), "haproxy died:\n" + self.proxy.output())

    def wait_states(self, expected):
        """Waits until haproxy reports the servers' statuses as `expected` (bounded)."""
        names = ["herald%d" % (i + 1) for i in range(NODES)]
        deadline = time.monotonic() + WAIT_S
        while True:
            states = self.proxy.server_states()
            if [states.get(name, ("?",))[0] for name in names] == expected:
                return states
            if time.monotonic() > deadline:
                self.fail("haproxy's servers %r, expected %r:\n%s"
                          % (states, expected, self.proxy.output()))
            time.sleep(0.05)

    def through_proxy(self, topic=None):
        client = TlsPubSubClient(self.proxy.port, self.context)
        self.addCleanup(client.close)
        client.open()
        if topic is not None:
            client.sub(self, topic)
        return client

    def clients_per_node(self, nodes, total):
        """Each node's open connections but the scrape's own, read until they add up to
        `total` (a health check in flight adds one for a moment)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            counts = [int(sample(scrape(node.port), "herald_connections")) - 1 for node in nodes]
            if sum(counts) == total:
                return counts
            if time.monotonic() > deadline:
                self.fail("connections per node %r, expected %d in all" % (counts, total))
            time.sleep(0.05)

    def subscribe_one_by_one(self, topic, count, nodes):
        """`count` subscribers through the proxy; returns them and the index in `nodes` of the
        node each landed on (the node whose count grew)."""
        subscribers, landed = [], []
        base = self.clients_per_node(nodes, 0)
        for n in range(count):
            subscribers.append(self.through_proxy(topic))
            counts = self.clients_per_node(nodes, n + 1)
            grown = [i for i in range(len(nodes)) if counts[i] > base[i]]
            self.assertEqual(len(grown), 1, "%r after %r" % (counts, base))
            landed.append(grown[0])
            base = counts
        return subscribers, landed

    def expect_same_message(self, subscribers, seq, data):
        for n, subscriber in enumerate(subscribers):
            event = subscriber.next_event(timeout=WAIT_S)
            self.assertEqual((event.type, event.seq, event.data), ("msg", seq, data.encode()),
                             "subscriber %d: %r" % (n, event))

    def test_spread_and_one_seq_on_every_node(self):
        topic = unique_topic("cp")
        subscribers, landed = self.subscribe_one_by_one(topic, 2 * NODES, self.nodes)
        self.assertEqual(sorted(landed), sorted(list(range(NODES)) * 2),
                         "leastconn: two subscribers on each node")
        self.assertEqual(self.clients_per_node(self.nodes, 2 * NODES), [2] * NODES)

        publisher = self.through_proxy()
        warm = self.warm_up(publisher, topic, subscribers)
        seq, _ = publisher.pub_acked(self, topic, '{"n":1}', id_raw='"p"')
        self.assertEqual(seq, warm + 1)
        self.expect_same_message(subscribers, seq, '{"n":1}')
        for subscriber in subscribers:
            with self.assertRaises(TimeoutError):
                subscriber.next_event(timeout=0.2)  # nothing twice

    def test_drained_node_leaves_the_rotation(self):
        topic = unique_topic("cp")
        subscribers, landed = self.subscribe_one_by_one(topic, NODES, self.nodes)
        self.assertEqual(sorted(landed), list(range(NODES)), "one subscriber on each node")
        gone = self.nodes[0]
        moved = subscribers[landed.index(0)]
        staying = [s for i, s in zip(landed, subscribers) if i != 0]

        gone.send_signal(signal.SIGTERM)
        event = moved.next_event(timeout=WAIT_S)
        self.assertEqual(event.type, "reconnect", repr(event))
        moved.close()  # as a client told to reconnect does (the node then need not wait for it)
        states = self.wait_states(["DOWN", "UP", "UP"])
        self.assertIn(states["herald1"][1], ("L4CON", "L7STS"),
                      "the /readyz check failed: %r" % (states,))
        self.assertEqual(gone.wait(WAIT_S), 0, gone.output())

        # The client told to move comes back through the proxy, as does a new publisher:
        # both on the nodes still in the rotation.
        live = self.nodes[1:]
        base = self.clients_per_node(live, 2)
        back = self.through_proxy(topic)
        publisher = self.through_proxy()
        self.assertEqual(self.clients_per_node(live, 4), [2, 2],
                         "from %r: the new connections went to the live nodes" % (base,))
        subscribers = staying + [back]
        warm = self.warm_up(publisher, topic, subscribers)
        seq, _ = publisher.pub_acked(self, topic, '{"after":"drain"}', id_raw='"p"')
        self.assertEqual(seq, warm + 1)
        self.expect_same_message(subscribers, seq, '{"after":"drain"}')

    def test_nodes_without_redis_leave_the_rotation(self):
        """With Redis gone every node still lives (/healthz) but fails /readyz: haproxy takes
        them all out (an HTTP status failure, L7STS, not a refused connection) and answers
        503 itself; with Redis back they return and connections through the proxy work."""
        self.redis_server.kill()
        states = self.wait_states(["DOWN"] * NODES)
        self.assertEqual({check for _, check in states.values()}, {"L7STS"}, repr(states))
        for node in self.nodes:
            self.assertEqual(harness.http_request(node.port, "GET", "/healthz").status, 200)
        client = TlsPubSubClient(self.proxy.port, self.context)
        self.addCleanup(client.close)
        client.send(harness.upgrade_request("/", extra=[("Sec-WebSocket-Protocol",
                                                         harness.SUBPROTOCOL)]))
        self.assertEqual(client.read_http_response().status, 503)

        self.redis_server.start()
        self.wait_states(["UP"] * NODES)
        topic = unique_topic("cp")
        subscriber = self.through_proxy(topic)
        publisher = self.through_proxy()
        warm = self.warm_up(publisher, topic, [subscriber])
        seq, _ = publisher.pub_acked(self, topic, '{"redis":"back"}', id_raw='"p"')
        self.assertEqual(seq, warm + 1)
        self.expect_same_message([subscriber], seq, '{"redis":"back"}')

    def test_loads_into_debians_own_config(self):
        check = subprocess.run(self.proxy.check_in_distribution_config(), capture_output=True,
                               text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)


if __name__ == "__main__":
    proxies.main()  # exit 77 on a MISSING skip (haproxy: Proxy.start; Redis: above)
