// One worker's pub/sub engine wired from the core classes as worker_*.cc wires them, over an
// in-memory log, a channel of frames in flight and read results the worker may take before
// those frames; no sockets, threads or clocks. Used through engine_simulation.h.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "broker/core/fan_out.h"
#include "broker/core/replay_cursor.h"
#include "broker/core/router.h"
#include "broker/core/sequencer.h"
#include "broker/core/topic_table.h"
#include "protocol/pubsub/topic.h"
#include "tests/broker/core/model_client.h"
#include "tests/broker/core/test_frame.h"

namespace herald::broker::core::model {

using protocol::pubsub::Policy;
using protocol::pubsub::Replay;
using Frame = test::TestFrame;

// "h.a" has history and this worker owns it (its frames are delivered at once); "h.b" has
// history and another worker owns it (its frames cross a channel); "n.a" has no history.
inline const std::vector<std::string> kTopics = {"h.a", "h.b", "n.a"};
inline const std::vector<std::string> kFilters = {"h.a", "h.b", "n.a", "h.*", "n.*"};
inline bool has_history(std::string_view topic) { return topic.starts_with("h."); }
inline bool owned_here(std::string_view topic) { return topic == "h.a"; }

constexpr size_t kQueuedBytesMax = 400;  // about eight frames
constexpr size_t kHeldFramesMax = 6;
constexpr size_t kPageCount = 4;

// The storage thread: a log per topic with holes where an append was lost in a crash, reads
// queued and answered in order, results the worker takes when it likes.
class ModelStorage {
 public:
  struct Read {
    uint64_t token;
    std::string topic;
    ReplayRead read;
  };
  struct Result {
    uint64_t token;
    ReplayPage page;
    std::vector<uint64_t> seqs;
  };

  void append(const std::string& topic, uint64_t seq, Client::Lost& lost) {
    Log& log = logs_[topic];
    if (log.epoch == 0) log.epoch = 0x1000 + logs_.size();
    if (lose_appends_ > 0) {  // written to no disk: delivered live only
      --lose_appends_;
      lost.insert({topic, seq});
      return;
    }
    log.seqs.push_back(seq);
    log.last_seq = seq;
  }
  void crash(int appends) { lose_appends_ = appends; }
  // Retention drops the oldest stored message. A catch-up that needed it skips it with no
  // notice (it sends no recovery): the client counts it with the lost ones.
  void trim(const std::string& topic, Client::Lost& lost) {
    auto it = logs_.find(topic);
    if (it == logs_.end() || it->second.seqs.empty()) return;
    lost.insert({topic, it->second.seqs.front()});
    it->second.seqs.erase(it->second.seqs.begin());
  }
  void queue_read(Read read) { reads_.push_back(std::move(read)); }
  // Answers the oldest read against the log as it is now.
  bool answer_one() {
    if (reads_.empty()) return false;
    Read read = std::move(reads_.front());
    reads_.pop_front();
    Result result{read.token, {}, {}};
    const Log& log = logs_[read.topic];
    result.page.epoch = log.epoch;
    result.page.first_seq = log.seqs.empty() ? 0 : log.seqs.front();
    result.page.last_seq = log.last_seq;
    size_t start = log.seqs.size();
    if (read.read.start == ReadStart::kLast) {
      start = log.seqs.size() - std::min<size_t>(read.read.value, log.seqs.size());
    } else {
      start = static_cast<size_t>(
          std::lower_bound(log.seqs.begin(), log.seqs.end(), read.read.value) - log.seqs.begin());
    }
    for (size_t i = start; i < log.seqs.size() && result.seqs.size() < kPageCount; ++i) {
      result.seqs.push_back(log.seqs[i]);
    }
    if (!result.seqs.empty()) {
      result.page.front_seq = result.seqs.front();
      result.page.back_seq = result.seqs.back();
    }
    results_.push_back(std::move(result));
    return true;
  }
  bool take(Result& result) {
    if (results_.empty()) return false;
    result = std::move(results_.front());
    results_.pop_front();
    return true;
  }
  [[nodiscard]] bool idle() const { return reads_.empty() && results_.empty(); }
  [[nodiscard]] bool listed(const std::string& topic) const { return logs_.contains(topic); }

