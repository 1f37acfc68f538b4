// Frame header writers against the byte literals of RFC 6455 §5.7 and the length encodings
// of §5.2.
#include "protocol/websocket/frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

namespace herald::protocol::websocket {
namespace {

std::vector<uint8_t> header(Opcode opcode, uint64_t payload_bytes, bool fin = true) {
  std::vector<uint8_t> out(kServerFrameHeaderBytesMax);
  out.resize(write_frame_header(out.data(), opcode, payload_bytes, fin));
  return out;
}

std::vector<uint8_t> masked_header(Opcode opcode, uint64_t payload_bytes,
                                   const std::vector<uint8_t>& key_bytes, bool fin = true) {
  uint32_t key = 0;
  std::memcpy(&key, key_bytes.data(), sizeof(key));
  std::vector<uint8_t> out(kClientFrameHeaderBytesMax);
  out.resize(write_masked_frame_header(out.data(), opcode, payload_bytes, key, fin));
  return out;
}

TEST(FrameTest, ControlOpcodesHaveTheHighBitSet) {
  EXPECT_TRUE(is_control(Opcode::kClose));
  EXPECT_TRUE(is_control(Opcode::kPing));
  EXPECT_TRUE(is_control(Opcode::kPong));
  EXPECT_FALSE(is_control(Opcode::kContinuation));
  EXPECT_FALSE(is_control(Opcode::kText));
  EXPECT_FALSE(is_control(Opcode::kBinary));
}

TEST(FrameTest, WritesTheRfcExampleHeaders) {
  // §5.7: single-frame unmasked text, fragments, ping, 256-byte and 64 KiB binary.
  EXPECT_EQ(header(Opcode::kText, 5), (std::vector<uint8_t>{0x81, 0x05}));
  EXPECT_EQ(header(Opcode::kText, 3, false), (std::vector<uint8_t>{0x01, 0x03}));
  EXPECT_EQ(header(Opcode::kContinuation, 2), (std::vector<uint8_t>{0x80, 0x02}));
  EXPECT_EQ(header(Opcode::kPing, 5), (std::vector<uint8_t>{0x89, 0x05}));
  EXPECT_EQ(header(Opcode::kBinary, 256), (std::vector<uint8_t>{0x82, 0x7E, 0x01, 0x00}));
  EXPECT_EQ(header(Opcode::kBinary, 65536),
            (std::vector<uint8_t>{0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
}

TEST(FrameTest, UsesTheMinimalLengthEncoding) {
  EXPECT_EQ(header(Opcode::kBinary, 0), (std::vector<uint8_t>{0x82, 0x00}));
  EXPECT_EQ(header(Opcode::kBinary, 125), (std::vector<uint8_t>{0x82, 0x7D}));
  EXPECT_EQ(header(Opcode::kBinary, 126), (std::vector<uint8_t>{0x82, 0x7E, 0x00, 0x7E}));
  EXPECT_EQ(header(Opcode::kBinary, 65535), (std::vector<uint8_t>{0x82, 0x7E, 0xFF, 0xFF}));
  EXPECT_EQ(header(Opcode::kBinary, 0x0123456789ABCDEF),
            (std::vector<uint8_t>{0x82, 0x7F, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}));
  EXPECT_EQ(header(Opcode::kClose, 2), (std::vector<uint8_t>{0x88, 0x02}));
}

TEST(FrameTest, WritesTheMaskKeyInWireOrder) {
  // §5.7: masked "Hello" begins 0x81 0x85 0x37 0xfa 0x21 0x3d.
  std::vector<uint8_t> key = {0x37, 0xfa, 0x21, 0x3d};
  EXPECT_EQ(masked_header(Opcode::kText, 5, key),
            (std::vector<uint8_t>{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
  EXPECT_EQ(masked_header(Opcode::kPong, 5, key),
            (std::vector<uint8_t>{0x8A, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
  EXPECT_EQ(masked_header(Opcode::kBinary, 300, key, false),
            (std::vector<uint8_t>{0x02, 0xFE, 0x01, 0x2C, 0x37, 0xfa, 0x21, 0x3d}));
  std::vector<uint8_t> longest = masked_header(Opcode::kBinary, 70000, key);
  EXPECT_EQ(longest.size(), kClientFrameHeaderBytesMax);
  EXPECT_EQ(longest, (std::vector<uint8_t>{0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70, 0x37, 0xfa,
                                           0x21, 0x3d}));
}

TEST(FrameTest, ReadsBackTheHeadersItWrites) {
  for (uint64_t size : {0u, 5u, 125u, 126u, 65535u, 65536u}) {
    std::vector<uint8_t> frame = header(Opcode::kBinary, size);
    const size_t header_bytes = frame.size();
    frame.resize(header_bytes + size, 0x5A);
    std::optional<FrameHeader> read = read_frame_header(frame);
    ASSERT_TRUE(read.has_value()) << size;
    EXPECT_EQ(read->opcode, Opcode::kBinary);
    EXPECT_TRUE(read->fin);
    EXPECT_EQ(read->rsv, 0);
    EXPECT_EQ(read->header_bytes, header_bytes);
    EXPECT_EQ(read->payload_bytes, size);
    // One byte short of the announced payload: not a whole frame.
    frame.pop_back();
    EXPECT_FALSE(read_frame_header(frame).has_value()) << size;
  }
  // §5.7's first fragment and RFC 7692 §7.2.3.1's compressed "Hello" (RSV1 set).
  std::vector<uint8_t> fragment = {0x01, 0x03, 'H', 'e', 'l'};
  EXPECT_FALSE(read_frame_header(fragment)->fin);
  std::vector<uint8_t> hello = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
  EXPECT_EQ(read_frame_header(hello)->rsv, 0x40);
  EXPECT_EQ(read_frame_header(hello)->opcode, Opcode::kText);
}

TEST(FrameTest, PeeksAHeaderBeforeItsPayloadArrives) {
  const std::vector<uint8_t> key = {0x37, 0xfa, 0x21, 0x3d};
  for (uint64_t size : {0u, 125u, 300u, 70000u}) {
    for (bool masked : {false, true}) {
      std::vector<uint8_t> bytes =
          masked ? masked_header(Opcode::kText, size, key) : header(Opcode::kText, size);
      const size_t header_bytes = bytes.size();
      std::optional<FrameHeader> peeked = peek_frame_header(bytes);
      ASSERT_TRUE(peeked.has_value()) << size;
      EXPECT_EQ(peeked->masked, masked);
      EXPECT_EQ(peeked->header_bytes, header_bytes);
      EXPECT_EQ(peeked->payload_bytes, size);
      // A byte of the header missing (the key included): wait for it.
      bytes.pop_back();
      EXPECT_FALSE(peek_frame_header(bytes).has_value()) << size << masked;
    }
  }
}

TEST(FrameTest, RefusesMaskedOrTruncatedHeaders) {
  EXPECT_FALSE(read_frame_header(std::vector<uint8_t>{0x81}).has_value());
  EXPECT_FALSE(read_frame_header(std::vector<uint8_t>{0x82, 0x7E, 0x01}).has_value());
  EXPECT_FALSE(read_frame_header(std::vector<uint8_t>{0x82, 0x7F, 0, 0, 0, 0}).has_value());
  std::vector<uint8_t> masked = masked_header(Opcode::kText, 0, {1, 2, 3, 4});
  EXPECT_FALSE(read_frame_header(masked).has_value());
  // A 64-bit length far past the buffer (the subtraction must not wrap).
  EXPECT_FALSE(read_frame_header(
                   std::vector<uint8_t>{0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
                   .has_value());
}

}  // namespace
}  // namespace herald::protocol::websocket
