// herald-cli's subcommands and the helpers they share. Each subcommand returns the process
// exit status (cli_options.h) and writes its results to stdout, its complaints to stderr.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "clients/cpp/cli/cli_options.h"
#include "clients/cpp/lib/pubsub_client.h"
#include "protocol/pubsub/client_codec.h"

namespace herald::cli {

[[nodiscard]] int run_sub(const CliOptions& options);
[[nodiscard]] int run_pub(const CliOptions& options);
// stats and topics: subscribe to $sys.stats or $sys.topics and print each message as a block.
[[nodiscard]] int run_stats(const CliOptions& options);

// The path to connect to: --path, with ?token= from --token-file when given. False (with the
// reason printed) when the file cannot be read or holds no token.
[[nodiscard]] bool connect_path(const CliOptions& options, std::string& path);

// Connects `client` as the options say; on failure prints why and returns false.
[[nodiscard]] bool connect_client(const CliOptions& options, client::PubSubClient& client);

// With --compression: one line on stderr saying whether the broker accepted permessage-deflate
// and the bytes on the wire against the message bytes, each way. Nothing without the flag.
void report_compression(const CliOptions& options, const client::PubSubClient& client);

// Prints "herald-cli: WHAT: REASON" for a failed call, with the server's error code and text
// for kRejected and the close code for kClosed; returns kExitFailed.
int report_failure(std::string_view what, client::PubSubError error,
                   const client::PubSubClient& client);

// One output line of `sub` without its newline: "TOPIC SEQ DATA" for a message (binary data
// as "base64:" and standard base64), "TOPIC gap MISSED" for a gap.
[[nodiscard]] std::string format_line(const protocol::pubsub::ServerMessage& message);

// Standard base64 with padding (RFC 4648 §4).
[[nodiscard]] std::string base64(std::span<const uint8_t> bytes);

}  // namespace herald::cli
