// PubSubLoad: subscribes every subscriber connection, then publishes binary messages (or JSON
// ticks in text frames) from connection 0, paced by rate or by the slowest subscriber, and
// checks each delivery's topic seq. Publishes carry no id: acks would cost the broker as much
// as the messages.
#include "clients/cpp/bench/pubsub_load.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <iostream>
#include <optional>

#include "clients/cpp/bench/broker_metrics.h"
#include "clients/cpp/bench/client_loop.h"
#include "clients/cpp/bench/json_tick.h"
#include "clients/cpp/bench/latency_histogram.h"
#include "clients/cpp/bench/loop_setup.h"
#include "clients/cpp/bench/proc_stats.h"
#include "clients/cpp/bench/pubsub_report.h"
#include "protocol/pubsub/client_codec.h"
#include "protocol/pubsub/command.h"
#include "protocol/pubsub/topic.h"

namespace herald::bench {

namespace {

namespace ws = protocol::websocket;
namespace pubsub = protocol::pubsub;

// Payload layout: send time (steady_clock ns), the publisher's counter, then a fixed pattern
// that lets a subscriber spot corruption. Host byte order: only this process reads it.
constexpr size_t kTimestampOffset = 0;
constexpr size_t kCounterOffset = 8;
constexpr size_t kPatternOffset = 16;
// The binary message header (PROTOCOL.md section 5): kind, topic length, then the seq.
constexpr size_t kMessageHeaderBytes = 2;
constexpr size_t kSeqBytes = 8;
// The publisher's send buffer: deep enough for a window of messages between two flushes.
constexpr size_t kPublisherOutputBytes = 4 << 20;
constexpr size_t kSubscriberOutputBytes = 512;
constexpr int64_t kSubscribeTimeoutNs = 10'000'000'000;
constexpr int64_t kDrainTimeoutNs = 2'000'000'000;
constexpr int64_t kFullBufferWaitNs = 1'000'000;
constexpr int64_t kStallProbeNs = 20'000'000;

uint64_t load_be64(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | bytes[i];
  return value;
}

struct Subscriber {
  uint32_t topic = 0;
  bool subscribed = false;
  bool lost = false;
  uint64_t next_seq = 0;   // 0: nothing received yet
  uint64_t accounted = 0;  // this topic's messages received in order or known lost
};

class PubSubLoad final : public ConnectionHandler {
 public:
  PubSubLoad(const Options& options, const PubSubPlan& plan, pubsub::Policy policy)
      : options_(options),
        plan_(plan),
        policy_(policy),
        json_ticks_(options.payload == "json-tick"),
        pattern_(options.payload_bytes),
        subscribers_(plan.subscribers + 1),
        receivers_(plan.topics.size()),
        published_per_topic_(plan.topics.size()),
        // Each subscriber may owe publish_window messages of its own topic.
        window_(options.rate == 0 ? uint64_t{options.publish_window} * plan.topics.size() : 0) {
    for (size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = static_cast<uint8_t>(i * 31 + 7);
    for (uint32_t s = 1; s <= plan.subscribers; ++s) {
      subscribers_[s].topic = (s - 1) % plan.topics.size();
    }
    for (const std::string& topic : plan.topics) {
      std::vector<uint8_t> prefix = {pubsub::kBinaryPublishKind, 0,
                                     static_cast<uint8_t>(topic.size())};
      prefix.insert(prefix.end(), topic.begin(), topic.end());
      publish_prefixes_.push_back(std::move(prefix));
      // {"op":"pub","topic":T,"data":} without its closing brace: the tick goes after it.
      std::string text_prefix = pubsub::encode_publish(topic, "");
      text_prefix.pop_back();
      text_publish_prefixes_.push_back(std::move(text_prefix));
    }
  }

  void attach(ClientLoop& loop) { loop_ = &loop; }

  void on_open(BenchConnection& connection) override {
    if (connection.index == 0) return;  // the publisher subscribes to nothing
    ++subscribers_opened_;
    const std::string command =
        pubsub::encode_subscribe(plan_.topics[subscribers_[connection.index].topic],
                                 std::to_string(connection.index), policy_);
    const std::span<uint8_t> payload =
        loop_->begin_frame(connection, ws::Opcode::kText, command.size());
    if (payload.empty()) return;  // cannot happen: the buffer holds far more
    std::memcpy(payload.data(), command.data(), command.size());
    loop_->end_frame();
  }

  void on_read() override { read_ns_ = now_ns(); }

  void on_message(BenchConnection& connection, ws::Opcode opcode,
                  std::span<const uint8_t> payload) override {
    if (connection.index != 0 && opcode == ws::Opcode::kText && json_ticks_) {
      Subscriber& subscriber = subscribers_[connection.index];
      const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
      if (auto delivery = read_text_delivery(text, plan_.topics[subscriber.topic])) {
        return on_tick(subscriber, delivery->seq, delivery->data);
      }
    }
    if (opcode == ws::Opcode::kText) return on_text(payload);
    if (connection.index == 0 || json_ticks_) {
      ++counters_.unexpected;
      return;
    }
    on_delivery(subscribers_[connection.index], payload);
  }

  void on_lost(BenchConnection& connection) override {
    ++counters_.connections_lost;
    if (connection.index == 0) {
      publisher_lost_ = true;
      return;
    }
    Subscriber& subscriber = subscribers_[connection.index];
    if (!subscriber.subscribed) ++subscribers_lost_early_;
    if (!subscriber.subscribed || subscriber.lost) return;
    subscriber.lost = true;
    if (!publishing_) return;  // start_publishing() leaves it out
    // Its remaining deliveries will never come: stop waiting for them.
    --receivers_[subscriber.topic];
    counters_.expected_deliveries -= published_per_topic_[subscriber.topic] - subscriber.accounted;
    advance_window();
  }

  // True once every subscriber that opened has its subscription answered (or was lost).
  [[nodiscard]] bool subscriptions_answered() const {
    return counters_.subscribed + counters_.subscribe_errors + subscribers_lost_early_ >=
           subscribers_opened_;
  }

  // Counts the live subscribers of each topic; publishing may start.
  void start_publishing() {
    for (uint32_t s = 1; s <= plan_.subscribers; ++s) {
      if (subscribers_[s].subscribed && !subscribers_[s].lost) ++receivers_[subscribers_[s].topic];
    }
    publishing_ = true;
    // Twice the window: a stall probe may publish past it (see publish()).
    ring_.assign(2 * window_, 0);
  }

  // Publishes until `end_ns` (or the count), recording what lands in the measured window.
  void publish(int64_t end_ns, int64_t measure_start_ns, int64_t measure_end_ns);
  // Waits until every live subscriber has every message published, or `deadline_ns`.
  void drain(int64_t deadline_ns) {
    while (counters_.accounted < counters_.expected_deliveries && now_ns() < deadline_ns) {
      loop_->poll(deadline_ns);
    }
  }

  [[nodiscard]] const PubSubCounters& counters() const { return counters_; }
  [[nodiscard]] const LatencyHistogram& latency() const { return latency_; }
  [[nodiscard]] uint32_t subscribers_open() const {
    uint32_t open = 0;
    for (uint32_t s = 1; s <= plan_.subscribers; ++s) {
      open += loop_->connections()[s].state == BenchConnection::State::kOpen ? 1 : 0;
    }
    return open;
  }

 private:
  void on_text(std::span<const uint8_t> payload);
  void on_delivery(Subscriber& subscriber, std::span<const uint8_t> payload);
  void on_tick(Subscriber& subscriber, uint64_t seq, std::string_view tick);
  // A delivery that passed its checks: order, latency, accounting.
  void on_valid(Subscriber& subscriber, uint64_t seq, uint64_t counter, int64_t sent_ns);
  void account(Subscriber& subscriber, uint64_t counter, uint64_t seq);
  bool publish_one(BenchConnection& publisher, int64_t now);
  bool published_one(size_t topic, int64_t now);  // the counting after a publish
  void mark_received(uint64_t counter);
  void advance_window();
  [[nodiscard]] bool window_full() const {
    return window_ != 0 && counters_.published - window_head_ >= window_;
  }
  [[nodiscard]] bool count_reached() const {
    return options_.messages != 0 && counters_.published >= options_.messages;
  }

  const Options& options_;
  const PubSubPlan& plan_;
  pubsub::Policy policy_;
  ClientLoop* loop_ = nullptr;
  const bool json_ticks_;  // --payload json-tick
  pubsub::ServerMessageParser parser_;
  std::vector<uint8_t> pattern_;
  std::vector<std::vector<uint8_t>> publish_prefixes_;  // per topic: kind, flags, L, topic
  std::vector<std::string> text_publish_prefixes_;      // per topic: the JSON before the data
  std::vector<Subscriber> subscribers_;                 // by connection index; 0 unused
  std::vector<uint32_t> receivers_;                     // per topic: live subscribers
  std::vector<uint64_t> published_per_topic_;
  // With --rate 0: ring_[c % ring_.size()] counts the subscribers done with message c
  // (received or known lost); window_head_ is the oldest message some subscriber still owes.
  uint64_t window_;
  std::vector<uint32_t> ring_;
  uint64_t window_head_ = 0;
  bool publisher_lost_ = false;
  bool publishing_ = false;  // receivers_ counted
  uint64_t subscribers_opened_ = 0;
  uint64_t subscribers_lost_early_ = 0;  // before their subscription was answered
  int64_t publish_start_ns_ = 0;         // message k is due at this + k / rate
  uint64_t stalled_head_ = 0;            // window_head_ when it last moved, and when that was
  int64_t stalled_since_ns_ = 0;
  int64_t read_ns_ = 0;  // when the bytes being parsed were read
  int64_t measure_start_ns_ = 0;
  int64_t measure_end_ns_ = 0;
  PubSubCounters counters_;
  LatencyHistogram latency_;
};

void PubSubLoad::on_text(std::span<const uint8_t> payload) {
  pubsub::ServerMessage message;
  if (!parser_.parse_text(payload, message)) {
    ++counters_.unexpected;
    return;
  }
  using Kind = pubsub::ServerMessage::Kind;
  uint32_t index = 0;
  const auto [end, status] =
      std::from_chars(message.id.data(), message.id.data() + message.id.size(), index);
  const bool our_id = status == std::errc() && end == message.id.data() + message.id.size() &&
                      index >= 1 && index <= plan_.subscribers;
  if (message.kind == Kind::kAck && our_id && !subscribers_[index].subscribed) {
    subscribers_[index].subscribed = true;
    ++counters_.subscribed;
  } else if (message.kind == Kind::kError) {
    ++counters_.subscribe_errors;
    if (counters_.first_error.empty()) {
      counters_.first_error = std::string(message.code) + ": " + std::string(message.text);
    }
  } else if (message.kind == Kind::kGap) {
    ++counters_.gaps;
    counters_.gap_missed += message.missed;
  } else if (message.kind == Kind::kRecovery) {
    // A topic with history (PROTOCOL.md section 9) opens with its epoch and position.
  } else {
    ++counters_.unexpected;
  }
}

void PubSubLoad::on_delivery(Subscriber& subscriber, std::span<const uint8_t> frame) {
  ++counters_.delivered;
  const std::string& topic = plan_.topics[subscriber.topic];
  const size_t header_bytes = kMessageHeaderBytes + topic.size() + kSeqBytes;
  const uint8_t* bytes = frame.data();
  if (frame.size() != header_bytes + options_.payload_bytes ||
      bytes[0] != pubsub::kBinaryMessageKind || bytes[1] != topic.size() ||
      std::memcmp(bytes + kMessageHeaderBytes, topic.data(), topic.size()) != 0) {
    ++counters_.corrupt;
    return;
  }
  const uint64_t seq = load_be64(bytes + kMessageHeaderBytes + topic.size());
  const uint8_t* payload = bytes + header_bytes;
  int64_t sent_ns = 0;
  uint64_t counter = 0;
  std::memcpy(&sent_ns, payload + kTimestampOffset, sizeof(sent_ns));
  std::memcpy(&counter, payload + kCounterOffset, sizeof(counter));
  if (std::memcmp(payload + kPatternOffset, pattern_.data() + kPatternOffset,
                  options_.payload_bytes - kPatternOffset) != 0) {
    ++counters_.corrupt;
    return;
  }
  on_valid(subscriber, seq, counter, sent_ns);
}

void PubSubLoad::on_tick(Subscriber& subscriber, uint64_t seq, std::string_view tick) {
  ++counters_.delivered;
  const std::optional<TickStamp> stamp = read_json_tick(tick);
  if (!stamp) {
    ++counters_.corrupt;
    return;
  }
  on_valid(subscriber, seq, stamp->counter, stamp->sent_ns);
}

void PubSubLoad::on_valid(Subscriber& subscriber, uint64_t seq, uint64_t counter, int64_t sent_ns) {
  // Messages that came in one read arrived together: one clock read serves them all.
  const int64_t now = read_ns_;
  if (counter % plan_.topics.size() != subscriber.topic) {
    ++counters_.corrupt;
    return;
  }
  if (subscriber.next_seq != 0 && seq < subscriber.next_seq) {
    ++counters_.reordered;  // a duplicate or an older message: already accounted
    return;
  }
  if (now >= measure_start_ns_ && now < measure_end_ns_) {
    ++counters_.delivered_measured;
    latency_.record(static_cast<uint64_t>(std::max<int64_t>(0, now - sent_ns)));
  }
  account(subscriber, counter, seq);
}

// A message in order, perhaps after a jump: the messages jumped over are lost.
void PubSubLoad::account(Subscriber& subscriber, uint64_t counter, uint64_t seq) {
  const uint64_t topics = plan_.topics.size();
  // The first message: all of the topic's messages came after the subscription, so any
  // published before this one were lost; counted by the publisher's numbering.
  const uint64_t missed = subscriber.next_seq == 0 ? counter / topics - subscriber.accounted
                                                   : seq - subscriber.next_seq;
  subscriber.next_seq = seq + 1;
  counters_.lost += missed;
  subscriber.accounted += missed + 1;
  counters_.accounted += missed + 1;
  if (window_ == 0) return;
  mark_received(counter);
  for (uint64_t k = 1; k <= missed && counter >= k * topics; ++k) {
    if (counter - k * topics < window_head_) break;
    mark_received(counter - k * topics);
  }
}

void PubSubLoad::mark_received(uint64_t counter) {
  if (counter < window_head_ || counter >= counters_.published) return;
  ++ring_[counter % ring_.size()];
  advance_window();
}

void PubSubLoad::advance_window() {
  if (window_ == 0) return;
  const uint64_t topics = plan_.topics.size();
  while (window_head_ < counters_.published &&
         ring_[window_head_ % ring_.size()] >= receivers_[window_head_ % topics]) {
    ring_[window_head_ % ring_.size()] = 0;
    ++window_head_;
  }
}

bool PubSubLoad::publish_one(BenchConnection& publisher, int64_t now) {
  const uint64_t counter = counters_.published;
  const size_t topic = counter % plan_.topics.size();
  if (json_ticks_) {
    std::array<char, kJsonTickBytesMax> tick;
    const size_t tick_bytes = write_json_tick(counter, now, tick);
    const std::string& prefix = text_publish_prefixes_[topic];
    const std::span<uint8_t> frame =
        loop_->begin_frame(publisher, ws::Opcode::kText, prefix.size() + tick_bytes + 1);
    if (frame.empty()) return false;
    std::memcpy(frame.data(), prefix.data(), prefix.size());
    std::memcpy(frame.data() + prefix.size(), tick.data(), tick_bytes);
    frame[prefix.size() + tick_bytes] = '}';
    loop_->end_frame();
    return published_one(topic, now);
  }
  const std::vector<uint8_t>& prefix = publish_prefixes_[topic];
  const std::span<uint8_t> frame =
      loop_->begin_frame(publisher, ws::Opcode::kBinary, prefix.size() + options_.payload_bytes);
  if (frame.empty()) return false;  // the send buffer is full: the broker is behind
  std::memcpy(frame.data(), prefix.data(), prefix.size());
  uint8_t* payload = frame.data() + prefix.size();
  std::memcpy(payload + kTimestampOffset, &now, sizeof(now));
  std::memcpy(payload + kCounterOffset, &counter, sizeof(counter));
  std::memcpy(payload + kPatternOffset, pattern_.data() + kPatternOffset,
              options_.payload_bytes - kPatternOffset);
  loop_->end_frame();
  return published_one(topic, now);
}

bool PubSubLoad::published_one(size_t topic, int64_t now) {
  ++counters_.published;
  ++published_per_topic_[topic];
  counters_.expected_deliveries += receivers_[topic];
  if (now >= measure_start_ns_ && now < measure_end_ns_) ++counters_.published_measured;
  // A topic nobody receives would stall the window forever.
  advance_window();
  return true;
}

void PubSubLoad::publish(int64_t end_ns, int64_t measure_start_ns, int64_t measure_end_ns) {
  measure_start_ns_ = measure_start_ns;
  measure_end_ns_ = measure_end_ns;
  BenchConnection& publisher = loop_->connections()[0];
  if (publish_start_ns_ == 0) publish_start_ns_ = now_ns();
  const int64_t start = publish_start_ns_;
  const double ns_per_message = options_.rate > 0 ? 1e9 / options_.rate : 0;
  while (!publisher_lost_ && publisher.fd >= 0) {
    const int64_t now = now_ns();
    // With --messages, the run ends once the last one has reached every subscriber.
    const bool all_delivered =
        count_reached() && counters_.accounted >= counters_.expected_deliveries;
    if (now >= end_ns || all_delivered) break;
    bool buffer_full = false;
    // With a rate, message k is due at start + k / rate; without, whenever the window allows.
    while (!count_reached() && !window_full() && !buffer_full) {
      if (ns_per_message > 0 && static_cast<double>(counters_.published) * ns_per_message >
                                    static_cast<double>(now - start)) {
        break;
      }
      buffer_full = !publish_one(publisher, now);
    }
    // Under the drop and conflate policies the broker may skip a subscriber's newest
    // messages; it tells (gap, or a seq jump) only with the next message. When the window
    // has not moved for a while, one message past it brings that news.
    if (window_head_ != stalled_head_) {
      stalled_head_ = window_head_;
      stalled_since_ns_ = now;
    } else if (window_full() && !count_reached() && !buffer_full &&
               now - stalled_since_ns_ >= kStallProbeNs &&
               counters_.published - window_head_ < 2 * window_) {
      buffer_full = !publish_one(publisher, now);
      stalled_since_ns_ = now;
      ++counters_.stall_probes;
    }
    if (!loop_->flush(publisher)) break;
    int64_t wake = window_full() ? now + kStallProbeNs : end_ns;
    if (buffer_full) {
      wake = now + kFullBufferWaitNs;
    } else if (ns_per_message > 0 && !count_reached()) {
      wake =
          start + static_cast<int64_t>(static_cast<double>(counters_.published) * ns_per_message);
    }
    loop_->poll(std::min(wake, end_ns));
  }
}

int fail(const PubSubPlan& plan, JsonWriter& out, const std::string& error) {
  out.field("error", error);
  std::cerr << "herald-bench " << plan.scenario << ": " << error << "\n";
  return 1;
}

bool check_limits(const PubSubPlan& plan, std::string& error) {
  const uint64_t fd_limit = raise_fd_limit();
  const uint64_t connections = uint64_t{plan.subscribers} + 1;
  if (connections > kConnectionsPerProcessMax || connections + 16 > fd_limit) {
    error = plan.scenario + " runs in one process: at most " +
            std::to_string(std::min<uint64_t>(kConnectionsPerProcessMax, fd_limit - 16) - 1) +
            " subscribers";
    return false;
  }
  for (const std::string& topic : plan.topics) {
    if (const pubsub::TopicError topic_error = pubsub::check_topic(topic);
        topic_error != pubsub::TopicError::kNone) {
      error =
          "invalid topic '" + topic + "': " + std::string(pubsub::topic_error_text(topic_error));
      return false;
    }
  }
  return true;
}

}  // namespace

int run_pubsub_once(const Options& given, const PubSubPlan& plan, JsonWriter& out,
                    RunSummary& summary) {
  // --connections does not apply: the plan decides, and source addresses follow from it.
  Options options = given;
  options.connections = plan.subscribers + 1;
  std::string error;
  pubsub::Policy policy = pubsub::Policy::kDefault;
  if (!options.policy.empty() && !pubsub::parse_policy(options.policy, policy)) {
    return fail(plan, out, "unknown --policy " + options.policy);
  }
  if (!check_limits(plan, error)) return fail(plan, out, error);
  std::optional<LoopConfig> config = make_loop_config(options, error);
  if (!config) return fail(plan, out, error);
  config->connections = plan.subscribers + 1;
  config->subprotocols = "herald.v1";
  config->output_bytes = kSubscriberOutputBytes;
  config->output_bytes_first = kPublisherOutputBytes;
  config->message_bytes_max = uint64_t{1} << 20;
  PubSubLoad load(options, plan, policy);
  std::unique_ptr<ClientLoop> loop = ClientLoop::create(*std::move(config), load, error);
  if (!loop) return fail(plan, out, error);
  load.attach(*loop);

  std::cerr << "herald-bench " << plan.scenario << ": opening 1 publisher and " << plan.subscribers
            << " subscriber connections\n";
  const DialStats dial = loop->dial(dial_deadline_ns(options, plan.subscribers + 1));
  write_dial_results(dial, out);
  if (loop->connections()[0].state != BenchConnection::State::kOpen) {
    return fail(plan, out, "the publisher's connection did not open");
  }
  loop->run(now_ns() + kSubscribeTimeoutNs, [&load] { return load.subscriptions_answered(); });
  load.start_publishing();
  std::cerr << "herald-bench " << plan.scenario << ": " << load.counters().subscribed
            << " subscribed; publishing\n";

  // Warm up, then read the broker's counters and /proc figures between the warm-up and the
  // measured window, and again after it: the scrapes stall the publisher outside the window.
  load.publish(now_ns() + static_cast<int64_t>(options.warmup_s * 1e9), INT64_MAX, INT64_MAX);
  const std::optional<BrokerCounters> counters_before = scrape_broker_counters(options);
  const ResourceSample before = sample_resources(options);
  const int64_t measure_start = now_ns();
  const int64_t measure_end = measure_start + static_cast<int64_t>(options.duration_s * 1e9);
  load.publish(measure_end, measure_start, measure_end);
  const ResourceSample after = sample_resources(options);
  const int64_t window_end = std::min(now_ns(), measure_end);
  const std::optional<BrokerCounters> counters_after = scrape_broker_counters(options);
  load.drain(now_ns() + kDrainTimeoutNs);
  const uint32_t subscribers_open = load.subscribers_open();
  loop->close_all(now_ns() + close_timeout_ns(options, plan.subscribers + 1));

  const double measured_s =
      static_cast<double>(std::max<int64_t>(0, window_end - measure_start)) / 1e9;
  write_pubsub_results(load.counters(), load.latency(), measured_s, subscribers_open, out);
  write_regime(options, plan.subscribers, counters_before, counters_after, out);
  write_close_results(loop->close_stats(), out);
  write_traffic_results(loop->traffic(), out);
  write_resource_results(before, after, measured_s, out);
  summary.regime = compute_regime(options, plan.subscribers, counters_before, counters_after);
  summary.deliveries_per_s =
      measured_s > 0 ? static_cast<double>(load.counters().delivered_measured) / measured_s : 0;
  summary.latency_p50_us = static_cast<double>(load.latency().percentile_ns(0.5)) / 1e3;
  summary.latency_p99_us = static_cast<double>(load.latency().percentile_ns(0.99)) / 1e3;
  const PubSubCounters& counters = load.counters();
  const bool clean = dial.failed() == 0 && counters.subscribed == plan.subscribers &&
                     counters.clean() && loop->close_stats().close_timeouts == 0;
  return clean ? 0 : 3;
}

}  // namespace herald::bench
