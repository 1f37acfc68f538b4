// Overflow and wakeups of a worker's outgoing channels.
#include "broker/net/peer_channels.h"

namespace herald::broker::net {

PeerChannels::PeerChannels(Hub& hub, uint32_t index, uint64_t retry_tag, uint64_t wake_tag)
    : hub_(hub),
      index_(index),
      retry_tag_(retry_tag),
      wake_tag_(wake_tag),
      outboxes_(hub.worker_count()) {}

PeerChannels::~PeerChannels() {
  for (Outbox& outbox : outboxes_) {
    for (const ChannelItem& item : outbox.overflow) Hub::discard(item);
  }
}

void PeerChannels::note_wake(uint32_t to) {
  if (outboxes_[to].wake_pending) return;
  outboxes_[to].wake_pending = true;
  wake_list_.push_back(to);
}

void PeerChannels::wake_all() {
  for (uint32_t to = 0; to < outboxes_.size(); ++to) {
    if (to != index_) note_wake(to);
  }
}

void PeerChannels::push(uint32_t to, ChannelItem item, WorkerCounters& counters) {
  Outbox& outbox = outboxes_[to];
  // Behind an overflow the item must wait its turn: channels are FIFO per pair.
  if (outbox.overflow.empty() && hub_.channel(index_, to).try_push(item)) {
    note_wake(to);
    return;
  }
  if (outbox.overflow.empty()) ++counters.channel_overflows;
  outbox.overflow.push_back(item);
  overflow_pending_ = true;
}

void PeerChannels::flush(io::Backend& io) {
  if (overflow_pending_) {
    overflow_pending_ = false;
    for (uint32_t to = 0; to < outboxes_.size(); ++to) {
      Outbox& outbox = outboxes_[to];
      if (outbox.overflow.empty()) continue;
      Channel& channel = hub_.channel(index_, to);
      size_t moved = 0;
      while (!outbox.overflow.empty() && channel.try_push(outbox.overflow.front())) {
        outbox.overflow.pop_front();
        ++moved;
      }
      if (moved > 0) note_wake(to);
      if (!outbox.overflow.empty()) overflow_pending_ = true;
    }
    // The peer frees room without telling us: look again soon rather than spin.
    if (overflow_pending_ && !retry_armed_) {
      io.timeout(&retry_after_, retry_tag_);
      retry_armed_ = true;
    }
  }
  for (uint32_t to : wake_list_) {
    outboxes_[to].wake_pending = false;
    io.wake(hub_.wake_address(to), wake_tag_);
  }
  wake_list_.clear();
}

}  // namespace herald::broker::net
