// herald_range's start modes against a real redis-server: reads from a sequence number, the
// last N, from a time, with byte limits, on trimmed, holed, empty and history-less topics,
// checked against a model of what the stream retains; and malformed replies as errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include "broker/cluster/redis_link.h"
#include "tests/broker/cluster/link_harness.h"
#include "tests/broker/cluster/numbered.h"
#include "tests/broker/cluster/redis_server.h"

namespace herald::broker::cluster::test {
namespace {

RangeRequest starting(const std::string& topic, RangeStart start, uint64_t value,
                      uint32_t count_max = 1000, uint64_t bytes_max = UINT64_MAX) {
  RangeRequest request;
  request.topic = topic;
  request.start = start;
  request.value = value;
  request.count_max = count_max;
  request.bytes_max = bytes_max;
  return request;
}

std::vector<uint64_t> seqs(const RangeResult& result) {
  std::vector<uint64_t> out;
  for (const RangeEntry& entry : result.entries) out.push_back(entry.seq);
  return out;
}

std::vector<uint64_t> span(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t seq = from; seq <= to; ++seq) out.push_back(seq);
  return out;
}

class RedisRange : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.start());
    node_ = std::make_unique<Node>(redis_.url());
    ASSERT_TRUE(node_->wait_healthy());
  }
  // Publishes and checks that it got the number `seq`.
  void publish(const std::string& topic, uint64_t seq, const std::string& message,
               uint32_t count = 100, int64_t time_ms = 1, uint64_t age_ms = 0) {
    const PublishResult result = node_->publish_sync(topic, message, count, age_ms, time_ms);
    ASSERT_EQ(result.status, LinkStatus::kOk) << result.error;
    ASSERT_EQ(result.seq, seq);
    epoch_ = result.epoch;
  }
  RangeResult read(RangeRequest request) {
    RangeResult result = node_->read(std::move(request));
    EXPECT_EQ(result.status, LinkStatus::kOk) << result.error;
    return result;
  }

  RedisServer redis_;
  std::unique_ptr<Node> node_;
  uint64_t epoch_ = 0;
};

TEST_F(RedisRange, SeqReadsReportTheFirstRetainedAndCountZeroIsTheStateOnly) {
  for (uint64_t i = 1; i <= 10; ++i) publish("s.t", i, numbered("m", i), 4);
  RangeResult result = read(starting("s.t", RangeStart::kSeq, 0));
  // kSeq starts at from_seq (1 by default: clamped up to the first retained); value is unused.
  EXPECT_EQ(seqs(result), span(7, 10));
  EXPECT_EQ(result.first_seq, 7u);
  EXPECT_EQ(result.last_seq, 10u);
  EXPECT_EQ(result.epoch, epoch_);
  EXPECT_EQ(result.entries[0].message, "m7");

  RangeRequest middle{"s.t", 8, 9};
  result = read(middle);
  EXPECT_EQ(seqs(result), span(8, 9));
  EXPECT_EQ(result.first_seq, 7u);

  RangeRequest state_only{"s.t", 1, UINT64_MAX, 0};
  result = read(state_only);
  EXPECT_TRUE(result.entries.empty());
  EXPECT_EQ(result.first_seq, 7u);
  EXPECT_EQ(result.last_seq, 10u);
  EXPECT_EQ(result.epoch, epoch_);

  RangeRequest beyond{"s.t", 11};
  result = read(beyond);
  EXPECT_TRUE(result.entries.empty());
  EXPECT_EQ(result.last_seq, 10u);

  // The first version's three arguments (from, to, count) still read from a seq.
  char epoch[17];
  std::snprintf(epoch, sizeof epoch, "%016llx", static_cast<unsigned long long>(epoch_));
  EXPECT_EQ(redis_.cli("FCALL herald_range 2 'herald:{s.t}:state' 'herald:{s.t}:log' 9 100 10"
                       " | tr '\\n' ' '"),
            "10 " + std::string(epoch) + " 9-0 t 1 m m9 10-0 t 1 m m10 7 ");
  // Arguments the link never sends are refused, whatever the topic holds.
  const std::string call = "FCALL herald_range 2 'herald:{none}:state' 'herald:{none}:log' ";
  EXPECT_EQ(redis_.cli(call + "1 100 10 bogus"), "ERR herald_range: unknown mode bogus");
  EXPECT_EQ(redis_.cli(call + "x 100 10"), "ERR herald_range: bad arguments");
  EXPECT_EQ(redis_.cli(call + "1 -1 10"), "ERR herald_range: bad arguments");
  EXPECT_EQ(redis_.cli(call + "1 100 10 seq lots"), "ERR herald_range: bad arguments");
}

