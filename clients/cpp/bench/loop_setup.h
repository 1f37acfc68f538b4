// What every scenario does around its ClientLoop: resolving the broker's address, choosing
// source addresses, raising the fd limit, and writing the shared parts of the JSON line.
#pragma once

#include <optional>
#include <string>

#include "clients/cpp/bench/client_loop.h"
#include "clients/cpp/bench/json_writer.h"
#include "clients/cpp/bench/options.h"

namespace herald::bench {

// Connections one process may hold: the hard fd limit here is 20,000, and the process needs
// a few fds of its own (epoll, pipes, stdio).
inline constexpr uint32_t kConnectionsPerProcessMax = 19000;
// One loopback source address per this many connections when --source-addresses is 0. The
// default ephemeral port range (32768-60999) has 28,232 ports per source address, but
// connect() slows down as it fills, and TIME_WAIT from earlier runs holds ports for 60 s.
inline constexpr uint32_t kConnectionsPerSourceAddress = 10000;

// A LoopConfig for `options` with every field but connections and output_bytes set.
// Returns nullopt and sets `error` if the host does not resolve to IPv4 or source addresses
// are asked for with a broker that is not on loopback.
[[nodiscard]] std::optional<LoopConfig> make_loop_config(const Options& options,
                                                         std::string& error);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit now in force.
uint64_t raise_fd_limit();

// The dial deadline: enough for every connection at the configured rate, plus one
// connect timeout for the last of them.
[[nodiscard]] int64_t dial_deadline_ns(const Options& options, uint32_t connections);

// Parameters every scenario shares, into the open "params" object.
void write_common_params(const Options& options, JsonWriter& out);
// connections_opened, connect_failures and their breakdown (by kind and errno name).
void write_dial_results(const DialStats& stats, JsonWriter& out);
// How open connections ended, as a "close" object.
void write_close_results(const CloseStats& stats, JsonWriter& out);
// Bytes on the wire against message bytes received, as a "traffic" object (with
// --compression: how much permessage-deflate saved).
void write_traffic_results(const TrafficStats& stats, JsonWriter& out);

}  // namespace herald::bench
