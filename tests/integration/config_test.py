"""The configuration against the real binary: a --config file that takes effect, HERALD_
variables over the file and flags over both, --print-config and its sources, bad files and
variables that exit 2 naming their place, the sample deploy/herald.toml, the README's history
rules, and SIGHUP applying the Origin list and a rotated JWT secret while naming what needs a
restart."""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness
import tls_pki
import tokens
from harness import Broker, RawClient, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, "deploy", "herald.toml")
README = os.path.join(ROOT, "README.md")


def clean_env(**variables):
    """This process's environment without HERALD_ variables (HERALD_IO steers the harness's
    brokers), plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env.update(variables)
    return env


def herald(args, env=None, timeout=5.0):
    return subprocess.run([harness.HERALD, *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout,
                          env=clean_env(**(env or {})))


def print_config(args, env=None):
    """--print-config's output as {key: (value, source)}; commented lines are left out."""
    result = herald([*args, "--print-config"], env)
    if result.returncode != 0:
        raise AssertionError("--print-config exited %s: %s" % (result.returncode, result.stderr))
    settings = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^([a-z-]+) = (.*?)\s+# (.*)$", line)
        if match:
            settings[match.group(1)] = (match.group(2), match.group(3))
    return settings, result.stdout


class ConfigFile:
    """A TOML file in a temporary directory, rewritable."""

    def __init__(self, testcase, text):
        directory = tempfile.TemporaryDirectory()
        testcase.addCleanup(directory.cleanup)
        self.path = os.path.join(directory.name, "herald.toml")
        self.write(text)

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)


def wait_listening(port, proc, timeout=harness.START_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class FileTakesEffectTest(unittest.TestCase):
    """A broker started with nothing but --config: its port, route and message limit."""

    def start(self, text, env=None, args=()):
        config = ConfigFile(self, text)
        log = tempfile.TemporaryFile()
        self.addCleanup(log.close)
        proc = subprocess.Popen([harness.HERALD, "--config", config.path, *harness.IO_FLAGS,
                                 *args], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=clean_env(**(env or {})))

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=10), 0)
        self.addCleanup(stop)
        return proc, log

    def test_port_echo_and_message_limit_from_the_file(self):
        port = free_port()
        proc, log = self.start('host = "127.0.0.1"\nport = %d\necho = true\n'
                               "max-message-bytes = 1024\n" % port)
        if not wait_listening(port, proc):
            self.fail("not listening on the file's port %d: %s"
                      % (port, os.pread(log.fileno(), 8000, 0).decode("utf-8", "replace")))
        client = RawClient(port)
        self.addCleanup(client.close)
        client.handshake("/echo")  # echo = true
        client.echo(self, harness.OP_TEXT, b"x" * 1000)
        client.send_text(b"x" * 1025)
        client.expect_close(1009)

    def test_environment_overrides_the_file_and_a_flag_the_environment(self):
        file_port, env_port, flag_port = free_port(), free_port(), free_port()
        text = 'host = "127.0.0.1"\nport = %d\n' % file_port
        proc, _ = self.start(text, env={"HERALD_PORT": str(env_port)})
        self.assertTrue(wait_listening(env_port, proc), "HERALD_PORT not in force")
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", file_port), timeout=0.5).close()
        proc, _ = self.start(text, env={"HERALD_PORT": str(free_port())},
                             args=("--port", str(flag_port)))
        self.assertTrue(wait_listening(flag_port, proc), "--port not in force over HERALD_PORT")


class PrintConfigTest(unittest.TestCase):
    def test_values_and_sources(self):
        config = ConfigFile(self, "max-topics = 5\nmax-connections = 10\nport = 1\n")
        settings, text = print_config(["--config", config.path, "--port", "3"],
                                      env={"HERALD_MAX_CONNECTIONS": "20", "HERALD_PORT": "2"})
        self.assertEqual(settings["port"], ("3", "flag --port"), text)
        self.assertEqual(settings["max-connections"], ("20", "env HERALD_MAX_CONNECTIONS"), text)
        self.assertEqual(settings["max-topics"], ("5", "file %s:1" % config.path), text)
        self.assertEqual(settings["max-message-bytes"], ("16777216", "default"), text)
        # Every setting of --help (but help, config and print-config) has a line.
        flags = re.findall(r"^  --([a-z-]+)", herald(["--help"]).stdout, re.M)
        for flag in flags:
            if flag not in ("help", "config", "print-config"):
                self.assertRegex(text, r"(?m)^(# )?%s[ =]" % re.escape(flag))

    def test_the_output_is_a_config_file(self):
        _, text = print_config(["--max-topics", "7", "--history", "a.>=memory,count=3"])
        config = ConfigFile(self, text)
        settings, _ = print_config(["--config", config.path])
        self.assertEqual(settings["max-topics"][0], "7")
        self.assertEqual(settings["history"][0], '["a.>=memory,count=3"]')


