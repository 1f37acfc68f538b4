// The multi-process connection pool behind the idle and conns scenarios: tens of thousands
// of connections over several client processes (at most 19,000 fds each) and several
// 127.0.0.x source addresses, held open while the broker's RSS is read.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>

#include "clients/cpp/bench/client_loop.h"
#include "clients/cpp/bench/json_writer.h"
#include "clients/cpp/bench/options.h"

namespace herald::bench {

// What a child tells the parent, once after dialing and readying its connections (phase 1)
// and once after closing them (phase 2). Written in one write() of at most PIPE_BUF bytes,
// so it arrives whole.
struct ChildReport {
  uint32_t phase = 0;
  DialStats dial;
  CloseStats hold;   // connections that ended while held: the broker dropped them
  CloseStats close;  // how our closing handshakes ended
  uint64_t messages_received = 0;
  uint64_t subscribed = 0;  // subscriptions acked (conns)
  uint64_t subscribe_errors = 0;
  int64_t close_elapsed_ns = 0;  // from sending our Close frames to the last TCP close
  // Message arrivals and, with --reconnect, the storm: steady_clock (CLOCK_MONOTONIC) ns,
  // comparable across processes; 0 when none. first_message_ns: the first connection to
  // receive a message got it; last_message_ns: the last connection got its first message (so
  // one message published to all: the time it reached every one).
  int64_t first_message_ns = 0;
  int64_t last_message_ns = 0;
  uint64_t lost = 0;          // subscribed connections the broker dropped while held
  uint64_t resubscribed = 0;  // of those, subscribed again (--reconnect)
  int64_t first_lost_ns = 0;
  int64_t all_subscribed_ns = 0;  // the last time every connection became subscribed again
  uint64_t subscribed_now = 0;    // subscribed connections at the end of the hold
};
static_assert(std::is_trivially_copyable_v<ChildReport>);
static_assert(sizeof(ChildReport) <= PIPE_BUF);

// What one child's connections do. Created in the child after fork; runs on its loop's
// thread.
class PoolHandler : public ConnectionHandler {
 public:
  virtual void attach(ClientLoop& /*loop*/) {}
  // True once the open connections need nothing more before the hold (all subscribed).
  [[nodiscard]] virtual bool ready() const { return true; }
  // Adds the handler's own counts (messages, subscriptions) to the report.
  virtual void fill(ChildReport& report) const = 0;
};

struct PoolScenario {
  std::string_view name;
  std::string_view subprotocols;  // offered in the handshake; empty: none
  bool subscribes = false;        // report (and check) subscribed and subscribe_errors
  bool reconnects = false;        // --reconnect applies
  // The handler of one child, whose connections have global indexes first_index and on.
  std::unique_ptr<PoolHandler> (*make_handler)(const Options& options, uint32_t first_index);
  // The scenario's own parameters, into the open "params" object; may be null.
  void (*write_params)(const Options& options, JsonWriter& out) = nullptr;
};

// Runs the scenario: writes "params" and "results" into `out` and returns the exit status of
// Scenario::run.
int run_pool_scenario(const Options& options, const PoolScenario& scenario, JsonWriter& out);

}  // namespace herald::bench
