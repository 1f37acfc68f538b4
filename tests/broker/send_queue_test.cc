// SendQueue: order, iovec gathering (with the 64-iovec cap), short sends and node recycling.
#include "broker/net/send_queue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace herald::broker::net {
namespace {

SharedRef frame_of(const std::string& text) {
  SharedRef ref = SharedRef::allocate(text.size());
  std::memcpy(ref.mutable_bytes().data(), text.data(), text.size());
  return ref;
}

std::string gathered(const SendOp& op) {
  std::string out;
  for (size_t i = 0; i < op.message.msg_iovlen; ++i) {
    out.append(static_cast<const char*>(op.iovecs[i].iov_base), op.iovecs[i].iov_len);
  }
  return out;
}

class SendQueueTest : public ::testing::Test {
 protected:
  void TearDown() override {
    queue.clear(pool);
    EXPECT_EQ(pool.in_use(), 0u);
  }
  SendNodePool pool{16};
  SendQueue queue;
  SendOp op;
};

TEST_F(SendQueueTest, GathersSharedAndOwnedInOrder) {
  queue.push(std::string("HTTP/1.1 101\r\n\r\n"), pool);
  queue.push(frame_of("frame-1"), pool);
  queue.push(std::string("pong"), pool);
  EXPECT_EQ(queue.bytes(), 16u + 7u + 4u);
  EXPECT_EQ(queue.gather(op), queue.bytes());
  EXPECT_EQ(op.message.msg_iovlen, 3u);
  EXPECT_EQ(gathered(op), "HTTP/1.1 101\r\n\r\nframe-1pong");
}

TEST_F(SendQueueTest, EmptyBuffersAreNotQueued) {
  queue.push(std::string(), pool);
  queue.push(SharedRef::allocate(0), pool);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(SendQueueTest, ShortSendsResumeMidBuffer) {
  queue.push(frame_of("abcdef"), pool);
  queue.push(std::string("ghij"), pool);
  queue.consume(4, pool);  // inside the first buffer
  EXPECT_EQ(queue.bytes(), 6u);
  queue.gather(op);
  EXPECT_EQ(gathered(op), "efghij");
  queue.consume(2, pool);  // exactly the rest of the first buffer
  EXPECT_EQ(pool.in_use(), 1u);
  queue.gather(op);
  EXPECT_EQ(gathered(op), "ghij");
  queue.consume(4, pool);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST_F(SendQueueTest, GatherStopsAtTheIovecCap) {
  for (size_t i = 0; i < SendOp::kIovecsMax + 10; ++i) queue.push(std::string("x"), pool);
  EXPECT_EQ(queue.gather(op), SendOp::kIovecsMax);
  EXPECT_EQ(op.message.msg_iovlen, SendOp::kIovecsMax);
  queue.consume(SendOp::kIovecsMax, pool);
  EXPECT_EQ(queue.gather(op), 10u);
}

TEST_F(SendQueueTest, OneFrameInManyQueuesIsNotCopied) {
  SharedRef frame = frame_of("broadcast");
  SendQueue other;
  queue.push(frame, pool);
  other.push(frame, pool);
  EXPECT_EQ(frame.get()->ref_count(), 3u);
  queue.gather(op);
  EXPECT_EQ(op.iovecs[0].iov_base, frame.bytes().data());
  queue.consume(9, pool);
  EXPECT_EQ(frame.get()->ref_count(), 2u);
  other.clear(pool);
  EXPECT_EQ(frame.get()->ref_count(), 1u);
}

TEST_F(SendQueueTest, PoolReusesNodes) {
  queue.push(std::string("a"), pool);
  queue.consume(1, pool);
  EXPECT_EQ(pool.free_count(), 1u);
  queue.push(std::string("b"), pool);
  EXPECT_EQ(pool.free_count(), 0u);
}

TEST_F(SendQueueTest, SerialsFollowPushOrder) {
  EXPECT_EQ(queue.front_serial(), 0u);
  SendNode* first = queue.push(frame_of("a"), pool);
  SendNode* second = queue.push(std::string("b"), pool);
  EXPECT_EQ(queue.push(std::string(), pool), nullptr);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->serial, first->serial + 1);
  EXPECT_EQ(queue.front_serial(), first->serial);
  queue.consume(1, pool);
  EXPECT_EQ(queue.front_serial(), second->serial);
  EXPECT_FALSE(queue.front_partly_sent());
}

TEST_F(SendQueueTest, ReplaceSwapsAFrameAndItsBytes) {
  queue.push(frame_of("head"), pool);
  SendNode* node = queue.push(frame_of("old"), pool);
  queue.replace(node, frame_of("newer"));
  EXPECT_EQ(queue.bytes(), 4u + 5u);
  queue.gather(op);
  EXPECT_EQ(gathered(op), "headnewer");
}

TEST_F(SendQueueTest, TruncateKeepsTheFrontAndItsPartialSend) {
  queue.push(frame_of("0123456789"), pool);
  queue.push(frame_of("abc"), pool);
  queue.push(std::string("def"), pool);
  queue.consume(4, pool);
  EXPECT_TRUE(queue.front_partly_sent());
  queue.truncate(1, pool);
  EXPECT_EQ(queue.bytes(), 6u);
  queue.push(std::string("close"), pool);
  queue.gather(op);
  EXPECT_EQ(gathered(op), "456789close");
  queue.truncate(0, pool);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

}  // namespace
}  // namespace herald::broker::net