 private:
  struct Log {
    uint64_t epoch = 0;
    std::vector<uint64_t> seqs;
    uint64_t last_seq = 0;
  };
  std::map<std::string, Log> logs_;
  std::deque<Read> reads_;
  std::deque<Result> results_;
  int lose_appends_ = 0;
};

// The worker's side, as worker_pubsub.cc and worker_history*.cc wire the core classes.
class Engine final : private Subscribers<Frame> {
 public:
  explicit Engine(Client::Lost& lost, bool trace = false)
      : trace_(trace),
        lost_(lost),
        topics_(topic_count_, 100),
        sequencer_(topics_),
        fan_out_(kQueuedBytesMax) {}

  struct Connection {
    bool open = true;
    bool can_send = true;
    std::vector<std::string> filters;
    std::deque<Item> queue;
    size_t queued_bytes = 0;
    std::unique_ptr<SlowConsumerState> slow;
    struct Entry {
      ReplayCursor<Frame> cursor;
      uint64_t token = 0;
      std::string filter;
      Policy policy;
      uint64_t wanted = 0;  // a `from` replay's position, for the client's check
    };
    std::map<std::string, Entry> replays;
    std::set<std::string> introduced;  // topics a pattern with history has met
    bool pattern_history = false;
  };

  uint64_t connect() {
    connections_[++ids_] = Connection{};
    return ids_;
  }
  Connection* find(uint64_t id) {
    auto it = connections_.find(id);
    return it == connections_.end() || !it->second.open ? nullptr : &it->second;
  }

  void subscribe(uint64_t id, const std::string& filter, Policy policy, Replay start,
                 uint64_t value, const std::string& epoch) {
    Connection& c = connections_[id];
    router_.subscribe(filter, subscriber_id(id, filter), policy);
    if (std::find(c.filters.begin(), c.filters.end(), filter) == c.filters.end()) {
      c.filters.push_back(filter);
    }
    push(c, Item{Item::kSubscribed, filter});
    if (protocol::pubsub::is_pattern(filter) && has_history(filter)) {
      end_pattern_replays(c, filter);
      c.pattern_history = true;
      for (const std::string& topic : kTopics) {
        if (!has_history(topic) || !storage_.listed(topic) ||
            !protocol::pubsub::filter_matches(filter, topic)) {
          continue;
        }
        c.introduced.insert(topic);
        begin_replay(id, topic, start == Replay::kFrom ? Replay::kNone : start, value, {}, policy,
                     filter);
      }
      return;
    }
    if (has_history(filter)) {
      begin_replay(id, filter, start, value, epoch, policy, {});
      return;
    }
    c.replays.erase(filter);
  }

  void unsubscribe(uint64_t id, const std::string& filter) {
    Connection& c = connections_[id];
    auto it = std::find(c.filters.begin(), c.filters.end(), filter);
    if (it == c.filters.end()) return;
    router_.unsubscribe(filter, subscriber_id(id, filter));
    c.filters.erase(it);
    if (protocol::pubsub::is_pattern(filter)) {
      end_pattern_replays(c, filter);
    } else {
      c.replays.erase(filter);
    }
    push(c, Item{Item::kUnsubscribed, filter});
  }

  // The connection goes away (worker.cc's close: drop_subscriptions).
  void disconnect(uint64_t id) {
    Connection& c = connections_[id];
    for (const std::string& filter : c.filters)
      router_.unsubscribe(filter, subscriber_id(id, filter));
    c = Connection{};
    c.open = false;
  }

  void publish(const std::string& topic) {
    PublishRequest::Fields fields;
    fields.topic = topic;
    fields.payload = {reinterpret_cast<const uint8_t*>("x"), 1};
    auto sequenced = sequencer_.sequence(fields, [&](uint64_t seq) -> uint64_t {
      if (has_history(topic)) storage_.append(topic, seq, lost_);
      return 0;
    });
    last_seq_[topic] = sequenced.seq;
    if (owned_here(topic)) {
      deliver(sequenced.frame);
    } else {
      channel_.push_back(std::move(sequenced.frame));
    }
  }

