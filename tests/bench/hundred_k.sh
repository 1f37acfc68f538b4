#!/usr/bin/env bash
# 100,000 subscribed connections under load (issue 16): N subscribers on one topic, spread by
# herald-bench conns over processes (19,000 connections each) and 127.0.0.x source addresses,
# against one broker with --workers WORKERS. Reports:
#   1. the time from publishing one message to its arrival at the last of the N subscribers;
#   2. the broker's CPU while a 1 msg/s stream goes to all of them for STREAM_S seconds;
#   3. a reconnect storm: the broker is stopped (SIGINT) and started again on the same port;
#      herald-bench (--reconnect) dials and resubscribes every connection; the time from the
#      first lost connection until all N are subscribed again.
#
# usage: tests/bench/hundred_k.sh HERALD
# Environment (defaults): N (100000), WORKERS (6), STREAM_S (10), HOLD_S (STREAM_S + 50: all
#   phases happen while herald-bench holds), CONNECT_RATE (20000), BENCH (build/release of
#   this tree), HERALD_FLAGS (extra broker flags).
# Small proof run: N=1000 WORKERS=2 STREAM_S=2 tests/bench/hundred_k.sh build/release/broker/herald
# On io_uring the broker's sockets are direct descriptors, outside the process's file table:
# each worker's ring holds (N + 1,000) / WORKERS of them, and the kernel caps a ring's table at
# RLIMIT_NOFILE, so that share must fit under `ulimit -Hn` (20,000 here: N = 100,000 needs 6
# workers). The epoll backend (HERALD_FLAGS="--io epoll") needs all N + 1,000 in the file table.
# The broker gets --max-connections N + 1,000, room for the publisher and HTTP beside the
# subscribers. Every wait is bounded.
. "$(dirname "$0")/lib.sh"
usage_unless 1 "$@"
HERALD=$1
N=${N:-100000} WORKERS=${WORKERS:-6} STREAM_S=${STREAM_S:-10}
HOLD_S=${HOLD_S:-$((STREAM_S + 50))} CONNECT_RATE=${CONNECT_RATE:-20000}
BENCH=${BENCH:-$root/build/release/clients/cpp/herald-bench}
HERALD_FLAGS=${HERALD_FLAGS:-}
TOPIC=bench.hundredk
for binary in "$HERALD" "$BENCH"; do
  [ -x "$binary" ] || { echo "not an executable: $binary" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"
per_worker=$(((N + 1000 + WORKERS - 1) / WORKERS + 64))
case " $HERALD_FLAGS " in *" --io epoll "*) per_worker=$((N + 1000 + 64)) ;; esac
if [ "$per_worker" -gt "$(ulimit -Hn)" ]; then
  echo "each worker needs $per_worker descriptors for N=$N; ulimit -Hn is $(ulimit -Hn)." >&2
  echo "Add workers, raise the hard limit (as root) or run with a smaller N." >&2
  exit 2
