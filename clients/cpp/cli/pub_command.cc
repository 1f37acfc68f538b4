// `herald-cli pub`: one message from the command line, one binary message from stdin, or one
// JSON message per stdin line, pipelined with a bounded number of acks outstanding.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <iostream>
#include <string>
#include <utility>

#include "clients/cpp/cli/commands.h"

namespace herald::cli {

namespace {

// Acks outstanding at most while reading stdin: enough to keep the pipe to the broker full,
// few enough that the acks queued for us stay far below the broker's per-connection bound.
constexpr size_t kAcksInFlightMax = 1024;

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string read_all_stdin() {
  std::string bytes;
  char chunk[64 * 1024];
  size_t got = 0;
  while ((got = std::fread(chunk, 1, sizeof(chunk), stdin)) > 0) bytes.append(chunk, got);
  return bytes;
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// Publishes one message and prints its seq.
int publish_one(client::PubSubClient& client, const CliOptions& options, std::string_view data) {
  const std::chrono::milliseconds timeout(options.timeout_ms);
  const client::PublishResult result =
      options.binary ? client.publish_binary(options.topic, as_bytes(data), true, timeout)
                     : client.publish(options.topic, data, true, timeout);
  if (result.error != client::PubSubError::kNone) {
    return report_failure("publish", result.error, client);
  }
  std::cout << result.seq << "\n";
  return kExitOk;
}

// Stdin lines in a pipeline: each line's ack is collected once kAcksInFlightMax are out, and
// all at the end. A rejected line is reported with its number and the rest go on.
int publish_lines(client::PubSubClient& client, const CliOptions& options) {
  const std::chrono::milliseconds timeout(options.timeout_ms);
  std::deque<std::pair<uint32_t, uint64_t>> in_flight;  // ack id, line number
  uint64_t published = 0;
  uint64_t rejected = 0;
  uint64_t last_seq = 0;
  // Waits for the oldest ack; false when the connection failed (reported).
  const auto settle_oldest = [&] {
    const auto [id, line_number] = in_flight.front();
    in_flight.pop_front();
    const client::PublishResult result = client.wait_ack(id, timeout);
    if (result.error == client::PubSubError::kRejected) {
      ++rejected;
      report_failure("line " + std::to_string(line_number), result.error, client);
      return true;
    }
    if (result.error != client::PubSubError::kNone) {
      report_failure("publish", result.error, client);
      return false;
    }
    ++published;
    last_seq = std::max(last_seq, result.seq);
    return true;
  };
  std::string line;
  uint64_t line_number = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (is_blank(line)) continue;
    const client::PublishTicket ticket = client.send_publish(options.topic, line);
    if (ticket.error != client::PubSubError::kNone) {
      return report_failure("publish", ticket.error, client);
    }
    in_flight.emplace_back(ticket.id, line_number);
    if (in_flight.size() >= kAcksInFlightMax && !settle_oldest()) return kExitFailed;
  }
  while (!in_flight.empty()) {
    if (!settle_oldest()) return kExitFailed;
  }
  std::cout << published << " " << last_seq << "\n";
  return rejected == 0 ? kExitOk : kExitFailed;
}

}  // namespace

int run_pub(const CliOptions& options) {
  client::PubSubClient client;
  if (!connect_client(options, client)) return kExitFailed;
  int status = kExitOk;
  if (options.data) {
    status = publish_one(client, options, *options.data);
  } else if (options.binary) {
    status = publish_one(client, options, read_all_stdin());
  } else {
    status = publish_lines(client, options);
  }
  report_compression(options, client);
  client.close();
  return status;
}

}  // namespace herald::cli
