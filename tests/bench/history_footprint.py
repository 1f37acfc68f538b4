"""Broker memory and disk with many stored messages (issue 4's "RSS and disk use with 10
million stored messages"): starts the real broker with RocksDB history on a fresh data
directory, publishes --messages messages through herald-bench (one topic, one subscriber),
then reports the broker's RSS and peak RSS, the data directory's size once RocksDB has
settled, and the RSS of a broker restarted on the same directory (which reloads only topic
records, not messages). Prints one JSON line.

usage: /usr/bin/python3 tests/bench/history_footprint.py --build build/release
       [--messages 10000000] [--payload-bytes 64] [--broker-cpu 0] [--bench-cpu 1]"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit("no %s for pid %d" % (field, pid))


def tree_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def wait_listening(port, proc):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("broker exited with %d" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("broker did not listen on %d" % port)


def start_broker(args, data_dir, port):
    command = ["taskset", "-c", args.broker_cpu, os.path.join(args.build, "broker/herald"),
               "--port", str(port), "--workers", "1", "--data-dir", data_dir,
               "--history", "bench.>=rocksdb,count=1000000000"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc


def stop_broker(proc):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def settled_size(path, timeout_s=60):
    """The directory's size once two readings a second apart agree (flushes and compactions
    done), or the last reading at the timeout."""
    previous = -1
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        size = tree_bytes(path)
        if size == previous:
            return size
        previous = size
        time.sleep(1)
    return previous


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build/release")
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--payload-bytes", type=int, default=64)
    parser.add_argument("--broker-cpu", default="0")
    parser.add_argument("--bench-cpu", default="1")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="herald-footprint-")
    result = {"messages": args.messages, "payload_bytes": args.payload_bytes}
    try:
        port = free_port()
        broker = start_broker(args, data_dir, port)
        result["rss_empty_kib"] = status_kib(broker.pid, "VmRSS")
        bench = [
            "taskset", "-c", args.bench_cpu, os.path.join(args.build, "clients/cpp/herald-bench"),
            "fanout", "--port", str(port), "--subscribers", "1", "--topic", "bench.footprint",
            "--rate", "0", "--publish-window", "4096", "--payload-bytes",
            str(args.payload_bytes), "--warmup-s", "0", "--duration-s", "600",
            "--messages", str(args.messages), "--server-pid", str(broker.pid)]
        ran = subprocess.run(bench, capture_output=True, text=True, timeout=900)
        if ran.returncode != 0:
            raise SystemExit("herald-bench failed (%d): %s" % (ran.returncode, ran.stderr[-2000:]))
        fanout = json.loads(ran.stdout)["results"]
        if fanout["published_total"] != args.messages or fanout["lost"] or fanout["gaps"]:
            raise SystemExit("publishing went wrong: %s" % json.dumps(fanout)[:2000])
        result["publish_per_s"] = fanout["publish_per_s"]
        result["rss_after_kib"] = status_kib(broker.pid, "VmRSS")
        result["rss_peak_kib"] = status_kib(broker.pid, "VmHWM")
        result["disk_bytes"] = settled_size(data_dir)
        result["rss_settled_kib"] = status_kib(broker.pid, "VmRSS")
        stop_broker(broker)

        broker = start_broker(args, data_dir, port)
        result["rss_restarted_kib"] = status_kib(broker.pid, "VmRSS")
        stop_broker(broker)
        result["disk_bytes_per_message"] = round(result["disk_bytes"] / args.messages, 1)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
