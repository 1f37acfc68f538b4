// permessage-deflate payloads (RFC 7692 §7.2) through zlib's raw DEFLATE streams: bounded
// streaming inflation and whole-message compression into a server frame. No I/O.
#include "protocol/websocket/deflate.h"

#include <zlib.h>

#include <array>
#include <cassert>
#include <cstring>

namespace herald::protocol::websocket {
namespace {

// Negative window bits select raw DEFLATE (no zlib header or checksum), which is what the
// extension carries; 15 is the largest window, able to read any smaller one.
constexpr int kRawWindowBits = -15;
constexpr int kMemoryLevel = 8;  // zlib's default
// §7.2.1: a sync flush ends the data with an empty stored block, whose last 4 bytes the sender
// removes and the receiver appends again (§7.2.2).
constexpr std::array<uint8_t, 4> kTail = {0x00, 0x00, 0xff, 0xff};
// The most output one inflate() call produces before it is appended to the message.
constexpr size_t kInflateStepBytes = 16384;
constexpr uint8_t kRsv1Bit = 0x40;

}  // namespace

struct Inflater::Stream {
  z_stream z{};
  bool initialized = false;
  bool ended = false;
};

Inflater::Inflater() : stream_(std::make_unique<Stream>()) {
  stream_->initialized = inflateInit2(&stream_->z, kRawWindowBits) == Z_OK;
}

Inflater::~Inflater() {
  if (stream_->initialized) inflateEnd(&stream_->z);
}

Inflater::Status Inflater::inflate(std::span<const uint8_t> input, std::string& out,
                                   uint64_t out_bytes_max) {
  if (!stream_->initialized) return Status::kNoMemory;
  z_stream& z = stream_->z;
  // zlib does not write through next_in; its API predates const.
  z.next_in = const_cast<Bytef*>(input.data());
  z.avail_in = static_cast<uInt>(input.size());
  assert(input.size() == z.avail_in);  // pieces are frames or reads, far below 4 GiB
  // Output goes through a small buffer and is appended, so each call costs what it produces:
  // growing `out` in place would fill fresh bytes first, which a peer could make us repeat for
  // every tiny frame of a large message. zlib is called until it has consumed the input and
  // stopped short of a full buffer: with a full one it may hold more output (a long match).
  std::array<uint8_t, kInflateStepBytes> buffer;
  while (!stream_->ended) {
    if (out.size() > out_bytes_max) return Status::kTooBig;
    // One byte past the limit is room enough to see the limit crossed.
    const uint64_t room = out_bytes_max - out.size();
    const size_t step = room < buffer.size() ? static_cast<size_t>(room) + 1 : buffer.size();
    z.next_out = buffer.data();
    z.avail_out = static_cast<uInt>(step);
    const int rc = ::inflate(&z, Z_NO_FLUSH);
    const bool full = z.avail_out == 0;
    out.append(reinterpret_cast<const char*>(buffer.data()), step - z.avail_out);
    if (out.size() > out_bytes_max) return Status::kTooBig;
    if (rc == Z_STREAM_END) {
      stream_->ended = true;
      break;
    }
    if (rc == Z_BUF_ERROR) break;  // no progress possible: all input consumed
    if (rc == Z_MEM_ERROR) return Status::kNoMemory;
    if (rc != Z_OK) return Status::kCorrupt;  // Z_DATA_ERROR; Z_NEED_DICT never for raw
    if (z.avail_in == 0 && !full) break;
  }
  z.next_in = nullptr;
  z.avail_in = 0;
  return Status::kOk;
}

Inflater::Status Inflater::finish_message(std::string& out, uint64_t out_bytes_max) {
  return inflate(kTail, out, out_bytes_max);
}

void Inflater::reset() {
  if (stream_->initialized) inflateReset(&stream_->z);
  stream_->ended = false;
}

bool Inflater::stream_ended() const { return stream_->ended; }

struct Deflater::Stream {
  z_stream z{};
  bool initialized = false;
};

Deflater::Deflater(int level) : Deflater(level, -kRawWindowBits) {}

Deflater::Deflater(int level, int window_bits) : stream_(std::make_unique<Stream>()) {
  assert(level >= 1 && level <= 9);
  assert(window_bits >= kDeflateWindowBitsMin && window_bits <= -kRawWindowBits);
  stream_->initialized = deflateInit2(&stream_->z, level, Z_DEFLATED, -window_bits, kMemoryLevel,
                                      Z_DEFAULT_STRATEGY) == Z_OK;
}

Deflater::~Deflater() {
  if (stream_->initialized) deflateEnd(&stream_->z);
}

size_t Deflater::frame_bytes_max(size_t payload_bytes) {
  // compressBound() covers zlib's worst case (stored blocks) plus a 6-byte zlib wrapper that
  // raw DEFLATE does not write; the sync flush adds an empty stored block of at most 5 bytes.
  return kServerFrameHeaderBytesMax + compressBound(static_cast<uLong>(payload_bytes)) + 8;
}

size_t Deflater::compressed_bytes_max(size_t payload_bytes) {
  return frame_bytes_max(payload_bytes) - kServerFrameHeaderBytesMax;
}

size_t Deflater::compress(std::span<const uint8_t> payload, std::span<uint8_t> out) {
  assert(out.size() >= compressed_bytes_max(payload.size()));
  if (!stream_->initialized) return 0;
  z_stream& z = stream_->z;
  deflateReset(&z);  // no context takeover: every message is a stream of its own
  z.next_in = const_cast<Bytef*>(payload.data());
  z.avail_in = static_cast<uInt>(payload.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_SYNC_FLUSH);
  const size_t produced = static_cast<size_t>(z.next_out - out.data());
  z.next_in = nullptr;
  z.avail_in = 0;
  if (rc != Z_OK || z.avail_out == 0 || produced < kTail.size()) return 0;
  // §7.2.1: the sync flush ended the data with 0x00 0x00 0xff 0xff; the frame leaves it out.
  assert(std::memcmp(out.data() + produced - kTail.size(), kTail.data(), kTail.size()) == 0);
  return produced - kTail.size();
}

size_t Deflater::write_frame(std::span<uint8_t> out, Opcode opcode,
                             std::span<const uint8_t> payload) {
  assert(out.size() >= frame_bytes_max(payload.size()));
  // Compress after the longest header, then slide the data down once its length is known.
  uint8_t* data = out.data() + kServerFrameHeaderBytesMax;
  const size_t payload_bytes = compress(payload, out.subspan(kServerFrameHeaderBytesMax));
  if (payload_bytes == 0) return 0;
  const size_t header_bytes = frame_header_bytes(payload_bytes);
  std::memmove(out.data() + header_bytes, data, payload_bytes);
  write_frame_header(out.data(), opcode, payload_bytes);
  out[0] |= kRsv1Bit;  // RFC 7692 §6: RSV1 marks a compressed message on its first frame
  return header_bytes + payload_bytes;
}

}  // namespace herald::protocol::websocket
