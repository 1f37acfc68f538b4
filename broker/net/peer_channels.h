// A worker's ends of the channels to its peers: pushing items in order (a local overflow when
// a channel is full: never dropped, never blocking), one wakeup per peer per tick, and taking
// what peers sent, a bounded number per tick. Knows nothing of what the items mean.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "broker/io/backend.h"
#include "broker/net/counters.h"
#include "broker/net/hub.h"

namespace herald::broker::net {

// Thread: the owning worker's. `retry_tag` is the user_data of the timer that retries a full
// channel, `wake_tag` what a peer's loop sees when woken (io_uring MSG_RING).
class PeerChannels {
 public:
  PeerChannels(Hub& hub, uint32_t index, uint64_t retry_tag, uint64_t wake_tag);
  ~PeerChannels();  // frees the items no peer will take any more (peers have stopped too)
  PeerChannels(const PeerChannels&) = delete;
  PeerChannels& operator=(const PeerChannels&) = delete;

  // Wakes every other worker at the next flush (they look at shared state again).
  void wake_all();
  // Queues `item` for peer `to`, behind anything already waiting for it (channels are FIFO).
  void push(uint32_t to, ChannelItem item, WorkerCounters& counters);
  // Hands each waiting item to `on_item(item)`, at most kDrainMax per peer per call.
  template <typename OnItem>
  void drain(OnItem&& on_item);
  // Once a tick, after the items of the tick were pushed: moves overflow into channels with
  // room (arming the retry timer when some stays behind) and wakes each peer that got items.
  void flush(io::Backend& io);
  // The retry timer completed.
  void on_retry() { retry_armed_ = false; }
  // Items stayed in a channel after the last drain: the loop must not sleep.
  [[nodiscard]] bool backlog() const { return backlog_; }

 private:
  // Items for one peer that did not fit its channel, in order.
  struct Outbox {
    std::deque<ChannelItem> overflow;
    bool wake_pending = false;
  };
  static constexpr size_t kDrainMax = 1024;

  void note_wake(uint32_t to);

  Hub& hub_;
  const uint32_t index_;
  const uint64_t retry_tag_;
  const uint64_t wake_tag_;
  io::Timespec retry_after_{0, 200'000};  // how soon full channels are retried
  std::vector<Outbox> outboxes_;          // by peer index
  std::vector<uint32_t> wake_list_;
  bool backlog_ = false;           // a channel still held items after the last drain
  bool overflow_pending_ = false;  // an outbox still holds items
  bool retry_armed_ = false;
};

template <typename OnItem>
void PeerChannels::drain(OnItem&& on_item) {
  backlog_ = false;
  for (uint32_t from = 0; from < hub_.worker_count(); ++from) {
    if (from == index_) continue;
    Channel& channel = hub_.channel(from, index_);
    ChannelItem item{};
    size_t taken = 0;
    // Bounded, so a flood from one peer cannot starve this worker's sockets.
    while (taken < kDrainMax && channel.try_pop(item)) {
      on_item(item);
      ++taken;
    }
    if (taken == kDrainMax) backlog_ = true;
  }
}

}  // namespace herald::broker::net
