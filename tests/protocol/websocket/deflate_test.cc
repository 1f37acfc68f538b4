// The permessage-deflate payloads in byte literals: the examples of RFC 7692 §7.2.3 inflated,
// bounded inflation of a bomb, corrupt streams, and Deflater's frames inflated back from 0 B to
// 1 MiB.
#include "protocol/websocket/deflate.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/test_seed.h"

namespace herald::protocol::websocket {
namespace {

using Bytes = std::vector<uint8_t>;
using Status = Inflater::Status;

constexpr uint64_t kLimit = uint64_t{16} << 20;

// Inflates one message given as pieces, ending it as §7.2.2 says.
std::string inflate_message(Inflater& inflater, std::initializer_list<Bytes> pieces,
                            Status expected = Status::kOk, uint64_t limit = kLimit) {
  std::string out;
  Status status = Status::kOk;
  for (const Bytes& piece : pieces) {
    status = inflater.inflate(piece, out, limit);
    if (status != Status::kOk) break;
  }
  if (status == Status::kOk) status = inflater.finish_message(out, limit);
  EXPECT_EQ(status, expected);
  return out;
}

// The payload of a server frame: the header is 2, 4 or 10 bytes by the 7-bit length.
Bytes frame_payload(const Bytes& frame) {
  const uint8_t length = frame[1] & 0x7F;
  const size_t header = length == 126 ? 4 : length == 127 ? 10 : 2;
  return Bytes(frame.begin() + static_cast<std::ptrdiff_t>(header), frame.end());
}

Bytes deflate_frame(Deflater& deflater, std::string_view payload, Opcode opcode = Opcode::kText) {
  Bytes frame(Deflater::frame_bytes_max(payload.size()));
  const size_t size = deflater.write_frame(
      frame, opcode, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
  EXPECT_GT(size, 0u);
  frame.resize(size);
  return frame;
}

TEST(Inflater, Rfc7692Section7_2_3Examples) {
  Inflater inflater;
  // §7.2.3.1: "Hello" in one compressed frame, and (§7.2.3.1 too) in two fragments.
  EXPECT_EQ(inflate_message(inflater, {{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}), "Hello");
  inflater.reset();
  EXPECT_EQ(inflate_message(inflater, {{0xf2, 0x48, 0xcd}, {0xc9, 0xc9, 0x07, 0x00}}), "Hello");
  inflater.reset();
  // §7.2.3.2: the second "Hello" refers to the first through the shared window.
  EXPECT_EQ(inflate_message(inflater, {{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}), "Hello");
  EXPECT_EQ(inflate_message(inflater, {{0xf2, 0x00, 0x11, 0x00, 0x00}}), "Hello");
  inflater.reset();
  // §7.2.3.3: a stored block.
  EXPECT_EQ(inflate_message(inflater,
                            {{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}}),
            "Hello");
  inflater.reset();
  // §7.2.3.4: a block with BFINAL set; the stream must then start again.
  EXPECT_EQ(inflate_message(inflater, {{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}}), "Hello");
  EXPECT_TRUE(inflater.stream_ended());
  inflater.reset();
  EXPECT_FALSE(inflater.stream_ended());
  // §7.2.3.5: two blocks in one message.
  EXPECT_EQ(inflate_message(inflater, {{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9,
                                        0xc9, 0x07, 0x00}}),
            "Hello");
  inflater.reset();
  // An empty message: §7.2.1's empty stored block without its last 4 bytes.
  EXPECT_EQ(inflate_message(inflater, {{0x00}}), "");
}

TEST(Inflater, WithoutTheSharedWindowTheSecondMessageIsCorrupt) {
  Inflater inflater;
  inflate_message(inflater, {{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}});
  inflater.reset();
  // A distance back into a window that was forgotten.
  inflate_message(inflater, {{0xf2, 0x00, 0x11, 0x00, 0x00}}, Status::kCorrupt);
}

TEST(Inflater, CorruptStreams) {
  for (const Bytes& bad :
       {Bytes{0x06}, Bytes{0xff, 0xff, 0xff, 0xff}, Bytes{0x00, 0x05, 0x00, 0x00, 0x00, 0x48}}) {
    Inflater inflater;
    inflate_message(inflater, {bad}, Status::kCorrupt);
  }
}

TEST(Inflater, OneByteAtATime) {
  Deflater deflater(6);
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "{\"bid\":" + std::to_string(i) + "}";
  const Bytes payload = frame_payload(deflate_frame(deflater, text));
  Inflater inflater;
  std::string out;
  for (uint8_t byte : payload) ASSERT_EQ(inflater.inflate(Bytes{byte}, out, kLimit), Status::kOk);
  ASSERT_EQ(inflater.finish_message(out, kLimit), Status::kOk);
  EXPECT_EQ(out, text);
}

TEST(Inflater, BombStopsAtTheLimit) {
  Deflater deflater(9);
  const std::string zeros(size_t{16} << 20, '\0');  // 16 MiB deflates to about 16 KiB
  const Bytes payload = frame_payload(deflate_frame(deflater, zeros));
  ASSERT_LT(payload.size(), size_t{32} << 10);
  constexpr uint64_t kSmallLimit = uint64_t{1} << 20;
  Inflater inflater;
  std::string out;
  EXPECT_EQ(inflater.inflate(payload, out, kSmallLimit), Status::kTooBig);
  EXPECT_LE(out.size(), kSmallLimit + 1);
  // Exactly at the limit is allowed.
  const std::string exact(kSmallLimit, 'a');
  Inflater second;
  out.clear();
  EXPECT_EQ(inflate_message(second, {frame_payload(deflate_frame(deflater, exact))}, Status::kOk,
                            kSmallLimit),
            exact);
  Inflater third;
  inflate_message(third, {frame_payload(deflate_frame(deflater, exact + "a"))}, Status::kTooBig,
                  kSmallLimit);
}

TEST(Deflater, HelloIsTheRfcFrame) {
  Deflater deflater(6);
  // §7.2.3.1's compressed "Hello" in a text frame with FIN and RSV1.
  EXPECT_EQ(deflate_frame(deflater, "Hello"),
            (Bytes{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  // The stream does not carry over: the same message gives the same frame.
  EXPECT_EQ(deflate_frame(deflater, "Hello"),
            (Bytes{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  EXPECT_EQ(deflate_frame(deflater, "", Opcode::kBinary), (Bytes{0xc2, 0x01, 0x00}));
}

TEST(Deflater, RoundTripFromZeroBytesToOneMebibyte) {
  const uint64_t seed = herald::test_support::test_seed();
  std::mt19937_64 random(seed);
  for (int level : {1, 6, 9}) {
    Deflater deflater(level);
    for (size_t size : {size_t{0}, size_t{1}, size_t{125}, size_t{126}, size_t{300}, size_t{65535},
                        size_t{65536}, size_t{1} << 20}) {
      for (bool compressible : {true, false}) {
        std::string payload(size, '\0');
        for (size_t i = 0; i < size; ++i) {
          payload[i] = static_cast<char>(compressible ? "{\"bid\":189.3}"[i % 13] : random());
        }
        const Bytes frame = deflate_frame(deflater, payload, Opcode::kBinary);
        ASSERT_EQ(frame[0], 0xc2);
        EXPECT_LE(frame.size(), Deflater::frame_bytes_max(size));
        Inflater inflater;
        EXPECT_EQ(inflate_message(inflater, {frame_payload(frame)}), payload)
            << "seed " << seed << " level " << level << " size " << size;
      }
    }
  }
}

}  // namespace
}  // namespace herald::protocol::websocket
