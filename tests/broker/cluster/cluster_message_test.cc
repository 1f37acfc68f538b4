// The bytes a node stores in Redis for a message: every field survives, anything else is
// refused rather than misread.
#include "broker/cluster/cluster_message.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::broker::cluster {
namespace {

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(ClusterMessage, RoundTrips) {
  const std::string payload = std::string("{\"p\":1}") + '\0' + "\xff";
  const std::string encoded = encode_cluster_message(
      {true, false, "0123456789abcdef", 3, 0x0102030405060708, bytes_of(payload)});
  EXPECT_EQ(encoded.size(), kMessageHeaderBytes + payload.size());
  ClusterMessage decoded;
  ASSERT_TRUE(decode_cluster_message(encoded, decoded));
  EXPECT_TRUE(decoded.binary);
  EXPECT_FALSE(decoded.echo);
  EXPECT_EQ(decoded.node, "0123456789abcdef");
  EXPECT_EQ(decoded.worker, 3u);
  EXPECT_EQ(decoded.connection, 0x0102030405060708u);
  EXPECT_EQ(std::string(decoded.payload.begin(), decoded.payload.end()), payload);
}

TEST(ClusterMessage, RefusesWhatIsNotOne) {
  std::string good = encode_cluster_message({false, true, "0123456789abcdef", 0, 1, {}});
  ClusterMessage out;
  EXPECT_TRUE(decode_cluster_message(good, out));
  EXPECT_TRUE(out.payload.empty());
  EXPECT_FALSE(decode_cluster_message(good.substr(0, kMessageHeaderBytes - 1), out));
  EXPECT_FALSE(decode_cluster_message("", out));
  std::string version = good;
  version[0] = 2;
  EXPECT_FALSE(decode_cluster_message(version, out));
  std::string flags = good;
  flags[1] = static_cast<char>(0x80);
  EXPECT_FALSE(decode_cluster_message(flags, out));
}

TEST(ChannelBatch, ParsesConsecutiveMessagesOfOneHistory) {
  ChannelBatch batch;
  const std::string payload = std::string("41 00000000000000ff 3,0,2 abc") + std::string("d\0", 2);
  ASSERT_TRUE(parse_channel_batch(payload, batch));
  EXPECT_EQ(batch.first_seq, 41u);
  EXPECT_EQ(batch.epoch, 0xffu);
  ASSERT_EQ(batch.messages.size(), 3u);
  EXPECT_EQ(batch.messages[0], "abc");
  EXPECT_EQ(batch.messages[1], "");
  EXPECT_EQ(batch.messages[2], std::string_view("d\0", 2));
  // Spaces inside messages are bytes like any other.
  ASSERT_TRUE(parse_channel_batch("7 0123456789abcdef 3 a b", batch));
  ASSERT_EQ(batch.messages.size(), 1u);
  EXPECT_EQ(batch.messages[0], "a b");
}

TEST(ChannelBatch, RefusesWhatIsNotOne) {
  ChannelBatch batch;
  for (const char* bad : {
           "",
           "1 0123456789abcdef",                            // no lengths
           "1 0123456789abcdef 3 ab",                       // shorter than its lengths
           "1 0123456789abcdef 1 ab",                       // bytes no length covers
           "1 0123456789abcdef 1,,1 ab",                    // an empty length
           "1 0123456789abcdef -1 a",                       // a sign
           "0 0123456789abcdef 1 a",                        // numbers start at 1
           "x 0123456789abcdef 1 a",                        // not a number
           "1 0123456789abcde 1 a",                         // an epoch of 15 digits
           "1 0123456789abcdeg 1 a",                        // not hex
           "18446744073709551615 0123456789abcdef 1,1 ab",  // past the last number
           "1 0123456789abcdef 99999999999999999999 a",     // a length past uint64_t
       }) {
    EXPECT_FALSE(parse_channel_batch(bad, batch)) << bad;
    EXPECT_TRUE(batch.messages.empty()) << bad;
  }
}

}  // namespace
}  // namespace herald::broker::cluster
