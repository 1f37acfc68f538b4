// The topic router of one worker: which local subscribers want a topic. Exact topics live in
// a hash map, patterns in a token trie, so a match costs O(depth + matches), not O(all
// subscriptions). Knows nothing of connections or I/O: subscribers are opaque ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "protocol/pubsub/command.h"

namespace herald::broker::core {

using SubscriberId = uint64_t;

struct Subscription {
  SubscriberId subscriber = 0;
  protocol::pubsub::Policy policy = protocol::pubsub::Policy::kDefault;
  uint64_t order = 0;  // increases with each new subscription: earlier ones compare lower
};

// Thread: one worker's; not shared.
class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // `filter` must pass protocol::pubsub::check_filter. Subscribing the same subscriber to
  // the same filter again replaces its policy (and returns false).
  bool subscribe(std::string_view filter, SubscriberId subscriber, protocol::pubsub::Policy policy);
  // Returns false when the subscriber had no such filter.
  bool unsubscribe(std::string_view filter, SubscriberId subscriber);

  // Appends every subscription matching `topic` (which must pass check_topic) to `out`:
  // first those of the exact topic, then pattern ones. A subscriber with overlapping filters
  // appears once per matching filter; the caller dedupes. `out` is not cleared, so a reused
  // vector makes matching allocation-free. The pointers stay valid only until that filter's
  // list changes: do not subscribe or unsubscribe while walking them (defer the closes of
  // slow consumers until the fan-out of the message is done).
  void match(std::string_view topic, std::vector<const Subscription*>& out) const;

  [[nodiscard]] size_t subscription_count() const { return subscription_count_; }
  [[nodiscard]] size_t exact_topic_count() const;
  [[nodiscard]] bool empty() const { return subscription_count_ == 0; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  size_t subscription_count_ = 0;
  uint64_t next_order_ = 1;
};

}  // namespace herald::broker::core
