// The replay-to-live seam of one subscriber on one topic (PROTOCOL.md section 9) as a state
// machine: history pages, live frames and "send queue drained" in, actions out. It never sees a
// connection, a socket or a clock; the worker (broker/net/worker_history.cc) carries them out.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "protocol/pubsub/command.h"

namespace herald::broker::core {

// Where a history read starts (storage::ReadRequest::Start, without depending on storage).
enum class ReadStart : uint8_t { kSeq, kLast, kTime };

struct ReplayRead {
  ReadStart start = ReadStart::kSeq;
  uint64_t value = 0;
};

// What storage answered to one read, reduced to the sequence numbers the seam needs. The
// page's messages are in sequence order but need not be contiguous (a crash skips numbers).
struct ReplayPage {
  bool ok = true;          // false: the log could not be read
  uint64_t epoch = 0;      // the log's epoch, 0 before its first message
  uint64_t first_seq = 0;  // the log's first retained sequence, 0 when it holds none
  uint64_t last_seq = 0;   // the log's last sequence, 0 when it never held one
  uint64_t front_seq = 0;  // the page's first message, 0 when the page is empty
  uint64_t back_seq = 0;   // the page's last message
};

// The fields of a `recovery` message (PROTOCOL.md section 9), the epoch still a number.
struct Recovery {
  uint64_t epoch = 0;
  uint64_t first_seq = 0;
  uint64_t from = 0;
  uint64_t next = 0;
  bool complete = true;
};

enum class ReplayNext : uint8_t {
  kRead,    // ask storage for PageStep::read (the epoch differed: all that is retained)
  kMore,    // the log goes on: after_page() says whether to read now or wait for a drain
  kLive,    // joined: send take_released() live; the cursor now only keeps the live floor
  kFailed,  // the log cannot be read: report it, then as kLive
};

// What to do with one page, in this order: the recovery, the replayed messages, `next`.
struct PageStep {
  ReplayNext next = ReplayNext::kMore;
  ReplayRead read;                   // with kRead
  std::optional<Recovery> recovery;  // the first answer: send it before any message
  uint64_t replay_from = 0;          // send the page's messages from this seq on; 0: none
};

enum class LiveAction : uint8_t {
  kDeliver,    // live and at or past the floor: deliver it; the cursor is done (forget it)
  kHold,       // replaying: held until the replay joins the live stream
  kLetGo,      // replaying and over the hold bound: dropped, the log gives it back later
  kDuplicate,  // below the live floor: a replayed page already carried it
};

// The 16 hex digits of an epoch, "0000000000000000" for a topic whose history has not started.
[[nodiscard]] std::string epoch_text(uint64_t epoch);

// Shared by every cursor of a worker.
struct ReplayLimits {
  size_t queued_bytes_max = 0;    // a send queue over this waits for a drain before reading on
  size_t held_frames_max = 8192;  // live frames held per cursor; their bytes are bounded too
};

// One subscriber's replay (or catch-up) of one topic, then its live floor. `Frame` is the
// caller's handle to an encoded live frame, copied when held. Thread: the owner's; not shared.
//
// The floor: a read may return messages whose live frames are still on their way from the
// topic's owner (it appends before it broadcasts, and the worker may take the read result
// first). Once joined, frames below the next unreplayed seq are duplicates; the first frame at
// or past it proves no more can follow (the owner broadcasts in order) and ends the cursor.
template <typename Frame>
class ReplayCursor {
 public:
  // A subscribe: `start` and `value` as asked; `epoch_wanted` (may be empty) with kFrom.
  ReplayCursor(ReplayLimits limits, protocol::pubsub::Replay start, uint64_t value,
               std::string epoch_wanted)
      : limits_(limits), start_(start), value_(value), epoch_wanted_(std::move(epoch_wanted)) {}

