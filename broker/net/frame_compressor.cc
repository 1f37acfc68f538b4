// Compressed variants of queued frames (RFC 7692 §7.2.1, server_no_context_takeover).
#include "broker/net/frame_compressor.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <span>

#include "protocol/websocket/frame.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;

namespace {

// Whether `header` starts a message this side may compress: a whole text or binary message
// (the broker never fragments what it sends) with no RSV bit already in use.
bool compressible(const ws::FrameHeader& header, size_t min_bytes) {
  return header.fin && header.rsv == 0 && header.payload_bytes >= min_bytes &&
         (header.opcode == ws::Opcode::kText || header.opcode == ws::Opcode::kBinary);
}

// Calls `each(header, frame)` for every frame of `frames`; false when one is not a whole
// unmasked frame (then nothing is compressed).
template <typename Each>
bool for_each_frame(std::span<const uint8_t> frames, Each&& each) {
  while (!frames.empty()) {
    std::optional<ws::FrameHeader> header = ws::read_frame_header(frames);
    if (!header) return false;
    const size_t size = header->header_bytes + header->payload_bytes;
    each(*header, frames.first(size));
    frames = frames.subspan(size);
  }
  return true;
}

}  // namespace

FrameCompressor::FrameCompressor(int level, size_t min_bytes, WorkerCounters& counters)
    : level_(level), min_bytes_(min_bytes), counters_(counters) {}

FrameCompressor::~FrameCompressor() = default;

SharedRef FrameCompressor::for_deflate(const SharedRef& frames) {
  // Most small broadcasts stop here, before the variant's shared state is touched.
  if (frames.bytes().size() < min_bytes_ + 2) {
    counters_.count_deflate_delivery(core::DeflateDelivery::kPlain);
    return frames;
  }
  SharedRef variant;
  switch (frames.variant(variant)) {
    case SharedRef::Variant::kReady:
      break;
    case SharedRef::Variant::kYours:
      variant = compress(frames);
      frames.publish_variant(variant);
      break;
    case SharedRef::Variant::kAbsent:
    case SharedRef::Variant::kBusy:
      break;
  }
  if (!variant) {
    counters_.count_deflate_delivery(core::DeflateDelivery::kPlain);
    return frames;
  }
  counters_.count_deflate_delivery(core::DeflateDelivery::kCompressed);
  return variant;
}

SharedRef FrameCompressor::compress(const SharedRef& frames) {
  const auto started = std::chrono::steady_clock::now();
  size_t bound = 0;
  bool any = false;
  const bool whole = for_each_frame(
      frames.bytes(), [&](const ws::FrameHeader& header, std::span<const uint8_t> frame) {
        const bool compress = compressible(header, min_bytes_);
        any = any || compress;
        bound += compress ? ws::Deflater::frame_bytes_max(header.payload_bytes) : frame.size();
      });
  if (!whole || !any) return {};
  if (!deflater_) deflater_ = std::make_unique<ws::Deflater>(level_);

  SharedRef out = SharedRef::allocate(bound);
  std::span<uint8_t> to = out.mutable_bytes();
  size_t written = 0;
  size_t gained = 0;
  for_each_frame(frames.bytes(),
                 [&](const ws::FrameHeader& header, std::span<const uint8_t> frame) {
                   size_t size = 0;
                   if (compressible(header, min_bytes_)) {
                     size = deflater_->write_frame(to.subspan(written), header.opcode,
                                                   frame.subspan(header.header_bytes));
                     if (size >= frame.size())
                       size = 0;  // no smaller: the plain frame serves better
                   }
                   if (size > 0) {
                     ++counters_.deflate_frames;
                     counters_.deflate_bytes_in += frame.size();
                     counters_.deflate_bytes_out += size;
                     gained += frame.size() - size;
                   } else {
                     std::memcpy(to.data() + written, frame.data(), frame.size());
                     size = frame.size();
                   }
                   written += size;
                 });
  const auto spent = std::chrono::steady_clock::now() - started;
  counters_.deflate_ns +=
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(spent).count());
  if (gained == 0) return {};
  out.shrink(written);
  return out;
}

}  // namespace herald::broker::net
