// SharedRef: one allocation, reference counting across copies, moves and threads.
#include "broker/net/shared_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
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

TEST(SharedBufferTest, MetaSitsBesideTheBytes) {
  SharedRef ref = SharedRef::allocate(3, 16);
  std::memcpy(ref.mutable_bytes().data(), "abc", 3);
  std::memset(ref.mutable_meta().data(), 0x5a, 16);
  EXPECT_EQ(ref.bytes().size(), 3u);
  EXPECT_EQ(ref.meta().size(), 16u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ref.bytes().data()), 3), "abc");
  const std::string expected(16, '\x5a');
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ref.meta().data()), ref.meta().size()),
            expected);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(ref.bytes().data()) % alignof(uint64_t), 0u);
}

TEST(SharedBufferTest, DetachAndAdoptKeepOneReference) {
  SharedRef ref = SharedRef::allocate(4);
  SharedRef copy = ref;
  SharedBuffer* raw = copy.detach();
  ASSERT_NE(raw, nullptr);
  EXPECT_FALSE(copy);
  uint32_t detached_refs = raw->ref_count();
  EXPECT_EQ(detached_refs, 2u);
  SharedRef adopted = SharedRef::adopt(raw);
  EXPECT_EQ(adopted.get(), ref.get());
  uint32_t adopted_refs = raw->ref_count();
  EXPECT_EQ(adopted_refs, 2u);
}

}  // namespace
}  // namespace herald::broker::net