  // A catch-up (the catchup policy, PROTOCOL.md section 6) from live frame `seq`, the first
  // one the subscriber missed: it is in the log, so it is read back once the queue drains. The
  // client already knows the topic: no recovery.
  [[nodiscard]] static ReplayCursor catch_up(ReplayLimits limits, uint64_t seq) {
    ReplayCursor cursor(limits, protocol::pubsub::Replay::kNone, 0, {});
    cursor.recovery_sent_ = true;
    cursor.next_read_ = seq;
    cursor.dropped_upto_ = seq;
    cursor.phase_ = Phase::kDraining;
    return cursor;
  }

  // A subscribe's first read.
  [[nodiscard]] ReplayRead first_read() const {
    using protocol::pubsub::Replay;
    switch (start_) {
      case Replay::kFrom:
        return {ReadStart::kSeq, value_ > 1 ? value_ : 1};
      case Replay::kLast:
        return {ReadStart::kLast, value_};
      case Replay::kSince:
        return {ReadStart::kTime, value_};
      case Replay::kSnapshot:
        return {ReadStart::kLast, 1};
      case Replay::kNone:
        break;
    }
    return {ReadStart::kLast, 0};  // the topic's state only: its epoch and where live starts
  }

  // The answer to the read in flight.
  [[nodiscard]] PageStep on_page(const ReplayPage& page) {
    assert(phase_ == Phase::kReading);
    PageStep step;
    if (!page.ok) {
      go_live();
      step.next = ReplayNext::kFailed;
      return step;
    }
    if (!recovery_sent_) {
      if (start_ == protocol::pubsub::Replay::kFrom && !epoch_wanted_.empty() &&
          epoch_wanted_ != epoch_text(page.epoch)) {
        // The client's position belongs to another history: replay all that is retained.
        complete_ = false;
        if (!restarted_ && page.epoch != 0) {
          restarted_ = true;
          step.next = ReplayNext::kRead;
          step.read = {ReadStart::kSeq, 0};
          return step;
        }
      }
      step.recovery = recover(page);
    }
    if (page.front_seq != 0 && page.back_seq >= next_read_) {
      step.replay_from = next_read_;
      next_read_ = page.back_seq + 1;
    }
    step.next = after_replay(page) ? ReplayNext::kLive : ReplayNext::kMore;
    return step;
  }

  // After a kMore page went out: the next read, or none while `queued_bytes` (the subscriber's
  // send queue) is at the bound; then it waits for on_drained().
  [[nodiscard]] std::optional<ReplayRead> after_page(size_t queued_bytes) {
    assert(phase_ == Phase::kReading);
    if (queued_bytes >= limits_.queued_bytes_max) {
      phase_ = Phase::kDraining;
      return std::nullopt;
    }
    return ReplayRead{ReadStart::kSeq, next_read_};
  }

  // While waiting for a drain: the next read once the queue is under half the bound.
  [[nodiscard]] std::optional<ReplayRead> on_drained(size_t queued_bytes) {
    assert(phase_ == Phase::kDraining);
    if (queued_bytes >= limits_.queued_bytes_max / 2) return std::nullopt;
    phase_ = Phase::kReading;
    return ReplayRead{ReadStart::kSeq, next_read_};
  }

  // A live frame of the topic, `bytes` long.
  [[nodiscard]] LiveAction on_live(uint64_t seq, size_t bytes, const Frame& frame) {
    if (phase_ == Phase::kDone) return LiveAction::kDeliver;
    if (phase_ == Phase::kLive) {
      if (seq < next_read_) return LiveAction::kDuplicate;
      // The owner broadcasts in sequence order: nothing below the floor can follow this frame.
      phase_ = Phase::kDone;
      return LiveAction::kDeliver;
    }
    if (held_.size() >= limits_.held_frames_max || held_bytes_ + bytes > limits_.queued_bytes_max) {
      // Let them go: they are in the log, and the replay reads on until it has passed them.
      dropped_upto_ = seq;
      held_.clear();
      held_bytes_ = 0;
      return LiveAction::kLetGo;
    }
    held_.push_back(Held{seq, bytes, frame});
    held_bytes_ += bytes;
    return LiveAction::kHold;
  }

