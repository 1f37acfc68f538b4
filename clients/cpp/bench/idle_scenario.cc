// The idle scenario: many open, silent WebSocket connections, to measure what an idle
// connection costs the broker. The process pool (process_pool.cc) does the work.
#include <memory>

#include "clients/cpp/bench/process_pool.h"
#include "clients/cpp/bench/scenario.h"

namespace herald::bench {

namespace {

// An idle connection should hear nothing; anything it does hear is counted.
class IdleHandler final : public PoolHandler {
 public:
  void on_message(BenchConnection&, protocol::websocket::Opcode,
                  std::span<const uint8_t>) override {
    ++messages_received_;
  }
  void fill(ChildReport& report) const override { report.messages_received = messages_received_; }

 private:
  uint64_t messages_received_ = 0;
};

std::unique_ptr<PoolHandler> make_idle_handler(const Options& /*options*/,
                                               uint32_t /*first_index*/) {
  return std::make_unique<IdleHandler>();
}

}  // namespace

int run_idle(const Options& options, JsonWriter& out) {
  const PoolScenario scenario{"idle", "", false, false, &make_idle_handler, nullptr};
  return run_pool_scenario(options, scenario, out);
}

}  // namespace herald::bench
