// What only the RocksDB log does: after an unclean close it moves every topic's last_seq on by
// crash_seq_skip, so that numbers delivered live but never written are not handed out again;
// after mark_clean() it continues exactly. Counts retained are messages, across such gaps.
#include "storage/rocksdb_log.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/storage/temp_dir.h"

namespace herald::storage {
namespace {

constexpr uint64_t kSkip = 1000;

class RocksDbLogTest : public ::testing::Test {
 protected:
  void open() {
    log_.reset();
    RocksDbOptions options;
    options.path = dir_.sub("history");
    options.write_buffer_bytes = 1 << 20;
    options.crash_seq_skip = kSkip;
    auto opened = RocksDbLog::open(options, [](std::string_view) { return Retention{5, 0, 0}; });
    ASSERT_TRUE(opened.status.is_ok()) << opened.status.message();
    log_ = std::move(opened.value);
  }

  void append(uint64_t first, uint64_t last) {
    std::vector<std::string> payloads;
    for (uint64_t seq = first; seq <= last; ++seq) payloads.push_back(std::to_string(seq));
    std::vector<AppendEntry> entries;
    for (uint64_t seq = first; seq <= last; ++seq) {
      entries.push_back({"t", seq, 0, false, payloads[seq - first]});
    }
    Status status = log_->append(entries, false);
    ASSERT_TRUE(status.is_ok()) << status.message();
  }

  std::vector<uint64_t> seqs() {
    auto read = log_->read("t", 0, {});
    EXPECT_TRUE(read.status.is_ok()) << read.status.message();
    std::vector<uint64_t> out;
    for (const StoredMessage& message : read.value) out.push_back(message.seq);
    return out;
  }

  uint64_t last_seq() { return log_->state("t").value.last_seq; }

  test::TempDir dir_;
  std::unique_ptr<RocksDbLog> log_;
};

TEST_F(RocksDbLogTest, AFreshLogIsNotACrash) {
  open();
  EXPECT_FALSE(log_->opened_after_crash());
  append(1, 3);
  ASSERT_TRUE(log_->mark_clean().is_ok());
  open();
  EXPECT_FALSE(log_->opened_after_crash());
  EXPECT_EQ(last_seq(), 3u);
}

TEST_F(RocksDbLogTest, AnUncleanCloseSkipsEveryTopicAheadAndEachOneSkipsAgain) {
  open();
  append(1, 3);
  open();  // no mark_clean(): as after kill -9
  EXPECT_TRUE(log_->opened_after_crash());
  EXPECT_EQ(last_seq(), 3 + kSkip);
  EXPECT_EQ(seqs(), (std::vector<uint64_t>{1, 2, 3}));
  std::vector<AppendEntry> reused = {{"t", 4, 0, false, "x"}};
  EXPECT_EQ(log_->append(reused, false).code(), Status::Code::kInvalidArgument);
  open();
  EXPECT_EQ(last_seq(), 3 + 2 * kSkip);
  ASSERT_TRUE(log_->mark_clean().is_ok());
  open();
  EXPECT_FALSE(log_->opened_after_crash());
  EXPECT_EQ(last_seq(), 3 + 2 * kSkip);
}

TEST_F(RocksDbLogTest, CountRetentionCountsMessagesAcrossTheSkip) {
  open();
  append(1, 4);
  open();
  append(kSkip + 5, kSkip + 7);  // three more after the gap: keep 5 of the 7
  ASSERT_TRUE(log_->enforce_retention(0).is_ok());
  EXPECT_EQ(seqs(), (std::vector<uint64_t>{3, 4, kSkip + 5, kSkip + 6, kSkip + 7}));
  EXPECT_EQ(log_->state("t").value.first_seq, 3u);
}

}  // namespace
}  // namespace herald::storage