  bool take_channel_frame() {
    if (channel_.empty()) return false;
    Frame frame = std::move(channel_.front());
    channel_.pop_front();
    deliver(frame);
    return true;
  }
  bool answer_read() { return storage_.answer_one(); }
  bool take_read_result() {
    ModelStorage::Result result;
    if (!storage_.take(result)) return false;
    on_read_result(result);
    return true;
  }
  void crash(int appends) { storage_.crash(appends); }
  void trim(const std::string& topic) { storage_.trim(topic, lost_); }
  // The worker's tick: replays waiting for their queue to drain read on.
  void resume_draining() {
    for (auto& [id, c] : connections_) {
      if (!c.open) continue;
      for (auto& [topic, entry] : c.replays) {
        if (!entry.cursor.waiting_drain()) continue;
        if (auto read = entry.cursor.on_drained(c.queued_bytes))
          request_read(id, topic, entry, *read);
      }
    }
  }
  // Hands up to `count` queued items to the client.
  std::vector<Item> drain(uint64_t id, size_t count) {
    std::vector<Item> out;
    Connection* c = find(id);
    if (c == nullptr) return out;
    while (!c->queue.empty() && out.size() < count) {
      c->queued_bytes -= c->queue.front().bytes;
      out.push_back(std::move(c->queue.front()));
      c->queue.pop_front();
    }
    return out;
  }

  // What is still in flight, for a run that does not settle.
  std::string describe() {
    std::string out = " (" + std::to_string(channel_.size()) + " frames in the channel";
    for (auto& [id, c] : connections_) {
      if (!c.open) continue;
      out +=
          "; subscriber " + std::to_string(id) + ": " + std::to_string(c.queue.size()) + " queued";
      for (auto& [topic, entry] : c.replays) {
        if (!entry.cursor.replaying()) continue;
        out += ", " + topic + " replaying" + (entry.cursor.waiting_drain() ? " (drain)" : "") +
               " holding " + std::to_string(entry.cursor.held_count());
      }
    }
    return out + ")";
  }
  [[nodiscard]] bool quiet() const { return channel_.empty() && storage_.idle(); }
  [[nodiscard]] uint64_t last_seq(const std::string& topic) const {
    auto it = last_seq_.find(topic);
    return it == last_seq_.end() ? 0 : it->second;
  }
  // Messages of `topic` dropped for `id` and not yet told in a gap notice.
  uint64_t pending_gap(uint64_t id, const std::string& topic) {
    Connection* c = find(id);
    if (c == nullptr || c->slow == nullptr) return 0;
    uint64_t missed = c->slow->gaps.take(topic);
    for (uint64_t i = 0; i < missed; ++i) (void)c->slow->gaps.add_missed(topic);
    return missed;
  }
  [[nodiscard]] bool replaying(uint64_t id) {
    Connection* c = find(id);
    if (c == nullptr) return false;
    return std::any_of(c->replays.begin(), c->replays.end(),
                       [](const auto& entry) { return entry.second.cursor.replaying(); });
  }

 private:
  static uint64_t subscriber_id(uint64_t id, std::string_view filter) {
    return id | (protocol::pubsub::is_pattern(filter) ? 0 : kExactBit);
  }
  static uint64_t seq_of(const Frame& frame) { return frame.origin().seq; }
  static size_t bytes_of(const Frame& frame) { return frame.bytes().size(); }

  void push(Connection& c, Item item) {
    item.bytes = item.kind == Item::kMessage ? item.bytes : 20;
    c.queued_bytes += item.bytes;
    item.serial = next_serial_++;
    c.queue.push_back(std::move(item));
  }

