// One suite over every log implementation (STYLE.md: one test suite over every store backend).
#include "storage/log.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>

#include "storage/memory_log.h"
#include "storage/rocksdb_log.h"
#include "tests/storage/temp_dir.h"
#include "tests/test_seed.h"

namespace herald::storage {
namespace {

using test::TempDir;

// "p<seq>". (Built by append: gcc 12 warns falsely on `"p" + std::to_string(seq)`.)
std::string payload_of(uint64_t seq) {
  std::string out(1, 'p');
  out.append(std::to_string(seq));
  return out;
}

struct MemoryBackend {
  static constexpr bool kPersistent = false;
  static std::unique_ptr<Log> open(const TempDir&, Log::RetentionFor retention_for) {
    return std::make_unique<MemoryLog>(std::move(retention_for));
  }
};

struct RocksDbBackend {
  static constexpr bool kPersistent = true;
  static std::unique_ptr<Log> open(const TempDir& dir, Log::RetentionFor retention_for) {
    RocksDbOptions options;
    options.path = dir.sub("history");
    options.write_buffer_bytes = 1 << 20;
    auto opened = RocksDbLog::open(options, std::move(retention_for));
    EXPECT_TRUE(opened.status.is_ok()) << opened.status.message();
    return std::move(opened.value);
  }
};

template <typename Backend>
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    log_.reset();
    log_ = Backend::open(dir_, [this](std::string_view topic) {
      auto it = retention_.find(std::string(topic));
      return it == retention_.end() ? Retention{} : it->second;
    });
    ASSERT_NE(log_, nullptr);
  }

  // Appends seq `first`..`last` to `topic`, one call, time = seq * 10, payload "p<seq>".
  void append_range(std::string_view topic, uint64_t first, uint64_t last, bool sync = false) {
    std::vector<std::string> payloads;
    std::vector<AppendEntry> entries;
    for (uint64_t seq = first; seq <= last; ++seq) payloads.push_back(payload_of(seq));
    for (uint64_t seq = first; seq <= last; ++seq) {
      entries.push_back(
          {topic, seq, static_cast<int64_t>(seq * 10), seq % 2 == 0, payloads[seq - first]});
    }
    Status status = log_->append(entries, sync);
    ASSERT_TRUE(status.is_ok()) << status.message();
  }

  std::vector<uint64_t> seqs(std::string_view topic, uint64_t from = 0, ReadLimits limits = {}) {
    auto read = log_->read(topic, from, limits);
    EXPECT_TRUE(read.status.is_ok()) << read.status.message();
    std::vector<uint64_t> out;
    for (const StoredMessage& message : read.value) out.push_back(message.seq);
    return out;
  }

  TopicState state(std::string_view topic) {
    auto result = log_->state(topic);
    EXPECT_TRUE(result.status.is_ok()) << result.status.message();
    return result.value;
  }

  std::vector<uint64_t> range(uint64_t first, uint64_t last) {
    std::vector<uint64_t> out;
    for (uint64_t seq = first; seq <= last; ++seq) out.push_back(seq);
    return out;
  }

  TempDir dir_;
  std::map<std::string, Retention> retention_;
  std::unique_ptr<Log> log_;
};

using Backends = ::testing::Types<MemoryBackend, RocksDbBackend>;
TYPED_TEST_SUITE(LogTest, Backends);

TYPED_TEST(LogTest, UnknownTopicHasNoHistory) {
  EXPECT_EQ(this->state("nobody").epoch, 0u);
  EXPECT_TRUE(this->seqs("nobody").empty());
  auto found = this->log_->find_seq_at_or_after_time("nobody", 0);
  ASSERT_TRUE(found.status.is_ok());
  EXPECT_EQ(found.value, 1u);
  auto topics = this->log_->topics();
  ASSERT_TRUE(topics.status.is_ok());
  EXPECT_TRUE(topics.value.empty());
}

