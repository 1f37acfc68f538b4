"""The admin statistics (PROTOCOL.md section 11, README "Admin page") against the real broker:
with --admin-token-file, $sys.stats and $sys.topics arrive once a second for an admin-token
client and their figures follow the traffic; anonymous and ordinary-JWT clients cannot
subscribe to $sys topics nor see them through '>'; nobody publishes there; /admin is 200 with
the token file and 404 without; herald-cli stats and topics print the figures."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
import tokens
from harness import Broker, PubSubClient

# Base64, as `head -c 32 /dev/urandom | base64` makes it: '+', '/' and '=' travel in URLs.
ADMIN_TOKEN = "q+0f3a9c5e7b/21d4e6a8c0b2d4f6e8a0c2="
SECRET = b"admin-test-secret-0123456789-abcdef"
WAIT_S = 10.0
CLI = harness.BENCH and os.path.join(os.path.dirname(harness.BENCH), "herald-cli")


def write_file(directory, name, content):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(content)
    return path


class AdminCase(unittest.TestCase):
    """A broker with two workers and an admin token file; `AUTH` adds --auth required."""

    AUTH = False

    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(prefix="herald-admin-")
        cls.addClassCleanup(shutil.rmtree, cls.directory, True)
        cls.token_file = write_file(cls.directory, "admin.token", ADMIN_TOKEN + "\n")
        flags = ["--workers", "2", "--admin-token-file", cls.token_file]
        if cls.AUTH:
            secret = write_file(cls.directory, "jwt.secret", SECRET.decode())
            flags += ["--auth", "required", "--jwt-secret-file", secret]
        cls.broker = Broker(*flags)
        cls.addClassCleanup(cls.broker.kill)
        cls.broker.start()
        cls.addClassCleanup(cls.broker.stop)  # runs before kill(), which then has no work
        cls.port = cls.broker.port

    def tearDown(self):
        self.broker.assert_alive()

    def client(self, token=None):
        client = PubSubClient(self.port, timeout=WAIT_S)
        self.addCleanup(client.close)
        path = "/" if token is None else "/?token=" + token
        key = harness.make_key()
        extra = [("Sec-WebSocket-Protocol", harness.SUBPROTOCOL)]
        client.handshake(path, request=harness.upgrade_request(path, key=key, extra=extra),
                         key=key)
        return client

    def admin(self, *topics):
        client = self.client(ADMIN_TOKEN)
        for i, topic in enumerate(topics):
            client.sub(self, topic, id_raw='"a%d"' % i)
        return client

    def next_message(self, client, topic, limit=20):
        """The next message on `topic`, its data decoded (other events skipped, bounded)."""
        for _ in range(limit):
            event = client.next_event(timeout=WAIT_S)
            if event.type == "msg" and event.topic == topic:
                return json.loads(event.raw["data"])
        self.fail("no %s message in %d events" % (topic, limit))

    def expect_error_among_messages(self, client, code, id_raw):
        """The next non-message event is the error `code` for `id_raw` (a $sys subscriber
        gets statistics in between)."""
        for _ in range(20):
            event = client.next_event(timeout=WAIT_S)
            if event.type != "msg":
                self.assertEqual((event.type, event.code, event.id), ("error", code, id_raw),
                                 repr(event))
                return
        self.fail("no error among 20 events")

    def expect_no_sys(self, client, admin, seconds=2):
        """While `admin` gets `seconds` stats messages (so they are being published), `client`
        gets nothing from $sys."""
        for _ in range(seconds):
            self.next_message(admin, "$sys.stats")
        client.pub("probe.end", '"end"', echo=True)
        for _ in range(50):
            event = client.next_event(timeout=WAIT_S)
            self.assertFalse(event.topic is not None and event.topic.startswith("$"),
                             "a $sys message reached a non-admin client: %r" % event)
            if event.type == "msg" and event.topic == "probe.end":
                return
        self.fail("the probe message never arrived")


class AdminStatsTest(AdminCase):
    def test_stats_arrive_each_second_and_follow_the_traffic(self):
        admin = self.admin("$sys.stats")
        first = self.next_message(admin, "$sys.stats")
        for field in ("connections", "subscriptions", "topics", "publishes_per_s",
                      "deliveries_per_s", "slow_consumers", "refusals", "workers", "storage",
                      "redis", "uptime_s", "version", "interval_ms"):
            self.assertIn(field, first)
        self.assertEqual(len(first["workers"]), 2)
        self.assertIsNone(first["redis"])
        self.assertEqual(first["storage"], "off")
        second = self.next_message(admin, "$sys.stats")
        self.assertGreater(second["time_ms"], first["time_ms"])
        # About a second apart, measured by the broker (not asserted on our clock).
        self.assertTrue(500 <= second["interval_ms"] <= 5000, second["interval_ms"])

        subscriber = self.client()
        subscriber.sub(self, "load.stats")
        publisher = self.client()
        count = 200
        for i in range(count):
            publisher.pub("load.stats", str(i), echo=False)
        for i in range(count):
            event = subscriber.next_event(timeout=WAIT_S)
            self.assertEqual((event.type, event.topic), ("msg", "load.stats"), repr(event))
        published = delivered = 0.0
        # The 200 publishes and their 200 deliveries show in the next few seconds' rates.
        for _ in range(6):
            stats = self.next_message(admin, "$sys.stats")
            published += stats["publishes_per_s"] * stats["interval_ms"] / 1000
            delivered += stats["deliveries_per_s"] * stats["interval_ms"] / 1000
            if published >= count and delivered >= count:
                break
        self.assertGreaterEqual(round(published), count)
        self.assertGreaterEqual(round(delivered), count)
        self.assertGreaterEqual(stats["publishes_total"], second["publishes_total"] + count)
        self.assertGreaterEqual(stats["connections"], 3)
        self.assertGreaterEqual(stats["subscriptions"], 2)

    def test_topics_lists_the_busiest_with_subscribers(self):
        admin = self.admin("$sys.topics")
        subscribers = [self.client() for _ in range(2)]
        for client in subscribers:
            client.sub(self, "busy.one")
        publisher = self.client()
        for _ in range(8):  # bounded: a few seconds of load until the table shows it
            for i in range(30):
                publisher.pub("busy.one", str(i), echo=False)
                if i % 3 == 0:
                    publisher.pub("busy.two", str(i), echo=False)
            table = self.next_message(admin, "$sys.topics")["topics"]
            rows = {row["topic"]: row for row in table}
            if "busy.one" in rows and rows["busy.one"]["subscribers"] == 2 and "busy.two" in rows:
                break
        self.assertIn("busy.one", rows, table)
        self.assertEqual(rows["busy.one"]["subscribers"], 2, table)
        self.assertGreater(rows["busy.one"]["publishes"], 0)
        self.assertTrue(all(not row["topic"].startswith("$") for row in table), table)
        order = [row["topic"] for row in table]
        self.assertLess(order.index("busy.one"), order.index("busy.two"), table)

    def test_anonymous_clients_cannot_read_sys_topics(self):
        admin = self.admin("$sys.stats")
        anonymous = self.client()
        for i, topic in enumerate(("$sys.stats", "$sys.>", "$sys.*", "$sys")):
            anonymous.command('{"op":"sub","topic":"%s","id":%d}' % (topic, i))
            anonymous.expect_error(self, "forbidden", str(i))
        anonymous.sub(self, ">")
        anonymous.sub(self, "*.stats", id_raw='"s2"')
        self.expect_no_sys(anonymous, admin)

    def test_nobody_publishes_to_sys_topics(self):
        for client in (self.client(), self.admin("$sys.stats")):
            client.command('{"op":"pub","topic":"$sys.stats","data":1,"id":"p"}')
            self.expect_error_among_messages(client, "forbidden", '"p"')
        response = harness.http_request(self.port, "POST", "/publish?topic=%24sys.stats", b"1",
                                        [("Content-Type", "application/json")])
        self.assertEqual(response.status, 403, response)

    def test_admin_page_is_served(self):
        page = harness.http_request(self.port, "GET", "/admin")
        self.assertEqual(page.status, 200, page)
        self.assertTrue(page.header("content-type").startswith("text/html"), page)
        self.assertIn(b"/admin/admin.js", page.body)
        script = harness.http_request(self.port, "GET", "/admin/admin.js")
        self.assertEqual(script.status, 200, script)
        self.assertIn(b"$sys.stats", script.body)
        with open(os.path.join(os.path.dirname(__file__), "../../clients/js/src/client.js"),
                  "rb") as f:
            module = harness.http_request(self.port, "GET", "/admin/js/client.js")
            self.assertEqual(module.status, 200, module)
            self.assertEqual(module.body, f.read())
        self.assertTrue(module.header("content-type").startswith("text/javascript"), module)
        self.assertEqual(harness.http_request(self.port, "GET", "/admin/nothing").status, 404)
        self.assertEqual(harness.http_request(self.port, "POST", "/admin").status, 405)


class AdminCliTest(AdminCase):
    def setUp(self):
        if not CLI or not os.path.exists(CLI):
            self.fail("herald-cli not found beside herald-bench: %r" % CLI)

    def cli(self, *args):
        return subprocess.run([CLI, "--port", str(self.port), *args], capture_output=True,
                              timeout=30)

    def test_stats_and_topics_print_the_figures(self):
        publisher = self.client()
        subscriber = self.client()
        subscriber.sub(self, "cli.busy")
        for i in range(20):
            publisher.pub("cli.busy", str(i), echo=False)
        stats = self.cli("stats", "--token-file", self.token_file, "--count", "2")
        self.assertEqual(stats.returncode, 0, stats.stderr)
        out = stats.stdout.decode()
        self.assertEqual(out.count("publishes/s"), 2, out)
        self.assertRegex(out, r"connections \d+  subscriptions \d+  topics \d+")
        self.assertRegex(out, r"workers busy 0:\d+% 1:\d+%")
        self.assertIn("redis not configured", out)
        for _ in range(5):  # bounded: until a second with publishes is in the table
            for i in range(20):
                publisher.pub("cli.busy", str(i), echo=False)
            topics = self.cli("topics", "--token-file", self.token_file, "--once")
            self.assertEqual(topics.returncode, 0, topics.stderr)
            if "cli.busy" in topics.stdout.decode():
                break
        out = topics.stdout.decode()
        self.assertIn("SUBSCRIBERS", out)
        self.assertRegex(out, r"cli\.busy\s+\d+\.\d\s+(\d+|-)\n")

    def test_stats_without_the_admin_token_is_refused(self):
        refused = self.cli("stats", "--once")
        self.assertEqual(refused.returncode, 1, refused)
        self.assertIn(b"forbidden", refused.stderr)
        wrong = write_file(self.directory, "wrong.token", "not-the-token")
        refused = self.cli("stats", "--once", "--token-file", wrong)
        self.assertEqual(refused.returncode, 1, refused)


class AdminWithAuthTest(AdminCase):
    """With --auth required, the admin token is accepted where a JWT is, and a JWT that allows
    every topic still does not reach $sys."""

    AUTH = True

    def test_ordinary_tokens_cannot_read_sys_topics(self):
        admin = self.admin("$sys.stats")
        jwt = tokens.hs256(SECRET, tokens.claims(sub_allow=[">"], pub_allow=[">"]))
        ordinary = self.client(jwt)
        ordinary.command('{"op":"sub","topic":"$sys.stats","id":1}')
        ordinary.expect_error(self, "forbidden", "1")
        ordinary.command('{"op":"pub","topic":"$sys.stats","data":1,"id":2}')
        ordinary.expect_error(self, "forbidden", "2")
        ordinary.sub(self, ">")
        self.expect_no_sys(ordinary, admin)

    def test_the_admin_token_reads_only_sys_topics(self):
        admin = self.admin("$sys.>")
        self.assertIn("connections", self.next_message(admin, "$sys.stats"))
        admin.command('{"op":"sub","topic":"other","id":1}')
        self.expect_error_among_messages(admin, "forbidden", "1")
        # The auth command takes the admin token too.
        late = self.client()
        late.command('{"op":"auth","token":"%s","id":1}' % ADMIN_TOKEN)
        late.expect_ack(self, "1")
        late.sub(self, "$sys.stats")
        self.assertIn("topics", self.next_message(late, "$sys.stats"))


class NoAdminTest(harness.BrokerTestCase):
    """Without --admin-token-file: no page, and $sys topics stay closed."""

    FLAGS = ("--workers", "2")

    def test_no_page_and_no_statistics(self):
        self.assertEqual(harness.http_request(self.port, "GET", "/admin").status, 404)
        self.assertEqual(harness.http_request(self.port, "GET", "/admin/admin.js").status, 404)
        client = PubSubClient(self.port, timeout=WAIT_S)
        self.addCleanup(client.close)
        client.open()
        client.command('{"op":"sub","topic":"$sys.stats","id":1}')
        client.expect_error(self, "forbidden", "1")


if __name__ == "__main__":
    unittest.main()