fi
port=$((20000 + RANDOM % 20000))
work=$(mktemp -d /tmp/hundred_k.XXXXXX)
broker_pid=
bench_pid=
cleanup() {
  [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null
  [ -n "$broker_pid" ] && kill -INT "$broker_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_broker() {
  # shellcheck disable=SC2086
  "$HERALD" --host 127.0.0.1 --port "$port" --workers "$WORKERS" \
    --max-connections $((N + 1000)) $HERALD_FLAGS >>"$work/broker.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "the broker did not start:" >&2
  cat "$work/broker.log" >&2
  return 1
}

cpu_s() {  # utime + stime of the broker, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$broker_pid/stat"
}

# publish COUNT INTERVAL_S: COUNT messages to TOPIC, one every INTERVAL_S; prints the
# CLOCK_MONOTONIC ns just before the first was sent.
publish() {
  /usr/bin/python3 - "$port" "$TOPIC" "$1" "$2" <<'PY'
import asyncio, json, sys, time
import websockets
port, topic, count, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
async def main():
    async with websockets.connect("ws://127.0.0.1:%s/" % port, subprotocols=["herald.v1"],
                                  open_timeout=10, close_timeout=5) as ws:
        first = None
        for i in range(count):
            now = time.monotonic_ns()
            first = first or now
            await ws.send(json.dumps({"op": "pub", "topic": topic, "data": i, "id": i}))
            await asyncio.wait_for(ws.recv(), 10)  # the ack: the broker has it
            if i + 1 < count:
                await asyncio.sleep(interval)
        print(first)
asyncio.run(main())
PY
}

start_broker || exit 1
"$BENCH" conns --port "$port" --connections "$N" --shared-topic --topic "$TOPIC" --reconnect \
  --hold-s "$HOLD_S" --settle-s 1 --connect-rate "$CONNECT_RATE" --server-pid "$broker_pid" \
  >"$work/bench.json" 2>"$work/bench.err" &
bench_pid=$!
deadline=$((SECONDS + N / 1000 + 120))
until grep -q "open; holding" "$work/bench.err"; do
  if [ $SECONDS -ge $deadline ] || ! kill -0 "$bench_pid" 2>/dev/null; then
    echo "herald-bench did not open its connections:" >&2
    cat "$work/bench.err" >&2
    exit 1
  fi
  sleep 0.2
done
held_at=$SECONDS
sleep 2  # the subscriptions' acks, after the last connection opened

# 1. One message to all N.
published_ns=$(publish 1 0) || exit 1
sleep 3
# 2. The stream: 1 msg/s for STREAM_S s; the broker's CPU over it.
cpu_before=$(cpu_s)
stream_start=$(date +%s%N)
publish "$STREAM_S" 1 >/dev/null || exit 1
stream_s=$(awk -v a="$stream_start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
cpu_after=$(cpu_s)
# 3. The storm: stop, start again on the same port; herald-bench dials everything again.
storm_start_ns=$(/usr/bin/python3 -c 'import time; print(time.monotonic_ns())')
kill -INT "$broker_pid"
for _ in $(seq 300); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$broker_pid" 2>/dev/null
wait "$broker_pid" 2>/dev/null
start_broker || exit 1
restarted_ns=$(/usr/bin/python3 -c 'import time; print(time.monotonic_ns())')
echo "held since ${held_at} s; stream of ${stream_s} s sent; broker restarted; waiting for" \
     "herald-bench's hold (${HOLD_S}s) to end" >&2
wait "$bench_pid"
bench_status=$?
bench_pid=

/usr/bin/python3 - "$work/bench.json" "$N" "$STREAM_S" "$published_ns" "$cpu_before" \
  "$cpu_after" "$stream_s" "$storm_start_ns" "$restarted_ns" "$bench_status" <<'PY'
import json, sys
path, n, stream, published, cpu0, cpu1, stream_s, storm, restarted, status = sys.argv[1:]
n, stream = int(n), int(stream)
r = json.load(open(path))["results"]
reconnect = r.get("reconnect", {})
last = r.get("last_message_ns", 0)
print("subscribers                    %d (opened %s, %s process(es))" % (
    n, r.get("connections_opened"), json.load(open(path))["params"].get("processes")))
print("one message to all: last arrival %s" % (
    "%.1f ms after publishing" % ((last - int(published)) / 1e6) if last else "never"))
print("messages received              %s (expected %d)" % (r.get("messages_received"),
                                                           n * (1 + stream)))
print("broker CPU, 1 msg/s to all     %.3f s over %s s = %.1f%% of a core" % (
    float(cpu1) - float(cpu0), stream_s, 100 * (float(cpu1) - float(cpu0)) / max(0.001, float(stream_s))))
print("broker restart                 %.2f s from SIGINT to accepting" % (
    (int(restarted) - int(storm)) / 1e9))
print("reconnect storm                lost %s, resubscribed %s, subscribed at the end %s" % (
    reconnect.get("lost"), reconnect.get("resubscribed"), reconnect.get("subscribed_at_end")))
print("                               %s s from the first loss to all subscribed again" % (
    reconnect.get("storm_s")))
print("herald-bench exit status       %s (0: every connection subscribed at the end)" % status)
PY