  void begin_replay(uint64_t id, const std::string& topic, Replay start, uint64_t value,
                    const std::string& epoch, Policy policy, const std::string& filter) {
    Connection& c = connections_[id];
    ReplayCursor<Frame> cursor(ReplayLimits{kQueuedBytesMax, kHeldFramesMax}, start, value, epoch);
    const ReplayRead first = cursor.first_read();
    auto& entry =
        c.replays
            .insert_or_assign(topic, Connection::Entry{std::move(cursor), 0, filter, policy, 0})
            .first->second;
    if (start == Replay::kFrom) entry.wanted = std::max<uint64_t>(value, 1);
    request_read(id, topic, entry, first);
  }

  void request_read(uint64_t id, const std::string& topic, Connection::Entry& entry,
                    ReplayRead read) {
    entry.token = ++tokens_;
    targets_[entry.token] = {id, topic};
    storage_.queue_read(ModelStorage::Read{entry.token, topic, read});
  }

  void end_pattern_replays(Connection& c, const std::string& filter) {
    std::erase_if(c.replays, [&](const auto& entry) {
      return entry.second.filter == filter && entry.second.cursor.replaying();
    });
  }

  void on_read_result(const ModelStorage::Result& result) {
    auto target = targets_.find(result.token);
    if (target == targets_.end()) return;
    auto [id, topic] = target->second;
    targets_.erase(target);
    Connection* c = find(id);
    if (c == nullptr) return;
    auto it = c->replays.find(topic);
    if (it == c->replays.end() || it->second.token != result.token ||
        !it->second.cursor.replaying() || it->second.cursor.waiting_drain()) {
      return;
    }
    Connection::Entry& entry = it->second;
    const PageStep step = entry.cursor.on_page(result.page);
    if (trace_) {
      std::printf(
          "    read of %s for %llu: %zu messages from %llu, log last %llu; next %d from %llu\n",
          topic.c_str(), static_cast<unsigned long long>(id), result.seqs.size(),
          static_cast<unsigned long long>(result.page.front_seq),
          static_cast<unsigned long long>(result.page.last_seq), static_cast<int>(step.next),
          static_cast<unsigned long long>(step.replay_from));
    }
    if (step.next == ReplayNext::kRead) {
      request_read(id, topic, entry, step.read);
      return;
    }
    if (step.recovery) {
      push(*c, Item{Item::kRecovery, topic, 0, 0, *step.recovery, entry.wanted});
    }
    for (uint64_t seq : result.seqs) {
      if (step.replay_from != 0 && seq >= step.replay_from) {
        Item item{Item::kMessage, topic, seq};
        item.bytes = 50;
        push(*c, std::move(item));
      }
    }
    if (step.next == ReplayNext::kLive || step.next == ReplayNext::kFailed) {
      finish_replay(id, topic);
    } else if (auto read = entry.cursor.after_page(c->queued_bytes)) {
      request_read(id, topic, entry, *read);
    }
  }

  void finish_replay(uint64_t id, const std::string& topic) {
    Connection& c = connections_[id];
    auto it = c.replays.find(topic);
    std::deque<Frame> released = it->second.cursor.take_released();
    const Policy policy = it->second.policy;
    for (const Frame& frame : released) {
      if (take_for_replay(id, frame, topic)) continue;
      deliver_to(id, frame, topic, policy);
    }
  }

  bool take_for_replay(uint64_t id, const Frame& frame, const std::string& topic) {
    Connection& c = connections_[id];
    auto it = c.replays.find(topic);
    if (it == c.replays.end()) return false;
    if (it->second.cursor.on_live(seq_of(frame), bytes_of(frame), frame) != LiveAction::kDeliver) {
      return true;
    }
    c.replays.erase(it);
    return false;
  }

  bool introduce_topic(uint64_t id, const Frame& frame, const std::string& topic, Policy policy) {
    Connection& c = connections_[id];
    if (c.introduced.contains(topic) || !has_history(topic)) return false;
    c.introduced.insert(topic);
    begin_replay(id, topic, Replay::kFrom, seq_of(frame), {}, policy, {});
    c.replays.at(topic).wanted = 0;  // not the client's position: it asked for none
    return take_for_replay(id, frame, topic);
  }

