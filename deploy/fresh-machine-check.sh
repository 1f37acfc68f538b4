#!/usr/bin/env bash
# The README's first command on a fresh Debian 12: a clean clone of this repository's HEAD in
# a debian:bookworm-slim container (tests/integration/container_test.py imports a debootstrap'd
# one where no registry is reachable) runs deploy/install-deps.sh and deploy/run.sh's build,
# then a few integration tests against the herald it built. The whole deploy/test.sh takes
# 35 minutes or more on 2 cores; pass --full to run it instead of the few tests.
#   deploy/fresh-machine-check.sh [--full]
# Needs podman and runc (root); prints each phase's duration. The tree is HEAD's (committed
# work only, as a clone would have it).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
full=false
[ "${1:-}" = "--full" ] && full=true

podman image exists debian:bookworm-slim || {
  echo "fresh-machine-check: no debian:bookworm-slim image; HERALD_CONTAINER_TEST=1 ctest" \
    "-R integration.container_test imports one" >&2
  exit 1
}

# HEAD's files only, as a clone has them (a worktree's .git points outside the container).
tree="$(mktemp -d)"
trap 'rm -rf "$tree"' EXIT
git -C "$repo" archive --format=tar -o "$tree/herald.tar" HEAD
script='
set -euo pipefail
phase() { echo "fresh-machine-check: $1 at $(date -u +%T) ($SECONDS s)"; }
mkdir /home/herald && cd /home/herald && tar -xf /src/herald.tar
phase "deploy/install-deps.sh"
deploy/install-deps.sh
phase "deploy/run.sh --help (the Release build)"
deploy/run.sh --help >/dev/null
node --version
if [ "$FULL" = true ]; then
  phase "deploy/test.sh"
  deploy/test.sh
else
  phase "integration tests"
  failed=()
  for t in pubsub_test http_test systemd_test; do
    /usr/bin/python3 tests/integration/$t.py --herald build/release/broker/herald || failed+=("$t")
  done
  [ ${#failed[@]} -eq 0 ] || { echo "fresh-machine-check: failed: ${failed[*]}"; exit 1; }
fi
phase "done"
'
# A machine whose egress goes through a TLS-inspecting proxy trusts its CA on the host; npm in
# the container needs the same trust (apt fetches over plain HTTP and signs its own).
ca=()
host_bundle=/etc/ssl/certs/ca-certificates.crt
if [ -r "$host_bundle" ]; then
  ca=(-v "$host_bundle":/etc/herald-host-ca.crt:ro -e npm_config_cafile=/etc/herald-host-ca.crt
      -e NODE_EXTRA_CA_CERTS=/etc/herald-host-ca.crt)
fi
# A fresh machine has io_uring; podman's default seccomp profile blocks it, so the container
# runs under the shipped profile (Docker's default plus io_uring), as deploy/Dockerfile's
# README section advises. The epoll fallback under the default profile is container_test's.
podman run --rm --runtime "$(command -v runc)" --ulimit nofile=20000:20000 \
  --ulimit nproc=1000:1000 --security-opt seccomp="$repo/deploy/seccomp-herald.json" \
  -e FULL="$full" "${ca[@]}" -v "$tree":/src:ro debian:bookworm-slim bash -c "$script"
