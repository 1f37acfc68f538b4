// The free buffer stack on a real anonymous mapping: last in, first out; only buffers that sat
// below the low-water mark for a whole period give their pages back (mincore says which pages
// are resident), and a released buffer reads as zeros and takes writes again.
#include "broker/io/free_buffer_stack.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace herald::broker::io {
namespace {

constexpr uint32_t kCount = 16;
constexpr uint32_t kBufferBytes = 16 * 1024;

class FreeBufferStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    memory = static_cast<uint8_t*>(p);
    stack.init(memory, kCount, kBufferBytes);
  }
  void TearDown() override { munmap(memory, kBytes); }

  // Like a receive: takes the top buffer and writes all of it.
  uint16_t receive() {
    const uint16_t id = stack.pop();
    std::memset(memory + size_t{id} * kBufferBytes, 0x5a, kBufferBytes);
    return id;
  }
  bool resident(uint16_t id) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> pages(kBufferBytes / page);
    EXPECT_EQ(mincore(memory + size_t{id} * kBufferBytes, kBufferBytes, pages.data()), 0);
    bool any = false;
    for (unsigned char flags : pages) any = any || (flags & 1) != 0;
    return any;
  }

  static constexpr size_t kBytes = size_t{kCount} * kBufferBytes;
  uint8_t* memory = nullptr;
  FreeBufferStack stack;
};

TEST_F(FreeBufferStackTest, LastInFirstOut) {
  EXPECT_EQ(stack.size(), kCount);
  EXPECT_EQ(stack.pop(), 0);
  EXPECT_EQ(stack.pop(), 1);
  stack.push(0);
  stack.push(1);
  EXPECT_EQ(stack.top(), 1);
  EXPECT_EQ(stack.pop(), 1);
  EXPECT_EQ(stack.pop(), 0);
  EXPECT_EQ(stack.pop(), 2);
}

TEST_F(FreeBufferStackTest, ReleasesOnlyBuffersThatStayedCold) {
  // A burst touches eight buffers, then the quiet loop reuses only the top one.
  std::vector<uint16_t> burst;
  for (int i = 0; i < 8; ++i) burst.push_back(receive());
  for (auto it = burst.rbegin(); it != burst.rend(); ++it) stack.push(*it);
  EXPECT_EQ(stack.touched_count(), 8u);
  EXPECT_EQ(stack.release_cold(), 0u);  // the burst went below the mark in this period
  for (int round = 0; round < 3; ++round) stack.push(receive());
  const uint16_t hot = stack.top();
  EXPECT_EQ(stack.release_cold(), 7u);
  EXPECT_EQ(stack.touched_count(), 1u);
  for (uint16_t id : burst) EXPECT_EQ(resident(id), id == hot) << "buffer " << id;
  // The quiet loop keeps its one buffer: another period releases nothing.
  stack.push(receive());
  EXPECT_EQ(stack.release_cold(), 0u);
  EXPECT_TRUE(resident(hot));
  EXPECT_EQ(stack.size(), kCount);
}

TEST_F(FreeBufferStackTest, AReleasedBufferReadsZerosAndTakesWrites) {
  std::vector<uint16_t> taken;
  for (int i = 0; i < 4; ++i) taken.push_back(receive());
  for (uint16_t id : taken) stack.push(id);
  stack.release_cold();
  // All four were pushed this period above the mark: released only after a quiet period.
  stack.release_cold();
  for (uint16_t id : taken) {
    EXPECT_FALSE(resident(id)) << "buffer " << id;
    const uint8_t* bytes = memory + size_t{id} * kBufferBytes;
    for (uint32_t i = 0; i < kBufferBytes; i += 1024) ASSERT_EQ(bytes[i], 0) << "buffer " << id;
  }
  const uint16_t again = receive();
  EXPECT_EQ(memory[size_t{again} * kBufferBytes + kBufferBytes - 1], 0x5a);
  EXPECT_TRUE(resident(again));
}

TEST_F(FreeBufferStackTest, BuffersOutsideTheStackAreNeverReleased) {
  // Held buffers (a ring or a parser owns them) keep their pages whatever the stack does.
  std::vector<uint16_t> held;
  for (int i = 0; i < 4; ++i) held.push_back(receive());
  stack.push(receive());
  stack.release_cold();
  stack.release_cold();
  for (uint16_t id : held) EXPECT_TRUE(resident(id)) << "buffer " << id;
}

}  // namespace
}  // namespace herald::broker::io
