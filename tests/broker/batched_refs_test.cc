// PrepaidRefs and ReleaseBatch keep a frame's count exact: bought references are handed out
// or returned, deferred releases all land on flush, and the frame is freed exactly once.
// SendScratch keeps a sendmsg's header and iovecs apart from the caller's until reset().
#include "broker/net/batched_refs.h"

#include <gtest/gtest.h>

#include <vector>

#include "broker/net/send_scratch.h"

namespace herald::broker::net {
namespace {

TEST(PrepaidRefsTest, HandsOutBoughtReferencesAndReturnsTheRest) {
  SharedRef frame = SharedRef::allocate(8);
  const SharedBuffer* buffer = frame.get();
  std::vector<SharedRef> queues;
  {
    PrepaidRefs prepaid(frame, 5);
    EXPECT_EQ(buffer->ref_count(), 6u);
    for (int i = 0; i < 3; ++i) queues.push_back(prepaid.take(frame));
    EXPECT_EQ(buffer->ref_count(), 6u);  // three of the five handed out, no new ones
  }
  EXPECT_EQ(buffer->ref_count(), 4u);  // the two left went back
  for (const SharedRef& queued : queues) EXPECT_EQ(queued.get(), buffer);
}

TEST(PrepaidRefsTest, AnotherFrameOrAnEmptyBudgetGetsACopy) {
  SharedRef frame = SharedRef::allocate(8);
  SharedRef other = SharedRef::allocate(8);
  PrepaidRefs prepaid(frame, 1);
  SharedRef a = prepaid.take(other);
  EXPECT_EQ(other.get()->ref_count(), 2u);
  SharedRef b = prepaid.take(frame);
  SharedRef c = prepaid.take(frame);  // over budget: a plain copy
  EXPECT_EQ(frame.get()->ref_count(), 3u);
}

TEST(ReleaseBatchTest, DeferredReleasesAllLandOnFlush) {
  SharedRef a = SharedRef::allocate(8);
  SharedRef b = SharedRef::allocate(8);
  ReleaseBatch batch;
  for (int i = 0; i < 4; ++i) {
    SharedRef copy = a;
    batch.add(copy.detach());
    SharedRef other = b;
    batch.add(other.detach());
  }
  EXPECT_EQ(a.get()->ref_count(), 5u);
  EXPECT_EQ(b.get()->ref_count(), 5u);
  batch.flush();
  EXPECT_EQ(a.get()->ref_count(), 1u);
  EXPECT_EQ(b.get()->ref_count(), 1u);
}

TEST(ReleaseBatchTest, MoreBuffersThanSlotsAndTheLastReferenceFrees) {
  // Under ASan a leak or a double free fails here.
  ReleaseBatch batch;
  for (int i = 0; i < 50; ++i) batch.add(SharedRef::allocate(16).detach());
  SharedRef kept = SharedRef::allocate(8);
  batch.add(SharedRef(kept).detach());
  EXPECT_EQ(kept.get()->ref_count(), 2u);
  batch.flush();
  EXPECT_EQ(kept.get()->ref_count(), 1u);
}

TEST(ReleaseBatchTest, CollisionsBetweenFlushesKeepEachSlotListedOnce) {
  // Thousands of distinct buffers between two flushes collide in every slot many times over;
  // a slot listed again on each collision ran past the list (UBSan caught it in the broker).
  ReleaseBatch batch;
  SharedRef kept = SharedRef::allocate(8);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5000; ++i) {
      batch.add(SharedRef::allocate(16).detach());
      if (i % 7 == 0) batch.add(SharedRef(kept).detach());
    }
  }
  batch.flush();
  EXPECT_EQ(kept.get()->ref_count(), 1u);
  batch.add(SharedRef(kept).detach());
  batch.flush();
  EXPECT_EQ(kept.get()->ref_count(), 1u);
}

TEST(SendScratchTest, KeepsACopyUntilFullThenAsksForAReset) {
  SendScratch scratch;
  char bytes[4] = {'a', 'b', 'c', 'd'};
  iovec iovecs[2] = {{bytes, 2}, {bytes + 2, 2}};
  msghdr message{};
  message.msg_iov = iovecs;
  message.msg_iovlen = 2;
  const msghdr* kept = scratch.keep(message);
  ASSERT_NE(kept, nullptr);
  iovecs[0].iov_len = 99;  // the caller reuses its own copy at once
  EXPECT_NE(kept->msg_iov, iovecs);
  EXPECT_EQ(kept->msg_iovlen, 2u);
  EXPECT_EQ(kept->msg_iov[0].iov_len, 2u);
  EXPECT_EQ(kept->msg_iov[1].iov_base, bytes + 2);
  size_t taken = 1;
  while (scratch.keep(message) != nullptr) ++taken;
  EXPECT_EQ(taken, SendScratch::kIovecs / 2 < SendScratch::kHeaders ? SendScratch::kIovecs / 2
                                                                    : SendScratch::kHeaders);
  scratch.reset();
  EXPECT_NE(scratch.keep(message), nullptr);
}

}  // namespace
}  // namespace herald::broker::net
