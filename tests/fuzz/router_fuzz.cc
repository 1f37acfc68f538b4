// Differential fuzzing of the topic router against a naive model: a list of subscriptions
// matched with protocol::pubsub::filter_matches. Traps on any difference.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "broker/core/router.h"
#include "protocol/pubsub/topic.h"

namespace herald::broker::core {
namespace {

using protocol::pubsub::Policy;
using protocol::pubsub::TopicError;

// Input: a sequence of operations, each
//   op byte: bits 0-1 kind (0-1 subscribe, 2 unsubscribe, 3 match), bits 2-3 policy;
//   subscriber byte (mod kSubscribers);
//   depth byte: 1 + value % kDepthMax tokens, then one byte per token picking from kTokens
//   (topics pick from the first kTopicTokenKinds, so they are always concrete).
// Filters that fail check_filter are skipped, as the broker rejects them before the router.
constexpr const char* kTokens[] = {"a", "b", "ab", "*", ">"};
constexpr size_t kTokenKinds = sizeof(kTokens) / sizeof(kTokens[0]);
constexpr size_t kTopicTokenKinds = 3;
constexpr size_t kDepthMax = 5;
constexpr SubscriberId kSubscribers = 64;

struct ModelEntry {
  std::string filter;
  SubscriberId subscriber;
  Policy policy;
  uint64_t order;
};

using Match = std::tuple<SubscriberId, Policy, uint64_t>;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  [[nodiscard]] bool done() const { return offset_ >= size_; }
  uint8_t next() { return offset_ < size_ ? data_[offset_++] : 0; }

  std::string tokens(size_t kinds) {
    const size_t depth = 1 + next() % kDepthMax;
    std::string text;
    for (size_t i = 0; i < depth; ++i) {
      if (i > 0) text += '.';
      text += kTokens[next() % kinds];
    }
    return text;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};

class Model {
 public:
  std::vector<ModelEntry>::iterator find(const std::string& filter, SubscriberId subscriber) {
    return std::find_if(entries_.begin(), entries_.end(), [&](const ModelEntry& entry) {
      return entry.filter == filter && entry.subscriber == subscriber;
    });
  }

  bool subscribe(const std::string& filter, SubscriberId subscriber, Policy policy) {
    const auto it = find(filter, subscriber);
    if (it != entries_.end()) {
      it->policy = policy;
      return false;
    }
    entries_.push_back({filter, subscriber, policy, next_order_++});
    return true;
  }

  bool unsubscribe(const std::string& filter, SubscriberId subscriber) {
    const auto it = find(filter, subscriber);
    if (it == entries_.end()) return false;
    entries_.erase(it);
    return true;
  }

  // The exact topic's subscriptions and the pattern ones, each sorted.
  void match(const std::string& topic, std::vector<Match>& exact,
             std::vector<Match>& patterns) const {
    for (const ModelEntry& entry : entries_) {
      if (!protocol::pubsub::filter_matches(entry.filter, topic)) continue;
      (entry.filter == topic ? exact : patterns)
          .emplace_back(entry.subscriber, entry.policy, entry.order);
    }
    std::sort(exact.begin(), exact.end());
    std::sort(patterns.begin(), patterns.end());
  }

  [[nodiscard]] size_t size() const { return entries_.size(); }

  [[nodiscard]] size_t exact_topic_count() const {
    std::set<std::string_view> topics;
    for (const ModelEntry& entry : entries_) {
      if (!protocol::pubsub::is_pattern(entry.filter)) topics.insert(entry.filter);
    }
    return topics.size();
  }

 private:
  std::vector<ModelEntry> entries_;
  uint64_t next_order_ = 1;
};

// Same multisets of (subscriber, policy, order), and the exact topic's ones first.
void check_match(const Router& router, const Model& model, const std::string& topic) {
  std::vector<Match> exact;
  std::vector<Match> patterns;
  model.match(topic, exact, patterns);
  std::vector<const Subscription*> out;
  router.match(topic, out);
  if (out.size() != exact.size() + patterns.size()) __builtin_trap();
  std::vector<Match> got_exact;
  std::vector<Match> got_patterns;
  for (size_t i = 0; i < out.size(); ++i) {
    (i < exact.size() ? got_exact : got_patterns)
        .emplace_back(out[i]->subscriber, out[i]->policy, out[i]->order);
  }
  std::sort(got_exact.begin(), got_exact.end());
  std::sort(got_patterns.begin(), got_patterns.end());
  if (got_exact != exact || got_patterns != patterns) __builtin_trap();
  if (router.exact_topic_count() != model.exact_topic_count()) __builtin_trap();
}

void run(Input& input) {
  Router router;
  Model model;
  while (!input.done()) {
    const uint8_t op = input.next();
    const SubscriberId subscriber = input.next() % kSubscribers;
    const auto policy = static_cast<Policy>((op >> 2) & 3);
    const unsigned kind = op & 3;
    if (kind == 3) {
      const std::string topic = input.tokens(kTopicTokenKinds);
      if (protocol::pubsub::check_topic(topic) != TopicError::kNone) __builtin_trap();
      check_match(router, model, topic);
      continue;
    }
    const std::string filter = input.tokens(kTokenKinds);
    if (protocol::pubsub::check_filter(filter) != TopicError::kNone) {
      // Never held, so unsubscribing it must fail and change nothing.
      if (router.unsubscribe(filter, subscriber)) __builtin_trap();
      continue;
    }
    if (kind == 2) {
      if (router.unsubscribe(filter, subscriber) != model.unsubscribe(filter, subscriber)) {
        __builtin_trap();
      }
    } else if (router.subscribe(filter, subscriber, policy) !=
               model.subscribe(filter, subscriber, policy)) {
      __builtin_trap();
    }
    if (router.subscription_count() != model.size()) __builtin_trap();
    if (router.empty() != (model.size() == 0)) __builtin_trap();
  }
}

}  // namespace
}  // namespace herald::broker::core

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  herald::broker::core::Input input(data, size);
  herald::broker::core::run(input);
  return 0;
}
