// Where a worker's history reads go and where their answers come from: the storage writer's
// queues on a single node, Redis streams with several (ClusterClient). The replays never know
// which: they see storage::ReadRequest and storage::ReadResult either way.
#pragma once

#include "storage/storage_writer.h"

namespace herald::broker::net {

class HistoryReads {
 public:
  virtual ~HistoryReads() = default;
  // Queues one read; false (the request untouched) when the queue is full.
  [[nodiscard]] virtual bool try_read(storage::ReadRequest&& request) = 0;
  // Takes one answered read; false when none waits.
  [[nodiscard]] virtual bool try_take_read_result(storage::ReadResult& out) = 0;
  // Once per loop tick: wakes whoever serves the reads queued since the last call.
  virtual void submit() = 0;
};

// The storage writer's reads, through one worker's producer.
class StorageReads final : public HistoryReads {
 public:
  explicit StorageReads(storage::StorageProducer& producer) : producer_(producer) {}
  bool try_read(storage::ReadRequest&& request) override {
    return producer_.try_read(std::move(request));
  }
  bool try_take_read_result(storage::ReadResult& out) override {
    return producer_.try_take_read_result(out);
  }
  void submit() override { producer_.submit(); }

 private:
  storage::StorageProducer& producer_;
};

}  // namespace herald::broker::net
