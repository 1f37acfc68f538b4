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

}  // namespace
}  // namespace herald::broker::cluster
