#!/usr/bin/env bash
# The first of the README's two commands: install what is missing, build a Release herald
# (and herald-cli beside it), then run herald with its embedded defaults (ws://0.0.0.0:8080).
# Extra arguments go to herald.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
# No tests or benchmarks: this command builds neither, so their checks (Node for the
# JavaScript tests) must not speak here. deploy/test.sh turns them back on.
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHERALD_TESTS=OFF \
  -DHERALD_BENCH=OFF >/dev/null
cmake --build build/release --target herald herald-cli
exec build/release/broker/herald "$@"
