// Hub: the channel matrix, peer registration and the /metrics sum.
#include "broker/net/hub.h"

#include <algorithm>
#include <cassert>

#include "broker/core/metrics.h"
#include "broker/core/publication.h"
#include "broker/net/shared_buffer.h"

namespace herald::broker::net {

namespace {

// Items per channel: deep enough to absorb a tick's burst between two workers, small enough
// that the matrix (count^2 channels, 16 bytes per item) stays modest with many workers.
// Untouched slots cost no memory; a full channel spills into the producer's overflow list.
size_t channel_capacity(uint32_t worker_count) {
  size_t capacity = 4096;
  while (capacity > 64 && capacity * worker_count > 65536) capacity /= 2;
  return capacity;
}

}  // namespace

Hub::Hub(uint32_t worker_count, uint64_t topics_max)
    : worker_count_(worker_count),
      topics_max_(topics_max),
      peers_(worker_count),
      seams_(std::make_unique<Seam[]>(worker_count)) {
  assert(worker_count > 0);
  size_t capacity = channel_capacity(worker_count);
  channels_.resize(size_t{worker_count} * worker_count);
  for (uint32_t from = 0; from < worker_count; ++from) {
    for (uint32_t to = 0; to < worker_count; ++to) {
      if (from != to) channels_[from * worker_count + to] = std::make_unique<Channel>(capacity);
    }
  }
}

Hub::~Hub() {
  for (auto& channel : channels_) {
    if (channel == nullptr) continue;
    ChannelItem item{};
    while (channel->try_pop(item)) discard(item);
  }
}

Channel& Hub::channel(uint32_t from, uint32_t to) {
  assert(from != to && from < worker_count_ && to < worker_count_);
  return *channels_[from * worker_count_ + to];
}

void Hub::attach_counters(uint32_t index, const WorkerCounters* counters) {
  peers_[index].counters = counters;
}

void Hub::attach_wake(uint32_t index, io::WakeAddress address) { peers_[index].wake = address; }

bool Hub::has_subscriptions(uint32_t index) const {
  const WorkerCounters* counters = peers_[index].counters;
  return counters != nullptr && counters->subscriptions.load() > 0;
}

std::string Hub::render_metrics() const {
  std::vector<core::WorkerMetrics> workers;
  workers.reserve(peers_.size());
  for (const Peer& peer : peers_) {
    workers.push_back(peer.counters != nullptr ? peer.counters->snapshot() : core::WorkerMetrics{});
  }
  return core::render_metrics(workers, topic_count_.load(std::memory_order_relaxed));
}

std::string Hub::render_io_metrics(io::BackendKind backend) const {
  uint64_t connections = 0;
  for (const Peer& peer : peers_) {
    if (peer.counters != nullptr) connections += peer.counters->connections.load();
  }
  std::string label = "{backend=\"" + std::string(io::backend_name(backend)) + "\"}";
  return "# HELP herald_io_backend The I/O backend the workers run (--io): 1 for the one in use.\n"
         "# TYPE herald_io_backend gauge\n"
         "herald_io_backend" +
         label +
         " 1\n"
         "# HELP herald_io_connections Open connections on each I/O backend.\n"
         "# TYPE herald_io_connections gauge\n"
         "herald_io_connections" +
         label + " " + std::to_string(connections) + "\n";
}

void Hub::discard(const ChannelItem& item) {
  switch (item.kind) {
    case ChannelItem::Kind::kFrame:
      SharedRef::adopt(static_cast<SharedBuffer*>(item.pointer));  // released right here
      return;
    case ChannelItem::Kind::kPublish:
    case ChannelItem::Kind::kAnswer:
      core::PublishRequest::destroy(static_cast<core::PublishRequest*>(item.pointer));
      return;
  }
}

}  // namespace herald::broker::net
