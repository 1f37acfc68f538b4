// Hub: the channel matrix, peer registration, the /metrics sum and readiness.
#include "broker/net/hub.h"

#include <sys/eventfd.h>
#include <unistd.h>

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
      seams_(std::make_unique<Seam[]>(worker_count)),
      drain_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
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
  if (drain_fd_ >= 0) close(drain_fd_);
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

bool Hub::request_drain() {
  if (!readiness_.claim(NotReady::kDraining)) return false;
  uint64_t one = 1;
  // A full counter (EAGAIN) still leaves the fd readable, so the result does not matter.
  [[maybe_unused]] ssize_t written = write(drain_fd_, &one, sizeof(one));
  return true;
}

uint32_t Hub::not_ready() const {
  uint32_t conditions = readiness_.conditions();
  for (uint32_t index = 0; index < worker_count_; ++index) {
    if (storage_busy(index)) conditions |= static_cast<uint32_t>(NotReady::kStorageBusy);
  }
  return conditions;
}

std::vector<core::WorkerMetrics> Hub::worker_metrics() const {
  std::vector<core::WorkerMetrics> workers;
  workers.reserve(peers_.size());
  for (const Peer& peer : peers_) {
    workers.push_back(peer.counters != nullptr ? peer.counters->snapshot() : core::WorkerMetrics{});
  }
  return workers;
}

std::string Hub::render_metrics() const {
  const std::vector<core::WorkerMetrics> workers = worker_metrics();
  const uint32_t conditions = not_ready();
  return core::render_metrics(workers, topic_count_.load(std::memory_order_relaxed)) +
         "# HELP herald_ready Whether GET /readyz answers 200 (1) or 503 (0).\n"
         "# TYPE herald_ready gauge\n"
         "herald_ready " +
         std::string(conditions == 0 ? "1" : "0") +
         "\n"
         "# HELP herald_draining Whether a drain (SIGTERM or POST /admin/drain) is under way.\n"
         "# TYPE herald_draining gauge\n"
         "herald_draining " +
         std::string((conditions & static_cast<uint32_t>(NotReady::kDraining)) != 0 ? "1" : "0") +
         "\n";
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
