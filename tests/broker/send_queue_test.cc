// SendQueue: order, iovec gathering (with the 64-iovec cap), short sends, references, and the
// ring's growth and wrap-around checked against a plain model.
#include "broker/net/send_queue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <random>
#include <string>

#include "tests/test_seed.h"

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
  SendQueue queue;
  SendOp op;
};

TEST_F(SendQueueTest, GathersSharedAndCopiedInOrder) {
  queue.push_copy("HTTP/1.1 101\r\n\r\n");
  queue.push(frame_of("frame-1"));
  queue.push_copy("pong");
  EXPECT_EQ(queue.bytes(), 16u + 7u + 4u);
  EXPECT_EQ(queue.gather(op), queue.bytes());
  EXPECT_EQ(op.message.msg_iovlen, 3u);
  EXPECT_EQ(gathered(op), "HTTP/1.1 101\r\n\r\nframe-1pong");
}

TEST_F(SendQueueTest, EmptyBuffersAreNotQueued) {
  EXPECT_EQ(queue.push_copy(""), SendQueue::kNone);
  EXPECT_EQ(queue.push(SharedRef::allocate(0)), SendQueue::kNone);
  EXPECT_TRUE(queue.empty());
}

TEST_F(SendQueueTest, ShortSendsResumeMidBuffer) {
  queue.push(frame_of("abcdef"));
  queue.push_copy("ghij");
  queue.consume(4);  // inside the first buffer
  EXPECT_EQ(queue.bytes(), 6u);
  EXPECT_TRUE(queue.front_partly_sent());
  queue.gather(op);
  EXPECT_EQ(gathered(op), "efghij");
  queue.consume(2);  // exactly the rest of the first buffer
  EXPECT_EQ(queue.size(), 1u);
  queue.gather(op);
  EXPECT_EQ(gathered(op), "ghij");
  queue.consume(4);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST_F(SendQueueTest, GatherStopsAtTheIovecCap) {
  for (size_t i = 0; i < SendOp::kIovecsMax + 10; ++i) queue.push_copy("x");
  EXPECT_EQ(queue.gather(op), SendOp::kIovecsMax);
  EXPECT_EQ(op.message.msg_iovlen, SendOp::kIovecsMax);
  queue.consume(SendOp::kIovecsMax);
  EXPECT_EQ(queue.gather(op), 10u);
}

TEST_F(SendQueueTest, OneFrameInManyQueuesIsNotCopied) {
  SharedRef frame = frame_of("broadcast");
  SendQueue other;
  queue.push(frame);
  other.push(frame);
  EXPECT_EQ(frame.get()->ref_count(), 3u);
  queue.gather(op);
  EXPECT_EQ(op.iovecs[0].iov_base, frame.bytes().data());
  queue.consume(9);
  EXPECT_EQ(frame.get()->ref_count(), 2u);
  other.clear();
  EXPECT_EQ(frame.get()->ref_count(), 1u);
}

TEST_F(SendQueueTest, DestructionReleasesWhatIsQueued) {
  SharedRef frame = frame_of("held");
  {
    SendQueue doomed;
    doomed.push(frame);
    doomed.push(frame);
    EXPECT_EQ(frame.get()->ref_count(), 3u);
  }
  EXPECT_EQ(frame.get()->ref_count(), 1u);
}

TEST_F(SendQueueTest, SerialsFollowPushOrder) {
  EXPECT_EQ(queue.front_serial(), 0u);
  uint64_t first = queue.push(frame_of("a"));
  uint64_t second = queue.push_copy("b");
  EXPECT_EQ(first, 0u);
  EXPECT_EQ(second, 1u);
  queue.consume(1);
  EXPECT_EQ(queue.front_serial(), second);
  EXPECT_FALSE(queue.front_partly_sent());
  queue.consume(1);
  EXPECT_EQ(queue.front_serial(), 2u);
  EXPECT_EQ(queue.push_copy("c"), 2u);
}

TEST_F(SendQueueTest, ReplaceSwapsAFrameAndItsBytes) {
  SharedRef old = frame_of("old");
  queue.push(frame_of("head"));
  uint64_t serial = queue.push(old);
  queue.replace(serial, frame_of("newer"));
  EXPECT_EQ(old.get()->ref_count(), 1u);  // the queue let go of it
  EXPECT_EQ(queue.bytes(), 4u + 5u);
  queue.gather(op);
  EXPECT_EQ(gathered(op), "headnewer");
}

TEST_F(SendQueueTest, TruncateKeepsTheFrontAndItsPartialSend) {
  queue.push(frame_of("0123456789"));
  queue.push(frame_of("abc"));
  queue.push_copy("def");
  queue.consume(4);
  EXPECT_TRUE(queue.front_partly_sent());
  queue.truncate(1);
  EXPECT_EQ(queue.bytes(), 6u);
  queue.push_copy("close");
  queue.gather(op);
  EXPECT_EQ(gathered(op), "456789close");
  queue.truncate(0);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST_F(SendQueueTest, ShrinkOnlyWhenEmpty) {
  queue.push_copy("kept");
  queue.shrink();  // not empty: nothing changes
  queue.gather(op);
  EXPECT_EQ(gathered(op), "kept");
  queue.consume(4);
  queue.shrink();
  EXPECT_EQ(queue.push_copy("again"), 1u);
  queue.gather(op);
  EXPECT_EQ(gathered(op), "again");
}

// Random pushes, short sends and replacements across many growths and wrap-arounds of the
// ring, compared byte for byte with a deque of strings.
TEST_F(SendQueueTest, MatchesAModelThroughGrowthAndWrapAround) {
  std::mt19937_64 random(test_support::test_seed());
  std::deque<std::string> model;  // unsent bytes of each entry, front first
  uint64_t model_front_serial = 0;
  size_t model_bytes = 0;
  for (int step = 0; step < 20000; ++step) {
    uint64_t dice = random() % 10;
    if (dice < 5) {
      std::string text(1 + random() % 40, static_cast<char>('a' + step % 26));
      uint64_t serial = dice < 3 ? queue.push(frame_of(text)) : queue.push_copy(text);
      ASSERT_EQ(serial, model_front_serial + model.size());
      model.push_back(text);
      model_bytes += text.size();
    } else if (dice < 9 && !model.empty()) {
      size_t covered = queue.gather(op);
      std::string expected;
      for (size_t i = 0; i < model.size() && i < SendOp::kIovecsMax; ++i) expected += model[i];
      ASSERT_EQ(gathered(op), expected);
      ASSERT_EQ(covered, expected.size());
      size_t sent = random() % (covered + 1);  // short sends included
      queue.consume(sent);
      model_bytes -= sent;
      while (sent > 0) {
        size_t part = std::min(sent, model.front().size());
        model.front().erase(0, part);
        sent -= part;
        if (model.front().empty()) {
          model.pop_front();
          ++model_front_serial;
        }
      }
    } else if (model.size() > 1) {
      size_t index = 1 + random() % (model.size() - 1);  // never the partly sent front
      std::string text(1 + random() % 10, 'Z');
      queue.replace(model_front_serial + index, frame_of(text));
      model_bytes = model_bytes - model[index].size() + text.size();
      model[index] = text;
    }
    ASSERT_EQ(queue.size(), model.size());
    ASSERT_EQ(queue.bytes(), model_bytes);
    ASSERT_EQ(queue.front_serial(), model_front_serial);
  }
}

}  // namespace
}  // namespace herald::broker::net