TEST_F(RedisRange, LastReadsTheNewestAscendingAndPagesFromTheirStart) {
  for (uint64_t i = 1; i <= 10; ++i) publish("l.t", i, numbered("m", i), 6);
  EXPECT_EQ(seqs(read(starting("l.t", RangeStart::kLast, 3))), span(8, 10));
  const RangeResult snapshot = read(starting("l.t", RangeStart::kLast, 1));
  ASSERT_EQ(seqs(snapshot), std::vector<uint64_t>{10});
  EXPECT_EQ(snapshot.entries[0].message, "m10");
  EXPECT_EQ(snapshot.first_seq, 5u);
  EXPECT_EQ(snapshot.last_seq, 10u);
  EXPECT_EQ(snapshot.epoch, epoch_);
  // More than retained: everything retained (trimmed by count to 6).
  EXPECT_EQ(seqs(read(starting("l.t", RangeStart::kLast, 100))), span(5, 10));
  EXPECT_EQ(seqs(read(starting("l.t", RangeStart::kLast, 6))), span(5, 10));
  // As storage: a count_max below N returns the oldest of the last N, for paging on by seq.
  EXPECT_EQ(seqs(read(starting("l.t", RangeStart::kLast, 4, 2))), span(7, 8));
  const RangeResult none = read(starting("l.t", RangeStart::kLast, 0));
  EXPECT_TRUE(none.entries.empty());
  EXPECT_EQ(none.first_seq, 5u);
  EXPECT_EQ(none.last_seq, 10u);
  // to_seq bounds the entries, not where the last N are counted from.
  RangeRequest bounded = starting("l.t", RangeStart::kLast, 3);
  bounded.to_seq = 9;
  EXPECT_EQ(seqs(read(bounded)), span(8, 9));
}

// Kept: what the stream should retain, as the test's model.
struct Kept {
  uint64_t seq;
  int64_t time_ms;
};

// Publishes 150 messages with times repeated in threes, retaining 40, with runs of publishes
// that keep no history (count 0: holes in the stream's ids), and returns the model.
std::vector<Kept> publish_holed(Node& node, const std::string& topic) {
  constexpr uint32_t kRetain = 40;
  std::vector<Kept> kept;
  for (uint64_t i = 1; i <= 150; ++i) {
    const int64_t time_ms = 1000 + static_cast<int64_t>(i / 3) * 10;
    const uint32_t count = (i % 17 == 0 || i % 17 == 1 || i % 23 == 0) ? 0 : kRetain;
    const PublishResult result = node.publish_sync(topic, numbered("m", i), count, 0, time_ms);
    EXPECT_EQ(result.seq, i) << result.error;
    if (count == 0) continue;
    kept.push_back({i, time_ms});
    if (kept.size() > kRetain) kept.erase(kept.begin());
  }
  return kept;
}

TEST_F(RedisRange, LastCountsEntriesNotNumbersAcrossHoles) {
  const std::vector<Kept> kept = publish_holed(*node_, "h.t");
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(kept.size(), 40u);
  ASSERT_GT(kept.back().seq - kept.front().seq + 1, kept.size()) << "the model has holes";
  for (uint64_t n = 0; n <= 42; ++n) {
    std::vector<uint64_t> expected;
    for (size_t i = kept.size() - std::min<size_t>(n, kept.size()); i < kept.size(); ++i) {
      expected.push_back(kept[i].seq);
    }
    const RangeResult result = read(starting("h.t", RangeStart::kLast, n));
    ASSERT_EQ(seqs(result), expected) << "last " << n;
    EXPECT_EQ(result.first_seq, kept.front().seq);
    EXPECT_EQ(result.last_seq, 150u);
  }
}