TYPED_TEST(LogTest, AppendsAndReadsBackEverything) {
  this->append_range("t", 1, 10);
  auto read = this->log_->read("t", 1, {});
  ASSERT_TRUE(read.status.is_ok());
  ASSERT_EQ(read.value.size(), 10u);
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    const StoredMessage& message = read.value[seq - 1];
    EXPECT_EQ(message.seq, seq);
    EXPECT_EQ(message.time_ms, static_cast<int64_t>(seq * 10));
    EXPECT_EQ(message.binary, seq % 2 == 0);
    EXPECT_EQ(message.payload, payload_of(seq));
  }
  TopicState now = this->state("t");
  EXPECT_NE(now.epoch, 0u);
  EXPECT_EQ(now.topic, "t");
  EXPECT_EQ(now.first_seq, 1u);
  EXPECT_EQ(now.last_seq, 10u);
}

TYPED_TEST(LogTest, PayloadBytesSurviveExactly) {
  std::string binary("\0\xff\x80zero\0", 8);
  std::string big(100'000, 'x');
  std::vector<AppendEntry> entries = {
      {"b", 1, -5, true, binary}, {"b", 2, 0, false, ""}, {"b", 3, 7, false, big}};
  ASSERT_TRUE(this->log_->append(entries, true).is_ok());
  auto read = this->log_->read("b", 0, {});
  ASSERT_TRUE(read.status.is_ok());
  ASSERT_EQ(read.value.size(), 3u);
  EXPECT_EQ(read.value[0].payload, binary);
  EXPECT_EQ(read.value[0].time_ms, -5);
  EXPECT_TRUE(read.value[0].binary);
  EXPECT_EQ(read.value[1].payload, "");
  EXPECT_EQ(read.value[2].payload, big);
}

TYPED_TEST(LogTest, ReadsFromAPositionWithinLimits) {
  this->append_range("t", 1, 20);
  EXPECT_EQ(this->seqs("t", 15), this->range(15, 20));
  EXPECT_EQ(this->seqs("t", 5, {3, UINT64_MAX}), this->range(5, 7));
  EXPECT_TRUE(this->seqs("t", 21).empty());
  EXPECT_TRUE(this->seqs("t", 1, {0, UINT64_MAX}).empty());
  // "p5".."p9" are 2 bytes, "p10".. 3 bytes: 7 bytes fit p5..p7 (6), not p8.
  EXPECT_EQ(this->seqs("t", 5, {UINT64_MAX, 7}), this->range(5, 7));
  // One message always comes back, even over the byte limit, so paging progresses.
  EXPECT_EQ(this->seqs("t", 12, {UINT64_MAX, 1}), this->range(12, 12));
}

TYPED_TEST(LogTest, TopicsAreSeparate) {
  this->append_range("a", 1, 3);
  this->append_range("a.b", 1, 5);
  this->append_range("b", 7, 8);
  EXPECT_EQ(this->seqs("a"), this->range(1, 3));
  EXPECT_EQ(this->seqs("a.b"), this->range(1, 5));
  EXPECT_EQ(this->seqs("b"), this->range(7, 8));
  EXPECT_NE(this->state("a").topic_id, this->state("a.b").topic_id);
  EXPECT_NE(this->state("a").epoch, this->state("a.b").epoch);
  auto topics = this->log_->topics();
  ASSERT_TRUE(topics.status.is_ok());
  std::map<std::string, uint64_t> last;
  for (const TopicState& topic : topics.value) last[topic.topic] = topic.last_seq;
  EXPECT_EQ(last, (std::map<std::string, uint64_t>{{"a", 3}, {"a.b", 5}, {"b", 8}}));
}

TYPED_TEST(LogTest, GapsAreAllowedReuseIsNot) {
  this->append_range("t", 1, 3);
  this->append_range("t", 10, 11);
  EXPECT_EQ(this->seqs("t", 2), (std::vector<uint64_t>{2, 3, 10, 11}));
  EXPECT_EQ(this->seqs("t", 4), (std::vector<uint64_t>{10, 11}));

  std::vector<AppendEntry> reuse = {{"t", 11, 0, false, "again"}};
  EXPECT_EQ(this->log_->append(reuse, false).code(), Status::Code::kInvalidArgument);
  // All or nothing: a good entry before a bad one is not appended either.
  std::vector<AppendEntry> mixed = {
      {"t", 12, 0, false, "good"}, {"u", 1, 0, false, "new"}, {"t", 12, 0, false, "dup"}};
  EXPECT_EQ(this->log_->append(mixed, false).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->state("t").last_seq, 11u);
  EXPECT_EQ(this->state("u").epoch, 0u);
  EXPECT_EQ(this->seqs("t", 11), this->range(11, 11));
}

TYPED_TEST(LogTest, FindsTheFirstMessageAtOrAfterATime) {
  this->append_range("t", 1, 100);  // time = seq * 10
  auto at = [&](int64_t time_ms) {
    auto found = this->log_->find_seq_at_or_after_time("t", time_ms);
    EXPECT_TRUE(found.status.is_ok());
    return found.value;
  };
  EXPECT_EQ(at(INT64_MIN), 1u);
  EXPECT_EQ(at(10), 1u);
  EXPECT_EQ(at(11), 2u);
  EXPECT_EQ(at(500), 50u);
  EXPECT_EQ(at(995), 100u);
  EXPECT_EQ(at(1000), 100u);
  EXPECT_EQ(at(1001), 101u);
  this->append_range("t", 200, 201);  // a gap: times 2000, 2010
  EXPECT_EQ(at(1001), 200u);
  EXPECT_EQ(at(2005), 201u);
}

TYPED_TEST(LogTest, RetentionByCount) {
  this->retention_["t"] = Retention{5, 0, 0};
  this->append_range("t", 1, 20);
  ASSERT_TRUE(this->log_->enforce_retention(0).is_ok());
  EXPECT_EQ(this->seqs("t"), this->range(16, 20));
  EXPECT_EQ(this->state("t").first_seq, 16u);
  EXPECT_EQ(this->state("t").last_seq, 20u);
  this->append_range("t", 21, 22);
  ASSERT_TRUE(this->log_->enforce_retention(0).is_ok());
  EXPECT_EQ(this->seqs("t"), this->range(18, 22));
}

TYPED_TEST(LogTest, RetentionByAge) {
  this->retention_["t"] = Retention{0, 100, 0};
  this->append_range("t", 1, 50);                           // times 10..500
  ASSERT_TRUE(this->log_->enforce_retention(400).is_ok());  // keeps time >= 300
  EXPECT_EQ(this->seqs("t"), this->range(30, 50));
  EXPECT_EQ(this->state("t").first_seq, 30u);
  ASSERT_TRUE(this->log_->enforce_retention(10'000).is_ok());  // everything is too old
  EXPECT_TRUE(this->seqs("t").empty());
  TopicState empty = this->state("t");
  EXPECT_EQ(empty.first_seq, 0u);
  EXPECT_EQ(empty.last_seq, 50u);  // the sequence is remembered
  uint64_t epoch = empty.epoch;
  // The history goes on: same epoch, the next sequence.
  this->append_range("t", 51, 52);
  EXPECT_EQ(this->seqs("t"), this->range(51, 52));
  EXPECT_EQ(this->state("t").first_seq, 51u);
  EXPECT_EQ(this->state("t").epoch, epoch);
}

TYPED_TEST(LogTest, RetentionByBytes) {
  this->retention_["t"] = Retention{0, 0, 10};
  this->append_range("t", 1, 9);  // "p1".."p9": 2 bytes each
  ASSERT_TRUE(this->log_->enforce_retention(0).is_ok());
  EXPECT_EQ(this->seqs("t"), this->range(5, 9));  // 10 bytes
  this->append_range("t", 10, 11);                // 3 bytes each: 16 bytes in all
  ASSERT_TRUE(this->log_->enforce_retention(0).is_ok());
  EXPECT_EQ(this->seqs("t"), this->range(8, 11));  // 2 + 2 + 3 + 3
}

TYPED_TEST(LogTest, WhicheverBoundComesFirst) {
  this->retention_["t"] = Retention{10, 200, 1000};
  this->append_range("t", 1, 30);                           // times 10..300
  ASSERT_TRUE(this->log_->enforce_retention(200).is_ok());  // age keeps time >= 0: all 30
  EXPECT_EQ(this->seqs("t"), this->range(21, 30));          // count wins
  ASSERT_TRUE(this->log_->enforce_retention(480).is_ok());  // age keeps time >= 280
  EXPECT_EQ(this->seqs("t"), this->range(28, 30));
  EXPECT_TRUE(this->seqs("other").empty());
}

TYPED_TEST(LogTest, UnboundedTopicsKeepEverything) {
  this->append_range("t", 1, 100);
  ASSERT_TRUE(this->log_->enforce_retention(INT64_MAX).is_ok());
  EXPECT_EQ(this->seqs("t"), this->range(1, 100));
}

TYPED_TEST(LogTest, ReopenKeepsSequencesAndEpochs) {
  if constexpr (!TypeParam::kPersistent) {
    GTEST_SKIP() << "a memory log starts empty in each process";
  } else {
    this->retention_["t"] = Retention{5, 0, 0};
    this->append_range("t", 1, 20, true);
    this->append_range("u", 3, 4, false);
    ASSERT_TRUE(this->log_->enforce_retention(0).is_ok());
    TopicState before = this->state("t");
    uint64_t u_epoch = this->state("u").epoch;
    this->reopen();
    TopicState after = this->state("t");
    EXPECT_EQ(after.epoch, before.epoch);
    EXPECT_EQ(after.topic_id, before.topic_id);
    EXPECT_EQ(after.first_seq, 16u);
    EXPECT_EQ(after.last_seq, 20u);
    EXPECT_EQ(this->state("u").epoch, u_epoch);
    EXPECT_EQ(this->seqs("t"), this->range(16, 20));
    EXPECT_EQ(this->seqs("u"), this->range(3, 4));
    std::vector<AppendEntry> reuse = {{"t", 20, 0, false, "x"}};
    EXPECT_EQ(this->log_->append(reuse, false).code(), Status::Code::kInvalidArgument);
    this->append_range("t", 21, 21);
    this->append_range("new", 1, 1);
    EXPECT_NE(this->state("new").topic_id, before.topic_id);
    EXPECT_EQ(this->seqs("t", 20), this->range(20, 21));
  }
}

TYPED_TEST(LogTest, RetentionAfterReopenByAgeAndBytes) {
  if constexpr (!TypeParam::kPersistent) {
    GTEST_SKIP() << "a memory log starts empty in each process";
  } else {
    this->retention_["age"] = Retention{0, 100, 0};
    this->retention_["bytes"] = Retention{0, 0, 10};
    this->append_range("age", 1, 50);  // times 10..500
    this->append_range("bytes", 1, 9);
    this->reopen();
    ASSERT_TRUE(this->log_->enforce_retention(400).is_ok());
    EXPECT_EQ(this->seqs("age"), this->range(30, 50));
    EXPECT_EQ(this->seqs("bytes"), this->range(5, 9));
  }
}

// Random appends across topics, interleaved with retention and reads, against a model that
// keeps each topic's last count_max sequences. Appends and range deletions share memtables
// here, which is where RocksDB's insert hints once went wrong.
TYPED_TEST(LogTest, RandomAppendsAndRetentionMatchAModel) {
  std::mt19937_64 rng(test_support::test_seed());
  constexpr int kTopics = 5;
  std::vector<std::string> names;
  std::vector<uint64_t> count_max;
  for (int i = 0; i < kTopics; ++i) {
    names.push_back("r." + std::to_string(i));
    count_max.push_back(3 + rng() % 20);
    this->retention_[names.back()] = Retention{count_max.back(), 0, 0};
  }
  std::vector<uint64_t> last(kTopics, 0);
  std::vector<uint64_t> first_kept(kTopics, 0);  // the model's first retained (0: none)
  for (int step = 0; step < 400; ++step) {
    int topic = static_cast<int>(rng() % kTopics);
    if (rng() % 4 == 0) {
      ASSERT_TRUE(this->log_->enforce_retention(0).is_ok());
      for (int i = 0; i < kTopics; ++i) {
        if (last[i] >= count_max[i])
          first_kept[i] = std::max(first_kept[i], last[i] - count_max[i] + 1);
      }
    } else {
      uint64_t n = 1 + rng() % 30;
      this->append_range(names[topic], last[topic] + 1, last[topic] + n);
      if (first_kept[topic] == 0) first_kept[topic] = last[topic] + 1;
      last[topic] += n;
    }
    // Between retention runs a memory log may already hold fewer: compare after enforcing.
    if (step % 50 == 49) {
      ASSERT_TRUE(this->log_->enforce_retention(0).is_ok());
      for (int i = 0; i < kTopics; ++i) {
        if (last[i] >= count_max[i])
          first_kept[i] = std::max(first_kept[i], last[i] - count_max[i] + 1);
        std::vector<uint64_t> expected =
            first_kept[i] ? this->range(first_kept[i], last[i]) : std::vector<uint64_t>{};
        ASSERT_EQ(this->seqs(names[i]), expected) << "seed " << test_support::test_seed();
        ASSERT_EQ(this->state(names[i]).last_seq, last[i]);
      }
    }
  }
}

// One call with a long run of one topic: the RocksDB log splits it into several chunks
// (16 KiB each), so reads, time searches and retention start and end inside and across them.
TYPED_TEST(LogTest, LongRunsReadAndTrimAnywhere) {
  constexpr uint64_t kLast = 5000;  // about 170 KB with headers: a dozen chunks
  // By age, which both logs apply only in enforce_retention(): times are seq * 10, so at
  // 100,000 an age of 87,650 keeps 1235 on.
  this->retention_["long"] = Retention{0, 87'650, 0};
  this->append_range("long", 1, kLast);
  EXPECT_EQ(this->seqs("long"), this->range(1, kLast));
  for (uint64_t from : {2u, 480u, 481u, 482u, 2999u, 4999u, 5000u}) {
    EXPECT_EQ(this->seqs("long", from, {3, UINT64_MAX}),
              this->range(from, std::min(from + 2, kLast)))
        << "from " << from;
  }
  auto at = this->log_->find_seq_at_or_after_time("long", 31'235);  // time = seq * 10
  ASSERT_TRUE(at.status.is_ok());
  EXPECT_EQ(at.value, 3124u);
  ASSERT_TRUE(this->log_->enforce_retention(100'000).is_ok());
  EXPECT_EQ(this->state("long").first_seq, 1235u);
  EXPECT_EQ(this->seqs("long"), this->range(1235, kLast));
  EXPECT_EQ(this->seqs("long", 1, {2, UINT64_MAX}), this->range(1235, 1236));
  if constexpr (TypeParam::kPersistent) {
    this->reopen();
    EXPECT_EQ(this->state("long").first_seq, 1235u);
    EXPECT_EQ(this->state("long").last_seq, kLast);
    EXPECT_EQ(this->seqs("long"), this->range(1235, kLast));
    this->append_range("long", kLast + 1, kLast + 10);
    ASSERT_TRUE(this->log_->enforce_retention(100'100).is_ok());
    EXPECT_EQ(this->seqs("long"), this->range(1245, kLast + 10));
  }
}

TYPED_TEST(LogTest, TheLastKCountMessagesNotSeqs) {
  EXPECT_EQ(this->log_->first_of_last("none", 3).value, 1u);
  this->append_range("t", 1, 3);
  this->append_range("t", 10, 11);  // a gap: 4..9 were never stored
  auto first_of_last = [&](uint64_t count) {
    auto found = this->log_->first_of_last("t", count);
    EXPECT_TRUE(found.status.is_ok()) << found.status.message();
    return found.value;
  };
  EXPECT_EQ(first_of_last(0), 12u);
  EXPECT_EQ(first_of_last(1), 11u);
  EXPECT_EQ(first_of_last(2), 10u);
  EXPECT_EQ(first_of_last(3), 3u);
  EXPECT_EQ(first_of_last(5), 1u);
  EXPECT_EQ(first_of_last(50), 1u);
}

TYPED_TEST(LogTest, FreshHistoryGetsANewEpoch) {
  this->append_range("t", 1, 1);
  uint64_t first = this->state("t").epoch;
  TempDir other;
  auto fresh = TypeParam::open(other, [](std::string_view) { return Retention{}; });
  std::vector<AppendEntry> entries = {{"t", 1, 0, false, "x"}};
  ASSERT_TRUE(fresh->append(entries, false).is_ok());
  EXPECT_NE(fresh->state("t").value.epoch, 0u);
  EXPECT_NE(fresh->state("t").value.epoch, first);
}

}  // namespace
}  // namespace herald::storage
