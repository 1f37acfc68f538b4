// One topic's messages as they reach one worker from Redis (PROTOCOL.md section 12): the
// sequence check that turns "whatever the pub/sub connection delivered" into "every message
// once, in order, or an exact gap". A jump in the numbers parks the newer messages and asks for
// the missing range from the stream once; the range's entries, then a gap for what the stream
// no longer holds, then the parked messages go out in order. After a reconnect everything since
// the last message seen is read the same way. No I/O, no clock: messages, ranges and
// reconnects in; a Sink's calls out.
//
// Sink: deliver(seq, message, repaired) (message: the stored bytes, cluster_message.h;
// repaired: it came from a range read, not the pub/sub connection), gap(missed),
// read(from, to) (to UINT64_MAX: up to the topic's last number), reset(epoch) (a new history:
// the old one was lost in Redis, its numbers start again).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "broker/cluster/redis_link.h"

namespace herald::broker::cluster {

class TopicFeed {
 public:
  static constexpr uint64_t kOpen = UINT64_MAX;  // a read up to the topic's last number
  static constexpr uint32_t kPage = 1000;        // entries per range read
  // Messages parked behind one repair; newer ones are dropped, and the next message's jump
  // reads them back from the stream (or reports them as a gap without history).
  static constexpr size_t kParkedMax = 1 << 16;

  [[nodiscard]] uint64_t epoch() const { return epoch_; }
  [[nodiscard]] uint64_t last() const { return last_; }
  [[nodiscard]] bool repairing() const { return repairing_; }
  [[nodiscard]] size_t parked() const { return parked_.size(); }

  template <typename Sink>
  void on_message(IncomingMessage&& message, Sink& sink) {
    if (repairing_) {
      if (parked_.size() < kParkedMax) parked_.push_back(std::move(message));
      return;
    }
    accept(std::move(message), sink);
  }

  // The answer to the last read() this feed asked for (the caller drops stale answers).
  template <typename Sink>
  void on_range(RangeResult&& range, Sink& sink) {
    if (!repairing_) return;
    if (range.status == LinkStatus::kUnavailable) {
      reread_ = true;  // the link is down: read again once it is back
      return;
    }
    uint64_t target = read_to_;
    if (range.status == LinkStatus::kOk) {
      if (range.epoch != 0 && range.epoch != epoch_) {
        // The history this feed followed is gone: the entries are a new one's.
        epoch_ = range.epoch;
        last_ = 0;
        sink.reset(epoch_);
        std::erase_if(parked_, [&](const IncomingMessage& m) { return m.epoch != epoch_; });
      }
      for (const RangeEntry& entry : range.entries) {
        if (entry.seq <= last_ || entry.seq > target) continue;
        if (entry.seq > last_ + 1) sink.gap(entry.seq - last_ - 1);  // trimmed
        last_ = entry.seq;
        sink.deliver(entry.seq, entry.message, true);
      }
      if (target == kOpen || target > range.last_seq) target = range.last_seq;
      if (range.entries.size() >= kPage && last_ < target) {
        read(target, sink);  // a full page: the stream goes on
        return;
      }
    }
    // What the stream did not hold (no history, trimmed, or a refused read) is a gap.
    if (target != kOpen && last_ < target) {
      sink.gap(target - last_);
      last_ = target;
    }
    repairing_ = false;
    std::deque<IncomingMessage> waiting;
    waiting.swap(parked_);
    while (!waiting.empty()) {
      if (repairing_) {  // a new jump among the parked: they wait behind its read, in order
        for (IncomingMessage& m : waiting) parked_.push_back(std::move(m));
        return;
      }
      IncomingMessage next = std::move(waiting.front());
      waiting.pop_front();
      accept(std::move(next), sink);
    }
  }

  // The link is back after an outage: messages published meanwhile were not received.
  template <typename Sink>
  void on_reconnected(Sink& sink) {
    if (epoch_ == 0) return;             // nothing received yet: no position to continue from
    if (repairing_ && !reread_) return;  // a read is on its way on the new connection
    read(kOpen, sink);
  }

 private:
  template <typename Sink>
  void accept(IncomingMessage&& message, Sink& sink) {
    if (message.epoch != epoch_) {
      const bool first = epoch_ == 0;
      epoch_ = message.epoch;
      if (first) {  // the first message since this worker's interest began
        last_ = message.seq;
        sink.deliver(message.seq, message.message, false);
        return;
      }
      last_ = 0;
      sink.reset(epoch_);
    }
    if (message.seq <= last_) return;  // a repeat (overlapping interests, or already repaired)
    if (message.seq == last_ + 1) {
      last_ = message.seq;
      sink.deliver(message.seq, message.message, false);
      return;
    }
    const uint64_t before = message.seq - 1;
    parked_.push_back(std::move(message));
    read(before, sink);
  }

  template <typename Sink>
  void read(uint64_t to, Sink& sink) {
    repairing_ = true;
    reread_ = false;
    read_to_ = to;
    sink.read(last_ + 1, to);
  }

  uint64_t epoch_ = 0;  // 0: nothing received yet
  uint64_t last_ = 0;   // the last number delivered
  bool repairing_ = false;
  bool reread_ = false;  // the read failed with the link: repeat it at the reconnect
  uint64_t read_to_ = 0;
  std::deque<IncomingMessage> parked_;
};

}  // namespace herald::broker::cluster
