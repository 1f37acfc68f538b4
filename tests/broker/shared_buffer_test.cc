// SharedRef: one allocation, reference counting across copies, moves and threads.
#include "broker/net/shared_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

namespace herald::broker::net {
namespace {

TEST(SharedBufferTest, AllocateFillAndRead) {
  SharedRef ref = SharedRef::allocate(5);
  std::memcpy(ref.mutable_bytes().data(), "hello", 5);
  ASSERT_EQ(ref.bytes().size(), 5u);
  EXPECT_EQ(std::memcmp(ref.bytes().data(), "hello", 5), 0);
  EXPECT_EQ(ref.get()->ref_count(), 1u);
}

TEST(SharedBufferTest, CopiesShareAndMovesTransfer) {
  SharedRef a = SharedRef::allocate(3);
  const SharedBuffer* buffer = a.get();
  SharedRef b = a;
  EXPECT_EQ(b.get(), buffer);
  EXPECT_EQ(buffer->ref_count(), 2u);
  SharedRef c = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(buffer->ref_count(), 2u);
  b = SharedRef();
  EXPECT_EQ(buffer->ref_count(), 1u);
  c = c;  // self-assignment keeps the reference
  EXPECT_EQ(buffer->ref_count(), 1u);
}

TEST(SharedBufferTest, EmptyBufferIsValid) {
  SharedRef ref = SharedRef::allocate(0);
  EXPECT_TRUE(ref);
  EXPECT_TRUE(ref.bytes().empty());
}

TEST(SharedBufferTest, ReleasedFromManyThreads) {
  SharedRef ref = SharedRef::allocate(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([copy = ref]() mutable {
      for (int i = 0; i < 10000; ++i) {
        SharedRef again = copy;
        (void)again;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ref.get()->ref_count(), 1u);
}

}  // namespace
}  // namespace herald::broker::net