TEST_F(RedisRange, TimeFindsTheFirstAtOrAfterOnAHoledTrimmedStream) {
  const std::vector<Kept> kept = publish_holed(*node_, "tm.t");
  ASSERT_FALSE(HasFailure());
  // Every time from before the first retained to past the last, equal times included.
  for (int64_t since = 1100; since <= kept.back().time_ms + 15; since += 5) {
    auto found =
        std::find_if(kept.begin(), kept.end(), [&](const Kept& k) { return k.time_ms >= since; });
    std::vector<uint64_t> expected;
    for (auto it = found; it != kept.end(); ++it) expected.push_back(it->seq);
    const RangeResult result =
        read(starting("tm.t", RangeStart::kTime, static_cast<uint64_t>(since)));
    ASSERT_EQ(seqs(result), expected) << "since " << since;
    EXPECT_EQ(result.first_seq, kept.front().seq);
    EXPECT_EQ(result.last_seq, 150u);
    EXPECT_NE(result.epoch, 0u);
    if (!result.entries.empty()) {
      EXPECT_EQ(result.entries[0].time_ms, found->time_ms);
    }
  }
}

TEST_F(RedisRange, TimeTakesTheFirstOfEqualTimesAndNoneAfterTheEnd) {
  const int64_t times[] = {1000, 2000, 2000, 2000, 2000, 3000, 5000};
  for (uint64_t i = 1; i <= 7; ++i) publish("eq.t", i, numbered("m", i), 100, times[i - 1]);
  EXPECT_EQ(seqs(read(starting("eq.t", RangeStart::kTime, 2000))), span(2, 7));
  EXPECT_EQ(seqs(read(starting("eq.t", RangeStart::kTime, 1001))), span(2, 7));
  EXPECT_EQ(seqs(read(starting("eq.t", RangeStart::kTime, 0))), span(1, 7));
  EXPECT_EQ(seqs(read(starting("eq.t", RangeStart::kTime, 2001))), span(6, 7));
  EXPECT_EQ(seqs(read(starting("eq.t", RangeStart::kTime, 5000))), span(7, 7));
  const RangeResult past = read(starting("eq.t", RangeStart::kTime, 5001));
  EXPECT_TRUE(past.entries.empty());
  EXPECT_EQ(past.first_seq, 1u);
  EXPECT_EQ(past.last_seq, 7u);
  EXPECT_EQ(past.epoch, epoch_);
  // All equal: the first.
  for (uint64_t i = 1; i <= 5; ++i) publish("same.t", i, "x", 100, 4000);
  EXPECT_EQ(seqs(read(starting("same.t", RangeStart::kTime, 4000))), span(1, 5));
  EXPECT_EQ(seqs(read(starting("same.t", RangeStart::kTime, 3999))), span(1, 5));
  EXPECT_TRUE(read(starting("same.t", RangeStart::kTime, 4001)).entries.empty());
}

TEST_F(RedisRange, EveryModeReadsWhatAgeTrimmingLeft) {
  // At t=9000 with age 5000, the entries before 4000 go (trim_age in herald.lua).
  const int64_t times[] = {1000, 2000, 3000, 4500, 9000};
  for (uint64_t i = 1; i <= 5; ++i) publish("age.t", i, numbered("m", i), 100, times[i - 1], 5000);
  const RangeResult all = read(starting("age.t", RangeStart::kTime, 0));
  EXPECT_EQ(seqs(all), span(4, 5));
  EXPECT_EQ(all.first_seq, 4u);
  EXPECT_EQ(all.last_seq, 5u);
  EXPECT_EQ(seqs(read(starting("age.t", RangeStart::kLast, 10))), span(4, 5));
  EXPECT_EQ(seqs(read(RangeRequest{"age.t", 2})), span(4, 5));
  EXPECT_EQ(seqs(read(starting("age.t", RangeStart::kTime, 5000))), span(5, 5));
}

TEST_F(RedisRange, AnUnknownTopicHasNoStateInAnyMode) {
  for (RangeRequest request :
       {RangeRequest{"never.t"}, starting("never.t", RangeStart::kLast, 5),
        starting("never.t", RangeStart::kTime, 0), starting("never.t", RangeStart::kSeq, 0, 0)}) {
    const RangeResult result = read(std::move(request));
    EXPECT_TRUE(result.entries.empty());
    EXPECT_EQ(result.first_seq, 0u);
    EXPECT_EQ(result.last_seq, 0u);
    EXPECT_EQ(result.epoch, 0u);
  }
}

