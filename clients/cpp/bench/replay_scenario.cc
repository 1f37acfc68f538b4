// The replay scenario (PROTOCOL.md section 9): fills one topic that has history through the
// broker, each publish acknowledged (so durable in the rule's mode), then times one subscriber
// replaying the topic's whole log with "from":1 and checks that every sequence number arrives
// once and in order. The fill can be skipped to measure a cold replay after a restart.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <iostream>
#include <optional>
#include <vector>

#include "clients/cpp/bench/client_loop.h"
#include "clients/cpp/bench/loop_setup.h"
#include "clients/cpp/bench/pubsub_report.h"
#include "clients/cpp/bench/scenario.h"
#include "protocol/pubsub/client_codec.h"
#include "protocol/pubsub/command.h"
#include "protocol/pubsub/topic.h"

namespace herald::bench {

namespace {

namespace ws = protocol::websocket;
namespace pubsub = protocol::pubsub;

// Payload layout: the publisher's counter (host byte order: only this process reads it),
// then a fixed pattern, so that a replayed message can be matched to what was published.
constexpr size_t kCounterOffset = 0;
constexpr size_t kPatternOffset = 8;
constexpr uint64_t kDefaultMessages = 1'000'000;
// Publish ids are 32-bit in binary frames (section 5); the replay keeps one bit per message.
constexpr uint64_t kMessagesMax = uint64_t{1} << 32;
constexpr uint64_t kReplayMessagesMax = 1'000'000'000;
constexpr size_t kPublisherOutputBytes = 4 << 20;
constexpr size_t kSubscriberOutputBytes = 1024;
constexpr int64_t kFullBufferWaitNs = 1'000'000;
// After the last sequence arrived: how long to listen for stray duplicates.
constexpr int64_t kSettleNs = 100'000'000;
constexpr int64_t kCloseTimeoutNs = 2'000'000'000;
constexpr std::string_view kSubscribeId = "\"replay\"";

struct FillCounters {
  uint64_t published = 0;
  uint64_t acked = 0;
  uint64_t errors = 0;          // error replies (storage_failed, too_many_topics...)
  uint64_t seq_mismatches = 0;  // an ack whose seq is not the first ack's seq + its id
  std::string first_error;
  uint64_t first_seq = 0;  // the seq of publish 0, learnt from the acks; 0: none yet
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // when the last answer was read
};

struct ReplayCounters {
  bool recovery_seen = false;
  bool subscribe_acked = false;
  bool complete = false;
  uint64_t first = 0;  // the recovery's fields
  uint64_t from = 0;
  uint64_t next = 0;
  uint64_t received = 0;      // distinct sequence numbers in [from, next)
  uint64_t highest = 0;       // the highest of them so far
  uint64_t gaps = 0;          // jumps forward over sequence numbers not yet received
  uint64_t duplicates = 0;    // a sequence number received twice
  uint64_t reordered = 0;     // below the highest received, not a duplicate
  uint64_t out_of_range = 0;  // below `from`, or before the recovery
  uint64_t corrupt = 0;       // this run's message with the wrong size, counter or pattern
  uint64_t unexpected = 0;    // other frames, errors, another topic
  uint64_t live_after = 0;    // live messages from `next` on (someone else publishing)
  std::string error;          // an error reply to the subscribe
  int64_t subscribe_ns = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;

