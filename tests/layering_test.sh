#!/usr/bin/env bash
# Keeps the dependency arrows pointing one way (STYLE.md) by reading every #include of the
# sources: each layer includes only itself and the layers below it, liburing only under
# broker/io, RocksDB only in storage/rocksdb_log.cc, toml++ only in broker/net/config_file.cc.
# The build enforces the same arrows for Herald's own headers (herald_expose); this test also
# covers the system headers.
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0

report() {  # report DESCRIPTION OFFENDERS
  if [ -n "$2" ]; then
    echo "FAIL: $1"
    echo "$2" | sed 's/^/  /'
    failed=$((failed + 1))
  else
    echo "ok: $1"
    passed=$((passed + 1))
  fi
}

# Every `#include "..."` line of the C++ files under PATH..., as file:line:text.
quoted_includes() {
  grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' --include='*.h' --include='*.cc' \
    "$@" 2>/dev/null || true
}

# layer NAME ALLOWED PATH...: files under PATH include Herald headers only from ALLOWED (an
# extended regex of path prefixes); a quoted include without a directory is a sibling file.
layer() {
  local name=$1 allowed=$2
  shift 2
  local offenders
  offenders=$(quoted_includes "$@" |
    grep -vE "#[[:space:]]*include[[:space:]]*\"(${allowed})" |
    grep -E '#[[:space:]]*include[[:space:]]*"[^"]*/' || true)
  report "$name includes only ${allowed//|/, }" "$offenders"
}

# only NAME PATTERN ALLOWED_FILES: the extended regex PATTERN appears only in files whose
# path matches ALLOWED_FILES.
only() {
  local offenders
  offenders=$(grep -rnE "$2" --include='*.h' --include='*.cc' \
    broker protocol storage clients tests 2>/dev/null | grep -vE "^($3):" || true)
  report "$1" "$offenders"
}

layer "protocol/common/" 'protocol/common/' protocol/common
layer "protocol/" 'protocol/' protocol
layer "protocol/tls/" 'protocol/tls/' protocol/tls
layer "storage/" 'storage/|protocol/' storage
layer "broker/core/" 'broker/core/|protocol/|storage/' broker/core
layer "broker/auth/" 'broker/auth/|protocol/' broker/auth
layer "broker/io/" 'broker/io/|protocol/common/' broker/io
layer "broker/net/" 'broker/net/|broker/core/|broker/auth/|broker/io/|broker/cluster/|protocol/|storage/' broker/net
layer "broker/cluster/" 'broker/cluster/|protocol/common/' broker/cluster
layer "broker/main.cc" 'broker/net/|broker/auth/' broker/main.cc
layer "clients/" 'clients/|protocol/' clients
only "<liburing.h> only under broker/io/" '#[[:space:]]*include[[:space:]]*<liburing' \
  'broker/io/[^:]*'
only "RocksDB only in storage/rocksdb_log.cc" '#[[:space:]]*include[[:space:]]*[<"]rocksdb/' \
  'storage/rocksdb_log\.cc'
only "toml++ only in broker/net/config_file.cc" '#[[:space:]]*include[[:space:]]*[<"]toml\+\+/' \
  'broker/net/config_file\.cc'
only "hiredis only under broker/cluster/" '#[[:space:]]*include[[:space:]]*<hiredis/' \
  'broker/cluster/[^:]*'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
