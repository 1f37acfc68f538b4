"""Authentication and authorization (PROTOCOL.md section 10) against the real broker: tokens
in the query string, the Authorization header and the auth command; expired, not-yet-valid,
badly signed and malformed tokens; per-topic denials for subscribe and publish over
WebSocket and HTTP; refresh; 4001 and 4003 closes; RS256 and ES256 keys; Origin checks."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
import tokens
from harness import Broker, PubSubClient, http_request, sample, scrape, unique_topic

SECRET = b"integration-secret-0123456789-abcdef"
HANDSHAKE_TIMEOUT_MS = 1500


def publish(port, topic, body=b"1", token=None):
    headers = [("Content-Type", "application/json")]
    if token is not None:
        headers.append(("Authorization", "Bearer " + token))
    return http_request(port, "POST", "/publish?topic=" + topic, body, headers)


class SecretBrokerCase(harness.BrokerTestCase):
    """A broker with --auth required and an HS256 secret file."""

    EXTRA_FLAGS = ()

    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(prefix="herald-auth-")
        cls.addClassCleanup(shutil.rmtree, cls.directory, True)
        secret_file = os.path.join(cls.directory, "secret")
        with open(secret_file, "wb") as f:
            f.write(SECRET + b"\n")  # a trailing newline, as `echo` writes it
        cls.FLAGS = ("--auth", "required", "--jwt-secret-file", secret_file,
                     "--handshake-timeout-ms", str(HANDSHAKE_TIMEOUT_MS)) + cls.EXTRA_FLAGS
        super().setUpClass()

    def token(self, **kw):
        return tokens.hs256(SECRET, tokens.claims(**kw))

    def client(self, path="/", token=None, extra=()):
        client = PubSubClient(self.port)
        self.addCleanup(client.close)
        if token is not None:
            path += "?token=" + token
        extra = [("Sec-WebSocket-Protocol", harness.SUBPROTOCOL), *extra]
        key = harness.make_key()
        client.handshake(path, request=harness.upgrade_request(path, key=key, extra=extra),
                         key=key)
        return client

    def refused(self, path="/", extra=()):
        client = PubSubClient(self.port)
        self.addCleanup(client.close)
        extra = [("Sec-WebSocket-Protocol", harness.SUBPROTOCOL), *extra]
        client.send(harness.upgrade_request(path, extra=extra))
        return client.read_http_response()


class WebSocketAuthTest(SecretBrokerCase):

    def test_query_token_permits_its_topics_and_forbids_others(self):
        a, b = unique_topic("a"), unique_topic("b")
        client = self.client(token=self.token(sub_allow=[a + ".>"], pub_allow=[a + ".*"]))
        client.sub(self, a + ".>")
        client.sub(self, a + ".x")
        client.command('{"op":"sub","topic":"%s","id":"s2"}' % b)
        event = client.expect_error(self, "forbidden", '"s2"')
        self.assertIn(b, event.frame.decode())
        # A pattern wider than the grant is refused even though some topics it matches are
        # allowed: "every topic it can match" (section 10).
        wider = a.split(".")[0] + ".>"
        client.command('{"op":"sub","topic":"%s","id":"s3"}' % wider)
        client.expect_error(self, "forbidden", '"s3"')
        client.command('{"op":"sub","topic":">","id":"s4"}')
        client.expect_error(self, "forbidden", '"s4"')
        seq, before = client.pub_acked(self, a + ".x", "7", id_raw="9")
        self.assertEqual(seq, 1)
        client.pub(a + ".x.y", "1", id_raw="10")
        event = client.expect_error(self, "forbidden", "10")
        self.assertIn(a + ".x.y", event.frame.decode())
        # Denials are replies, not disconnects: the connection still works.
        client.sub(self, a + ".y", id_raw='"again"')

    def test_binary_publishes_are_checked_too(self):
        topic = unique_topic("bin")
        client = self.client(token=self.token(pub_allow=[topic]))
        client.send_binary(harness.encode_publish_binary(topic, b"\x00\x01", id=5))
        client.expect_ack(self, "5", seq=True)
        client.send_binary(harness.encode_publish_binary(topic + ".x", b"\x02", id=6))
        event = client.expect_error(self, "forbidden", "6")
        self.assertIn(topic + ".x", event.frame.decode())

    def test_bearer_header_at_the_upgrade(self):
        topic = unique_topic("h")
        token = self.token(sub_allow=[topic], pub_allow=[topic])
        client = self.client(extra=[("Authorization", "Bearer " + token)])
        client.sub(self, topic)
        client.pub_acked(self, topic, '"x"')

    def test_auth_command_first_and_before_it_unauthorized(self):
        topic = unique_topic("c")
        client = self.client()
        client.command('{"op":"sub","topic":"%s","id":"early"}' % topic)
        client.expect_error(self, "unauthorized", '"early"')
        client.pub(topic, "1", id_raw="2")
        client.expect_error(self, "unauthorized", "2")
        client.command('{"op":"auth","token":"%s","id":"a1"}' % self.token(sub_allow=[topic]))
        client.expect_ack(self, '"a1"')
        client.sub(self, topic)

    def test_refresh_replaces_permissions(self):
        first, second = unique_topic("r1"), unique_topic("r2")
        client = self.client(token=self.token(sub_allow=[first]))
        client.command('{"op":"auth","token":"%s","id":7}' % self.token(sub_allow=[second]))
        client.expect_ack(self, "7")
        client.command('{"op":"sub","topic":"%s","id":8}' % first)
        client.expect_error(self, "forbidden", "8")
        client.sub(self, second)

    def test_invalid_tokens_are_refused_at_the_upgrade(self):
        now = int(time.time())
        bad = {
            "expired": tokens.hs256(SECRET, tokens.claims(exp_in=-3600)),
            "not yet valid": tokens.hs256(SECRET, tokens.claims(nbf=now + 3600)),
            "bad signature": tokens.hs256(b"another-secret-another-secret-xx", tokens.claims()),
            "alg none": tokens.signing_input("none", tokens.claims()) + ".",
            "malformed": "not.a.token",
            "garbage": "%00%ff",
            "no exp": tokens.hs256(SECRET, {"sub": "x", "sub_allow": [">"]}),
        }
        for what, token in bad.items():
            response = self.refused("/?token=" + token)
            self.assertEqual(response.status, 401, "%s: %r" % (what, response))
            response = self.refused("/", extra=[("Authorization", "Bearer " + token)])
            self.assertEqual(response.status, 401, "%s in the header: %r" % (what, response))

    def test_invalid_auth_command_keeps_the_previous_grant(self):
        topic = unique_topic("k")
        client = self.client(token=self.token(sub_allow=[topic]))
        expired = tokens.hs256(SECRET, tokens.claims(sub_allow=[">"], exp_in=-3600))
        for i, token in enumerate([expired, "x.y.z", ""]):
            client.command('{"op":"auth","token":"%s","id":%d}' % (token, i))
            client.expect_error(self, "unauthorized", str(i))
        client.command('{"op":"auth","id":5}')
        client.expect_error(self, "bad_request", "5")
        client.sub(self, topic)

    def test_no_token_in_time_closes_4001(self):
        client = self.client()
        client.expect_close(4001, timeout=HANDSHAKE_TIMEOUT_MS / 1000 + 5, reply=True)

    def test_expiry_without_refresh_closes_4003(self):
        # Valid for about two more seconds: exp is 28 s ago, and the leeway is 30 s.
        client = self.client(token=self.token(sub_allow=[">"], exp_in=-28))
        client.sub(self, unique_topic("e"))
        client.expect_close(4003, timeout=10, reply=True)

    def test_refresh_before_expiry_keeps_the_connection(self):
        client = self.client(token=self.token(sub_allow=[">"], exp_in=-28))
        client.command('{"op":"auth","token":"%s","id":1}' % self.token(sub_allow=[">"]))
        client.expect_ack(self, "1")
        # Past the first token's expiry (and a sweep), the connection still answers.
        time.sleep(4)
        client.sub(self, unique_topic("f"))

    def test_the_readme_token_one_liner(self):
        readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                              "README.md")
        with open(readme) as f:
            text = f.read()
        block = text.split("<!-- mint-token -->")[1].split("<!-- /mint-token -->")[0]
        command = block.strip().removeprefix("```sh").removesuffix("```").strip()
        with open(os.path.join(self.directory, "secret.key"), "wb") as f:
            f.write(SECRET + b"\n")
        result = subprocess.run(["bash", "-c", command], cwd=self.directory, check=True,
                                capture_output=True, text=True, timeout=30)
        token = result.stdout.strip()
        client = self.client(token=token)
        client.sub(self, "prices.>")
        client.pub_acked(self, "prices.x", "1")

    def test_metrics_count_refusals(self):
        before = scrape(self.port)
        self.refused("/?token=bad")
        client = self.client(token=self.token())
        client.command('{"op":"sub","topic":"x","id":1}')
        client.expect_error(self, "forbidden", "1")
        after = scrape(self.port)
        for reason in ("unauthorized", "forbidden"):
            self.assertGreaterEqual(
                sample(after, "herald_refusals_total", reason=reason),
                sample(before, "herald_refusals_total", reason=reason) + 1, reason)


class HttpPublishAuthTest(SecretBrokerCase):

    def test_missing_invalid_forbidden_and_allowed(self):
        topic = unique_topic("p")
        subscriber = self.client(token=self.token(sub_allow=[topic]))
        subscriber.sub(self, topic)
        self.assertEqual(publish(self.port, topic).status, 401)
        self.assertEqual(publish(self.port, topic, token="bad").status, 401)
        expired = tokens.hs256(SECRET, tokens.claims(pub_allow=[topic], exp_in=-3600))
        self.assertEqual(publish(self.port, topic, token=expired).status, 401)
        other = self.token(pub_allow=[topic + ".sub"])
        response = publish(self.port, topic, token=other)
        self.assertEqual(response.status, 403, response)
        self.assertIn(topic.encode(), response.body)
        response = publish(self.port, topic, b'{"v":1}', token=self.token(pub_allow=[topic]))
        self.assertEqual(response.status, 200, response)
        event = subscriber.next_event()
        self.assertEqual((event.type, event.topic, event.data), ("msg", topic, b'{"v":1}'))


class CliAuthTest(SecretBrokerCase):
    """herald-cli reaches an auth-required broker with the token in --path."""

    def test_cli_with_a_token_in_the_path(self):
        cli = harness.BENCH and os.path.join(os.path.dirname(harness.BENCH), "herald-cli")
        if not cli or not os.path.exists(cli):
            self.fail("herald-cli not found beside herald-bench: %r" % cli)
        topic = unique_topic("cli")
        token = self.token(pub_allow=[topic])

        def pub(path, target):
            return subprocess.run([cli, "--port", str(self.port), "--path", path, "pub", target,
                                   "1"], capture_output=True, text=True, timeout=30)

        result = pub("/?token=" + token, topic)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "1")
        result = pub("/?token=" + token, topic + ".other")
        self.assertEqual(result.returncode, 1)
        self.assertIn("forbidden", result.stderr)
        result = pub("/", topic)
        self.assertEqual(result.returncode, 1)
        self.assertIn("unauthorized", result.stderr)


class KeyBrokerCase(harness.BrokerTestCase):
    KIND = None

    @classmethod
    def setUpClass(cls):
        if cls.KIND is None:
            raise unittest.SkipTest("the base of Rs256Test and Es256Test")
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("the openssl tool is not installed (deploy/install-deps.sh)")
        cls.directory = tempfile.mkdtemp(prefix="herald-keys-")
        cls.addClassCleanup(shutil.rmtree, cls.directory, True)
        cls.keys = tokens.KeyPair(cls.directory, cls.KIND)
        cls.FLAGS = ("--auth", "required", "--jwt-public-key", cls.keys.public)
        super().setUpClass()

    def test_good_and_bad_tokens(self):
        topic = unique_topic(self.KIND)
        client = PubSubClient(self.port)
        self.addCleanup(client.close)
        token = self.keys.token(tokens.claims(sub_allow=[topic]))
        path = "/?token=" + token
        key = harness.make_key()
        client.handshake(path, key=key, request=harness.upgrade_request(
            path, key=key, extra=[("Sec-WebSocket-Protocol", harness.SUBPROTOCOL)]))
        client.sub(self, topic)
        client.command('{"op":"sub","topic":"other","id":2}')
        client.expect_error(self, "forbidden", "2")
        # Signed by another key of the same kind; and an HS256 token using the public key
        # as its secret (algorithm confusion).
        other_directory = os.path.join(self.directory, "other")
        os.mkdir(other_directory)
        other = tokens.KeyPair(other_directory, self.KIND)
        with open(self.keys.public, "rb") as f:
            forged = tokens.hs256(f.read(), tokens.claims(sub_allow=[">"]))
        for bad in (forged, other.token(tokens.claims(sub_allow=[">"]))):
            client.command('{"op":"auth","token":"%s","id":3}' % bad)
            client.expect_error(self, "unauthorized", "3")
        self.assertEqual(publish(self.port, topic, token=token).status, 403)
        self.assertEqual(publish(self.port, topic, token=self.keys.token(
            tokens.claims(pub_allow=[topic]))).status, 200)


class Rs256Test(KeyBrokerCase):
    KIND = "rsa"


class Es256Test(KeyBrokerCase):
    KIND = "ec"


class OriginTest(harness.BrokerTestCase):
    FLAGS = ("--allowed-origins", "https://app.example.com, *.trusted.org",
             "--allow-missing-origin", "false")

    def status(self, origin):
        client = PubSubClient(self.port)
        self.addCleanup(client.close)
        extra = [("Sec-WebSocket-Protocol", harness.SUBPROTOCOL)]
        if origin is not None:
            extra.append(("Origin", origin))
        client.send(harness.upgrade_request("/", extra=extra))
        return client.read_http_response().status

    def test_allowed_and_refused(self):
        self.assertEqual(self.status("https://app.example.com"), 101)
        self.assertEqual(self.status("https://chat.trusted.org"), 101)
        self.assertEqual(self.status("http://a.b.trusted.org:8080"), 101)
        before = sample(scrape(self.port), "herald_refusals_total", reason="origin")
        self.assertEqual(self.status("https://evil.example"), 403)
        self.assertEqual(self.status("http://app.example.com"), 403)
        self.assertEqual(self.status("https://trusted.org.evil.example"), 403)
        self.assertEqual(self.status("null"), 403)
        self.assertEqual(self.status(None), 403)
        after = sample(scrape(self.port), "herald_refusals_total", reason="origin")
        self.assertEqual(after - before, 5)


class OriginMissingAllowedTest(harness.BrokerTestCase):
    FLAGS = ("--allowed-origins", "https://app.example.com")

    def test_non_browser_clients_without_origin(self):
        client = PubSubClient(self.port)
        self.addCleanup(client.close)
        client.open()
        client.sub(self, unique_topic("m"))


class AuthOffTest(harness.BrokerTestCase):
    FLAGS = ()

    def test_logs_auth_off_and_acks_auth(self):
        # Printed once the workers run, which the start-up probe may beat: poll (bounded).
        for _ in range(50):
            if "auth off" in self.broker.output():
                break
            time.sleep(0.1)
        self.assertIn("auth off", self.broker.output())
        client = PubSubClient(self.port)
        self.addCleanup(client.close)
        client.open()
        client.command('{"op":"auth","token":"anything","id":1}')
        client.expect_ack(self, "1")
        client.sub(self, ">")


class StartupTest(unittest.TestCase):

    def run_herald(self, *flags):
        return harness.run_herald(["--port", "0", *flags])

    def test_bad_settings_fail_at_start(self):
        directory = tempfile.mkdtemp(prefix="herald-start-")
        self.addCleanup(shutil.rmtree, directory, True)
        short = os.path.join(directory, "short")
        with open(short, "w") as f:
            f.write("short\n")
        cases = [
            (("--auth", "required"), "exactly one"),
            (("--auth", "required", "--jwt-secret-file", short), "32"),
            (("--auth", "required", "--jwt-secret-file", os.path.join(directory, "none")),
             "cannot read"),
            (("--auth", "required", "--jwt-public-key", short), "PEM"),
            (("--jwt-secret-file", short), "--auth required"),
            (("--allowed-origins", "example.com"), "scheme"),
            (("--auth", "maybe"), "off or required"),
        ]
        for flags, text in cases:
            result = self.run_herald(*flags)
            self.assertNotIn(result.returncode, (0, None), flags)
            self.assertIn(text, result.stderr, flags)


if __name__ == "__main__":
    unittest.main()
