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
        "/echo", "", &run_echo},
    Scenario{
        "idle",
        "C connections to ws://host:port/echo, handshake completed, held idle for --hold-s.\n"
        "    Spread over --source-addresses loopback addresses and --processes processes (at\n"
        "    most 19,000 connections each), so that 100,000 are reachable. With --server-pid,\n"
        "    reports the broker's RSS before and --settle-s after all are open, per connection.",
        "/echo", "", &run_idle},
    Scenario{
        "fanout",
        "One publisher and --subscribers connections on --topic. Once every subscription is\n"
        "    acked, the publisher sends binary messages of --payload-bytes (send time and a\n"
        "    counter) at --rate, or with --rate 0 as fast as the slowest subscriber keeps up\n"
        "    (--publish-window). Reports deliveries/s over --duration-s after --warmup-s,\n"
        "    latency, loss and reordering (by topic seq; must be 0), gaps, broker CPU and RSS.",
        "/", "bench.fanout", &run_fanout},
    Scenario{"topics",
             "--topics topics bench.t.<i>, one subscriber connection each; one publisher sends\n"
             "    to them round-robin, paced and checked as in fanout; the same report.",
             "/", "", &run_topics},
    Scenario{
        "conns",
        "C subscribed connections (--connections), each on its own topic bench.c.<i> (or all on\n"
        "    --topic with --shared-topic), held for --hold-s; processes and source addresses as\n"
        "    in idle. With --server-pid, the broker's RSS before and after, per connection.",
        "/", "bench.fanout", &run_conns},
    Scenario{"handshakes",
             "C connections (--connections) to ws://host:port/echo (wss:// with --tls), at most\n"
             "    --handshakes-in-flight dialing at once; reports handshakes/s and, with\n"
             "    --server-pid, handshakes per second of broker CPU.",
             "/echo", "", &run_handshakes},
    Scenario{
        "replay",
        "Fills --topic (a topic with history: run the broker with e.g. --history\n"
        "    'bench.>=rocksdb,count=100000000') with --messages binary messages of\n"
        "    --payload-bytes, each acknowledged, at most --publish-window unanswered; then one\n"
        "    subscriber replays the topic with \"from\":1. Reports the fill's acks per second\n"
        "    and the replay's messages/s from first to last message, with broker CPU; each\n"
        "    sequence number must arrive once and in order. --no-fill replays what it holds.",
        "/", "bench.replay", &run_replay},
};

}  // namespace

std::span<const Scenario> scenarios() { return kScenarios; }

}  // namespace herald::bench
