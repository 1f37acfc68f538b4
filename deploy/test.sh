#!/usr/bin/env bash
# The second of the README's two commands: install what is missing, then build and run the
# whole test suite: unit, corpus replay and integration tests in Release and under
# ASan+UBSan, the threaded subset under ThreadSanitizer, then each libFuzzer target for
# HERALD_FUZZ_SECONDS (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds=${HERALD_FUZZ_SECONDS:-20}
jobs=$(nproc)

deploy/install-deps.sh

# The JavaScript client's tests need Node 18+ (Debian 12's) and their npm packages (ws,
# playwright-core, typescript, esbuild), installed exactly as tests/js/package-lock.json pins.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 18 ] || ! command -v npm >/dev/null; then
  echo "test.sh: the JavaScript client tests need Node 18+ with npm (found: ${node_major})" >&2
  exit 1
fi
npm ci --prefix tests/js --no-audit --no-fund --loglevel=error

# Each phase says when it starts, so a run's log shows how long every phase took.
step() { printf '\n== %s (at %dm%02ds)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

step "release build (warnings are errors)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHERALD_WERROR=ON \
  -DHERALD_TESTS=ON -DHERALD_BENCH=ON >/dev/null
cmake --build build/release -j "$jobs"

step "release tests"
ctest --test-dir build/release --output-on-failure -j "$jobs"

# The same integration and JavaScript suites again, every broker on the epoll backend (the
# fallback where io_uring is blocked); the backend and worker unit tests above already ran both.
# Left out: what the backend cannot change (the proxies' configs in front of a broker, the
# config file and CLI, the unit file, the reference corking server, the JS package and types).
step "release integration tests on the epoll backend"
HERALD_IO=epoll ctest --test-dir build/release --output-on-failure -j "$jobs" -R '^(integration|js)[.]' \
  -E '^(integration[.](nginx|haproxy|cluster_proxy|config|cli|systemd)_test|integration[.]corking_server|js[.](types|package))$'

step "ASan+UBSan build"
cmake -S . -B build/sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHERALD_WERROR=ON \
  -DHERALD_SANITIZE=ON -DHERALD_BENCH=OFF >/dev/null
cmake --build build/sanitize -j "$jobs"

step "ASan+UBSan tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/sanitize --output-on-failure -j "$jobs"

# ThreadSanitizer over the code that crosses threads, and only that, to keep CI short: the
# worker-to-worker channels and the replay-to-live seam with 2 and 4 workers (against the real
# binary), the storage writer, the SPSC queue and the Redis link's thread and worker ports
# (unit tests, against real redis-server), and nodes sharing topics through Redis (the real
# binary, integration.cluster_test). tests/tsan.supp silences
# reports inside uninstrumented third-party libraries only, never in Herald's code.
tsan_targets=(herald herald-bench herald_storage_tests herald_common_tests herald_cluster_tests)
tsan_tests='^(StorageWriter\.|SpscQueueTest\.|cluster\.|integration\.multicore_test$|integration\.history_seam$|integration\.cluster_test$)'
tsan_start=$(date +%s)
step "ThreadSanitizer build: ${tsan_targets[*]}"
cmake --preset tsan >/dev/null
cmake --build build/tsan -j "$jobs" --target "${tsan_targets[@]}"

step "ThreadSanitizer tests"
TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp:halt_on_error=1:second_deadlock_stack=1" \
  ctest --test-dir build/tsan --output-on-failure -j "$jobs" -R "$tsan_tests"
echo "ThreadSanitizer phase: $(($(date +%s) - tsan_start)) s"

step "libFuzzer targets, ${fuzz_seconds}s each"
cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DHERALD_WERROR=ON -DHERALD_FUZZ=ON -DHERALD_TESTS=OFF -DHERALD_BENCH=OFF >/dev/null
cmake --build build/fuzz -j "$jobs"
for fuzzer in build/fuzz/tests/*_fuzz; do
  name=$(basename "$fuzzer")
  work=$(mktemp -d)
  # New inputs go to a scratch directory; the committed corpus is only read.
  "$fuzzer" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$work" \
    "tests/fuzz/corpus/$name" 2>"$work.log" || { tail -n 50 "$work.log"; exit 1; }
  echo "$name: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work.log" |
    grep -o '[0-9]*$') runs, no crash"
  rm -rf "$work" "$work.log"
done

step "all tests passed"
