// The replay-to-live seam as plain calls: first reads per replay option, the recovery's
// `complete` (trimmed, skipped numbers, another epoch), held frames joining the replay, the
// hold bound, the drain wait, catch-up, the live floor, and a failed read.
#include "broker/core/replay_cursor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <vector>

namespace herald::broker::core {
namespace {

using protocol::pubsub::Replay;
using Cursor = ReplayCursor<uint64_t>;  // a frame is its seq here

constexpr ReplayLimits kLimits{1000, 4};

ReplayPage page(uint64_t first_seq, uint64_t last_seq, uint64_t front, uint64_t back,
                uint64_t epoch = 7) {
  return ReplayPage{true, epoch, first_seq, last_seq, front, back};
}

std::vector<uint64_t> released(Cursor& cursor) {
  std::deque<uint64_t> frames = cursor.take_released();
  return {frames.begin(), frames.end()};
}

TEST(ReplayCursorTest, FirstReadPerOption) {
  auto first = [](Replay start, uint64_t value) {
    ReplayRead read = Cursor(kLimits, start, value, {}).first_read();
    return std::pair(read.start, read.value);
  };
  EXPECT_EQ(first(Replay::kFrom, 0), std::pair(ReadStart::kSeq, uint64_t{1}));
  EXPECT_EQ(first(Replay::kFrom, 9), std::pair(ReadStart::kSeq, uint64_t{9}));
  EXPECT_EQ(first(Replay::kLast, 5), std::pair(ReadStart::kLast, uint64_t{5}));
  EXPECT_EQ(first(Replay::kSince, 1234), std::pair(ReadStart::kTime, uint64_t{1234}));
  EXPECT_EQ(first(Replay::kSnapshot, 0), std::pair(ReadStart::kLast, uint64_t{1}));
  EXPECT_EQ(first(Replay::kNone, 0), std::pair(ReadStart::kLast, uint64_t{0}));
}

TEST(ReplayCursorTest, ReplaysThePageThenGoesLive) {
  Cursor cursor(kLimits, Replay::kFrom, 3, {});
  EXPECT_EQ(cursor.on_live(11, 10, 11), LiveAction::kHold);
  EXPECT_EQ(cursor.on_live(12, 10, 12), LiveAction::kHold);
  PageStep step = cursor.on_page(page(1, 10, 3, 10));
  ASSERT_TRUE(step.recovery.has_value());
  EXPECT_EQ(step.recovery->from, 3u);
  EXPECT_EQ(step.recovery->next, 11u);
  EXPECT_EQ(step.recovery->first_seq, 1u);
  EXPECT_TRUE(step.recovery->complete);
  EXPECT_EQ(step.replay_from, 3u);
  EXPECT_EQ(step.next, ReplayNext::kLive);
  EXPECT_EQ(released(cursor), (std::vector<uint64_t>{11, 12}));
  EXPECT_FALSE(cursor.replaying());
}

TEST(ReplayCursorTest, HeldFramesTheLogAlsoReturnedAreDroppedOnce) {
  Cursor cursor(kLimits, Replay::kFrom, 1, {});
  EXPECT_EQ(cursor.on_live(9, 10, 9), LiveAction::kHold);
  EXPECT_EQ(cursor.on_live(10, 10, 10), LiveAction::kHold);
  EXPECT_EQ(cursor.on_live(11, 10, 11), LiveAction::kHold);
  PageStep step = cursor.on_page(page(1, 10, 1, 10));
  EXPECT_EQ(step.next, ReplayNext::kLive);
  EXPECT_EQ(released(cursor), (std::vector<uint64_t>{11}));
}

// Commit 7e3b97e: frames the owner broadcast before the read saw their messages may arrive
// after the replay joined; they are below the floor.
TEST(ReplayCursorTest, LiveFloorDropsFramesStillInFlight) {
  Cursor cursor(kLimits, Replay::kFrom, 1, {});
  PageStep step = cursor.on_page(page(1, 5, 1, 5));
  EXPECT_EQ(step.next, ReplayNext::kLive);
  EXPECT_TRUE(released(cursor).empty());
  EXPECT_EQ(cursor.on_live(4, 10, 4), LiveAction::kDuplicate);
  EXPECT_EQ(cursor.on_live(5, 10, 5), LiveAction::kDuplicate);
  EXPECT_FALSE(cursor.done());
  EXPECT_EQ(cursor.on_live(6, 10, 6), LiveAction::kDeliver);
  EXPECT_TRUE(cursor.done());
  EXPECT_EQ(cursor.on_live(7, 10, 7), LiveAction::kDeliver);
}

// Commit 32dda37: a position below next that the log does not hold (numbers a crash skipped)
// is not complete, though nothing was trimmed.
TEST(ReplayCursorTest, SkippedNumbersMakeTheRecoveryIncomplete) {
  Cursor skipped(kLimits, Replay::kFrom, 6, {});
  PageStep step = skipped.on_page(page(1, 10, 9, 10));
  ASSERT_TRUE(step.recovery.has_value());
  EXPECT_EQ(step.recovery->from, 9u);
  EXPECT_FALSE(step.recovery->complete);

  Cursor past_the_end(kLimits, Replay::kFrom, 11, {});  // resuming exactly at next
  step = past_the_end.on_page(page(1, 10, 0, 0));
  EXPECT_EQ(step.recovery->from, 11u);
  EXPECT_TRUE(step.recovery->complete);

  Cursor trimmed(kLimits, Replay::kFrom, 2, {});
  step = trimmed.on_page(page(5, 10, 5, 10));
  EXPECT_FALSE(step.recovery->complete);
}

TEST(ReplayCursorTest, AnotherEpochReplaysAllThatIsRetained) {
  Cursor cursor(kLimits, Replay::kFrom, 4, epoch_text(3));
  PageStep step = cursor.on_page(page(2, 10, 4, 10, 8));
  EXPECT_EQ(step.next, ReplayNext::kRead);
  EXPECT_EQ(step.read.start, ReadStart::kSeq);
  EXPECT_EQ(step.read.value, 0u);
  EXPECT_FALSE(step.recovery.has_value());
  step = cursor.on_page(page(2, 10, 2, 10, 8));
  ASSERT_TRUE(step.recovery.has_value());
  EXPECT_EQ(step.recovery->from, 2u);
  EXPECT_FALSE(step.recovery->complete);
  EXPECT_EQ(step.replay_from, 2u);
  EXPECT_EQ(epoch_text(0), "0000000000000000");
  EXPECT_EQ(epoch_text(0xabc), "0000000000000abc");
}

TEST(ReplayCursorTest, PagesWaitForTheQueueToDrain) {
  Cursor cursor(kLimits, Replay::kFrom, 1, {});
  PageStep step = cursor.on_page(page(1, 30, 1, 10));
  EXPECT_EQ(step.next, ReplayNext::kMore);
  EXPECT_FALSE(cursor.after_page(1000).has_value());
  EXPECT_TRUE(cursor.waiting_drain());
  EXPECT_FALSE(cursor.on_drained(500).has_value());
  std::optional<ReplayRead> read = cursor.on_drained(499);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->value, 11u);
  step = cursor.on_page(page(1, 30, 11, 30));
  EXPECT_FALSE(step.recovery.has_value());
  EXPECT_EQ(step.replay_from, 11u);
  EXPECT_EQ(step.next, ReplayNext::kLive);
}

TEST(ReplayCursorTest, OverTheHoldBoundFramesAreReadBack) {
  Cursor cursor(kLimits, Replay::kFrom, 1, {});
  for (uint64_t seq = 6; seq <= 9; ++seq)
    EXPECT_EQ(cursor.on_live(seq, 10, seq), LiveAction::kHold);
  EXPECT_EQ(cursor.on_live(10, 10, 10), LiveAction::kLetGo);  // a fifth frame
  EXPECT_EQ(cursor.held_count(), 0u);
  EXPECT_EQ(cursor.on_live(11, 10, 11), LiveAction::kHold);
  // The first page ended at 5 (the read was taken before 6 was appended): read on.
  PageStep step = cursor.on_page(page(1, 5, 1, 5));
  EXPECT_EQ(step.next, ReplayNext::kMore);
  std::optional<ReplayRead> read = cursor.after_page(0);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->value, 6u);
  step = cursor.on_page(page(1, 11, 6, 11));
  EXPECT_EQ(step.replay_from, 6u);
  EXPECT_EQ(step.next, ReplayNext::kLive);
  EXPECT_TRUE(released(cursor).empty());
  EXPECT_EQ(cursor.on_live(12, 10, 12), LiveAction::kDeliver);
}

