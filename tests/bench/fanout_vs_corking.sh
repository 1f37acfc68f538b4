#!/usr/bin/env bash
# Fan-out and latency of two herald binaries beside the bare corking server (issue 16), in one
# run, servers alternated within each round, medians over the rounds. Builds nothing.
#
# usage: tests/bench/fanout_vs_corking.sh OLD_HERALD NEW_HERALD [fanout|latency|all]
#   fanout:  deliveries/s at BIG subscribers with --publish-window 10, and at SMALL
#            subscribers with herald-bench's default window (64)
#   latency: p50/p99 at --rate RATES msg/s to LAT_SUBS subscribers
# Each server runs on core 0 (herald with --workers 1), herald-bench on core 1 (taskset).
# Environment (defaults): ROUNDS (3), BIG (10000), SMALL (1000), LAT_SUBS (1000),
#   RATES ("10 100 1000"), WARMUP_S (1), DURATION_S (5), BENCH and CORKING (the binaries in
#   build/release of this tree), SERVER_CORE (0), BENCH_CORE (1), MID (a third herald binary,
#   e.g. a commit between OLD and NEW, run as "mid" in the same rotation).
# Small proof run: ROUNDS=1 BIG=1000 SMALL=200 LAT_SUBS=200 RATES=100 DURATION_S=1 ...
# Each herald-bench run is bounded by `timeout`; the whole run by ROUNDS x runs x ~DURATION_S.
. "$(dirname "$0")/lib.sh"
usage_unless 2 "$@"
OLD=$1 NEW=$2 MODE=${3:-all}
ROUNDS=${ROUNDS:-3} BIG=${BIG:-10000} SMALL=${SMALL:-1000} LAT_SUBS=${LAT_SUBS:-1000}
RATES=${RATES:-"10 100 1000"} WARMUP_S=${WARMUP_S:-1} DURATION_S=${DURATION_S:-5}
BENCH=${BENCH:-$root/build/release/clients/cpp/herald-bench}
CORKING=${CORKING:-$root/build/release/tests/corking-server}
SERVER_CORE=${SERVER_CORE:-0} BENCH_CORE=${BENCH_CORE:-1}
MID=${MID:-}
for binary in "$OLD" "$NEW" "$BENCH" "$CORKING" ${MID:+"$MID"}; do
  [ -x "$binary" ] || { echo "not an executable: $binary" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"
results=$(mktemp /tmp/fanout_vs_corking.XXXXXX)
trap 'rm -f "$results"' EXIT
server_pid=

# start_server NAME PORT: the server on SERVER_CORE; sets server_pid; waits until it accepts.
start_server() {
  case $1 in
    corking) taskset -c "$SERVER_CORE" "$CORKING" --port "$2" >/dev/null 2>&1 & ;;
    old) taskset -c "$SERVER_CORE" "$OLD" --host 127.0.0.1 --port "$2" --workers 1 >/dev/null 2>&1 & ;;
    new) taskset -c "$SERVER_CORE" "$NEW" --host 127.0.0.1 --port "$2" --workers 1 >/dev/null 2>&1 & ;;
    mid) taskset -c "$SERVER_CORE" "$MID" --host 127.0.0.1 --port "$2" --workers 1 >/dev/null 2>&1 & ;;
  esac
  server_pid=$!
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$1 did not start on port $2" >&2
  return 1
}

stop_server() {
  kill -INT "$server_pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
}

# run_one SERVER LABEL ARGS...: one herald-bench fanout run; appends "LABEL SERVER v1 v2 v3"
# (deliveries/s, p50 ms, p99 ms) to the results, or reports the failure.
run_one() {
  local server=$1 label=$2
  shift 2
  local port=$((20000 + RANDOM % 20000))
  start_server "$server" "$port" || return
  local limit=$(awk "BEGIN { print int($WARMUP_S + $DURATION_S + 60) }")
  local line
  line=$(timeout "$limit" taskset -c "$BENCH_CORE" "$BENCH" fanout --port "$port" \
         --server-pid "$server_pid" --warmup-s "$WARMUP_S" --duration-s "$DURATION_S" "$@" \
         2>/dev/null)
  local status=$?
  stop_server
  echo "$line" | /usr/bin/python3 -c '
import json, sys
label, server, status = sys.argv[1:4]
try:
    r = json.loads(sys.stdin.read())["results"]
except Exception:
    print("%s %s: no result (exit %s)" % (label, server, status), file=sys.stderr); sys.exit()
if status != "0" or r.get("lost") or r.get("connections_lost"):
    print("%s %s: exit %s, lost %s" % (label, server, status, r.get("lost")), file=sys.stderr)
lat = r["latency_us"]
frames = (r.get("regime") or {}).get("frames_per_send")
print(label, server, r["deliveries_per_s"], lat["p50"] / 1e3, lat["p99"] / 1e3,
      "-" if frames is None else "%.1f" % frames)
' "$label" "$server" "$status" >>"$results"
}

for round in $(seq "$ROUNDS"); do
  # Rotate the order each round, so no server always runs first on a cold machine.
  servers=(corking old new)
  [ -n "$MID" ] && servers+=(mid)
  order=""
  for i in $(seq 0 $((${#servers[@]} - 1))); do
    order="$order ${servers[$(((i + round - 1) % ${#servers[@]}))]}"
  done
  echo "round $round of $ROUNDS: $order" >&2
  for server in $order; do
    if [ "$MODE" = fanout ] || [ "$MODE" = all ]; then
      run_one "$server" "fanout-${BIG}-w10" --subscribers "$BIG" --publish-window 10
      run_one "$server" "fanout-${SMALL}" --subscribers "$SMALL"
    fi
    if [ "$MODE" = latency ] || [ "$MODE" = all ]; then
      for rate in $RATES; do
        run_one "$server" "rate-${rate}-to-${LAT_SUBS}" --subscribers "$LAT_SUBS" --rate "$rate"
      done
    fi
  done
done

/usr/bin/python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, server, per_s, p50, p99, frames = line.split()
    rows.setdefault(label, {}).setdefault(server, []).append(
        (float(per_s), float(p50), float(p99), frames))
print("%-22s %-8s %4s %14s %7s %9s %9s  %s" % ("scenario", "server", "runs", "deliveries/s",
                                              "ratio", "p50 ms", "p99 ms", "frames/send (runs)"))
for label, servers in rows.items():
    base = statistics.median(v[0] for v in servers.get("corking", [(0, 0, 0)]))
    for server in ("corking", "old", "mid", "new"):
        runs = servers.get(server, [])
        if not runs:
            continue
        per_s = statistics.median(v[0] for v in runs)
        ratio = "%.2fx" % (per_s / base) if base else "-"
        print("%-22s %-8s %4d %14.0f %7s %9.2f %9.2f  %s" % (
            label, server, len(runs), per_s, ratio, statistics.median(v[1] for v in runs),
            statistics.median(v[2] for v in runs), " ".join(v[3] for v in runs)))
        print("%-22s %-8s      runs: %s" % ("", "", " ".join("%.0f" % v[0] for v in runs)))
PY
