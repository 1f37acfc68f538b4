// The client side of the engine model: what a subscriber reads from its send queue, and the
// naive reference that checks it. Every subscribed topic's messages arrive exactly once and in
// order, or a gap notice (or an incomplete recovery) says what was missed, or the queue closes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/replay_cursor.h"
#include "protocol/pubsub/topic.h"

namespace herald::broker::core::model {

// One entry of a subscriber's send queue, as the client reads it.
struct Item {
  enum Kind { kMessage, kGap, kRecovery, kSubscribed, kUnsubscribed, kClose } kind;
  std::string topic;  // the filter for kSubscribed and kUnsubscribed
  uint64_t seq = 0;
  uint64_t missed = 0;
  Recovery recovery{};
  uint64_t wanted = 0;  // the position a `from` replay asked for, 0 when none
  size_t bytes = 0;
  uint64_t serial = 0;
};

class Client {
 public:
  // Messages whose history append was lost (a crash), delivered live only, and messages
  // trimmed by retention: a replay or catch-up that crosses one skips it without a gap notice
  // (a `from` replay that starts past one says complete:false, which recover() checks).
  using Lost = std::set<std::pair<std::string, uint64_t>>;

  Client(const Lost& lost, const std::vector<std::string>& topics) : lost_(lost), topics_(topics) {}

  // Checks one item; returns an error, or an empty string.
  std::string read(const Item& item) {
    switch (item.kind) {
      case Item::kSubscribed:
        for (const std::string& topic : topics_) {
          if (!protocol::pubsub::filter_matches(item.topic, topic)) continue;
          View& view = views_[topic];
          if (!subscribed(topic)) view = View{};
        }
        filters_.insert(item.topic);
        return {};
      case Item::kUnsubscribed:
        filters_.erase(item.topic);
        for (const std::string& topic : topics_) {
          if (!subscribed(topic)) views_[topic].expect.reset();
        }
        return {};
      case Item::kClose:
        closed_ = true;
        return {};
      case Item::kGap:
        if (!subscribed(item.topic)) return "gap notice of " + item.topic + " not subscribed";
        views_[item.topic].missed += item.missed;
        return {};
      case Item::kRecovery:
        return recover(item);
      case Item::kMessage:
        return message(item);
    }
    return {};
  }

  // At rest: every message published so far has been read or told missed.
  std::string settled(const std::string& topic, uint64_t last_seq, uint64_t pending_gap) const {
    auto it = views_.find(topic);
    if (closed_ || !subscribed(topic) || it == views_.end() || !it->second.expect) return {};
    const uint64_t expect = *it->second.expect;
    if (expect > last_seq + 1) return {};
    const uint64_t missing = last_seq + 1 - expect;
    const uint64_t told = it->second.missed + pending_gap;
    const uint64_t lost = lost_in(topic, expect, last_seq + 1);
    const bool overcounted = it->second.gap_may_overcount && missing < told;
    if ((told <= missing || overcounted) && missing <= told + lost) return {};
    return topic + ": at rest, read up to " + std::to_string(expect - 1) + " of " +
           std::to_string(last_seq) + " with " + std::to_string(told) + " told missed";
  }

  [[nodiscard]] bool closed() const { return closed_; }
  // Where a reconnect resumes `topic`: its next seq and epoch (0 when it never read one).
  [[nodiscard]] std::pair<uint64_t, std::string> position(const std::string& topic) const {
    auto it = views_.find(topic);
    if (it == views_.end() || it->second.last_seen == 0) return {0, {}};
    return {it->second.last_seen + 1, it->second.epoch};
  }

 private:
  struct View {
    std::optional<uint64_t> expect;  // the next seq it must read; none: any (joined live)
    uint64_t missed = 0;             // told by gap notices, not yet skipped
    uint64_t last_seen = 0;
    std::string epoch;
    bool gap_may_overcount = false;
  };

  bool subscribed(const std::string& topic) const {
    for (const std::string& filter : filters_) {
      if (protocol::pubsub::filter_matches(filter, topic)) return true;
    }
    return false;
  }

  uint64_t lost_in(const std::string& topic, uint64_t from, uint64_t to) const {
    uint64_t count = 0;
    for (auto it = lost_.lower_bound({topic, from});
         it != lost_.end() && it->first == topic && it->second < to; ++it) {
      ++count;
    }
    return count;
  }

  std::string recover(const Item& item) {
    if (!subscribed(item.topic)) return "recovery of " + item.topic + " not subscribed";
    const Recovery& r = item.recovery;
    // Complete means the replay starts where the client asked (PROTOCOL.md section 9), unless
    // it asked at or past the end of the log.
    if (r.complete && item.wanted != 0 && item.wanted < r.next && r.from != item.wanted) {
      return item.topic + ": recovery complete but from " + std::to_string(r.from) +
             " is not the position asked, " + std::to_string(item.wanted);
    }
    View& view = views_[item.topic];
    view.expect = r.from;
    view.missed = 0;
    // Messages dropped before this replay are still counted in the worker's gap table, and
    // the next gap notice tells them though the replay may have sent them again: it may
    // overcount, once (the worker keeps its gap counts over a new subscribe).
    view.gap_may_overcount = true;
    view.epoch = epoch_text(r.epoch);
    if (!r.complete) view.expect.reset();  // the client was told it missed some
    return {};
  }

  std::string message(const Item& item) {
    if (!subscribed(item.topic)) {
      return item.topic + ": message " + std::to_string(item.seq) + " while not subscribed";
    }
    View& view = views_[item.topic];
    const std::string what = item.topic + ": message " + std::to_string(item.seq);
    if (view.expect) {
      if (item.seq < *view.expect) {
        return what + " again or out of order (expected " + std::to_string(*view.expect) + ")";
      }
      const uint64_t skipped = item.seq - *view.expect;
      const uint64_t lost = lost_in(item.topic, *view.expect, item.seq);
      const bool overcounted = view.gap_may_overcount && skipped < view.missed;
      if ((skipped < view.missed && !overcounted) || skipped > view.missed + lost) {
        return what + " after " + std::to_string(*view.expect - 1) + " with " +
               std::to_string(view.missed) + " told missed";
      }
    }
    if (view.missed > 0) view.gap_may_overcount = false;
    view.expect = item.seq + 1;
    view.missed = 0;
    view.last_seen = item.seq;
    return {};
  }

  const Lost& lost_;
  const std::vector<std::string>& topics_;
  std::set<std::string> filters_;
  std::map<std::string, View> views_;
  bool closed_ = false;
};

}  // namespace herald::broker::core::model
