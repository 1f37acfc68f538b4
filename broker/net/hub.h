// What the workers share: one SPSC channel per ordered pair of workers, where each worker is
// woken, its counters (for /metrics and $sys.stats), the board of the $sys statistics and the
// broker-wide topic count. Owns the channels and frees whatever is still in them at the end;
// it issues no I/O.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/io/backend.h"
#include "broker/net/counters.h"
#include "broker/net/readiness.h"
#include "broker/net/stats_publisher.h"
#include "protocol/common/spsc_queue.h"

namespace herald::broker::net {

// One item on a channel. The receiver takes over what `pointer` owns.
struct ChannelItem {
  enum class Kind : uint8_t {
    kFrame,    // a SharedBuffer* holding one reference: an encoded message to deliver
    kPublish,  // a core::PublishRequest* for the topic's owner to sequence
    kAnswer,   // the same request coming back, sequenced (or refused)
  };
  Kind kind;
  void* pointer;
};

using Channel = common::SpscQueue<ChannelItem>;

// Constructed before the workers and destroyed after every worker thread has ended.
class Hub {
 public:
  Hub(uint32_t worker_count, uint64_t topics_max);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  [[nodiscard]] uint32_t worker_count() const { return worker_count_; }
  // Pushed only by worker `from`, popped only by worker `to` (from != to).
  [[nodiscard]] Channel& channel(uint32_t from, uint32_t to);

  // Worker `index` registers these from its constructor (counters) and its setup() (where it
  // is woken). Other workers read them only once every worker's setup is done (the latch).
  void attach_counters(uint32_t index, const WorkerCounters* counters);
  void attach_wake(uint32_t index, io::WakeAddress address);
  [[nodiscard]] const io::WakeAddress& wake_address(uint32_t index) const {
    return peers_[index].wake;
  }

  // Any thread: whether worker `index` holds any subscription (its subscriptions gauge).
  [[nodiscard]] bool has_subscriptions(uint32_t index) const;

  // Any thread: worker `index`'s seam counter. The worker bumps it (acq_rel) after queuing a
  // history append and before reading other workers' gauges; a replaying subscriber bumps
  // every worker's after raising its own gauge and before queuing its read. Read-modify-writes
  // of one atomic are totally ordered and each synchronizes with the one before, so of any
  // such pair one happens before the other: either the read sees the append, or the owner
  // sees the subscription (worker_history.cc, "The seam").
  void bump_seam(uint32_t index) { seams_[index].count.fetch_add(1, std::memory_order_acq_rel); }

  // Any thread: whether worker `index` holds publishes because its storage queue is full.
  // Publishers of its topics with history stop reading until it clears (worker_history.cc,
  // "Back-pressure"); it wakes every worker when it does.
  [[nodiscard]] bool storage_busy(uint32_t index) const {
    return seams_[index].storage_busy.load(std::memory_order_acquire);
  }
  void set_storage_busy(uint32_t index, bool busy) {
    seams_[index].storage_busy.store(busy, std::memory_order_release);
  }

  // Any thread: what makes the broker not ready (/readyz); the server and the workers set it.
  [[nodiscard]] Readiness& readiness() { return readiness_; }
  // Any thread: asks the server to drain (POST /admin/drain): /readyz fails at once and the
  // server, woken through drain_fd(), does the rest. False when a drain had begun already.
  bool request_drain();
  // The eventfd request_drain() signals; the server polls it. Owned by the Hub.
  [[nodiscard]] int drain_fd() const { return drain_fd_; }

  // Any thread: the NotReady mask /readyz answers, with kStorageBusy while any worker holds
  // publishes for the history writer.
  [[nodiscard]] uint32_t not_ready() const;

  // The shared count behind --max-topics (TopicTable).
  [[nodiscard]] std::atomic<uint64_t>& topic_count() { return topic_count_; }
  [[nodiscard]] uint64_t topics_max() const { return topics_max_; }

  // Any thread: each attached worker's counters, by index (zeros for one not attached yet).
  [[nodiscard]] std::vector<core::WorkerMetrics> worker_metrics() const;
  // Any thread: where the workers leave their part of the $sys statistics.
  [[nodiscard]] StatsBoard& stats_board() { return stats_board_; }

  // Any thread: the /metrics body, summed over the attached workers.
  [[nodiscard]] std::string render_metrics() const;
  // Any thread: which I/O backend runs and the connections open on it (every worker runs the
  // same one, chosen at start-up).
  [[nodiscard]] std::string render_io_metrics(io::BackendKind backend) const;

  // Frees what an item owns (at shutdown, for items nobody will receive).
  static void discard(const ChannelItem& item);

 private:
  struct Peer {
    const WorkerCounters* counters = nullptr;
    io::WakeAddress wake;
  };

  const uint32_t worker_count_;
  const uint64_t topics_max_;
  std::vector<std::unique_ptr<Channel>> channels_;  // [from * count + to], null on the diagonal
  struct alignas(64) Seam {  // a line each: owners bump their own on every history append
    std::atomic<uint64_t> count{0};
    std::atomic<bool> storage_busy{false};  // written only when it changes
  };

  std::vector<Peer> peers_;
  std::unique_ptr<Seam[]> seams_;
  std::atomic<uint64_t> topic_count_{0};
  Readiness readiness_;
  StatsBoard stats_board_{worker_count_};
  int drain_fd_ = -1;
};

}  // namespace herald::broker::net