  [[nodiscard]] uint64_t expected() const { return next > from ? next - from : 0; }
  [[nodiscard]] uint64_t missing() const { return expected() - received; }
  [[nodiscard]] bool done() const {
    return recovery_seen && subscribe_acked &&
           (received == expected() || (received > 0 && highest + 1 == next));
  }
  [[nodiscard]] bool clean() const {
    return recovery_seen && subscribe_acked && error.empty() && missing() == 0 && gaps == 0 &&
           duplicates == 0 && reordered == 0 && out_of_range == 0 && corrupt == 0 &&
           unexpected == 0;
  }
};

class ReplayScenario final : public ConnectionHandler {
 public:
  ReplayScenario(const Options& options, uint64_t messages)
      : options_(options), messages_(messages), pattern_(options.payload_bytes) {
    for (size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = static_cast<uint8_t>(i * 31 + 7);
    prefix_ = {pubsub::kBinaryPublishKind, pubsub::kBinaryFlagId,
               static_cast<uint8_t>(options.topic.size())};
    prefix_.insert(prefix_.end(), options.topic.begin(), options.topic.end());
  }

  void attach(ClientLoop& loop) { loop_ = &loop; }
  void on_read() override { read_ns_ = now_ns(); }

  void on_message(BenchConnection& connection, ws::Opcode opcode,
                  std::span<const uint8_t> payload) override {
    if (connection.index == 0) {
      if (opcode == ws::Opcode::kText) return on_publisher_text(payload);
      ++fill_unexpected_;
      return;
    }
    pubsub::ServerMessage message;
    const bool parsed = opcode == ws::Opcode::kText ? parser_.parse_text(payload, message)
                                                    : parser_.parse_binary(payload, message);
    if (!parsed) {
      ++replay_.unexpected;
      return;
    }
    on_subscriber_message(message);
  }

  void on_lost(BenchConnection& connection) override {
    (connection.index == 0 ? publisher_lost_ : subscriber_lost_) = true;
  }

  // Publishes --messages acknowledged messages with at most --publish-window unanswered;
  // returns when every one is answered, a connection is lost, or at `deadline_ns`.
  void fill(int64_t deadline_ns);
  // Subscribes from 1 and reads until the last sequence number the recovery announced.
  void replay(int64_t deadline_ns);

  [[nodiscard]] const FillCounters& fill_counters() const { return fill_; }
  [[nodiscard]] const ReplayCounters& replay_counters() const { return replay_; }
  [[nodiscard]] uint64_t fill_unexpected() const { return fill_unexpected_; }
  [[nodiscard]] bool publisher_lost() const { return publisher_lost_; }
  [[nodiscard]] bool subscriber_lost() const { return subscriber_lost_; }

 private:
  [[nodiscard]] uint64_t answered() const { return fill_.acked + fill_.errors; }
  bool publish_one(BenchConnection& publisher);
  void on_publisher_text(std::span<const uint8_t> payload);
  void on_subscriber_message(const pubsub::ServerMessage& message);
  void on_replayed(const pubsub::ServerMessage& message);
  [[nodiscard]] bool payload_matches(const pubsub::ServerMessage& message) const;

  const Options& options_;
  const uint64_t messages_;  // to fill; 0 with --no-fill
  ClientLoop* loop_ = nullptr;
  pubsub::ServerMessageParser parser_;
  std::vector<uint8_t> pattern_;
  std::vector<uint8_t> prefix_;  // kind, flags, topic length, topic
  std::vector<uint64_t> seen_;   // one bit per sequence number in [from, next)
  bool publisher_lost_ = false;
  bool subscriber_lost_ = false;
  uint64_t fill_unexpected_ = 0;
  int64_t read_ns_ = 0;  // when the bytes being parsed were read
  FillCounters fill_;
  ReplayCounters replay_;
};

bool ReplayScenario::publish_one(BenchConnection& publisher) {
  const uint64_t counter = fill_.published;
  const std::span<uint8_t> frame = loop_->begin_frame(publisher, ws::Opcode::kBinary,
                                                      prefix_.size() + 4 + options_.payload_bytes);
  if (frame.empty()) return false;  // the send buffer is full: the broker is behind
  std::memcpy(frame.data(), prefix_.data(), prefix_.size());
  uint8_t* id = frame.data() + prefix_.size();
  // The 32-bit id, big-endian: the broker answers it as a JSON number.
  for (int i = 0; i < 4; ++i) id[i] = static_cast<uint8_t>(counter >> (24 - 8 * i));
  uint8_t* payload = id + 4;
  std::memcpy(payload + kCounterOffset, &counter, sizeof(counter));
  std::memcpy(payload + kPatternOffset, pattern_.data() + kPatternOffset,
              options_.payload_bytes - kPatternOffset);
  loop_->end_frame();
  ++fill_.published;
  return true;
}

void ReplayScenario::fill(int64_t deadline_ns) {
  BenchConnection& publisher = loop_->connections()[0];
  fill_.start_ns = now_ns();
  while (answered() < messages_ && !publisher_lost_ && publisher.fd >= 0) {
    const int64_t now = now_ns();
    if (now >= deadline_ns) break;
    bool buffer_full = false;
    while (fill_.published < messages_ && fill_.published - answered() < options_.publish_window &&
           !buffer_full) {
      buffer_full = !publish_one(publisher);
    }
    if (!loop_->flush(publisher)) break;
    loop_->poll(buffer_full ? std::min(deadline_ns, now + kFullBufferWaitNs) : deadline_ns);
  }
}

void ReplayScenario::on_publisher_text(std::span<const uint8_t> payload) {
  pubsub::ServerMessage message;
  if (!parser_.parse_text(payload, message)) {
    ++fill_unexpected_;
    return;
  }
  uint64_t id = 0;
  const auto [end, status] =
      std::from_chars(message.id.data(), message.id.data() + message.id.size(), id);
  const bool our_id =
      status == std::errc() && end == message.id.data() + message.id.size() && id < fill_.published;
  if (!our_id) {
    ++fill_unexpected_;
    return;
  }
  fill_.end_ns = read_ns_;
  if (message.kind == pubsub::ServerMessage::Kind::kError) {
    ++fill_.errors;
    if (fill_.first_error.empty()) {
      fill_.first_error = std::string(message.code) + ": " + std::string(message.text);
    }
    return;
  }
  if (message.kind != pubsub::ServerMessage::Kind::kAck || !message.has_seq) {
    ++fill_unexpected_;
    return;
  }
  ++fill_.acked;
  // One connection's publishes to one topic are sequenced in the order sent (section 6).
  if (fill_.first_seq == 0 && message.seq > id) fill_.first_seq = message.seq - id;
  if (message.seq != fill_.first_seq + id) ++fill_.seq_mismatches;
}

void ReplayScenario::replay(int64_t deadline_ns) {
  BenchConnection& subscriber = loop_->connections()[1];
  const std::string command = "{\"op\":\"sub\",\"topic\":\"" + options_.topic +
                              "\",\"from\":1,\"id\":" + std::string(kSubscribeId) + "}";
  const std::span<uint8_t> frame =
      loop_->begin_frame(subscriber, ws::Opcode::kText, command.size());
  if (frame.empty()) return;  // cannot happen: nothing else was queued on it
  std::memcpy(frame.data(), command.data(), command.size());
  loop_->end_frame();
  replay_.subscribe_ns = now_ns();
  if (!loop_->flush(subscriber)) return;
  const auto finished = [this] {
    return replay_.done() || subscriber_lost_ || !replay_.error.empty();
  };
  loop_->run(deadline_ns, finished);
}

void ReplayScenario::on_subscriber_message(const pubsub::ServerMessage& message) {
  using Kind = pubsub::ServerMessage::Kind;
  switch (message.kind) {
    case Kind::kMessage:
      return on_replayed(message);
    case Kind::kRecovery:
      if (replay_.recovery_seen || message.topic != options_.topic) break;
      replay_.recovery_seen = true;
      replay_.first = message.first;
      replay_.from = message.from;
      replay_.next = message.next;
      replay_.complete = message.complete;
      if (replay_.expected() > kReplayMessagesMax) {
        replay_.error = "the topic holds " + std::to_string(replay_.expected()) +
                        " messages, more than the " + std::to_string(kReplayMessagesMax) +
                        " one replay checks";
        return;
      }
      seen_.assign((replay_.expected() + 63) / 64, 0);
      return;
    case Kind::kAck:
      if (replay_.subscribe_acked || message.id != kSubscribeId) break;
      replay_.subscribe_acked = true;
      return;
    case Kind::kError:
      replay_.error = std::string(message.code) + ": " + std::string(message.text);
      return;
    case Kind::kGap:
      break;
  }
  ++replay_.unexpected;
}

void ReplayScenario::on_replayed(const pubsub::ServerMessage& message) {
  if (message.topic != options_.topic) {
    ++replay_.unexpected;
    return;
  }
  const uint64_t seq = message.seq;
  if (!replay_.recovery_seen || seq < replay_.from) {
    ++replay_.out_of_range;
    return;
  }
  if (seq >= replay_.next) {
    ++replay_.live_after;
    return;
  }
  const uint64_t index = seq - replay_.from;
  uint64_t& word = seen_[index / 64];
  const uint64_t bit = uint64_t{1} << (index % 64);
  if ((word & bit) != 0) {
    ++replay_.duplicates;
    return;
  }
  word |= bit;
  // Messages that came in one read arrived together: one clock read serves them all.
  if (replay_.received == 0) replay_.first_ns = read_ns_;
  replay_.last_ns = read_ns_;
  const uint64_t expected_seq = replay_.received == 0 ? replay_.from : replay_.highest + 1;
  if (seq > expected_seq) ++replay_.gaps;
  if (replay_.received != 0 && seq < replay_.highest) ++replay_.reordered;
  replay_.highest = std::max(replay_.highest, seq);
  ++replay_.received;
  if (!payload_matches(message)) ++replay_.corrupt;
}

// Messages this run published are checked byte for byte; older ones (a fill of an earlier
// run, with --no-fill) only by their sequence number.
bool ReplayScenario::payload_matches(const pubsub::ServerMessage& message) const {
  if (fill_.first_seq == 0 || message.seq < fill_.first_seq ||
      message.seq - fill_.first_seq >= fill_.published) {
    return true;
  }
  const uint64_t counter = message.seq - fill_.first_seq;
  const auto* data = reinterpret_cast<const uint8_t*>(message.data.data());
  uint64_t carried = 0;
  if (!message.binary || message.data.size() != options_.payload_bytes) return false;
  std::memcpy(&carried, data + kCounterOffset, sizeof(carried));
  return carried == counter && std::memcmp(data + kPatternOffset, pattern_.data() + kPatternOffset,
                                           options_.payload_bytes - kPatternOffset) == 0;
}

int fail(JsonWriter& out, const std::string& error) {
  out.field("error", error);
  std::cerr << "herald-bench replay: " << error << "\n";
  return 1;
}

double per_s(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(static_cast<int64_t>(count / seconds)) : 0.0;
}

double seconds_between(int64_t start_ns, int64_t end_ns) {
  return static_cast<double>(std::max<int64_t>(0, end_ns - start_ns)) / 1e9;
}

// For the stderr lines: whole messages per second, not 1.5e+06.
uint64_t whole_per_s(uint64_t count, double seconds) {
  return static_cast<uint64_t>(per_s(count, seconds));
}

// The broker's CPU seconds between two samples, and messages per such second.
void write_server_cpu(const ResourceSample& before, const ResourceSample& after, uint64_t count,
                      JsonWriter& out) {
  if (!before.server_cpu_s || !after.server_cpu_s) return;
  const double cpu_s = *after.server_cpu_s - *before.server_cpu_s;
  out.field("server_cpu_s", cpu_s);
  out.field("msgs_per_server_cpu_s", per_s(count, cpu_s));
}

void write_fill(const ReplayScenario& scenario, const ResourceSample& before,
                const ResourceSample& after, JsonWriter& out) {
  const FillCounters& fill = scenario.fill_counters();
  const double seconds = seconds_between(fill.start_ns, fill.end_ns);
  out.begin_object("fill");
  out.field("published", fill.published);
  out.field("acked", fill.acked);
  out.field("errors", fill.errors);
  if (!fill.first_error.empty()) out.field("first_error", fill.first_error);
  out.field("seq_mismatches", fill.seq_mismatches);
  out.field("unexpected", scenario.fill_unexpected());
  out.field("first_seq", fill.first_seq);
  out.field("seconds", seconds);
  out.field("acked_per_s", per_s(fill.acked, seconds));
  write_server_cpu(before, after, fill.acked, out);
  out.end_object();
}

void write_replay(const ReplayCounters& replay, const ResourceSample& before,
                  const ResourceSample& after, JsonWriter& out) {
  const double seconds = seconds_between(replay.first_ns, replay.last_ns);
  const double from_subscribe_s = seconds_between(replay.subscribe_ns, replay.last_ns);
  if (!replay.error.empty()) out.field("subscribe_error", replay.error);
  out.field("recovery", replay.recovery_seen);
  out.field("first", replay.first);
  out.field("from", replay.from);
  out.field("next", replay.next);
  out.field("complete", replay.complete);
  out.field("msgs", replay.received);
  out.field("seconds", seconds);
  out.field("msgs_per_s", per_s(replay.received, seconds));
  out.field("subscribe_to_first_s", seconds_between(replay.subscribe_ns, replay.first_ns));
  out.field("subscribe_to_last_s", from_subscribe_s);
  write_server_cpu(before, after, replay.received, out);
  out.field("expected", replay.expected());
  out.field("missing", replay.missing());
  out.field("gaps", replay.gaps);
  out.field("duplicates", replay.duplicates);
  out.field("reordered", replay.reordered);
  out.field("out_of_range", replay.out_of_range);
  out.field("corrupt", replay.corrupt);
  out.field("unexpected", replay.unexpected);
  out.field("live_after", replay.live_after);
}

void write_params(const Options& options, uint64_t messages, JsonWriter& out) {
  out.begin_object("params");
  write_common_params(options, out);
  out.field("topic", options.topic);
  out.field("fill", !options.no_fill);
  out.field("messages", messages);
  out.field("payload_bytes", options.payload_bytes);
  out.field("publish_window", options.publish_window);
  out.field("timeout_s", options.timeout_s);
  out.end_object();
}

// Writes the replay's results and a summary line on stderr; returns the exit status.
int report(const Options& options, uint64_t messages, const ReplayScenario& scenario,
           const ResourceSample& before, const ResourceSample& after, const CloseStats& close,
           JsonWriter& out) {
  const ReplayCounters& replay = scenario.replay_counters();
  write_replay(replay, before, after, out);
  const bool timed_out = !replay.done() && replay.error.empty() && !scenario.subscriber_lost();
  out.field("timed_out", timed_out);
  write_close_results(close, out);
  const double seconds = seconds_between(replay.first_ns, replay.last_ns);
  std::cerr << "herald-bench replay: " << replay.received << " of " << replay.expected()
            << " messages replayed in " << seconds << " s ("
            << whole_per_s(replay.received, seconds) << " msg/s); missing " << replay.missing()
            << ", gaps " << replay.gaps << ", duplicates " << replay.duplicates << ", reordered "
            << replay.reordered << ", corrupt " << replay.corrupt << "\n";

  if (messages == 0 && replay.recovery_seen && replay.expected() == 0) {
    return fail(out, "the topic holds no messages: fill it first (without --no-fill)");
  }
  const FillCounters& fill = scenario.fill_counters();
  // Every acknowledged message of the fill must be among those replayed.
  const bool fill_covered =
      messages == 0 || (fill.first_seq >= replay.from && fill.first_seq + messages <= replay.next);
  const bool fill_clean =
      messages == 0 || (fill.acked == messages && fill.errors == 0 && fill.seq_mismatches == 0 &&
                        scenario.fill_unexpected() == 0);
  if (!replay.error.empty()) {
    std::cerr << "herald-bench replay: the subscribe was refused: " << replay.error << "\n";
  } else if (!fill_covered && replay.recovery_seen) {
    std::cerr << "herald-bench replay: the log does not hold every message of the fill (is the "
                 "history rule's count large enough?)\n";
  }
  if (timed_out) {
    std::cerr << "herald-bench replay: timed out (--timeout-s " << options.timeout_s << ")\n";
  }
  const bool clean = fill_clean && fill_covered && !timed_out && replay.clean() &&
                     !scenario.publisher_lost() && !scenario.subscriber_lost() &&
                     close.close_timeouts == 0;
  return clean ? 0 : 3;
}

}  // namespace

int run_replay(const Options& given, JsonWriter& out) {
  Options options = given;
  options.connections = 2;  // the publisher (idle with --no-fill) and the subscriber
  const uint64_t messages =
      options.no_fill ? 0 : (options.messages != 0 ? options.messages : kDefaultMessages);
  write_params(options, messages, out);
  out.begin_object("results");
  if (const pubsub::TopicError error = pubsub::check_topic(options.topic);
      error != pubsub::TopicError::kNone) {
    return fail(out, "invalid topic '" + options.topic +
                         "': " + std::string(pubsub::topic_error_text(error)));
  }
  if (messages >= kMessagesMax) return fail(out, "--messages must be below 2^32 (publish ids)");
  std::string error;
  std::optional<LoopConfig> config = make_loop_config(options, error);
  if (!config) return fail(out, error);
  const size_t frame_bytes =
      client::client_frame_bytes_max(options.payload_bytes + 4 + 3 + options.topic.size());
  config->connections = 2;
  config->subprotocols = "herald.v1";
  config->output_bytes = kSubscriberOutputBytes;
  config->output_bytes_first = std::max(kPublisherOutputBytes, 2 * frame_bytes);
  config->message_bytes_max = std::max<uint64_t>(uint64_t{1} << 20, 2 * frame_bytes);
  ReplayScenario scenario(options, messages);
  std::unique_ptr<ClientLoop> loop = ClientLoop::create(*std::move(config), scenario, error);
  if (!loop) return fail(out, error);
  scenario.attach(*loop);

  const int64_t deadline = now_ns() + static_cast<int64_t>(options.timeout_s * 1e9);
  const DialStats dial = loop->dial(std::min(deadline, dial_deadline_ns(options, 2)));
  write_dial_results(dial, out);
  if (dial.opened != 2) return fail(out, "the two connections did not open");

  if (messages != 0) {
    std::cerr << "herald-bench replay: publishing " << messages << " messages to " << options.topic
              << ", each acknowledged\n";
    const ResourceSample before = sample_resources(options);
    scenario.fill(deadline);
    write_fill(scenario, before, sample_resources(options), out);
    const FillCounters& fill = scenario.fill_counters();
    std::cerr << "herald-bench replay: fill: " << fill.acked << " acked in "
              << seconds_between(fill.start_ns, fill.end_ns) << " s ("
              << whole_per_s(fill.acked, seconds_between(fill.start_ns, fill.end_ns)) << " msg/s), "
              << fill.errors << " errors\n";
  }

  std::cerr << "herald-bench replay: subscribing to " << options.topic << " from 1\n";
  const ResourceSample before = sample_resources(options);
  scenario.replay(deadline);
  const ResourceSample after = sample_resources(options);
  // Anything after the last sequence number (a duplicate) would count against the run.
  loop->run(std::min(deadline, now_ns() + kSettleNs), [] { return false; });
  loop->close_all(now_ns() + kCloseTimeoutNs);

  return report(options, messages, scenario, before, after, loop->close_stats(), out);
}

}  // namespace herald::bench