TEST(ReplayCursorTest, HeldBytesAreBounded) {
  Cursor cursor(ReplayLimits{100, 8192}, Replay::kNone, 0, {});
  EXPECT_EQ(cursor.on_live(1, 60, 1), LiveAction::kHold);
  EXPECT_EQ(cursor.on_live(2, 60, 2), LiveAction::kLetGo);
}

TEST(ReplayCursorTest, CatchUpReadsFromTheMissedFrameAfterADrain) {
  Cursor cursor = Cursor::catch_up(kLimits, 20);
  EXPECT_TRUE(cursor.waiting_drain());
  EXPECT_FALSE(cursor.awaits_recovery());
  EXPECT_EQ(cursor.on_live(21, 10, 21), LiveAction::kHold);
  std::optional<ReplayRead> read = cursor.on_drained(0);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->value, 20u);
  PageStep step = cursor.on_page(page(1, 20, 20, 20));
  EXPECT_FALSE(step.recovery.has_value());
  EXPECT_EQ(step.replay_from, 20u);
  EXPECT_EQ(step.next, ReplayNext::kLive);
  EXPECT_EQ(released(cursor), (std::vector<uint64_t>{21}));
}

TEST(ReplayCursorTest, AFailedReadGoesLiveWithWhatIsHeld) {
  Cursor cursor(kLimits, Replay::kLast, 3, {});
  EXPECT_TRUE(cursor.awaits_recovery());
  EXPECT_EQ(cursor.on_live(4, 10, 4), LiveAction::kHold);
  ReplayPage failed;
  failed.ok = false;
  EXPECT_EQ(cursor.on_page(failed).next, ReplayNext::kFailed);
  EXPECT_FALSE(cursor.replaying());
  EXPECT_EQ(released(cursor), (std::vector<uint64_t>{4}));
}

TEST(ReplayCursorTest, NothingAskedStartsAtNext) {
  Cursor cursor(kLimits, Replay::kNone, 0, {});
  EXPECT_EQ(cursor.on_live(8, 10, 8), LiveAction::kHold);
  PageStep step = cursor.on_page(page(1, 7, 0, 0));
  EXPECT_EQ(step.recovery->from, 8u);
  EXPECT_EQ(step.recovery->next, 8u);
  EXPECT_EQ(step.replay_from, 0u);
  EXPECT_EQ(step.next, ReplayNext::kLive);
  EXPECT_EQ(released(cursor), (std::vector<uint64_t>{8}));
}

}  // namespace
}  // namespace herald::broker::core
