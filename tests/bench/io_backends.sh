#!/usr/bin/env bash
# Alternated fan-out runs on each I/O backend, broker pinned to core 0 and herald-bench to
# core 1, one JSON line per run (label first). A second broker binary (an older build) may be
# given to run beside them: tests/bench/io_backends.sh build/release [OLD_HERALD] > runs.txt
set -euo pipefail
build=${1:?usage: io_backends.sh BUILD_DIR [OLD_HERALD]}
old=${2:-}
herald=$build/broker/herald
bench=$build/clients/cpp/herald-bench
runs=${RUNS:-3}

run() {  # run LABEL HERALD_ARGS... -- BENCH_ARGS...
  local label=$1 port=$((20000 + RANDOM % 20000)) broker_args=() pid out
  shift
  while [ "$1" != "--" ]; do broker_args+=("$1"); shift; done
  shift
  taskset -c 0 "${broker_args[@]}" --host 127.0.0.1 --port "$port" --workers 1 \
    >/dev/null 2>&1 &
  pid=$!
  sleep 0.5
  out=$(timeout 120 taskset -c 1 "$bench" "$@" --port "$port" --server-pid "$pid" 2>/dev/null ||
        true)
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$label $out"
}

for round in $(seq 1 "$runs"); do
  for scenario in "fanout --subscribers 1000" "fanout --subscribers 10000" "topics --topics 1000"; do
    # shellcheck disable=SC2086 # the scenario is words on purpose
    set -- $scenario --rate 0 --payload-bytes 64 --warmup-s 1 --duration-s 5
    [ -n "$old" ] && run "old|$scenario|$round" "$old" -- "$@"
    run "uring|$scenario|$round" "$herald" --io uring -- "$@"
    run "epoll|$scenario|$round" "$herald" --io epoll -- "$@"
  done
done
