#!/usr/bin/env bash
# Idle RSS per subscribed connection (issue 16's target: at most 800 bytes): herald-bench conns
# at each of SIZES connections, one shared topic and one topic per connection, the broker
# (--workers 1) on core 0 and herald-bench on core 1; medians over ROUNDS, modes alternated.
# The figure is (broker RSS settle-s after the last subscription - RSS before) / connections.
#
# usage: tests/bench/conns_memory.sh HERALD
# Environment (defaults): SIZES ("10000 19000"), ROUNDS (3), HOLD_S (4), SETTLE_S (2),
#   BENCH (build/release of this tree), SERVER_CORE (0), BENCH_CORE (1), HERALD_FLAGS (extra
#   broker flags, e.g. "--io epoll"), TRANSPORTS ("plain"; "plain deflate" also measures
#   connections that negotiated permessage-deflate).
# Small proof run: SIZES=1000 ROUNDS=1 tests/bench/conns_memory.sh build/release/broker/herald
# 19,000 connections is the most one herald-bench process holds under a hard nofile of
# 20,000; the broker gets --max-connections 0 (what its file table holds: 19,625 under 20,000).
# Runs are bounded by timeout.
. "$(dirname "$0")/lib.sh"
usage_unless 1 "$@"
HERALD=$1
SIZES=${SIZES:-"10000 19000"} ROUNDS=${ROUNDS:-3} HOLD_S=${HOLD_S:-4} SETTLE_S=${SETTLE_S:-2}
BENCH=${BENCH:-$root/build/release/clients/cpp/herald-bench}
SERVER_CORE=${SERVER_CORE:-0} BENCH_CORE=${BENCH_CORE:-1} HERALD_FLAGS=${HERALD_FLAGS:-}
TRANSPORTS=${TRANSPORTS:-plain}
for binary in "$HERALD" "$BENCH"; do
  [ -x "$binary" ] || { echo "not an executable: $binary" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"
largest=0
for n in $SIZES; do [ "$n" -gt "$largest" ] && largest=$n; done
if [ $((largest + 100)) -gt "$(ulimit -Hn)" ]; then
  echo "the broker needs $((largest + 100)) fds; ulimit -Hn is $(ulimit -Hn)" >&2
  exit 2
fi
results=$(mktemp /tmp/conns_memory.XXXXXX)
trap 'rm -f "$results"' EXIT

for round in $(seq "$ROUNDS"); do
  for n in $SIZES; do
    for transport in $TRANSPORTS; do
    for mode in shared own; do
      port=$((20000 + RANDOM % 20000))
      # shellcheck disable=SC2086
      taskset -c "$SERVER_CORE" "$HERALD" --host 127.0.0.1 --port "$port" --workers 1 \
        --max-connections 0 $HERALD_FLAGS >/dev/null 2>&1 &
      pid=$!
      for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
      done
      flag=()
      [ "$mode" = shared ] && flag=(--shared-topic)
      [ "$transport" = deflate ] && flag+=(--compression)
      line=$(timeout $((HOLD_S + 120)) taskset -c "$BENCH_CORE" "$BENCH" conns \
             --connections "$n" "${flag[@]}" --hold-s "$HOLD_S" --settle-s "$SETTLE_S" \
             --port "$port" --server-pid "$pid" 2>/dev/null)
      status=$?
      kill -INT "$pid"
      wait "$pid"
      echo "$line" | /usr/bin/python3 -c '
import json, sys
n, mode, status = sys.argv[1:4]
try:
    r = json.loads(sys.stdin.read())["results"]
except Exception:
    print("%s %s: no result (exit %s)" % (n, mode, status), file=sys.stderr); sys.exit()
if status != "0" or r.get("subscribed") != int(n):
    print("%s %s: exit %s, subscribed %s of %s" % (n, mode, status, r.get("subscribed"), n),
          file=sys.stderr)
    sys.exit()
print(n, mode, r["bytes_per_connection"], r["rss_before_kib"], r["rss_after_kib"])
' "$n" "$mode/$transport" "$status" >>"$results"
    done
    done
  done
done

/usr/bin/python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    n, mode, per_conn, before, after = line.split()
    rows.setdefault((int(n), mode), []).append((float(per_conn), int(before), int(after)))
print("%11s %-14s %4s %13s %15s %14s" % ("connections", "topic", "runs", "bytes/conn",
                                        "rss before KiB", "rss after KiB"))
for (n, mode), runs in sorted(rows.items()):
    print("%11d %-14s %4d %13.0f %15.0f %14.0f" % (
        n, mode, len(runs), statistics.median(r[0] for r in runs),
        statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs)))
PY
