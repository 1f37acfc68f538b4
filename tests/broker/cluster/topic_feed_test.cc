// The per-topic sequence check of messages from Redis: in order, repeats dropped, jumps
// repaired from a range read (entries, then a gap for what was trimmed, then what was parked),
// outages re-read after the reconnect, and a lost history announced before its new numbers.
#include "broker/cluster/topic_feed.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/broker/cluster/numbered.h"

namespace herald::broker::cluster {
namespace {

constexpr uint64_t kEpoch = 0xabc;

// Records the feed's calls as one line each, in order.
struct Recorder {
  std::vector<std::string> calls;
  void deliver(uint64_t seq, std::string_view message, bool repaired) {
    calls.push_back(numbered(repaired ? "repaired " : "deliver ", seq).append(" ").append(message));
  }
  void gap(uint64_t missed) { calls.push_back(numbered("gap ", missed)); }
  void read(uint64_t from, uint64_t to) {
    calls.push_back(numbered("read ", from)
                        .append("..")
                        .append(to == TopicFeed::kOpen ? std::string("open") : std::to_string(to)));
  }
  void reset(uint64_t epoch) { calls.push_back(numbered("reset ", epoch)); }
  std::vector<std::string> take() { return std::exchange(calls, {}); }
};

IncomingMessage message(uint64_t seq, uint64_t epoch = kEpoch) {
  return IncomingMessage{"t", seq, epoch, numbered("m", seq)};
}

RangeResult range(std::vector<uint64_t> seqs, uint64_t last_seq, uint64_t epoch = kEpoch) {
  RangeResult result;
  result.last_seq = last_seq;
  result.epoch = epoch;
  for (uint64_t seq : seqs) result.entries.push_back({seq, 0, numbered("m", seq)});
  return result;
}

using Calls = std::vector<std::string>;

TEST(TopicFeed, DeliversInOrderFromTheFirstMessageAndDropsRepeats) {
  TopicFeed feed;
  Recorder sink;
  feed.on_message(message(7), sink);  // the first since interest: nothing before is owed
  feed.on_message(message(8), sink);
  feed.on_message(message(8), sink);  // a pattern and the topic both delivered it
  feed.on_message(message(6), sink);
  feed.on_message(message(9), sink);
  EXPECT_EQ(sink.take(), (Calls{"deliver 7 m7", "deliver 8 m8", "deliver 9 m9"}));
  EXPECT_EQ(feed.last(), 9u);
}

TEST(TopicFeed, AJumpIsReadOnceAndTheParkedFollowInOrder) {
  TopicFeed feed;
  Recorder sink;
  feed.on_message(message(1), sink);
  feed.on_message(message(4), sink);
  feed.on_message(message(5), sink);
  feed.on_message(message(7), sink);  // parked too, though it jumps again
  EXPECT_EQ(sink.take(), (Calls{"deliver 1 m1", "read 2..3"}));
  EXPECT_TRUE(feed.repairing());
  feed.on_range(range({2, 3}, 7), sink);
  EXPECT_EQ(sink.take(),
            (Calls{"repaired 2 m2", "repaired 3 m3", "deliver 4 m4", "deliver 5 m5", "read 6..6"}));
  EXPECT_EQ(feed.parked(), 1u);
  feed.on_range(range({6}, 7), sink);
  EXPECT_EQ(sink.take(), (Calls{"repaired 6 m6", "deliver 7 m7"}));
  EXPECT_FALSE(feed.repairing());
}

TEST(TopicFeed, WhatTheStreamNoLongerHoldsIsAnExactGap) {
  TopicFeed feed;
  Recorder sink;
  feed.on_message(message(10), sink);
  feed.on_message(message(20), sink);
  sink.take();
  feed.on_range(range({15, 16, 17, 18, 19}, 20), sink);  // 11..14 trimmed
  EXPECT_EQ(sink.take(), (Calls{"gap 4", "repaired 15 m15", "repaired 16 m16", "repaired 17 m17",
                                "repaired 18 m18", "repaired 19 m19", "deliver 20 m20"}));
  // A topic without history: the read returns the last number only.
  feed.on_message(message(25), sink);
  sink.take();
  feed.on_range(range({}, 25), sink);
  EXPECT_EQ(sink.take(), (Calls{"gap 4", "deliver 25 m25"}));
}

TEST(TopicFeed, AFullPageReadsOn) {
  TopicFeed feed;
  Recorder sink;
  feed.on_message(message(1), sink);
  const uint64_t jump = 2 + TopicFeed::kPage + 10;
  feed.on_message(message(jump), sink);
  sink.take();
  std::vector<uint64_t> page;
  for (uint64_t seq = 2; seq < 2 + TopicFeed::kPage; ++seq) page.push_back(seq);
  feed.on_range(range(page, jump), sink);
  Calls calls = sink.take();
  ASSERT_EQ(calls.size(), TopicFeed::kPage + 1);
  EXPECT_EQ(calls.back(),
            "read " + std::to_string(2 + TopicFeed::kPage) + ".." + std::to_string(jump - 1));
  EXPECT_TRUE(feed.repairing());
}

TEST(TopicFeed, AnOutageIsReadAfterTheReconnect) {
  TopicFeed feed;
  Recorder sink;
  feed.on_reconnected(sink);  // nothing received yet: no position
  EXPECT_TRUE(sink.take().empty());
  feed.on_message(message(3), sink);
  feed.on_reconnected(sink);
  EXPECT_EQ(sink.take(), (Calls{"deliver 3 m3", "read 4..open"}));
  feed.on_message(message(9), sink);  // parked behind the read
  RangeResult lost;
  lost.status = LinkStatus::kUnavailable;  // the link dropped again
  feed.on_range(std::move(lost), sink);
  EXPECT_TRUE(sink.take().empty());
  feed.on_reconnected(sink);
  EXPECT_EQ(sink.take(), (Calls{"read 4..open"}));
  feed.on_range(range({4, 5, 6, 7, 8, 9, 10}, 10), sink);
  EXPECT_EQ(sink.take(), (Calls{"repaired 4 m4", "repaired 5 m5", "repaired 6 m6", "repaired 7 m7",
                                "repaired 8 m8", "repaired 9 m9", "repaired 10 m10"}));
  EXPECT_EQ(feed.last(), 10u);
  EXPECT_FALSE(feed.repairing());
}

TEST(TopicFeed, AnOutageDuringAReadReadsOnceMoreAfterIt) {
  TopicFeed feed;
  Recorder sink;
  feed.on_message(message(1), sink);
  feed.on_message(message(3), sink);
  feed.on_reconnected(sink);  // the pub/sub connection alone was cut while 2 was being read
  EXPECT_EQ(sink.take(), (Calls{"deliver 1 m1", "read 2..2"}));
  feed.on_range(range({2}, 5), sink);
  EXPECT_EQ(sink.take(), (Calls{"repaired 2 m2", "read 3..open"}));
  feed.on_range(range({3, 4, 5}, 5), sink);
  EXPECT_EQ(sink.take(), (Calls{"repaired 3 m3", "repaired 4 m4", "repaired 5 m5"}));
  EXPECT_EQ(feed.parked(), 0u);  // the parked 3 was a repeat
}

TEST(TopicFeed, AfterAnOutageOnlyALiveJumpDeclaresAGap) {
  // Without history the read after a reconnect finds nothing to deliver; messages up to its
  // last number may still be on the pub/sub connection, so no gap is declared for them yet.
  TopicFeed feed;
  Recorder sink;
  feed.on_message(message(3), sink);
  feed.on_reconnected(sink);
  feed.on_range(range({}, 6), sink);
  EXPECT_EQ(sink.take(), (Calls{"deliver 3 m3", "read 4..open"}));
  feed.on_message(message(5), sink);  // 4 was lost, 5 was still on its way
  feed.on_range(range({}, 6), sink);
  feed.on_message(message(6), sink);
  EXPECT_EQ(sink.take(), (Calls{"read 4..4", "gap 1", "deliver 5 m5", "deliver 6 m6"}));
}

TEST(TopicFeed, ALostHistoryIsAnnouncedAndItsNumbersStartAgain) {
  TopicFeed feed;
  Recorder sink;
  feed.on_message(message(41), sink);
  feed.on_message(message(1, 0xdef), sink);
  feed.on_message(message(3, 0xdef), sink);
  EXPECT_EQ(sink.take(), (Calls{"deliver 41 m41", "reset 3567", "deliver 1 m1", "read 2..2"}));
  feed.on_range(range({2}, 3, 0xdef), sink);
  EXPECT_EQ(sink.take(), (Calls{"repaired 2 m2", "deliver 3 m3"}));
  // Lost while a read was on its way: the read answers with the new history.
  feed.on_message(message(6, 0xdef), sink);
  sink.take();
  feed.on_range(range({1, 2}, 2, 0x123), sink);
  EXPECT_EQ(sink.take(), (Calls{"reset 291", "repaired 1 m1", "repaired 2 m2"}));
  EXPECT_EQ(feed.epoch(), 0x123u);
  EXPECT_EQ(feed.parked(), 0u);  // the old history's message went with it
}

TEST(TopicFeed, AnAnchorParksUntilItKnowsWhereTheTopicStands) {
  const std::string anchor =
      numbered("read ", TopicFeed::kAnchorSeq) + ".." + std::to_string(TopicFeed::kAnchorSeq);
  {
    // The SUBSCRIBE took effect late: 13 and 14 were published after the anchor ran but
    // never came live; the jump from the anchor to 15 reads them.
    TopicFeed feed;
    Recorder sink;
    feed.anchor(sink);
    feed.on_message(message(15), sink);
    EXPECT_EQ(sink.take(), (Calls{anchor}));
    feed.on_range(range({}, 12), sink);
    EXPECT_EQ(sink.take(), (Calls{"read 13..14"}));
    feed.on_range(range({13, 14}, 15), sink);
    EXPECT_EQ(sink.take(), (Calls{"repaired 13 m13", "repaired 14 m14", "deliver 15 m15"}));
  }
  {
    // The SUBSCRIBE took effect first: 13 came live before the anchor read ran (last 14).
    TopicFeed feed;
    Recorder sink;
    feed.anchor(sink);
    feed.on_message(message(13), sink);
    feed.on_message(message(14), sink);
    sink.take();
    feed.on_range(range({}, 14), sink);
    EXPECT_EQ(sink.take(), (Calls{"deliver 13 m13", "deliver 14 m14"}));
  }
  {
    // A topic with no message yet: its first history starts at 1, wherever the live
    // stream joins; an outage before the anchor answers asks again after the reconnect.
    TopicFeed feed;
    Recorder sink;
    feed.anchor(sink);
    RangeResult lost;
    lost.status = LinkStatus::kUnavailable;
    feed.on_range(std::move(lost), sink);
    feed.on_reconnected(sink);
    EXPECT_EQ(sink.take(), (Calls{anchor, anchor}));
    feed.on_range(range({}, 0, 0), sink);
    feed.on_message(message(2), sink);
    EXPECT_EQ(sink.take(), (Calls{"read 1..1"}));
    feed.on_range(range({1}, 2), sink);
    EXPECT_EQ(sink.take(), (Calls{"repaired 1 m1", "deliver 2 m2"}));
  }
}

TEST(TopicFeed, ARefusedReadEndsInAGap) {
  TopicFeed feed;
  Recorder sink;
  feed.on_message(message(1), sink);
  feed.on_message(message(5), sink);
  sink.take();
  RangeResult refused;
  refused.status = LinkStatus::kError;
  feed.on_range(std::move(refused), sink);
  EXPECT_EQ(sink.take(), (Calls{"gap 3", "deliver 5 m5"}));
}

}  // namespace
}  // namespace herald::broker::cluster
