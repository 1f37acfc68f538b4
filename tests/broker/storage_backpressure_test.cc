// Back-pressure from the history writer (worker_history.cc, "Back-pressure"), with a real
// RocksDB log behind a writer held on purpose, as a disk that stopped would: the owners hold
// the publishes that do not fit their 16-slot queues, the publisher stops being read, POST
// /publish answers 503 with Retry-After, every other connection is still served, and once the
// writer runs again every publish is stored, acked and delivered once, in order.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/core/history_topics.h"
#include "storage/history_rules.h"
#include "storage/storage_writer.h"
#include "tests/broker/two_workers.h"

namespace herald::broker::net {
namespace {

using namespace raw_socket;  // NOLINT(google-build-using-namespace): test helpers
namespace ws = protocol::websocket;

constexpr int kFirstBurst = 80;  // 40 for each owner: more than a 16-slot queue holds
constexpr int kSecondBurst = 20;

// The value of "key":N in a small JSON text, or -1.
int64_t number_field(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::stoll(json.substr(at + key.size() + 3));
}

class StorageBackpressureTest : public testing::TwoWorkerTest {
 protected:
  void before_run() override {
    data_dir_ = std::filesystem::temp_directory_path() /
                ("herald-backpressure-" + std::to_string(getpid()) + "-" +
                 std::to_string(reinterpret_cast<uintptr_t>(this)));
    storage::StorageConfig storage_config;
    storage_config.data_dir = data_dir_.string();
    auto rules = storage::HistoryRules::parse({"bp.>=rocksdb,count=100000"});
    ASSERT_TRUE(rules.status.is_ok()) << rules.status.message();
    storage_config.rules = std::move(rules.value);
    storage_config.producer_count = kWorkers;
    storage_config.append_queue_capacity = 16;
    storage_config.before_write = [this] {
      std::unique_lock lock(gate_mutex_);
      gate_cv_.wait(lock, [this] { return gate_open_; });
    };
    auto opened = storage::StorageWriter::open(std::move(storage_config));
    ASSERT_TRUE(opened.status.is_ok()) << opened.status.message();
    writer_ = std::move(opened.value);
    for (uint32_t i = 0; i < kWorkers; ++i) {
      Worker* worker = workers[i].get();
      writer_->producer(i).set_wake([worker] { worker->wake(); });
      worker->attach_storage(writer_->producer(i), writer_->rules(), history_topics_);
    }
    writer_->start();
  }
  void TearDown() override {
    set_gate(true);
    TwoWorkerTest::TearDown();
    if (writer_) writer_->stop();
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
  }

