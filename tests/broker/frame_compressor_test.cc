// FrameCompressor: the compressed variant of a frame is made once and shared, small or
// incompressible frames stay plain, replay pages are compressed frame by frame, and a frame
// another worker is compressing goes out plain. Every compressed frame is inflated back.
#include "broker/net/frame_compressor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "protocol/websocket/deflate.h"
#include "protocol/websocket/frame.h"

namespace herald::broker::net {
namespace {

namespace ws = protocol::websocket;

constexpr size_t kMinBytes = 64;

SharedRef make_frames(const std::vector<std::pair<ws::Opcode, std::string>>& messages) {
  std::string bytes;
  for (const auto& [opcode, payload] : messages) {
    uint8_t header[ws::kServerFrameHeaderBytesMax];
    size_t header_bytes = ws::write_frame_header(header, opcode, payload.size());
    bytes.append(reinterpret_cast<const char*>(header), header_bytes).append(payload);
  }
  SharedRef frames = SharedRef::allocate(bytes.size());
  std::copy(bytes.begin(), bytes.end(), frames.mutable_bytes().begin());
  return frames;
}

std::string json_tick(int i) {
  return R"({"type":"msg","topic":"stocks.AAPL","seq":)" + std::to_string(1000 + i) +
         R"(,"data":{"sym":"AAPL","bid":187.25,"ask":187.27,"bid_size":300,"ask_size":1200,)"
         R"("volume":51234567,"ts":1765000000123}})";
}

struct Message {
  bool compressed;
  ws::Opcode opcode;
  std::string payload;  // inflated when compressed
};

// Reads every frame back, inflating the compressed ones as a client would (§7.2.2).
std::vector<Message> read_frames(std::span<const uint8_t> bytes) {
  std::vector<Message> out;
  while (!bytes.empty()) {
    std::optional<ws::FrameHeader> header = ws::read_frame_header(bytes);
    EXPECT_TRUE(header.has_value());
    if (!header) break;
    std::span<const uint8_t> payload = bytes.subspan(header->header_bytes, header->payload_bytes);
    Message message{header->rsv == 0x40, header->opcode, {}};
    if (message.compressed) {
      ws::Inflater inflater;
      EXPECT_EQ(inflater.inflate(payload, message.payload, 1 << 20), ws::Inflater::Status::kOk);
      EXPECT_EQ(inflater.finish_message(message.payload, 1 << 20), ws::Inflater::Status::kOk);
    } else {
      message.payload.assign(payload.begin(), payload.end());
    }
    out.push_back(std::move(message));
    bytes = bytes.subspan(header->header_bytes + header->payload_bytes);
  }
  return out;
}

uint64_t deliveries(const WorkerCounters& counters, core::DeflateDelivery kind) {
  return counters.deflate_deliveries[static_cast<size_t>(kind)].load();
}

TEST(FrameCompressorTest, CompressesABroadcastOnceAndSharesIt) {
  WorkerCounters counters;
  FrameCompressor compressor(1, kMinBytes, counters);
  SharedRef frame = make_frames({{ws::Opcode::kText, json_tick(1)}});
  SharedRef first = compressor.for_deflate(frame);
  SharedRef second = compressor.for_deflate(frame);
  ASSERT_NE(first.get(), frame.get());
  EXPECT_EQ(first.get(), second.get()) << "every deflate subscriber shares one variant";
  EXPECT_LT(first.bytes().size(), frame.bytes().size());
  EXPECT_EQ(counters.deflate_frames.load(), 1u);
  EXPECT_EQ(counters.deflate_bytes_in.load(), frame.bytes().size());
  EXPECT_EQ(counters.deflate_bytes_out.load(), first.bytes().size());
  EXPECT_EQ(deliveries(counters, core::DeflateDelivery::kCompressed), 2u);
  std::vector<Message> read = read_frames(first.bytes());
  ASSERT_EQ(read.size(), 1u);
  EXPECT_TRUE(read[0].compressed);
  EXPECT_EQ(read[0].opcode, ws::Opcode::kText);
  EXPECT_EQ(read[0].payload, json_tick(1));
}

TEST(FrameCompressorTest, TheVariantLivesAsLongAsItsFrame) {
  WorkerCounters counters;
  FrameCompressor compressor(1, kMinBytes, counters);
  SharedRef frame = make_frames({{ws::Opcode::kText, json_tick(2)}});
  SharedRef variant = compressor.for_deflate(frame);
  EXPECT_EQ(variant.get()->ref_count(), 2u);  // ours and the frame's
  frame = SharedRef();
  EXPECT_EQ(variant.get()->ref_count(), 1u);  // the frame gave its reference back
}

TEST(FrameCompressorTest, SmallAndIncompressibleFramesStayPlain) {
  WorkerCounters counters;
  FrameCompressor compressor(1, kMinBytes, counters);
  SharedRef small = make_frames({{ws::Opcode::kText, std::string(kMinBytes - 1, 'a')}});
  EXPECT_EQ(compressor.for_deflate(small).get(), small.get());
  std::mt19937 random(7);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  SharedRef incompressible = make_frames({{ws::Opcode::kBinary, noise}});
  EXPECT_EQ(compressor.for_deflate(incompressible).get(), incompressible.get());
  // Found not to shrink once: the next subscriber does not try again.
  EXPECT_EQ(compressor.for_deflate(incompressible).get(), incompressible.get());
  EXPECT_EQ(counters.deflate_frames.load(), 0u);
  EXPECT_EQ(deliveries(counters, core::DeflateDelivery::kPlain), 3u);
  // At exactly the threshold it is compressed.
  SharedRef at_min = make_frames({{ws::Opcode::kText, std::string(kMinBytes, 'a')}});
  EXPECT_NE(compressor.for_deflate(at_min).get(), at_min.get());
}

TEST(FrameCompressorTest, CompressesAReplayPageFrameByFrame) {
  WorkerCounters counters;
  FrameCompressor compressor(6, kMinBytes, counters);
  std::string big_binary(10000, 'b');
  SharedRef page = make_frames({{ws::Opcode::kText, json_tick(3)},
                                {ws::Opcode::kText, "{\"type\":\"ack\"}"},
                                {ws::Opcode::kBinary, big_binary},
                                {ws::Opcode::kText, json_tick(4)}});
  SharedRef variant = compressor.for_deflate(page);
  std::vector<Message> read = read_frames(variant.bytes());
  ASSERT_EQ(read.size(), 4u);
  EXPECT_TRUE(read[0].compressed);
  EXPECT_FALSE(read[1].compressed);
  EXPECT_TRUE(read[2].compressed);
  EXPECT_TRUE(read[3].compressed);
  EXPECT_EQ(read[0].payload, json_tick(3));
  EXPECT_EQ(read[1].payload, "{\"type\":\"ack\"}");
  EXPECT_EQ(read[2].opcode, ws::Opcode::kBinary);
  EXPECT_EQ(read[2].payload, big_binary);
  EXPECT_EQ(read[3].payload, json_tick(4));
  EXPECT_EQ(counters.deflate_frames.load(), 3u);
}

TEST(FrameCompressorTest, LeavesControlAndFragmentedFramesAlone) {
  WorkerCounters counters;
  FrameCompressor compressor(1, 0, counters);
  std::string text(100, 'c');
  // A Close frame and a two-frame fragmented message: RSV1 may mark neither a control frame
  // nor a message this side did not compress from its first frame.
  uint8_t first[ws::kServerFrameHeaderBytesMax];
  size_t first_bytes = ws::write_frame_header(first, ws::Opcode::kText, text.size(), false);
  uint8_t last[ws::kServerFrameHeaderBytesMax];
  size_t last_bytes = ws::write_frame_header(last, ws::Opcode::kContinuation, text.size());
  std::string bytes = std::string("\x88\x02\x03\xe8", 4);
  bytes.append(reinterpret_cast<const char*>(first), first_bytes).append(text);
  bytes.append(reinterpret_cast<const char*>(last), last_bytes).append(text);
  SharedRef frames = SharedRef::allocate(bytes.size());
  std::copy(bytes.begin(), bytes.end(), frames.mutable_bytes().begin());
  EXPECT_EQ(compressor.for_deflate(frames).get(), frames.get());
  EXPECT_EQ(counters.deflate_frames.load(), 0u);
}

TEST(FrameCompressorTest, AFrameBeingCompressedElsewhereGoesPlain) {
  WorkerCounters counters;
  FrameCompressor compressor(1, kMinBytes, counters);
  SharedRef frame = make_frames({{ws::Opcode::kText, json_tick(5)}});
  SharedRef unused;
  ASSERT_EQ(frame.variant(unused), SharedRef::Variant::kYours);  // another worker claims it
  EXPECT_EQ(compressor.for_deflate(frame).get(), frame.get());
  EXPECT_EQ(deliveries(counters, core::DeflateDelivery::kPlain), 1u);
  frame.publish_variant(SharedRef());  // it found nothing to gain
  EXPECT_EQ(frame.variant(unused), SharedRef::Variant::kAbsent);
}

TEST(FrameCompressorTest, WorkersRacingForOneFrameCompressItOnce) {
  for (int round = 0; round < 50; ++round) {
    SharedRef frame = make_frames({{ws::Opcode::kText, json_tick(round)}});
    WorkerCounters counters[2];
    std::vector<SharedRef> got[2];
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        FrameCompressor compressor(1, kMinBytes, counters[t]);
        for (int i = 0; i < 100; ++i) got[t].push_back(compressor.for_deflate(frame));
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(counters[0].deflate_frames.load() + counters[1].deflate_frames.load(), 1u);
    SharedRef variant;
    ASSERT_EQ(frame.variant(variant), SharedRef::Variant::kReady);
    for (const std::vector<SharedRef>& refs : got) {
      for (const SharedRef& ref : refs) {
        EXPECT_TRUE(ref.get() == frame.get() || ref.get() == variant.get());
      }
    }
  }
}

}  // namespace
}  // namespace herald::broker::net