class BadConfigTest(unittest.TestCase):
    def expect_exit_2(self, args, message, env=None):
        result = herald(args, env)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(message, result.stderr)
        self.assertEqual(result.stdout, "")

    def test_bad_files_name_file_line_and_key(self):
        for text, message in [
                ("port = 1\nmax-conections = 3\n", ":2: max-conections: unknown key"),
                ("\nport = \"8080\"\n", ":2: port: expected an integer, got a string"),
                ("max-queued-bytes = 10\n", ":1: max-queued-bytes: 10 is out of range"),
                ('slow-consumer-policy = "block"\n', ":1: slow-consumer-policy: 'block' is not"),
                ("history = [\"a.>=floppy\"]\n", ":1: history: "),
                ("port = \n", ":1:8: "),
        ]:
            config = ConfigFile(self, text)
            self.expect_exit_2(["--config", config.path], config.path + message)

    def test_bad_variables_name_the_variable(self):
        self.expect_exit_2([], "HERALD_MAX_CONNECTIONS: not a number: 'many'",
                           env={"HERALD_MAX_CONNECTIONS": "many"})
        self.expect_exit_2([], "HERALD_CONFIG: cannot read /nonexistent.toml",
                           env={"HERALD_CONFIG": "/nonexistent.toml"})

    def test_missing_file(self):
        self.expect_exit_2(["--config", "/nonexistent.toml"], "--config: cannot read")


class SampleTest(unittest.TestCase):
    """deploy/herald.toml loads, and names every setting of the table."""

    def test_sample_loads_and_names_every_setting(self):
        settings, text = print_config(["--config", SAMPLE])
        with open(SAMPLE) as f:
            sample = f.read()
        keys = re.findall(r"(?m)^(?:# )?([a-z-]+)(?: = | unset )", text)
        self.assertGreater(len(keys), 30)
        for key in keys:
            self.assertIsNotNone(re.search(r"(?m)^(# )?%s = " % re.escape(key), sample),
                                 "deploy/herald.toml does not mention %s" % key)
        # Every key written in the sample comes from it; the commented ones parse too.
        for key in re.findall(r"(?m)^([a-z-]+) = ", sample):
            self.assertTrue(settings[key][1].startswith("file " + SAMPLE), (key, settings[key]))
        # The several-nodes block excludes the single node's rocksdb and memory rules: it is
        # uncommented on its own, with a redis rule.
        start = sample.index("# --- Several nodes")
        end = sample.index("# ---", start + 1)
        single, several = sample[:start] + sample[end:], sample[start:end]
        uncommented = re.sub(r"(?m)^# ([a-z-]+ = )", r"\1", single)
        uncommented = re.sub(r"(?m)^#   ", "  ", uncommented).replace("# ]", "]")
        config = ConfigFile(self, uncommented)
        settings, _ = print_config(["--config", config.path])
        self.assertIn("rocksdb", settings["history"][0])
        self.assertEqual(settings["tls-port"][0], "8443")
        password = ConfigFile(self, "secret\n")
        several = re.sub(r"(?m)^# ([a-z-]+ = )", r"\1", several)
        several = several.replace("/etc/herald/redis-password", password.path)
        several = re.sub(r"(?m)^redis-tls-ca-file = .*$", "", several)
        config = ConfigFile(self, several + 'history = ["feeds.>=redis,count=1000,age=1h"]\n')
        settings, _ = print_config(["--config", config.path])
        self.assertIn("redis://127.0.0.1:6379/0", settings["redis"][0])
        self.assertIn("redis,count=1000", settings["history"][0])


class HistoryGrammarTest(unittest.TestCase):
    """The README's rules are accepted; a rule without a bound is refused as --help says."""

    def test_readme_rules_parse(self):
        with open(README) as f:
            rules = re.findall(r"--history '([^']+)'", f.read())
        self.assertGreater(len(rules), 3)
        for rule in rules:
            rule = re.sub(r"\[,durability=sync\]", ",durability=sync", rule)
            # A redis rule needs --redis (several nodes); the others stand alone.
            cluster = ["--redis", "redis://127.0.0.1:6379"] if "=redis" in rule else []
            result = herald([*cluster, "--history", rule, "--print-config"])
            self.assertEqual(result.returncode, 0, (rule, result.stderr))

    def test_unbounded_rocksdb_rule(self):
        result = herald(["--history", "x.>=rocksdb,durability=sync"])
        self.assertEqual(result.returncode, 2)
        self.assertIn("a rocksdb rule needs count=, age= or bytes=", result.stderr)
        self.assertIn("rocksdb at least one of the three", herald(["--help"]).stdout)


