// `herald-cli sub`: subscribe, then print messages and gap notices until the count is reached
// or the connection ends.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "clients/cpp/cli/commands.h"

namespace herald::cli {

namespace {

// receive() wakes up this often with nothing to do; a subscriber may wait for hours.
constexpr std::chrono::seconds kReceiveWait(60);

}  // namespace

int run_sub(const CliOptions& options) {
  client::PubSubClient client;
  if (!connect_client(options, client)) return kExitFailed;
  const std::chrono::milliseconds timeout(options.timeout_ms);
  for (const std::string& filter : options.filters) {
    if (const client::PubSubError error = client.subscribe(filter, options.policy, timeout);
        error != client::PubSubError::kNone) {
      return report_failure("subscribe " + filter, error, client);
    }
  }
  using Kind = protocol::pubsub::ServerMessage::Kind;
  uint64_t received = 0;
  while (options.count == 0 || received < options.count) {
    const client::Incoming incoming = client.receive(kReceiveWait);
    if (incoming.error == client::PubSubError::kTimeout) continue;
    if (incoming.error != client::PubSubError::kNone) {
      return report_failure("receive", incoming.error, client);
    }
    const protocol::pubsub::ServerMessage& message = incoming.message;
    if (message.kind == Kind::kError) {
      // An error for a command without an id cannot be ours; report it and go on.
      std::cerr << "herald-cli: server error: " << message.code << ": " << message.text << "\n";
      continue;
    }
    if (message.kind != Kind::kMessage && message.kind != Kind::kGap) continue;
    const std::string line = format_line(message) + "\n";
    // Flushed per line, so that `herald-cli sub ... | grep` sees messages as they come.
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
    if (message.kind == Kind::kMessage) ++received;
  }
  report_compression(options, client);
  client.close();
  return kExitOk;
}

}  // namespace herald::cli
