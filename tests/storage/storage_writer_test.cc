#include "storage/storage_writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "storage/rocksdb_log.h"
#include "tests/storage/temp_dir.h"

namespace herald::storage {
namespace {

using test::TempDir;

// Polls `done` every millisecond for at most 20 s: a bound on the loop, not a timing claim.
template <typename Done>
bool wait_for(Done done) {
  for (int i = 0; i < 20'000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

HistoryRules rules_of(const std::vector<std::string>& flags) {
  auto rules = HistoryRules::parse(flags);
  EXPECT_TRUE(rules.status.is_ok()) << rules.status.message();
  return std::move(rules.value);
}

StorageConfig config_for(const TempDir& dir, const std::vector<std::string>& flags,
                         uint32_t producers = 1) {
  StorageConfig config;
  config.data_dir = dir.sub("data");
  config.rules = rules_of(flags);
  config.producer_count = producers;
  config.append_queue_capacity = 1024;
  config.read_queue_capacity = 16;
  config.rocksdb_write_buffer_bytes = 1 << 20;
  return config;
}

std::unique_ptr<StorageWriter> open_writer(StorageConfig config) {
  auto opened = StorageWriter::open(std::move(config));
  EXPECT_TRUE(opened.status.is_ok()) << opened.status.message();
  return std::move(opened.value);
}

AppendRequest message(std::string topic, uint64_t seq) {
  std::string payload = topic;
  payload.append("#").append(std::to_string(seq));
  return AppendRequest{std::move(topic), seq, static_cast<int64_t>(seq), false, std::move(payload)};
}

// Pushes, retrying while the queue is full; returns the ticket.
uint64_t push(StorageProducer& producer, AppendRequest request) {
  for (int i = 0; i < 100'000; ++i) {
    if (uint64_t ticket = producer.try_append(std::move(request))) return ticket;
    producer.submit();
    std::this_thread::yield();
  }
  ADD_FAILURE() << "append queue stayed full";
  return 0;
}

ReadResult read(StorageProducer& producer, ReadRequest request) {
  EXPECT_TRUE(producer.try_read(std::move(request)));
  producer.submit();
  ReadResult result;
  EXPECT_TRUE(wait_for([&] { return producer.try_take_read_result(result); }));
  return result;
}

std::vector<uint64_t> seqs_of(const ReadResult& result) {
  std::vector<uint64_t> out;
  for (const StoredMessage& stored : result.messages) out.push_back(stored.seq);
  return out;
}

TEST(StorageWriter, OneRoundTakesEverythingQueuedAsOneBatch) {
  TempDir dir;
  auto writer = open_writer(config_for(dir, {"m.>=memory,count=10000"}));
  StorageProducer& producer = writer->producer(0);
  for (uint64_t seq = 1; seq <= 1000; ++seq) {
    ASSERT_EQ(producer.try_append(message("m.a", seq)), seq);
  }
  int wakes = 0;
  producer.set_wake([&] { ++wakes; });
  writer->start();
  producer.submit();
  ASSERT_TRUE(wait_for([&] { return producer.done_upto() == 1000; }));
  writer->stop();
  EXPECT_EQ(writer->batches_written(), 1u);
  EXPECT_EQ(writer->messages_written(), 1000u);
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(producer.failed_from(), UINT64_MAX);
}

TEST(StorageWriter, FullQueueRefusesAndLeavesTheRequest) {
  TempDir dir;
  StorageConfig config = config_for(dir, {"m.>=memory,count=10"});
  config.append_queue_capacity = 2;
  auto writer = open_writer(std::move(config));
  StorageProducer& producer = writer->producer(0);
  EXPECT_EQ(producer.try_append(message("m.a", 1)), 1u);
  EXPECT_EQ(producer.try_append(message("m.a", 2)), 2u);
  AppendRequest third = message("m.a", 3);
  EXPECT_EQ(producer.try_append(std::move(third)), 0u);
  EXPECT_EQ(third.payload, "m.a#3");  // NOLINT(bugprone-use-after-move): refused, untouched
  writer->start();
  producer.submit();
  ASSERT_TRUE(wait_for([&] { return producer.done_upto() == 2; }));
  EXPECT_EQ(push(producer, std::move(third)), 3u);
  producer.submit();
  ASSERT_TRUE(wait_for([&] { return producer.done_upto() == 3; }));
}

TEST(StorageWriter, ReadsServeEveryStart) {
  TempDir dir;
  auto writer = open_writer(config_for(dir, {"m.>=memory,count=100", "d.>=rocksdb,count=100"}));
  StorageProducer& producer = writer->producer(0);
  writer->start();
  for (const char* topic : {"m.x", "d.x"}) {
    for (uint64_t seq = 1; seq <= 10; ++seq) push(producer, message(topic, seq));
    producer.submit();
    ReadResult from = read(producer, {topic, ReadRequest::Start::kSeq, 4, {3, UINT64_MAX}, 7});
    EXPECT_TRUE(from.status.is_ok());
    EXPECT_EQ(from.token, 7u);
    EXPECT_TRUE(from.has_history);
    EXPECT_NE(from.state.epoch, 0u);
    EXPECT_EQ(from.state.first_seq, 1u);
    EXPECT_EQ(from.state.last_seq, 10u);
    EXPECT_EQ(seqs_of(from), (std::vector<uint64_t>{4, 5, 6}));
    EXPECT_EQ(from.messages[0].payload, std::string(topic) + "#4");

    ReadResult last = read(producer, {topic, ReadRequest::Start::kLast, 3, {}, 8});
    EXPECT_EQ(seqs_of(last), (std::vector<uint64_t>{8, 9, 10}));
    ReadResult latest = read(producer, {topic, ReadRequest::Start::kLast, 1, {}, 9});
    EXPECT_EQ(seqs_of(latest), (std::vector<uint64_t>{10}));
    ReadResult all = read(producer, {topic, ReadRequest::Start::kLast, 50, {}, 9});
    EXPECT_EQ(all.messages.size(), 10u);
    ReadResult since = read(producer, {topic, ReadRequest::Start::kTime, 9, {}, 10});
    EXPECT_EQ(seqs_of(since), (std::vector<uint64_t>{9, 10}));  // time_ms == seq
    ReadResult state = read(producer, {topic, ReadRequest::Start::kSeq, 1, {0, 0}, 11});
    EXPECT_TRUE(state.messages.empty());
    EXPECT_EQ(state.state.last_seq, 10u);
  }
}

TEST(StorageWriter, TopicsWithoutHistory) {
  TempDir dir;
  auto writer = open_writer(config_for(dir, {"m.>=memory,count=100"}));
  StorageProducer& producer = writer->producer(0);
  writer->start();
  uint64_t ticket = push(producer, message("other", 1));
  producer.submit();
  ASSERT_TRUE(wait_for([&] { return producer.done_upto() >= ticket; }));
  ReadResult none = read(producer, {"other", ReadRequest::Start::kSeq, 1, {}, 1});
  EXPECT_FALSE(none.has_history);
  EXPECT_TRUE(none.messages.empty());
  EXPECT_EQ(none.state.topic, "other");
  ReadResult fresh = read(producer, {"m.fresh", ReadRequest::Start::kSeq, 1, {}, 2});
  EXPECT_TRUE(fresh.has_history);
  EXPECT_EQ(fresh.state.epoch, 0u);  // history starts with the first message
}

// The guarantee the broker's replay relies on: a read pushed after an append (here by the
// same thread, through another producer) sees that append.
TEST(StorageWriter, ReadsSeeEveryAppendPushedBeforeThem) {
  TempDir dir;
  auto writer = open_writer(config_for(dir, {"d.>=rocksdb,count=100000"}, 2));
  writer->start();
  StorageProducer& publisher = writer->producer(0);
  StorageProducer& reader = writer->producer(1);
  for (uint64_t seq = 1; seq <= 300; ++seq) {
    push(publisher, message("d.t", seq));
    // Submit only the reader: the worker must still take the publisher's append first.
    ReadResult result = read(reader, {"d.t", ReadRequest::Start::kLast, 1, {}, seq});
    ASSERT_EQ(result.state.last_seq, seq);
    ASSERT_EQ(seqs_of(result), std::vector<uint64_t>{seq});
  }
}

TEST(StorageWriter, ManyProducersSyncAndAsync) {
  TempDir dir;
  constexpr uint32_t kProducers = 4;
  constexpr uint64_t kMessages = 5000;
  StorageConfig config = config_for(
      dir, {"s.>=rocksdb,count=1000000,durability=sync", "a.>=rocksdb,count=1000000"}, kProducers);
  {
    auto writer = open_writer(config);
    writer->start();
    std::vector<std::thread> threads;
    for (uint32_t i = 0; i < kProducers; ++i) {
      threads.emplace_back([&, i] {
        StorageProducer& producer = writer->producer(i);
        std::string topic = (i % 2 ? "s.p" : "a.p") + std::to_string(i);
        for (uint64_t seq = 1; seq <= kMessages; ++seq) {
          push(producer, message(topic, seq));
          if (seq % 64 == 0) producer.submit();
        }
        producer.submit();
        EXPECT_TRUE(wait_for([&] { return producer.done_upto() == kMessages; }));
        EXPECT_EQ(producer.failed_from(), UINT64_MAX);
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(writer->messages_written(), kProducers * kMessages);
    EXPECT_LT(writer->batches_written(), kProducers * kMessages);
  }
  auto reopened = open_writer(config);
  EXPECT_EQ(reopened->recovered_topics().size(), kProducers);
  for (const TopicState& topic : reopened->recovered_topics()) {
    EXPECT_EQ(topic.last_seq, kMessages) << topic.topic;
  }
  reopened->start();
  StorageProducer& producer = reopened->producer(0);
  for (uint32_t i = 0; i < kProducers; ++i) {
    std::string topic = (i % 2 ? "s.p" : "a.p") + std::to_string(i);
    ReadResult all = read(producer, {topic, ReadRequest::Start::kSeq, 1, {}, i});
    ASSERT_EQ(all.messages.size(), kMessages) << topic;
    for (uint64_t seq = 1; seq <= kMessages; ++seq) {
      ASSERT_EQ(all.messages[seq - 1].seq, seq);
      ASSERT_EQ(all.messages[seq - 1].payload, topic + "#" + std::to_string(seq));
    }
  }
}

TEST(StorageWriter, RetentionRunsInTheWorker) {
  TempDir dir;
  StorageConfig config = config_for(dir, {"d.>=rocksdb,age=1s", "m.>=memory,count=1000,age=1s"});
  std::atomic<int64_t> now{1'000'000};
  config.clock_ms = [&] { return now.load(); };
  config.retention_interval_ms = 1;
  auto writer = open_writer(std::move(config));
  StorageProducer& producer = writer->producer(0);
  writer->start();
  for (const char* topic : {"d.t", "m.t"}) {
    AppendRequest old = message(topic, 1);
    old.time_ms = 1'000'000;
    push(producer, std::move(old));
    AppendRequest recent = message(topic, 2);
    recent.time_ms = 1'001'500;
    push(producer, std::move(recent));
  }
  producer.submit();
  ASSERT_TRUE(wait_for([&] { return producer.done_upto() == 4; }));
  now = 1'002'000;  // the first message of each topic is now older than a second
  for (const char* topic : {"d.t", "m.t"}) {
    ASSERT_TRUE(wait_for([&] {
      return read(producer, {topic, ReadRequest::Start::kSeq, 1, {}, 0}).state.first_seq == 2;
    })) << topic;
    EXPECT_EQ(seqs_of(read(producer, {topic, ReadRequest::Start::kSeq, 1, {}, 0})),
              std::vector<uint64_t>{2});
  }
}

TEST(StorageWriter, RejectedAppendsDoNotSpoilTheBatch) {
  TempDir dir;
  auto writer = open_writer(config_for(dir, {"d.>=rocksdb,count=100"}));
  StorageProducer& producer = writer->producer(0);
  push(producer, message("d.t", 1));
  push(producer, message("d.t", 1));  // a reused sequence: the broker's bug
  push(producer, message("d.u", 1));
  writer->start();
  producer.submit();
  ASSERT_TRUE(wait_for([&] { return producer.done_upto() == 3; }));
  EXPECT_EQ(producer.failed_from(), UINT64_MAX);
  EXPECT_EQ(writer->rejected_appends(), 1u);
  EXPECT_EQ(read(producer, {"d.u", ReadRequest::Start::kSeq, 1, {}, 0}).messages.size(), 1u);
  EXPECT_EQ(read(producer, {"d.t", ReadRequest::Start::kSeq, 1, {}, 0}).messages.size(), 1u);
}

TEST(StorageWriter, CreatesTheDataDirectory) {
  TempDir dir;
  StorageConfig config = config_for(dir, {"d.>=rocksdb,count=1"});
  config.data_dir = dir.sub("a/b/data");
  auto writer = open_writer(std::move(config));
  EXPECT_TRUE(std::filesystem::is_directory(dir.sub("a/b/data/history")));
}

TEST(StorageWriter, OpenFailsCleanlyWhenTheDataDirectoryIsAFile) {
  TempDir dir;
  std::ofstream(dir.sub("file")) << "not a directory";
  StorageConfig config = config_for(dir, {"d.>=rocksdb,count=1"});
  config.data_dir = dir.sub("file");
  auto opened = StorageWriter::open(std::move(config));
  EXPECT_EQ(opened.status.code(), Status::Code::kIoError);
  EXPECT_NE(opened.status.message().find(dir.sub("file")), std::string::npos)
      << opened.status.message();
  EXPECT_EQ(opened.value, nullptr);
}

TEST(StorageWriter, MemoryOnlyRulesTouchNoDisk) {
  TempDir dir;
  auto writer = open_writer(config_for(dir, {"m.>=memory,count=1"}));
  EXPECT_FALSE(std::filesystem::exists(dir.sub("data")));
  EXPECT_TRUE(writer->recovered_topics().empty());
}

TEST(StorageWriter, StopWritesWhatWasSubmitted) {
  TempDir dir;
  StorageConfig config = config_for(dir, {"d.>=rocksdb,count=100000"});
  {
    auto writer = open_writer(config);
    writer->start();
    StorageProducer& producer = writer->producer(0);
    for (uint64_t seq = 1; seq <= 500; ++seq) push(producer, message("d.t", seq));
    producer.submit();
    writer->stop();
    EXPECT_EQ(producer.done_upto(), 500u);
  }
  auto reopened = open_writer(config);
  ASSERT_EQ(reopened->recovered_topics().size(), 1u);
  EXPECT_EQ(reopened->recovered_topics()[0].last_seq, 500u);
}

}  // namespace
}  // namespace herald::storage
