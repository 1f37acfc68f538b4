// One topic's messages as they reach one worker from Redis (PROTOCOL.md section 12): the
// sequence check that turns "whatever the pub/sub connection delivered" into "every message
// once, in order, or an exact gap". A jump in the numbers parks the newer messages and asks for
// the missing range from the stream once; the range's entries, then a gap for what the stream
// no longer holds, then the parked messages go out in order. After a reconnect everything since
// the last message seen is read the same way. No I/O, no clock: messages, ranges and
// reconnects in; a Sink's calls out.
//
// Anchoring. A worker that starts following a topic sends SUBSCRIBE on the pub/sub connection
// and, through anchor(), reads the topic's last number on the command connection. Until that
// answer the feed parks what arrives; then it continues from the anchor. So a message published
// after the anchor read ran in Redis is delivered even if the SUBSCRIBE took effect later (its
// number jumps past the anchor, and the jump is repaired), and subscribers acked before that
// miss at most what was published while their subscribe travelled to Redis.
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
  // Past any sequence number the link sends (it caps at 2^62): an anchor reads the state alone.
  static constexpr uint64_t kAnchorSeq = uint64_t{1} << 62;

  [[nodiscard]] uint64_t epoch() const { return epoch_; }
  [[nodiscard]] uint64_t last() const { return last_; }
  [[nodiscard]] bool repairing() const { return repairing_; }
  [[nodiscard]] size_t parked() const { return parked_.size(); }
  [[nodiscard]] bool anchoring() const { return anchoring_; }

  // Reads the topic's last number (an empty range past any number) and parks until it answers.
  template <typename Sink>
  void anchor(Sink& sink) {
    anchoring_ = true;
    repairing_ = true;
    reread_ = false;
    read_to_ = kOpen;
    sink.read(kAnchorSeq, kAnchorSeq);
  }

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
    if (anchoring_) {
      settle_anchor(range);
      if (!read_again(sink)) release_parked(sink);
      return;
    }
    // A read up to a message received live is exact: whatever it lacks is lost. An open one
    // (after an outage) races the pub/sub connection, which may still be bringing messages
    // the stream does not retain, so its tail is left to the next live message's jump.
    const bool open = read_to_ == kOpen;
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
      if (open || target > range.last_seq) target = range.last_seq;
      if (range.entries.size() >= kPage && last_ < target) {
        read(open ? kOpen : target, sink);  // a full page: the stream goes on
        return;
      }
    }
    // What a bounded read did not find (no history, trimmed, or a refused read) is a gap.
    if (!open && target != kOpen && last_ < target) {
      sink.gap(target - last_);
      last_ = target;
    }
    if (!read_again(sink)) release_parked(sink);
  }

  // The link is back after an outage: messages published meanwhile were not received.
  template <typename Sink>
  void on_reconnected(Sink& sink) {
    if (anchoring_) {
      if (reread_) {
        anchor(sink);
      } else {
        again_ = true;
      }
      return;
    }
    if (epoch_ == 0 && !anchored_) return;  // nothing received yet: no position to continue from
    if (repairing_ && !reread_) {
      // The read on its way may have run before this outage: read once more after it.
      again_ = true;
      return;
    }
    read(kOpen, sink);
  }

 private:
  // The anchor's answer: continue after the topic's last number, or before the first parked
  // message when that is older (it arrived live before the read ran).
  void settle_anchor(const RangeResult& range) {
    anchoring_ = false;
    if (range.status != LinkStatus::kOk) return;  // refused: start from what arrives, as before
    anchored_ = true;
    epoch_ = range.epoch;
    last_ = range.last_seq;
    if (!parked_.empty() && parked_.front().epoch == epoch_ && parked_.front().seq <= last_) {
      last_ = parked_.front().seq - 1;
    }
  }

  // After a read, the one an outage during it asked for (on_reconnected()).
  template <typename Sink>
  bool read_again(Sink& sink) {
    if (!again_) return false;
    again_ = false;
    if (epoch_ == 0 && !anchored_) return false;  // no position (a refused anchor)
    read(kOpen, sink);
    return true;
  }

  template <typename Sink>
  void release_parked(Sink& sink) {
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

  template <typename Sink>
  void accept(IncomingMessage&& message, Sink& sink) {
    // A topic anchored before its first message (epoch 0) starts its history at 1.
    if (message.epoch != epoch_ && epoch_ == 0 && anchored_) {
      epoch_ = message.epoch;
      last_ = 0;
    }
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
  bool reread_ = false;     // the read failed with the link: repeat it at the reconnect
  bool anchoring_ = false;  // the anchor read is on its way
  bool anchored_ = false;   // the position came from an anchor (so epoch 0 means "no message")
  bool again_ = false;      // an outage happened while a read was on its way
  uint64_t read_to_ = 0;
  std::deque<IncomingMessage> parked_;
};

}  // namespace herald::broker::cluster