  // After kLive or kFailed: the held frames from the floor on, in order, to go out live.
  [[nodiscard]] std::deque<Frame> take_released() {
    std::deque<Frame> frames;
    for (Held& held : held_) {
      if (held.seq >= next_read_) frames.push_back(std::move(held.frame));
    }
    held_.clear();
    held_bytes_ = 0;
    return frames;
  }

  // Still before the live stream (reading or waiting for a drain), not only keeping a floor.
  [[nodiscard]] bool replaying() const {
    return phase_ == Phase::kReading || phase_ == Phase::kDraining;
  }
  // Past the floor: the subscription is plainly live and the cursor may be forgotten.
  [[nodiscard]] bool done() const { return phase_ == Phase::kDone; }
  [[nodiscard]] bool waiting_drain() const { return phase_ == Phase::kDraining; }
  // A recovery is still to come (a pattern subscribe's ack waits for it).
  [[nodiscard]] bool awaits_recovery() const { return replaying() && !recovery_sent_; }
  // The next seq the log has not given: live frames below it are duplicates once joined.
  [[nodiscard]] uint64_t next_read() const { return next_read_; }
  [[nodiscard]] size_t held_count() const { return held_.size(); }

 private:
  enum class Phase : uint8_t { kReading, kDraining, kLive, kDone };
  struct Held {
    uint64_t seq;
    size_t bytes;
    Frame frame;
  };

  Recovery recover(const ReplayPage& page) {
    const uint64_t next = page.last_seq + 1;
    const uint64_t from = page.front_seq == 0 ? next : page.front_seq;
    if (start_ == protocol::pubsub::Replay::kFrom && !restarted_) {
      // Complete when the replay starts at the position asked for (or nothing is asked for
      // yet): not when it was trimmed or never retained, nor when it falls in the numbers a
      // crash made the log skip (messages delivered live but never written).
      const uint64_t wanted = value_ > 1 ? value_ : 1;
      if (wanted < next && from > wanted) complete_ = false;
    }
    recovery_sent_ = true;
    next_read_ = from;
    return Recovery{page.epoch, page.first_seq, from, next, complete_};
  }

  // After a page's messages went out: true when the replay has joined the live stream.
  bool after_replay(const ReplayPage& page) {
    const bool log_done = page.front_seq == 0 || page.back_seq >= page.last_seq;
    // Retention may have trimmed what the previous page would have led to: what the log no
    // longer has, it cannot give.
    if (log_done && next_read_ < page.last_seq + 1) next_read_ = page.last_seq + 1;
    while (!held_.empty() && held_.front().seq < next_read_) {
      held_bytes_ -= held_.front().bytes;
      held_.pop_front();
    }
    // Live frames let go on overflow are in the log: they must have been read back.
    const bool covered = next_read_ > dropped_upto_;
    const bool joined = held_.empty() ? log_done : held_.front().seq <= next_read_;
    if (!covered || !joined) return false;
    go_live();
    return true;
  }

  void go_live() { phase_ = Phase::kLive; }

  ReplayLimits limits_;
  protocol::pubsub::Replay start_;
  uint64_t value_;            // from N, last K or since ms, as asked
  std::string epoch_wanted_;  // with from: the client's epoch, or empty
  bool recovery_sent_ = false;
  bool restarted_ = false;  // the epoch differed: replaying the whole retained history
  bool complete_ = true;
  Phase phase_ = Phase::kReading;
  uint64_t next_read_ = 0;     // the next sequence to take from the log; the floor once live
  uint64_t dropped_upto_ = 0;  // live frames up to this sequence were let go: read them back
  std::deque<Held> held_;      // live frames since the subscription was registered, in order
  size_t held_bytes_ = 0;
};

}  // namespace herald::broker::core
