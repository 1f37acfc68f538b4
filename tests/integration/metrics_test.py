"""/metrics with Prometheus's own tools, against the real broker: `promtool check metrics`
accepts a live scrape (after traffic, so every family has moved); a real Prometheus (Debian's
/usr/bin/prometheus, on a loopback port, with its own temporary storage) scrapes the broker
and answers `up` and a herald metric; and every expression of deploy/grafana-dashboard.json
names metrics the broker exposes and is valid PromQL to that Prometheus. Needs Debian's
prometheus package (deploy/install-deps.sh); exits 77 (skipped) without it."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import harness
from harness import Broker, PubSubClient

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARD = os.path.join(ROOT, "deploy", "grafana-dashboard.json")
SCRAPE_WAIT_S = 20.0


def dashboard_exprs():
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    exprs = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            exprs.append(target["expr"])
    return dashboard, exprs


def metric_names(expr):
    return set(re.findall(r"\b(herald_[a-z0-9_]+)", expr))


def as_promql(expr):
    """A dashboard expression with Grafana's variables replaced as Grafana would."""
    return expr.replace("$__rate_interval", "1m").replace("$job", ".*")


def traffic(port):
    """Some of everything: pub/sub, a refusal, HTTP publishes, so families have samples."""
    sub = PubSubClient(port)
    pub = PubSubClient(port)
    try:
        sub.open()
        pub.open()
        sub.sub(unittest.TestCase(), "m.t")
        pub.pub_acked(unittest.TestCase(), "m.t", '{"a":1}', id_raw="1")
        harness.http_request(port, "POST", "/publish?topic=m.t", b"x")
        harness.http_request(port, "GET", "/nothing")
    finally:
        sub.close()
        pub.close()


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker("--workers", "2")
        self.addCleanup(self.broker.kill)
        self.broker.start()
        traffic(self.broker.port)

    def tearDown(self):
        self.broker.stop()

    def scrape_text(self):
        response = harness.http_request(self.broker.port, "GET", "/metrics")
        self.assertEqual(response.status, 200)
        return response.body

    def test_promtool_accepts_live_metrics(self):
        result = subprocess.run([PROMTOOL, "check", "metrics"], input=self.scrape_text(),
                                capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 0,
                         "promtool check metrics:\n%s%s" % (result.stdout.decode(),
                                                            result.stderr.decode()))

    def test_dashboard_names_only_exposed_metrics(self):
        dashboard, exprs = dashboard_exprs()
        self.assertEqual(dashboard["schemaVersion"], 38)
        self.assertIn("DS_PROMETHEUS", [i["name"] for i in dashboard["__inputs"]])
        self.assertGreaterEqual(len(exprs), 10)
        exposed = set(harness.parse_prometheus(self.scrape_text().decode()))
        for expr in exprs:
            names = metric_names(expr)
            self.assertTrue(names, "an expression with no herald metric: %s" % expr)
            self.assertLessEqual(names, exposed, "not in /metrics, in %s" % expr)

    def test_a_real_prometheus_scrapes_the_broker(self):
        directory = tempfile.mkdtemp(prefix="herald-prometheus-")
        self.addCleanup(shutil.rmtree, directory, True)
        config = os.path.join(directory, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: herald\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % self.broker.port)
        port = harness.free_port()
        log = open(os.path.join(directory, "prometheus.log"), "wb")
        self.addCleanup(log.close)
        process = subprocess.Popen(
            [PROMETHEUS, "--config.file", config, "--storage.tsdb.path",
             os.path.join(directory, "data"), "--web.listen-address", "127.0.0.1:%d" % port],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)

        def stop():
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.addCleanup(stop)

        def query(expr):
            url = "http://127.0.0.1:%d/api/v1/query?%s" % (
                port, urllib.parse.urlencode({"query": expr}))
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return json.load(response)
            except OSError:
                return None
            except ValueError:
                return None

        def value(expr):
            answer = query(expr)
            if answer is None or answer.get("status") != "success":
                return None
            result = answer["data"]["result"]
            return float(result[0]["value"][1]) if result else None

        deadline = time.monotonic() + SCRAPE_WAIT_S
        up = published = None
        while time.monotonic() < deadline and process.poll() is None:
            up = value('up{job="herald"}')
            published = value("herald_messages_published_total")
            if up == 1 and published is not None:
                break
            time.sleep(0.25)
        with open(os.path.join(directory, "prometheus.log"), "rb") as f:
            output = f.read().decode("utf-8", "replace")[-3000:]
        self.assertIsNone(process.poll(), "prometheus exited:\n" + output)
        self.assertEqual(up, 1, "the target is not up after %.0f s:\n%s" % (SCRAPE_WAIT_S, output))
        self.assertGreaterEqual(published, 2, "herald_messages_published_total")
        # Every dashboard expression is valid PromQL to this Prometheus.
        for expr in dashboard_exprs()[1]:
            answer = query(as_promql(expr))
            self.assertIsNotNone(answer, expr)
            self.assertEqual(answer.get("status"), "success", "%s: %r" % (expr, answer))


if __name__ == "__main__":
    if PROMTOOL is None or PROMETHEUS is None:
        print("SKIPPED: promtool and prometheus are needed (Debian's prometheus package, "
              "deploy/install-deps.sh)", file=sys.stderr)
        sys.exit(77)
    unittest.main()
