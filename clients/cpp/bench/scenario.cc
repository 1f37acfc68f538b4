// The scenario table: names, help summaries and entry points, in --help order.
#include "clients/cpp/bench/scenario.h"

#include <array>

namespace herald::bench {

namespace {

constexpr std::array kScenarios = {
    Scenario{
        "echo",
        "C connections to ws://host:port/echo, each keeping --pipeline binary messages of\n"
        "    --payload-bytes in flight. Each payload carries its send time and a per-connection\n"
        "    sequence number. Reports echoed messages/s over --duration-s after --warmup-s,\n"
        "    latency percentiles, and loss, reordering and corruption (all must be 0).",
        &run_echo},
    Scenario{
        "idle",
        "C connections to ws://host:port/echo, handshake completed, held idle for --hold-s.\n"
        "    Spread over --source-addresses loopback addresses and --processes processes (at\n"
        "    most 19,000 connections each), so that 100,000 are reachable. With --server-pid,\n"
        "    reports the broker's RSS before and --settle-s after all are open, per connection.",
        &run_idle},
};

}  // namespace

std::span<const Scenario> scenarios() { return kScenarios; }

}  // namespace herald::bench
