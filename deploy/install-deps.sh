#!/usr/bin/env bash
# Installs what Herald needs to build, test and run, from Debian 12's packages only.
# Idempotent: asks apt for nothing when every package is already there.
# --build-only: just what a Release build of herald and herald-cli needs, without tests or
# benchmarks (deploy/Dockerfile's build stage).
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config
  # libraries; libsystemd-dev is optional (sd_notify for deploy/herald.service's Type=notify)
  liburing-dev libssl-dev libsimdjson-dev librocksdb-dev zlib1g-dev libtomlplusplus-dev
  libsystemd-dev
  # hiredis: RESP formatting and parsing for the Redis link (broker/cluster)
  libhiredis-dev
)
build_only=false
[ "${1:-}" = "--build-only" ] && build_only=true
$build_only || packages+=(
  # tests, benchmarks and the sanitizer and fuzzer builds
  clang libclang-rt-14-dev libgtest-dev libgmock-dev libbenchmark-dev
  # independent test clients; chromium runs the JavaScript client's browser tests
  python3 python3-websockets chromium curl ca-certificates
  # systemd-analyze checks deploy/herald.service (systemd_test)
  systemd
  # the test CA and certificates for wss:// tests; RS256/ES256 test tokens
  openssl
  # the reverse proxies of deploy/nginx.conf and deploy/haproxy.cfg, which the proxy tests
  # start themselves on unprivileged ports (never as the system services)
  nginx haproxy
  # promtool checks the live /metrics; a real Prometheus scrapes the broker in a test (never
  # the system service: the test runs its own on a loopback port)
  prometheus
  # the Redis link's tests start their own redis-server on loopback ports (never the system
  # service, which they ignore)
  redis-server
)

missing=()
# The JavaScript client and its tests run on Debian 12's Node 18 and npm. A machine with its
# own Node (18 or newer, with npm) keeps it: Debian's packages would conflict with it.
if ! $build_only && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  packages+=(nodejs npm)
fi

for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