  void deliver(const Frame& frame) {
    const FrameOrigin origin = frame.origin();
    const std::string topic(origin.topic);
    matches_.clear();
    router_.match(topic, matches_);
    fan_out_.targets(matches_, targets_scratch_);
    for (const FanOutTarget& target : targets_scratch_) {
      Connection* c = find(target.subscriber);
      if (c == nullptr) continue;
      if (!c->replays.empty() && take_for_replay(target.subscriber, frame, topic)) {
        if (trace_)
          std::printf("    %s %llu to %llu: taken by its replay cursor\n", topic.c_str(),
                      static_cast<unsigned long long>(seq_of(frame)),
                      static_cast<unsigned long long>(target.subscriber));
        continue;
      }
      if (!target.exact && c->pattern_history &&
          introduce_topic(target.subscriber, frame, topic, target.policy)) {
        continue;
      }
      deliver_to(target.subscriber, frame, topic, target.policy);
    }
  }

  void deliver_to(uint64_t id, const Frame& frame, const std::string& topic, Policy policy) {
    const FanOutAction action = fan_out_.offer(*this, id, frame, bytes_of(frame), topic, policy);
    if (trace_) {
      std::printf("    %s %llu to %llu: fan-out action %d\n", topic.c_str(),
                  static_cast<unsigned long long>(seq_of(frame)),
                  static_cast<unsigned long long>(id), static_cast<int>(action));
    }
  }

  // Subscribers<Frame>: the connection table above.
  bool can_send(uint64_t id) override { return connections_[id].can_send; }
  size_t queued_bytes(uint64_t id) override { return connections_[id].queued_bytes; }
  SlowConsumerState* slow_state(uint64_t id, bool create) override {
    Connection& c = connections_[id];
    if (create && c.slow == nullptr) c.slow = std::make_unique<SlowConsumerState>();
    return c.slow.get();
  }
  void send_gap(uint64_t id, std::string_view topic, uint64_t missed) override {
    push(connections_[id], Item{Item::kGap, std::string(topic), 0, missed});
  }
  uint64_t enqueue(uint64_t id, const Frame& frame) override {
    Item item{Item::kMessage, std::string(frame.origin().topic), seq_of(frame)};
    item.bytes = bytes_of(frame);
    push(connections_[id], std::move(item));
    return next_serial_ - 1;
  }
  uint64_t first_free(uint64_t id) override {
    Connection& c = connections_[id];
    return c.queue.empty() ? next_serial_ : c.queue.front().serial;
  }
  void replace(uint64_t id, uint64_t serial, const Frame& frame) override {
    for (Item& item : connections_[id].queue) {
      if (item.serial == serial) item.seq = seq_of(frame);
    }
  }
  bool start_catchup(uint64_t id, const Frame& frame, std::string_view topic) override {
    if (!has_history(topic)) return false;
    Connection& c = connections_[id];
    c.replays.insert_or_assign(
        std::string(topic),
        Connection::Entry{ReplayCursor<Frame>::catch_up(
                              ReplayLimits{kQueuedBytesMax, kHeldFramesMax}, seq_of(frame)),
                          0,
                          {},
                          Policy::kCatchup,
                          0});
    return true;
  }
  void close_slow(uint64_t id) override {
    Connection& c = connections_[id];
    c.queue.clear();
    c.queued_bytes = 0;
    c.slow.reset();
    c.can_send = false;
    push(c, Item{Item::kClose, {}});
  }

  const bool trace_;
  Client::Lost& lost_;
  std::atomic<uint64_t> topic_count_{0};
  TopicTable topics_;
  Sequencer<Frame> sequencer_;
  FanOut<Frame> fan_out_;
  Router router_;
  ModelStorage storage_;
  std::map<uint64_t, Connection> connections_;
  uint64_t ids_ = 0;
  uint64_t tokens_ = 0;
  uint64_t next_serial_ = 0;
  std::map<uint64_t, std::pair<uint64_t, std::string>> targets_;  // read token to reader
  std::deque<Frame> channel_;  // frames of "h.b" and "n.a" on their way from their owner
  std::map<std::string, uint64_t> last_seq_;
  std::vector<const Subscription*> matches_;
  std::vector<FanOutTarget> targets_scratch_;
};

}  // namespace herald::broker::core::model