TEST_F(RedisRange, ATopicWithoutHistoryHasStateButNoEntries) {
  for (uint64_t i = 1; i <= 3; ++i) publish("nohist.t", i, "x", 0);
  ASSERT_EQ(redis_.cli("EXISTS 'herald:{nohist.t}:log'"), "0");
  for (RangeRequest request : {RangeRequest{"nohist.t"}, starting("nohist.t", RangeStart::kLast, 1),
                               starting("nohist.t", RangeStart::kTime, 0)}) {
    const RangeResult result = read(std::move(request));
    EXPECT_TRUE(result.entries.empty());
    EXPECT_EQ(result.first_seq, 0u);
    EXPECT_EQ(result.last_seq, 3u);
    EXPECT_EQ(result.epoch, epoch_);
    EXPECT_NE(result.epoch, 0u);
  }
}

TEST_F(RedisRange, BytesMaxPagesAndAlwaysReturnsOneEntry) {
  // Message i is i * 10 bytes long.
  for (uint64_t i = 1; i <= 12; ++i) {
    publish("b.t", i, std::string(i * 10, static_cast<char>('a' + i)));
  }
  // 10 + 20 + 30 = 60 fits 65; the fourth (40) would pass it.
  EXPECT_EQ(seqs(read(starting("b.t", RangeStart::kSeq, 0, 1000, 65))), span(1, 3));
  EXPECT_EQ(seqs(read(starting("b.t", RangeStart::kSeq, 0, 1000, 60))), span(1, 3));
  EXPECT_EQ(seqs(read(starting("b.t", RangeStart::kSeq, 0, 1000, 59))), span(1, 2));
  EXPECT_EQ(seqs(read(starting("b.t", RangeStart::kSeq, 0, 2, 1000))), span(1, 2));
  // Smaller than one message, or 0: still one, so a reader always progresses.
  RangeRequest tiny{"b.t", 5};
  tiny.bytes_max = 3;
  EXPECT_EQ(seqs(read(tiny)), span(5, 5));
  tiny.bytes_max = 0;
  EXPECT_EQ(seqs(read(tiny)), span(5, 5));
  // The last 3 (100 + 110 + 120 bytes) under 250: the oldest two of them.
  EXPECT_EQ(seqs(read(starting("b.t", RangeStart::kLast, 3, 1000, 250))), span(10, 11));
  EXPECT_EQ(seqs(read(starting("b.t", RangeStart::kTime, 0, 1000, 25))), span(1, 1));

  // Paging through everything, 100 bytes at most a page (more pages than 64-entry chunks
  // would need), until the last seq: every message exactly once, in order, unchanged.
  std::vector<uint64_t> all;
  RangeRequest page{"b.t", 1};
  page.bytes_max = 100;
  for (int pages = 0; pages < 20 && page.from_seq <= 12; ++pages) {
    const RangeResult result = read(page);
    ASSERT_FALSE(result.entries.empty());
    uint64_t bytes = 0;
    for (const RangeEntry& entry : result.entries) {
      EXPECT_EQ(entry.message, std::string(entry.seq * 10, static_cast<char>('a' + entry.seq)));
      bytes += entry.message.size();
      all.push_back(entry.seq);
    }
    EXPECT_TRUE(bytes <= 100 || result.entries.size() == 1) << bytes;
    page.from_seq = result.entries.back().seq + 1;
  }
  EXPECT_EQ(all, span(1, 12));
}

