#!/usr/bin/env bash
# Issue 13's figures: one node with Redis beside the same node without, alternated in each
# round (fan-out deliveries/s at 1,000 subscribers, acknowledged publishes/s, p50/p99 at 100
# msg/s to 1,000 subscribers), then three nodes sharing one Redis (total deliveries/s).
# The broker on core 0, herald-bench and redis-server (no persistence) on core 1.
#
# usage: tests/bench/redis_figures.sh HERALD
# Environment (defaults): ROUNDS (3), BENCH (build/release herald-bench), DURATION_S (5),
#   MESSAGES (100000, the acknowledged-publish fill), WINDOW (1000, publishes unanswered).
# Prints one line per measurement and the medians. Every run is bounded by timeout.
. "$(dirname "$0")/lib.sh"
usage_unless 1 "$@"
HERALD=$1
ROUNDS=${ROUNDS:-3} DURATION_S=${DURATION_S:-5} MESSAGES=${MESSAGES:-100000} WINDOW=${WINDOW:-1000}
BENCH=${BENCH:-$root/build/release/clients/cpp/herald-bench}
command -v redis-server >/dev/null || { echo "redis-server is needed" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/redis_figures.XXXXXX)
results=$work/results
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
wait_ready() {
  for _ in $(seq 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ] && return 0
    sleep 0.05
  done
  return 1
}

redis_port=$(free_port)
taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
wait_port "$redis_port" || { echo "redis-server did not start" >&2; exit 1; }

# start_node MODE: a broker on core 0; prints its port and pid.
start_node() {
  local port flags
  port=$(free_port)
  if [ "$1" = redis ]; then
    flags=(--redis "redis://127.0.0.1:$redis_port" --history 'bench.>=redis,count=1000000')
  else
    flags=(--history 'bench.>=memory,count=1000000')
  fi
  taskset -c 0 "$HERALD" --host 127.0.0.1 --port "$port" --workers 1 "${flags[@]}" \
    >"$work/node-$port.log" 2>&1 &
  echo "$port $!"
}

field() { /usr/bin/python3 -c "import json,sys; d=json.loads(sys.stdin.read() or '{}'); r=d.get('results',{})
for k in sys.argv[1].split('.'): r=r.get(k,{}) if isinstance(r,dict) else {}
print(r if r != {} else 'null')" "$1"; }

for round in $(seq "$ROUNDS"); do
  for mode in single redis; do
    read -r port pid < <(start_node "$mode")
    pids+=("$pid")
    wait_port "$port" && wait_ready "$port" || { echo "$mode node did not start" >&2; exit 1; }
    topic="bench.r$round$mode"
    fill=$(timeout 120 taskset -c 1 "$BENCH" replay --port "$port" --topic "$topic" \
           --messages "$MESSAGES" --publish-window "$WINDOW" --timeout-s 100 2>/dev/null)
    echo "$round $mode acked_per_s $(echo "$fill" | field fill.acked_per_s)" | tee -a "$results"
    fan=$(timeout 120 taskset -c 1 "$BENCH" fanout --port "$port" --subscribers 1000 \
          --duration-s "$DURATION_S" 2>/dev/null)
    echo "$round $mode deliveries_per_s $(echo "$fan" | field deliveries_per_s)" | tee -a "$results"
    lat=$(timeout 120 taskset -c 1 "$BENCH" fanout --port "$port" --subscribers 1000 \
          --rate 100 --duration-s "$DURATION_S" 2>/dev/null)
    echo "$round $mode p50_us $(echo "$lat" | field latency_us.p50)" | tee -a "$results"
    echo "$round $mode p99_us $(echo "$lat" | field latency_us.p99)" | tee -a "$results"
    kill -INT "$pid"
    wait "$pid" 2>/dev/null
  done
done

# Three nodes on core 0, one Redis: each herald-bench (core 1) fans out on its own node.
nodes=()
for _ in 1 2 3; do
  read -r port pid < <(start_node redis)
  pids+=("$pid")
  nodes+=("$port")
done
for port in "${nodes[@]}"; do wait_port "$port" && wait_ready "$port" || exit 1; done
for port in "${nodes[@]}"; do
  timeout 120 taskset -c 1 "$BENCH" fanout --port "$port" --subscribers 333 \
    --topic "bench.three$port" --duration-s "$DURATION_S" >"$work/three-$port.json" 2>/dev/null &
done
wait_bench=0
for job in $(jobs -p); do
  case " ${pids[*]} " in *" $job "*) continue ;; esac
  wait "$job" || wait_bench=1
done
total=0
for port in "${nodes[@]}"; do
  d=$(field deliveries_per_s <"$work/three-$port.json")
  echo "three node $port deliveries_per_s $d"
  total=$(/usr/bin/python3 -c "print($total + (${d/null/0}))")
done
echo "three nodes total deliveries_per_s $total (bench exit $wait_bench)"

echo "medians over $ROUNDS rounds:"
/usr/bin/python3 - "$results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    _, mode, name, value = line.split()
    if value != "null":
        rows.setdefault((name, mode), []).append(float(value))
for name in ("acked_per_s", "deliveries_per_s", "p50_us", "p99_us"):
    single = statistics.median(rows.get((name, "single"), [0]))
    redis = statistics.median(rows.get((name, "redis"), [0]))
    ratio = redis / single if single else float("nan")
    print(f"  {name:18} single {single:12.2f}  redis {redis:12.2f}  redis/single {ratio:.2f}")
EOF