  void set_gate(bool open) {
    {
      std::lock_guard lock(gate_mutex_);
      gate_open_ = open;
    }
    gate_cv_.notify_all();
  }
  static std::string history_topic_owned_by(uint32_t owner) {
    for (int i = 0;; ++i) {
      std::string topic = "bp." + std::to_string(i);
      if (core::owner_of(topic, kWorkers) == owner) return topic;
    }
  }
  // Polls `done` for up to five seconds.
  template <typename Done>
  static bool eventually(Done done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  static std::string publish(const std::string& topic, int id) {
    return masked_frame(ws::Opcode::kText, R"({"op":"pub","topic":")" + topic + R"(","data":)" +
                                               std::to_string(id) + R"(,"id":)" +
                                               std::to_string(id) + "}");
  }

  std::filesystem::path data_dir_;
  core::HistoryTopics history_topics_;
  std::unique_ptr<storage::StorageWriter> writer_;
  std::mutex gate_mutex_;
  std::condition_variable gate_cv_;
  bool gate_open_ = true;
};

TEST_P(StorageBackpressureTest, HoldsPausesAnswers503AndLosesNothing) {
  start();
  const std::string topics[kWorkers] = {history_topic_owned_by(0), history_topic_owned_by(1)};
  int subscriber = open_session(1);
  command(subscriber, R"({"op":"sub","topic":"bp.>","id":"s"})");
  ASSERT_NE(text(subscriber).find(R"("id":"s")"), std::string::npos);

  set_gate(false);
  // One publisher on worker 0: ids alternate between a topic it owns and one worker 1 owns.
  int publisher = open_session(0);
  std::string burst;
  for (int id = 1; id <= kFirstBurst; ++id) burst += publish(topics[id % 2], id);
  write_all(publisher, burst);
  ASSERT_TRUE(eventually([&] {
    return workers[0]->counters().publishes_held.load() > 0 &&
           workers[1]->counters().publishes_held.load() > 0;
  })) << "both owners hold publishes while the writer is stopped";
  ASSERT_TRUE(eventually([&] { return workers[0]->counters().storage_pauses.load() > 0; }))
      << "the publisher's worker stops reading it";
  burst.clear();
  for (int id = kFirstBurst + 1; id <= kFirstBurst + kSecondBurst; ++id) {
    burst += publish(topics[id % 2], id);
  }
  write_all(publisher, burst);

  // The loops still serve everything else, the owners included (the old code spun here).
  for (uint32_t worker = 0; worker < kWorkers; ++worker) {
    int other = open_session(worker);
    command(other, R"({"op":"sub","topic":"free.x","id":1})");
    EXPECT_EQ(text(other), R"({"type":"ack","id":1})");
    command(other, R"({"op":"pub","topic":"free.x","data":0,"id":2})");
    EXPECT_EQ(text(other).rfind(R"({"type":"msg","topic":"free.x")", 0), 0u);
    EXPECT_EQ(number_field(text(other), "id"), 2);
    close(other);
  }
  int http = connect_to(0);
  write_all(http, "POST /publish?topic=" + topics[1] +
                      " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 1\r\n\r\n7");
  std::string response = read_all(http);
  EXPECT_EQ(response.rfind("HTTP/1.1 503", 0), 0u) << response;
  EXPECT_NE(response.find("\r\nRetry-After: 1\r\n"), std::string::npos) << response;
  close(http);
  EXPECT_GE(
      workers[0]->counters().refusals[static_cast<size_t>(core::Refusal::kStorageBusy)].load(), 1u);

  set_gate(true);
  // Every publish acked once; per topic, seqs follow the publisher's order with no gap.
  std::map<std::string, int64_t> last_seq;
  for (int n = 0; n < kFirstBurst + kSecondBurst; ++n) {
    std::string ack = text(publisher);
    int64_t id = number_field(ack, "id");
    ASSERT_GE(id, 1) << ack;
    EXPECT_EQ(number_field(ack, "seq"), ++last_seq[topics[id % 2]]) << ack;
  }
  EXPECT_EQ(last_seq[topics[0]] + last_seq[topics[1]], kFirstBurst + kSecondBurst);
  // The subscriber gets each message once, in order per topic. A topic first met by the
  // pattern is introduced with a recovery notice (PROTOCOL.md section 9), one per topic.
  std::map<std::string, int64_t> delivered;
  int recoveries = 0;
  for (int n = 0; n < kFirstBurst + kSecondBurst; ++n) {
    std::string message = text(subscriber);
    if (message.rfind(R"({"type":"recovery")", 0) == 0 && ++recoveries <= 2) {
      --n;
      continue;
    }
    int64_t data = number_field(message, "data");
    ASSERT_GE(data, 1) << message;
    const std::string& topic = topics[data % 2];
    EXPECT_NE(message.find(R"("topic":")" + topic + "\""), std::string::npos) << message;
    EXPECT_EQ(number_field(message, "seq"), ++delivered[topic]) << message;
  }
  for (uint32_t worker = 0; worker < kWorkers; ++worker) EXPECT_FALSE(hub->storage_busy(worker));
  close(publisher);
  close(subscriber);
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageBackpressureTest,
                         ::testing::Values(io::BackendKind::kUring, io::BackendKind::kEpoll),
                         testing::backend_name);

}  // namespace
}  // namespace herald::broker::net
