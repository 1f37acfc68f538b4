// The owner's side of a publish: sequence numbers per topic, the history append called before
// the frame exists, the topic limit, and the one encoded frame with its origin.
#include "broker/core/sequencer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "tests/broker/core/test_frame.h"

namespace herald::broker::core {
namespace {

using test::TestFrame;

PublishRequest::Fields fields(std::string_view topic, std::string_view data) {
  PublishRequest::Fields out;
  out.topic = topic;
  out.payload = {reinterpret_cast<const uint8_t*>(data.data()), data.size()};
  out.reply = ReplyAddress{2, 77};
  out.echo = false;
  return out;
}

TEST(SequencerTest, NumbersEachTopicFromOne) {
  std::atomic<uint64_t> count{0};
  TopicTable topics(count, 10);
  Sequencer<TestFrame> sequencer(topics);
  auto no_history = [](uint64_t) -> uint64_t { return 0; };
  EXPECT_EQ(sequencer.sequence(fields("a", "x"), no_history).seq, 1u);
  EXPECT_EQ(sequencer.sequence(fields("a", "x"), no_history).seq, 2u);
  EXPECT_EQ(sequencer.sequence(fields("b", "x"), no_history).seq, 1u);
  EXPECT_TRUE(sequencer.continue_after("c", 41));
  EXPECT_EQ(sequencer.sequence(fields("c", "x"), no_history).seq, 42u);
}

TEST(SequencerTest, AppendsBeforeTheFrameExists) {
  std::atomic<uint64_t> count{0};
  TopicTable topics(count, 10);
  Sequencer<TestFrame> sequencer(topics);
  std::vector<uint64_t> appended;
  auto sequenced = sequencer.sequence(fields("a", "hello"), [&](uint64_t seq) -> uint64_t {
    appended.push_back(seq);
    return 9;  // the append's ticket
  });
  EXPECT_EQ(appended, std::vector<uint64_t>{1});
  EXPECT_EQ(sequenced.ticket, 9u);
  ASSERT_EQ(sequenced.frame.use_count(), 1);  // one reference, for the caller to share
  const FrameOrigin origin = sequenced.frame.origin();
  EXPECT_EQ(origin.topic, "a");
  EXPECT_EQ(origin.seq, 1u);
  EXPECT_FALSE(origin.echo);
  EXPECT_EQ(origin.publisher.worker, 2u);
  EXPECT_EQ(origin.publisher.connection, 77u);
  std::span<const uint8_t> bytes = sequenced.frame.bytes();
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_NE(text.find("\"topic\":\"a\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"seq\":1"), std::string::npos) << text;
  EXPECT_NE(text.find("hello"), std::string::npos) << text;
}

TEST(SequencerTest, AtTheTopicLimitNothingIsAppendedOrEncoded) {
  std::atomic<uint64_t> count{0};
  TopicTable topics(count, 1);
  Sequencer<TestFrame> sequencer(topics);
  int appends = 0;
  auto append = [&](uint64_t) -> uint64_t { return static_cast<uint64_t>(++appends); };
  EXPECT_EQ(sequencer.sequence(fields("a", "x"), append).seq, 1u);
  auto refused = sequencer.sequence(fields("b", "x"), append);
  EXPECT_EQ(refused.seq, 0u);
  EXPECT_EQ(refused.ticket, 0u);
  EXPECT_EQ(refused.frame.use_count(), 0);
  EXPECT_EQ(appends, 1);
}

}  // namespace
}  // namespace herald::broker::core
