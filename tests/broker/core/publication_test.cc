// PublishRequest blocks and the FrameOrigin layout: what goes in comes out, in one block.
#include "broker/core/publication.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::broker::core {
namespace {

TEST(PublicationTest, RequestKeepsEveryField) {
  std::vector<uint8_t> payload = {0, 1, 2, 255};
  PublishRequest::Fields fields;
  fields.topic = "a.b";
  fields.id = "\"x\"";
  fields.payload = payload;
  fields.binary = true;
  fields.echo = false;
  fields.reply = ReplyAddress{3, 0x1234567890};
  PublishRequest* request = PublishRequest::create(fields);
  EXPECT_EQ(request->topic(), "a.b");
  EXPECT_EQ(request->id(), "\"x\"");
  EXPECT_EQ(std::vector<uint8_t>(request->payload().begin(), request->payload().end()), payload);
  EXPECT_TRUE(request->binary());
  EXPECT_FALSE(request->echo());
  EXPECT_EQ(request->reply().worker, 3u);
  EXPECT_EQ(request->reply().connection, 0x1234567890u);
  EXPECT_TRUE(request->wants_answer());
  EXPECT_EQ(request->status, PublishRequest::Status::kPending);
  PublishRequest::destroy(request);
}

TEST(PublicationTest, OnlyIdsAndHttpWantAnswers) {
  PublishRequest::Fields fields;
  fields.topic = "t";
  PublishRequest* quiet = PublishRequest::create(fields);
  EXPECT_FALSE(quiet->wants_answer());
  EXPECT_TRUE(quiet->payload().empty());
  PublishRequest::destroy(quiet);
  fields.origin = PublishRequest::Origin::kHttp;
  PublishRequest* http = PublishRequest::create(fields);
  EXPECT_TRUE(http->wants_answer());
  PublishRequest::destroy(http);
}

TEST(PublicationTest, FrameOriginRoundTrips) {
  std::string topic(255, 'z');
  size_t bytes = frame_origin_bytes(topic);
  EXPECT_EQ(bytes % 8, 0u);
  std::vector<uint8_t> buffer(bytes);
  frame_origin_write(buffer,
                     FrameOrigin{ReplyAddress{7, 99}, (uint64_t{1} << 53) + 3, false, topic});
  FrameOrigin origin = frame_origin_read(buffer);
  EXPECT_EQ(origin.seq, (uint64_t{1} << 53) + 3);
  EXPECT_EQ(origin.publisher.worker, 7u);
  EXPECT_EQ(origin.publisher.connection, 99u);
  EXPECT_FALSE(origin.echo);
  EXPECT_EQ(origin.topic, topic);
}

}  // namespace
}  // namespace herald::broker::core
