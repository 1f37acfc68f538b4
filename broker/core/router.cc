// Router: exact topics in a hash map, patterns in a token trie (PROTOCOL.md section 2).
// Owns the subscription lists and nothing else: no connections, no I/O, no locking.
#include "broker/core/router.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <functional>
#include <string>
#include <utility>

#include "protocol/common/string_hash.h"
#include "protocol/pubsub/topic.h"

namespace herald::broker::core {
namespace {

using protocol::pubsub::kTopicTokensMax;

// Transparent, so lookups take the topic's string_view without building a std::string.
template <typename Value>
using TopicMap = common::StringMap<Value>;

// Erasing never shrinks a node-based map's bucket array; give it back once three quarters
// of it is unused. Each shrink follows at least size/2 erasures, so it costs O(1) amortized.
template <typename Map>
void shrink_if_sparse(Map& map) {
  constexpr size_t kBucketsKeptMin = 64;
  if (map.bucket_count() > kBucketsKeptMin && map.size() * 4 < map.bucket_count()) {
    map.rehash(map.size() * 2);
  }
}

// The subscriptions of one filter, at most one per subscriber, in no particular order.
// One subscription lives inline (most topics have one local subscriber: 32 bytes in all);
// more live in a heap array that doubles when full and halves when a quarter full. From
// kIndexedCapacityMin on, an open-addressing index (linear probing, load <= 1/2) maps a
// subscriber to its position, so a removal is a lookup plus a swap with the last item: O(1)
// amortized, and a mass disconnect from a topic of 100,000 subscribers costs O(n), not
// O(n^2). Below it a scan of at most 16 items beats hashing. Matching reads only the array.
// Any push or erase may move the items: pointers into the list last until the next change.
class SubscriberList {
 public:
  SubscriberList() : one_() {}
  ~SubscriberList() { release(); }
  SubscriberList(const SubscriberList&) = delete;
  SubscriberList& operator=(const SubscriberList&) = delete;

  [[nodiscard]] bool empty() const { return size_ == 0; }

  [[nodiscard]] Subscription* find(SubscriberId subscriber) {
    Subscription* items = data();
    if (!indexed()) {
      for (uint32_t i = 0; i < size_; ++i) {
        if (items[i].subscriber == subscriber) return &items[i];
      }
      return nullptr;
    }
    const uint32_t slot = find_slot(subscriber);
    return slot == kNone ? nullptr : &items[heap_.index[slot]];
  }

  // `subscription.subscriber` must not be in the list yet.
  void push(const Subscription& subscription) {
    assert(find(subscription.subscriber) == nullptr);
    if (capacity_ == 0 && size_ == 0) {
      one_ = subscription;
      size_ = 1;
      return;
    }
    if (capacity_ == 0 || size_ == capacity_) reallocate(capacity_ == 0 ? 2 : 2 * capacity_);
    heap_.items[size_] = subscription;
    if (indexed()) index_insert(size_);
    ++size_;
  }

  // Returns false when the subscriber is not in the list.
  bool erase(SubscriberId subscriber) {
    Subscription* items = data();
    uint32_t position = kNone;
    if (indexed()) {
      const uint32_t slot = find_slot(subscriber);
      if (slot == kNone) return false;
      position = heap_.index[slot];
      index_erase(slot);
    } else {
      for (uint32_t i = 0; i < size_ && position == kNone; ++i) {
        if (items[i].subscriber == subscriber) position = i;
      }
      if (position == kNone) return false;
    }
    const uint32_t last = size_ - 1;
    if (position != last) {
      items[position] = items[last];
      // The moved item's slot still names `last`, and items[last] still holds it.
      if (indexed()) heap_.index[find_slot(items[position].subscriber)] = position;
    }
    --size_;
    if (capacity_ > 0 && size_ <= 1) {
      reallocate(0);
    } else if (capacity_ > 0 && size_ <= capacity_ / 4) {
      reallocate(capacity_ / 2);
    }
    return true;
  }

