// The conns scenario: many idle connections, each holding a subscription (its own topic, or
// one shared topic), to measure what a subscribed connection costs the broker. The process
// pool (process_pool.cc) dials and holds them; this handler subscribes each on open.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "clients/cpp/bench/process_pool.h"
#include "clients/cpp/bench/scenario.h"
#include "protocol/pubsub/client_codec.h"
#include "protocol/pubsub/command.h"

namespace herald::bench {

namespace {

namespace ws = protocol::websocket;
namespace pubsub = protocol::pubsub;

class SubscribedHandler final : public PoolHandler {
 public:
  SubscribedHandler(const Options& options, uint32_t first_index, pubsub::Policy policy)
      : options_(options), first_index_(first_index), policy_(policy) {}

  void attach(ClientLoop& loop) override {
    loop_ = &loop;
    subscribed_by_index_.assign(loop.connections().size(), false);
    got_message_.assign(loop.connections().size(), false);
  }

  void on_open(BenchConnection& connection) override {
    ++opened_;
    const std::string topic = options_.shared_topic
                                  ? options_.topic
                                  : "bench.c." + std::to_string(first_index_ + connection.index);
    // The id names the connection, so that its ack marks it subscribed.
    const std::string command =
        pubsub::encode_subscribe(topic, std::to_string(connection.index), policy_);
    const std::span<uint8_t> payload =
        loop_->begin_frame(connection, ws::Opcode::kText, command.size());
    if (payload.empty()) return;  // cannot happen: the buffer holds the request, and more
    std::memcpy(payload.data(), command.data(), command.size());
    loop_->end_frame();
  }

  void on_message(BenchConnection& connection, ws::Opcode opcode,
                  std::span<const uint8_t> payload) override {
    pubsub::ServerMessage message;
    if (opcode == ws::Opcode::kText && parser_.parse_text(payload, message)) {
      if (message.kind == pubsub::ServerMessage::Kind::kAck) {
        ++subscribed_;
        on_subscribed(connection);
        return;
      }
      if (message.kind == pubsub::ServerMessage::Kind::kError) {
        ++subscribe_errors_;
        return;
      }
    }
    // Unexpected unless a publisher streams to the topic (hundred_k.sh): the arrival times
    // give the time to deliver a message to every connection.
    ++messages_received_;
    if (got_message_[connection.index]) return;
    got_message_[connection.index] = true;
    last_message_ns_ = now_ns();
    if (first_message_ns_ == 0) first_message_ns_ = last_message_ns_;
  }

  void on_lost(BenchConnection& connection) override {
    ++lost_;
    if (!subscribed_by_index_[connection.index]) return;
    subscribed_by_index_[connection.index] = false;
    --subscribed_now_;
    ++lost_subscribed_;
    if (first_lost_ns_ == 0) first_lost_ns_ = now_ns();
  }

  [[nodiscard]] bool ready() const override {
    return subscribed_ + subscribe_errors_ + lost_ >= opened_;
  }

  void fill(ChildReport& report) const override {
    report.messages_received = messages_received_;
    report.subscribed = subscribed_;
    report.subscribe_errors = subscribe_errors_;
    report.first_message_ns = first_message_ns_;
    report.last_message_ns = last_message_ns_;
    report.lost = lost_subscribed_;
    report.resubscribed = resubscribed_;
    report.first_lost_ns = first_lost_ns_;
    report.all_subscribed_ns = all_subscribed_ns_;
    report.subscribed_now = subscribed_now_;
  }

 private:
  const Options& options_;
  uint32_t first_index_;
  pubsub::Policy policy_;
  ClientLoop* loop_ = nullptr;
  pubsub::ServerMessageParser parser_;
  uint64_t opened_ = 0;
  uint64_t subscribed_ = 0;
  uint64_t subscribe_errors_ = 0;
  uint64_t lost_ = 0;
  uint64_t messages_received_ = 0;
  // When the first and the last connection received their first message.
  std::vector<bool> got_message_;
  int64_t first_message_ns_ = 0;
  int64_t last_message_ns_ = 0;
  // The reconnect storm (--reconnect): which connections hold an acked subscription now
  // (sized by attach(), indexed by the connection's index in this child).
  std::vector<bool> subscribed_by_index_;
  uint64_t subscribed_now_ = 0;
  uint64_t lost_subscribed_ = 0;
  uint64_t resubscribed_ = 0;
  int64_t first_lost_ns_ = 0;
  int64_t all_subscribed_ns_ = 0;

  void on_subscribed(const BenchConnection& connection) {
    if (subscribed_by_index_[connection.index]) return;  // a second ack: not a resubscription
    subscribed_by_index_[connection.index] = true;
    ++subscribed_now_;
    if (lost_subscribed_ == 0) return;
    ++resubscribed_;
    if (subscribed_now_ == subscribed_by_index_.size()) all_subscribed_ns_ = now_ns();
  }
};

std::unique_ptr<PoolHandler> make_subscribed_handler(const Options& options, uint32_t first_index) {
  pubsub::Policy policy = pubsub::Policy::kDefault;
  (void)pubsub::parse_policy(options.policy, policy);  // checked by run_conns
  return std::make_unique<SubscribedHandler>(options, first_index, policy);
}

void write_conns_params(const Options& options, JsonWriter& out) {
  out.field("shared_topic", options.shared_topic);
  if (options.shared_topic) out.field("topic", options.topic);
  out.field("policy", options.policy.empty() ? "default" : options.policy);
  out.field("reconnect", options.reconnect);
}

}  // namespace

int run_conns(const Options& options, JsonWriter& out) {
  pubsub::Policy policy = pubsub::Policy::kDefault;
  if (!options.policy.empty() && !pubsub::parse_policy(options.policy, policy)) {
    out.begin_object("results");
    out.field("error", "unknown --policy " + options.policy);
    return 1;
  }
  const PoolScenario scenario{
      "conns", "herald.v1", true, true, &make_subscribed_handler, &write_conns_params};
  return run_pool_scenario(options, scenario, out);
}

}  // namespace herald::bench