TEST_F(RedisRange, ByteLimitedReadsCrossTheLuaPageSize) {
  // 200 small entries under a generous byte limit: read_page's 64-entry chunks join up.
  for (uint64_t i = 1; i <= 200; ++i) node_->publish("chunk.t", numbered("m", i), 1000);
  PublishResult result;
  for (uint64_t i = 1; i <= 200; ++i) {
    ASSERT_TRUE(node_->next(result));
    ASSERT_EQ(result.seq, i) << result.error;
  }
  EXPECT_EQ(seqs(read(starting("chunk.t", RangeStart::kSeq, 0, 1000, 1 << 20))), span(1, 200));
  EXPECT_EQ(seqs(read(starting("chunk.t", RangeStart::kSeq, 0, 130, 1 << 20))), span(1, 130));
  EXPECT_EQ(seqs(read(starting("chunk.t", RangeStart::kLast, 150, 1000, 1 << 20))), span(51, 200));
  // "m1".."m9" are 2 bytes, "m10".."m99" 3, "m100".. 4: 18 + 270 = 288 bytes for 1..99.
  EXPECT_EQ(seqs(read(starting("chunk.t", RangeStart::kSeq, 0, 1000, 288))), span(1, 99));
  EXPECT_EQ(seqs(read(starting("chunk.t", RangeStart::kSeq, 0, 1000, 291))), span(1, 99));
  EXPECT_EQ(seqs(read(starting("chunk.t", RangeStart::kSeq, 0, 1000, 292))), span(1, 100));
}

// Replaces the `herald` library with one whose herald_range returns `body`'s value, as a
// broken or foreign library would. The link keeps its connection: only the reads fail.
void load_fake_range(RedisServer& redis, const std::string& body) {
  const std::string file = redis.dir().sub("fake.lua");
  std::ofstream(file) << "#!lua name=herald\n"
                      << "redis.register_function('herald_range', function(keys, args)\n"
                      << "  return " << body << "\nend)\n";
  ASSERT_EQ(redis.cli("-x FUNCTION LOAD REPLACE < " + file), "herald") << body;
}

TEST_F(RedisRange, MalformedRepliesAreErrorsNotCrashes) {
  // A well-formed fake first: the fake is what answers.
  load_fake_range(redis_, "{3, '00000000000000ab', {{'2-0', {'t', '7', 'm', 'ok'}}}, 2}");
  RangeResult good = node_->range("any.t", 1, 10);
  ASSERT_EQ(good.status, LinkStatus::kOk) << good.error;
  ASSERT_EQ(seqs(good), std::vector<uint64_t>{2});
  EXPECT_EQ(good.entries[0].time_ms, 7);
  EXPECT_EQ(good.entries[0].message, "ok");
  EXPECT_EQ(good.epoch, 0xabu);
  EXPECT_EQ(good.first_seq, 2u);
  EXPECT_EQ(good.last_seq, 3u);

  const char* bodies[] = {
      "'nope'",
      "{1, '', {}}",                                   // the first version's reply
      "{1, 'zz', {}, 0}",                              // bad epoch
      "{-1, '', {}, 0}",                               // negative last seq
      "{1, '', {}, -1}",                               // negative first seq
      "{1, '', 'x', 0}",                               // entries not an array
      "{1, '', {}, 'x'}",                              // first seq not a number
      "{5, '', {{'5-0', {'t', '1', 'm'}}}, 1}",        // three fields
      "{5, '', {{'5-0', {'t', {}, 'm', 'x'}}}, 1}",    // a field not a string
      "{5, '', {{'5-0', {'m', '1', 't', 'x'}}}, 1}",   // fields swapped
      "{5, '', {{'x-0', {'t', '1', 'm', 'x'}}}, 1}",   // a bad id
      "{5, '', {{'5-1', {'t', '1', 'm', 'x'}}}, 1}",   // not an id of ours
      "{5, '', {{'5-0', {'t', '-5', 'm', 'x'}}}, 1}",  // a negative time
      "{5, '', {{'5-0', {'t', '1', 'm', 'x'}}, {'4-0', {'t', '1', 'm', 'y'}}}, 1}",  // order
      "{2, '', {{'5-0', {'t', '1', 'm', 'x'}}}, 1}",  // past the last seq
      "{9, '', {{'5-0', {'t', '1', 'm', 'x'}}}, 7}",  // before the first retained
      "{9, '', {{'5-0'}}, 1}",                        // an entry without fields
      "redis.error_reply('ERR broken')",
  };
  for (const char* body : bodies) {
    load_fake_range(redis_, body);
    const RangeResult result = node_->range("any.t", 1, 10);
    EXPECT_EQ(result.status, LinkStatus::kError) << body;
    EXPECT_TRUE(result.entries.empty()) << body;
    EXPECT_FALSE(result.error.empty()) << body;
  }
  EXPECT_TRUE(node_->link().connected());
}

}  // namespace
}  // namespace herald::broker::cluster::test