  void append_to(std::vector<const Subscription*>& out) const {
    if (size_ == 0) return;
    const Subscription* items = data();
    const size_t base = out.size();
    out.resize(base + size_);
    for (uint32_t i = 0; i < size_; ++i) out[base + i] = &items[i];
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;  // an empty index slot; "not found"
  static constexpr uint32_t kIndexedCapacityMin = 32;

  struct Heap {
    Subscription* items;  // capacity_ items, size_ of them live
    uint32_t* index;      // 2 * capacity_ slots of positions when indexed(), else null
  };

  [[nodiscard]] Subscription* data() { return capacity_ == 0 ? &one_ : heap_.items; }
  [[nodiscard]] const Subscription* data() const { return capacity_ == 0 ? &one_ : heap_.items; }
  [[nodiscard]] bool indexed() const { return capacity_ >= kIndexedCapacityMin; }
  [[nodiscard]] uint32_t slot_mask() const { return 2 * capacity_ - 1; }

  // Fibonacci hashing: subscriber ids are often sequential, so mix before taking top bits.
  [[nodiscard]] uint32_t home_slot(SubscriberId subscriber) const {
    const int bits = std::countr_zero(capacity_) + 1;
    return static_cast<uint32_t>((subscriber * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
  }

  // The slot naming `subscriber`'s position, or kNone. The load factor of at most 1/2
  // guarantees an empty slot ends the probe.
  [[nodiscard]] uint32_t find_slot(SubscriberId subscriber) const {
    for (uint32_t slot = home_slot(subscriber);; slot = (slot + 1) & slot_mask()) {
      const uint32_t position = heap_.index[slot];
      if (position == kNone || heap_.items[position].subscriber == subscriber) {
        return position == kNone ? kNone : slot;
      }
    }
  }

  void index_insert(uint32_t position) {
    uint32_t slot = home_slot(heap_.items[position].subscriber);
    while (heap_.index[slot] != kNone) slot = (slot + 1) & slot_mask();
    heap_.index[slot] = position;
  }

  // Backward-shift deletion keeps every probe chain unbroken without tombstones: an entry
  // after the hole moves into it unless its home slot lies cyclically in (hole, entry].
  void index_erase(uint32_t hole) {
    const uint32_t mask = slot_mask();
    for (uint32_t next = (hole + 1) & mask; heap_.index[next] != kNone; next = (next + 1) & mask) {
      const uint32_t home = home_slot(heap_.items[heap_.index[next]].subscriber);
      const bool stays =
          hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
      if (!stays) {
        heap_.index[hole] = heap_.index[next];
        hole = next;
      }
    }
    heap_.index[hole] = kNone;
  }

  // Moves the items to an array of `capacity` (0: inline, for at most one) and rebuilds the
  // index; O(size_), paid once per doubling or halving.
  void reallocate(uint32_t capacity) {
    assert(capacity == 0 ? size_ <= 1 : capacity >= size_ && std::has_single_bit(capacity));
    if (capacity == 0) {
      const Subscription kept = size_ == 1 ? heap_.items[0] : Subscription{};
      release();
      capacity_ = 0;
      one_ = kept;
      return;
    }
    auto* items = new Subscription[capacity];
    std::copy_n(data(), size_, items);
    uint32_t* index = capacity >= kIndexedCapacityMin ? new uint32_t[2 * capacity] : nullptr;
    release();
    heap_ = Heap{items, index};
    capacity_ = capacity;
    if (index == nullptr) return;
    std::fill_n(index, 2 * capacity, kNone);
    for (uint32_t i = 0; i < size_; ++i) index_insert(i);
  }

  void release() {
    if (capacity_ == 0) return;
    delete[] heap_.items;
    delete[] heap_.index;
  }

  // Owned by this class alone: `one_` when capacity_ == 0, else `heap_`'s two arrays.
  union {
    Subscription one_;
    Heap heap_;
  };
  uint32_t size_ = 0;
  uint32_t capacity_ = 0;
};

// A trie node: the path from the root spells a pattern's tokens ('*' as its own edge).
struct Node {
  std::unique_ptr<TopicMap<std::unique_ptr<Node>>> literals;  // made with the first child
  std::unique_ptr<Node> star;
  SubscriberList ends;  // patterns whose last token leads here
  SubscriberList tail;  // "<path>.>" (">" alone at the root): one or more tokens follow

  [[nodiscard]] bool prunable() const {
    return literals == nullptr && star == nullptr && ends.empty() && tail.empty();
  }

  [[nodiscard]] Node* child(std::string_view token) const {
    if (token == "*") return star.get();
    if (literals == nullptr) return nullptr;
    const auto it = literals->find(token);
    return it == literals->end() ? nullptr : it->second.get();
  }

  Node& make_child(std::string_view token) {
    if (token == "*") {
      if (star == nullptr) star = std::make_unique<Node>();
      return *star;
    }
    if (literals == nullptr) literals = std::make_unique<TopicMap<std::unique_ptr<Node>>>();
    const auto it = literals->find(token);
    if (it != literals->end()) return *it->second;
    return *literals->emplace(std::string(token), std::make_unique<Node>()).first->second;
  }

  void erase_child(std::string_view token) {
    if (token == "*") {
      star.reset();
      return;
    }
    assert(literals != nullptr);
    const auto it = literals->find(token);
    assert(it != literals->end());
    literals->erase(it);
    if (literals->empty()) {
      literals.reset();
    } else {
      shrink_if_sparse(*literals);
    }
  }
};

// Up to kTopicTokensMax tokens of a valid topic or filter, as views into it.
struct Tokens {
  std::array<std::string_view, kTopicTokensMax> token;
  size_t count = 0;

  explicit Tokens(std::string_view text) {
    while (true) {
      assert(count < kTopicTokensMax);
      const size_t dot = text.find('.');
      token[count++] = text.substr(0, dot);
      if (dot == std::string_view::npos) return;
      text.remove_prefix(dot + 1);
    }
  }
};

// Valid filters hold '*' and '>' only as whole tokens, so one byte of either marks a pattern.
bool has_wildcard(std::string_view filter) {
  return filter.find_first_of("*>") != std::string_view::npos;
}

}  // namespace

struct Router::Impl {
  TopicMap<SubscriberList> exact;
  Node root;

  SubscriberList& list_for(std::string_view filter) {
    if (!has_wildcard(filter)) {
      const auto it = exact.find(filter);
      if (it != exact.end()) return it->second;
      return exact.try_emplace(std::string(filter)).first->second;
    }
    Node* node = &root;
    const Tokens tokens(filter);
    for (size_t i = 0; i < tokens.count; ++i) {
      if (tokens.token[i] == ">") return node->tail;  // '>' is always the last token
      node = &node->make_child(tokens.token[i]);
    }
    return node->ends;
  }

  bool erase_exact(std::string_view filter, SubscriberId subscriber) {
    const auto it = exact.find(filter);
    if (it == exact.end() || !it->second.erase(subscriber)) return false;
    if (it->second.empty()) {
      exact.erase(it);
      shrink_if_sparse(exact);
    }
    return true;
  }

  // Removes the subscription, then the nodes it leaves empty, deepest first.
  bool erase_pattern(std::string_view filter, SubscriberId subscriber) {
    const Tokens tokens(filter);
    std::array<Node*, kTopicTokensMax + 1> path{};
    path[0] = &root;
    size_t depth = 0;
    SubscriberList* list = nullptr;
    for (size_t i = 0; i < tokens.count && list == nullptr; ++i) {
      if (tokens.token[i] == ">") {
        list = &path[depth]->tail;
      } else {
        Node* next = path[depth]->child(tokens.token[i]);
        if (next == nullptr) return false;
        path[++depth] = next;
      }
    }
    if (list == nullptr) list = &path[depth]->ends;
    if (!list->erase(subscriber)) return false;
    for (; depth > 0 && path[depth]->prunable(); --depth) {
      path[depth - 1]->erase_child(tokens.token[depth - 1]);
    }
    return true;
  }

  // Depth-first over the trie with an explicit stack. A popped frame pushes at most two
  // (its literal and '*' children, one token deeper), so the stack holds at most one
  // pending frame per depth plus one: kTopicTokensMax + 1 frames.
  void match_patterns(std::string_view topic, std::vector<const Subscription*>& out) const {
    if (root.prunable()) return;
    const Tokens tokens(topic);
    const bool reserved = protocol::pubsub::is_reserved(topic);
    struct Frame {
      const Node* node;
      size_t depth;  // tokens consumed to reach `node`
    };
    std::array<Frame, kTopicTokensMax + 2> stack;
    size_t top = 0;
    stack[top++] = Frame{&root, 0};
    while (top > 0) {
      const Frame frame = stack[--top];
      const Node& node = *frame.node;
      if (frame.depth == tokens.count) {
        node.ends.append_to(out);
        continue;
      }
      // A reserved topic ("$sys...") is reached only through its literal first token, never by
      // a wildcard in the first place (protocol::pubsub::filter_matches).
      const bool wildcards = frame.depth > 0 || !reserved;
      if (wildcards) node.tail.append_to(out);
      assert(top + 2 <= stack.size());
      if (wildcards && node.star != nullptr) {
        stack[top++] = Frame{node.star.get(), frame.depth + 1};
      }
      if (node.literals != nullptr) {
        const auto it = node.literals->find(tokens.token[frame.depth]);
        if (it != node.literals->end()) stack[top++] = Frame{it->second.get(), frame.depth + 1};
      }
    }
  }
};

Router::Router() : impl_(std::make_unique<Impl>()) {}

Router::~Router() = default;

bool Router::subscribe(std::string_view filter, SubscriberId subscriber,
                       protocol::pubsub::Policy policy) {
  assert(protocol::pubsub::check_filter(filter) == protocol::pubsub::TopicError::kNone);
  SubscriberList& list = impl_->list_for(filter);
  if (Subscription* existing = list.find(subscriber)) {
    existing->policy = policy;
    return false;
  }
  list.push(Subscription{subscriber, policy, next_order_++});
  ++subscription_count_;
  return true;
}

bool Router::unsubscribe(std::string_view filter, SubscriberId subscriber) {
  // No invalid filter is ever held, and the trie walk below trusts a valid one ("a.>.b").
  if (protocol::pubsub::check_filter(filter) != protocol::pubsub::TopicError::kNone) return false;
  const bool erased = has_wildcard(filter) ? impl_->erase_pattern(filter, subscriber)
                                           : impl_->erase_exact(filter, subscriber);
  if (erased) {
    assert(subscription_count_ > 0);
    --subscription_count_;
  }
  return erased;
}

void Router::match(std::string_view topic, std::vector<const Subscription*>& out) const {
  const auto it = impl_->exact.find(topic);
  if (it != impl_->exact.end()) it->second.append_to(out);
  impl_->match_patterns(topic, out);
}

size_t Router::exact_topic_count() const { return impl_->exact.size(); }

}  // namespace herald::broker::core
