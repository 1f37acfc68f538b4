// The permessage-deflate payloads in byte literals: the examples of RFC 7692 §7.2.3 inflated,
// bounded inflation of a bomb, corrupt streams, and Deflater's frames inflated back from 0 B to
// 1 MiB; a client's compressed payloads, masked, read back by a server's MessageParser.
#include "protocol/websocket/deflate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/websocket/message_parser.h"
#include "protocol/websocket/unmask.h"
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

Bytes compress(Deflater& deflater, std::string_view payload) {
  Bytes out(Deflater::compressed_bytes_max(payload.size()));
  const size_t size =
      deflater.compress({reinterpret_cast<const uint8_t*>(payload.data()), payload.size()}, out);
  EXPECT_GT(size, 0u);
  out.resize(size);
  return out;
}

// A masked client frame (RFC 6455 §5.3) holding `payload`, RSV1 set when `compressed`.
Bytes client_frame(Opcode opcode, const Bytes& payload, uint32_t mask_key, bool compressed,
                   bool fin = true) {
  Bytes frame(kClientFrameHeaderBytesMax + payload.size());
  const size_t header = write_masked_frame_header(frame.data(), opcode, payload.size(), mask_key);
  if (compressed) frame[0] |= 0x40;
  if (!fin) frame[0] &= 0x7F;
  std::copy(payload.begin(), payload.end(), frame.begin() + static_cast<std::ptrdiff_t>(header));
  // Masking is its own inverse: the server's unmask kernel masks in the key's wire order.
  unmask(frame.data() + header, payload.size(), mask_key, 0);
  frame.resize(header + payload.size());
  return frame;
}

// The messages a server's parser with permessage-deflate on reads from `bytes`.
std::vector<std::string> server_reads(Bytes bytes, uint64_t limit = kLimit) {
  MessageParser parser(Role::kServer, limit);
  parser.enable_deflate(false);
  parser.receive(bytes);
  std::vector<std::string> messages;
  for (ParserEvent event = parser.next(); event.kind != ParserEvent::Kind::kNeedMore;
       event = parser.next()) {
    if (event.kind == ParserEvent::Kind::kError) {
      messages.push_back("error " + std::to_string(static_cast<int>(event.code)));
      break;
    }
    messages.emplace_back(event.payload.begin(), event.payload.end());
  }
  return messages;
}

TEST(DeflaterCompress, HelloIsTheRfcPayload) {
  Deflater deflater(6);
  // §7.2.3.1: "Hello" compressed, without the frame header, and the same again: no context
  // carries over from one message to the next.
  EXPECT_EQ(compress(deflater, "Hello"), (Bytes{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  EXPECT_EQ(compress(deflater, "Hello"), (Bytes{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  EXPECT_EQ(compress(deflater, ""), (Bytes{0x00}));
  // The same bytes as the server frame's payload.
  EXPECT_EQ(compress(deflater, "Hello"), frame_payload(deflate_frame(deflater, "Hello")));
}

TEST(DeflaterCompress, MaskedClientFrameOfTheRfcExample) {
  Deflater deflater(6);
  // §7.2.3.1's frame as a client sends it: FIN, RSV1, text, MASK, 7 bytes, a zero key.
  const Bytes frame = client_frame(Opcode::kText, compress(deflater, "Hello"), 0, true);
  EXPECT_EQ(frame, (Bytes{0xc1, 0x87, 0, 0, 0, 0, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  EXPECT_EQ(server_reads(frame), std::vector<std::string>{"Hello"});
  // With a real key the server reads the same message.
  EXPECT_EQ(
      server_reads(client_frame(Opcode::kText, compress(deflater, "Hello"), 0x37fa213d, true)),
      std::vector<std::string>{"Hello"});
}

TEST(DeflaterCompress, FragmentedAndMixedWithUncompressedMessages) {
  Deflater deflater(1);
  std::string text;
  for (int i = 0; i < 500; ++i)
    text += "{\"sym\":\"AAPL\",\"px\":" + std::to_string(180 + i) + "},";
  const Bytes compressed = compress(deflater, text);
  ASSERT_LT(compressed.size(), text.size() / 4);
  // §6.1: RSV1 on the first frame only; the continuation carries the rest of the stream.
  const size_t half = compressed.size() / 2;
  Bytes stream = client_frame(Opcode::kText, Bytes(compressed.begin(), compressed.begin() + half),
                              0x01020304, true, false);
  const Bytes rest = client_frame(
      Opcode::kContinuation, Bytes(compressed.begin() + half, compressed.end()), 0x05060708, false);
  stream.insert(stream.end(), rest.begin(), rest.end());
  // A small message goes uncompressed, RSV1 clear, on the same connection (§6).
  const Bytes small = client_frame(Opcode::kText, Bytes{'h', 'i'}, 0x11223344, false);
  stream.insert(stream.end(), small.begin(), small.end());
  const Bytes again = client_frame(Opcode::kBinary, compress(deflater, "Hello"), 0x55667788, true);
  stream.insert(stream.end(), again.begin(), again.end());
  EXPECT_EQ(server_reads(stream), (std::vector<std::string>{text, "hi", "Hello"}));
}

TEST(DeflaterCompress, AnIncompressibleMessageAtTheLimitFits) {
  // Random bytes deflate to stored blocks, a little longer than themselves: the limit is on
  // the message (inflated), so one of exactly the limit is read, and one byte more is 1009.
  constexpr uint64_t kSmallLimit = 256 << 10;
  std::mt19937_64 random(herald::test_support::test_seed());
  std::string payload(kSmallLimit, '\0');
  for (char& c : payload) c = static_cast<char>(random());
  Deflater deflater(1);
  const Bytes at_limit = compress(deflater, payload);
  ASSERT_GT(at_limit.size(), kSmallLimit);
  EXPECT_EQ(server_reads(client_frame(Opcode::kBinary, at_limit, 0x01020304, true), kSmallLimit),
            std::vector<std::string>{payload});
  payload.push_back('!');
  EXPECT_EQ(
      server_reads(client_frame(Opcode::kBinary, compress(deflater, payload), 0x01020304, true),
                   kSmallLimit),
      std::vector<std::string>{"error 1009"});
}

TEST(DeflaterCompress, SmallerWindowsRoundTrip) {
  const uint64_t seed = herald::test_support::test_seed();
  std::mt19937_64 random(seed);
  std::string payload(size_t{200} << 10, '\0');
  // Repeats far apart (beyond a small window) and near.
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>(i % 4096 < 2048 ? "0123456789abcdef"[random() % 16] : 'x');
  }
  for (int bits = kDeflateWindowBitsMin; bits <= 15; ++bits) {
    Deflater deflater(6, bits);
    Inflater inflater;
    EXPECT_EQ(inflate_message(inflater, {compress(deflater, payload)}), payload)
        << "seed " << seed << " window bits " << bits;
  }
}

}  // namespace
}  // namespace herald::protocol::websocket