class ReloadTest(unittest.TestCase):
    """SIGHUP: the Origin list changes at once; a limit is logged as needing a restart; a
    broken file changes nothing."""

    def status(self, port, origin=None, token=None):
        """The status of a handshake with this Origin or token; the connection is dropped."""
        client = RawClient(port)
        try:
            if token is None:
                client.send(harness.upgrade_request("/echo", extra=[("Origin", origin)]))
            else:
                client.send(harness.upgrade_request(
                    "/?token=" + token, extra=[("Sec-WebSocket-Protocol", harness.SUBPROTOCOL)]))
            return client.read_http_response().status
        finally:
            client.close()

    def wait_log(self, broker, text, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in broker.output():
                return
            time.sleep(0.05)
        self.fail("no %r in the log:\n%s" % (text, broker.output()))

    def test_sighup(self):
        config = ConfigFile(self, 'allowed-origins = "https://a.example"\n')
        broker = Broker("--echo", "--config", config.path)
        self.addCleanup(broker.kill)
        broker.start()
        self.assertEqual(self.status(broker.port, "https://a.example"), 101)
        self.assertEqual(self.status(broker.port, "https://b.example"), 403)

        config.write('allowed-origins = "https://b.example"\nmax-connections = 5\n')
        broker.send_signal(signal.SIGHUP)
        self.wait_log(broker, 'SIGHUP: allowed-origins "https://a.example" -> '
                              '"https://b.example" (applied)')
        self.wait_log(broker, "SIGHUP: max-connections 0 -> 5 needs a restart; "
                              "still 0")
        self.assertEqual(self.status(broker.port, "https://b.example"), 101)
        self.assertEqual(self.status(broker.port, "https://a.example"), 403)

        config.write('allowed-origins = "https://c.example"\nnope = 1\n')
        broker.send_signal(signal.SIGHUP)
        self.wait_log(broker, "SIGHUP: configuration refused, nothing changed: "
                              + config.path + ":2: nope: unknown key")
        self.assertEqual(self.status(broker.port, "https://b.example"), 101)
        self.assertEqual(self.status(broker.port, "https://c.example"), 403)
        broker.stop()

    def test_sighup_moves_to_new_certificate_paths(self):
        pki = tls_pki.TestPki()
        self.addCleanup(pki.cleanup)
        tls_port = free_port()
        text = 'tls-port = %d\ncert = "%s"\nkey = "%s"\n'
        config = ConfigFile(self, text % (tls_port, pki.path("leaf1.chain.pem"),
                                          pki.path("leaf1.key")))
        broker = Broker("--config", config.path)
        self.addCleanup(broker.kill)
        broker.start()
        context = pki.client_context()
        self.assertEqual(tls_pki.https_get(tls_port, context)[1]["cn"], "herald-leaf1")
        config.write(text % (free_port(), pki.path("leaf2.chain.pem"), pki.path("leaf2.key")))
        broker.send_signal(signal.SIGHUP)
        self.wait_log(broker, 'SIGHUP: cert "%s" -> "%s" (applied)'
                      % (pki.path("leaf1.chain.pem"), pki.path("leaf2.chain.pem")))
        self.wait_log(broker, "SIGHUP: tls-port %d -> " % tls_port)
        self.assertIn("needs a restart; still %d" % tls_port, broker.output())
        self.assertEqual(tls_pki.https_get(tls_port, context)[1]["cn"], "herald-leaf2")
        broker.stop()

    def test_sighup_rotates_the_jwt_secret(self):
        first, second = b"first-secret-first-secret-first-", b"second-secret-second-secret-sec-"
        secret = ConfigFile(self, "")
        with open(secret.path, "wb") as f:
            f.write(first)
        config = ConfigFile(self, 'auth = "required"\njwt-secret-file = "%s"\n' % secret.path)
        broker = Broker("--config", config.path)
        self.addCleanup(broker.kill)
        broker.start()
        old_token = tokens.hs256(first, tokens.claims(sub_allow=[">"]))
        new_token = tokens.hs256(second, tokens.claims(sub_allow=[">"]))
        self.assertEqual(self.status(broker.port, token=old_token), 101)
        self.assertEqual(self.status(broker.port, token=new_token), 401)
        with open(secret.path, "wb") as f:  # the same path, a new secret
            f.write(second)
        broker.send_signal(signal.SIGHUP)
        self.wait_log(broker, "JWT key reloaded from " + secret.path)
        self.assertEqual(self.status(broker.port, token=new_token), 101)
        self.assertEqual(self.status(broker.port, token=old_token), 401)
        # A secret that does not load keeps the previous one.
        with open(secret.path, "wb") as f:
            f.write(b"short")
        broker.send_signal(signal.SIGHUP)
        self.wait_log(broker, "access reload refused, keeping the previous key")
        self.assertEqual(self.status(broker.port, token=new_token), 101)
        broker.stop()


if __name__ == "__main__":
    unittest.main()
