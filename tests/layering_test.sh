#!/usr/bin/env bash
# Keeps the dependency arrows pointing one way (STYLE.md): liburing only under broker/io,
# RocksDB only in storage/rocksdb_log.cc, and protocol/ and clients/ free of the broker.
set -u
cd "$(dirname "$0")/.."
failures=0
check() {  # check DESCRIPTION PATTERN ALLOWED_PREFIX
  local offenders
  offenders=$(grep -rlE "$2" --include='*.h' --include='*.cc' broker protocol storage clients \
    2>/dev/null | grep -vE "^($3)" || true)
  if [ -n "$offenders" ]; then
    echo "FAIL: $1:"; echo "$offenders" | sed 's/^/  /'; failures=$((failures + 1))
  else
    echo "ok: $1"
  fi
}
check "<liburing.h> outside broker/io" '#include <liburing' 'broker/io/'
check "RocksDB outside storage/rocksdb_log.cc" '#include [<"]rocksdb/' 'storage/rocksdb_log\.cc'
check "broker/ used outside the broker" '#include "broker/' 'broker/'
check "storage/ used outside storage and the broker" '#include "storage/' 'broker/|storage/'
check "clients/ used outside the clients" '#include "clients/' 'clients/'
[ "$failures" -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit "$failures"
