// A worker's side of history (PROTOCOL.md section 9): appends queued to the storage writer
// before their frame is broadcast (the seam, explained in replays.cc), acks held until the
// append is durable, back-pressure when the writer falls behind, and the Replays host.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "broker/net/log.h"
#include "broker/net/worker.h"
#include "protocol/pubsub/encode.h"

namespace herald::broker::net {

namespace pubsub = protocol::pubsub;

namespace {

int64_t wall_clock_ms() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

}  // namespace

void Worker::attach_storage(storage::StorageProducer& producer, const storage::HistoryRules& rules,
                            core::HistoryTopics& topics) {
  history_ = std::make_unique<HistoryClient>(producer, rules, topics);
  replays_ =
      std::make_unique<Replays>(config_, counters_, *history_, static_cast<Replays::Host&>(*this));
}

bool Worker::continue_topic(std::string_view topic, uint64_t last_seq) {
  return sequencer_.continue_after(topic, last_seq);
}

void Worker::bump_seams() {
  for (uint32_t worker = 0; worker < hub_.worker_count(); ++worker) hub_.bump_seam(worker);
}

void Worker::wake() {
  uint64_t one = 1;
  // A full eventfd counter (EAGAIN) still wakes the read, so the result does not matter.
  [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof(one));
}

// Appends and acks.

uint64_t Worker::append_history(const core::PublishRequest::Fields& fields, uint64_t seq) {
  if (!history_->has_history(fields.topic, true)) return 0;
  const uint64_t ticket = history_->append(fields, seq, wall_clock_ms());
  // Pairs with the bump in Replays::start(): see the seam in replays.cc.
  hub_.bump_seam(index_);
  return ticket;
}

// Back-pressure. A full storage queue means the disk is behind by a whole queue. The owner
// must neither broadcast a message whose append is not queued (the seam) nor wait for the
// disk on the loop, which serves every other connection. So it holds the topic's publishes,
// in order, behind the first that found the queue full, and says so in the Hub; the workers
// of their publishers stop reading those connections (each has sent at most what one receive
// held) and POST /publish answers 503 with Retry-After. Each tick the owner sequences what now
// fits; once none is held it clears the flag and wakes every worker to read again.

bool Worker::must_wait_for_storage(std::string_view topic) {
  return history_ != nullptr && history_->must_wait(topic);
}

void Worker::hold_publish(core::PublishRequest* request) {
  if (!history_->holding()) hub_.set_storage_busy(index_, true);
  history_->hold(request);
  ++counters_.publishes_held;
}

void Worker::release_held_publishes() {
  if (!history_->holding()) return;
  while (core::PublishRequest* request = history_->take_held()) sequence_request(request);
  if (!history_->holding()) {
    hub_.set_storage_busy(index_, false);
    channels_.wake_all();
  }
}

std::optional<uint32_t> Worker::busy_owner(std::string_view topic) {
  if (history_ == nullptr) return std::nullopt;
  const uint32_t owner = core::owner_of(topic, hub_.worker_count());
  if (!hub_.storage_busy(owner) || !history_->has_history(topic, false)) return std::nullopt;
  return owner;
}

bool Worker::storage_busy(std::string_view topic) { return busy_owner(topic).has_value(); }

void Worker::pause_if_storage_busy(Connection& connection, std::string_view topic) {
  if (connection.io.storage_paused) return;
  const std::optional<uint32_t> owner = busy_owner(topic);
  if (!owner) return;
  connection.io.storage_paused = true;
  storage_paused_.push_back(StoragePause{key_of(connection), *owner});
  ++counters_.storage_pauses;
  stop_recv(connection);
}

void Worker::resume_storage_paused() {
  std::erase_if(storage_paused_, [this](const StoragePause& pause) {
    if (hub_.storage_busy(pause.owner)) return false;
    if (Connection* connection = find(pause.connection); connection != nullptr) {
      connection->io.storage_paused = false;
      if (wants_recv(*connection)) submit_recv(*connection);
    }
    return true;
  });
}

void Worker::answer_publish(core::PublishRequest* request) {
  if (request->reply().worker == index_) {
    on_publish_answer(request);
    return;
  }
  push_item(request->reply().worker, ChannelItem{ChannelItem::Kind::kAnswer, request});
}

void Worker::storage_tick() {
  if (history_ == nullptr) return;
  release_held_publishes();
  resume_storage_paused();
  history_->submit();
  if (uint64_t failed = history_->failed_appends(); failed != 0) {
    counters_.storage_failures.set(failed);
    if (!storage_failure_logged_) {
      // Publishers see storage_failed and 503, but the operator would see nothing: say it
      // once. The storage's own reason is in RocksDB's LOG under --data-dir.
      storage_failure_logged_ = true;
      log_line(LogLevel::kError,
               "a history write failed; messages to topics with history are still delivered "
               "live but no longer stored or acknowledged until a restart (check the disk and "
               "the LOG file in --data-dir)",
               {{"worker", index_}});
    }
  }
  history_->settle([this](core::PublishRequest* request) { answer_publish(request); });
  // After settle: a publisher told storage_failed then finds /readyz failing. Sticky, as the
  // failure is.
  if (!storage_failure_ready_marked_ && history_->failed_appends() != 0) {
    storage_failure_ready_marked_ = true;
    hub_.readiness().set(NotReady::kStorageFailed);
  }
  replays_->tick();
}

// What Replays needs of the worker.

Connection* Worker::find_connection(uint64_t key) { return find(key); }

void Worker::enqueue(Connection& connection, SharedRef frames) {
  connection.enqueue(std::move(frames), context_);
  schedule_flush(connection);
}

}  // namespace herald::broker::net
