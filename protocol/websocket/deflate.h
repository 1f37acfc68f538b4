// The permessage-deflate payload transforms of RFC 7692 §7.2 over zlib: a streaming, bounded
// inflater for client messages and a whole-message compressor that writes shared server frames.
// Sans-I/O and single-threaded: each object belongs to one session or one worker.
//
// Library: zlib for both. Inflating must stream (a message arrives in pieces, across frames and
// reads) and stop after a bounded amount of output; libdeflate only inflates whole buffers into
// a buffer of known size. For compressing, tests/bench/deflate_bench.cc finds libdeflate 1.0x to
// 1.7x faster with a 3-10% smaller output (README, "Measured figures"), but it always ends with
// a final block (BFINAL, RFC 7692 §7.2.3.4), which every client must accept yet few are tested
// against, while zlib's sync flush gives the frames all clients see from other servers. The
// compression is made once per broadcast, not per subscriber, so zlib stays until the
// integration tests have shown Chromium, ws and python-websockets reading libdeflate's frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "protocol/websocket/frame.h"

namespace herald::protocol::websocket {

// The smallest window Deflater can compress with (zlib's raw DEFLATE needs 9 bits or more).
inline constexpr int kDeflateWindowBitsMin = 9;

// Inflates the messages of one connection (RFC 7692 §7.2.2). zlib allocates about 7 KiB of
// state at construction and a 32 KiB window with the first output; the session creates an
// Inflater with the first compressed message and, without context takeover, frees it when the
// connection goes idle (MessageParser::shrink()).
class Inflater {
 public:
  enum class Status : uint8_t {
    kOk,
    kTooBig,    // the output would exceed its limit: close 1009
    kCorrupt,   // not a valid DEFLATE stream: close 1007
    kNoMemory,  // zlib could not allocate: close 1011
  };

  Inflater();
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates the next piece of a compressed message, appending to `out`. Fails with kTooBig as
  // soon as `out` would grow past `out_bytes_max`, so a decompression bomb costs at most
  // out_bytes_max + 1 bytes of output. Input after the end of a final block is ignored.
  [[nodiscard]] Status inflate(std::span<const uint8_t> input, std::string& out,
                               uint64_t out_bytes_max);
  // Ends a message: inflates the 0x00 0x00 0xff 0xff the sender removed (§7.2.2).
  [[nodiscard]] Status finish_message(std::string& out, uint64_t out_bytes_max);
  // Forgets the window: the next message starts a new stream (no context takeover), as it must
  // after a block with BFINAL set.
  void reset();
  // The last message ended with a final block (BFINAL): the stream must be reset.
  [[nodiscard]] bool stream_ended() const;

 private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
};

// Compresses whole messages for server_no_context_takeover (§7.1.1.1, §7.2.1): every message is
// a fresh raw DEFLATE stream, so one broadcast is compressed once and its frame is shared by
// every subscriber that negotiated the extension. Holds zlib's compressor (about 270 KiB at
// memory level 8): keep one per worker and level. A client compresses the same way (compress()),
// which it may always do (§7.1.1.2), so it keeps no window between messages either.
class Deflater {
 public:
  // `level`: zlib's 1 (fastest) to 9 (smallest).
  explicit Deflater(int level);
  // With an LZ77 window of 2^`window_bits` bytes, for a client the server limited with
  // client_max_window_bits (§7.1.2.2). 9 to 15: zlib cannot write raw DEFLATE with a 256-byte
  // window, so a client told 8 sends its messages uncompressed (kDeflateWindowBitsMin).
  Deflater(int level, int window_bits);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // The size of buffer that write_frame() needs for a payload of `payload_bytes`.
  [[nodiscard]] static size_t frame_bytes_max(size_t payload_bytes);

  // Writes one complete unmasked server frame (FIN, RSV1 set, `opcode`) holding `payload`
  // compressed, without the trailing 0x00 0x00 0xff 0xff (§7.2.1), at the start of `out`, which
  // holds at least frame_bytes_max(payload.size()) bytes. Returns the frame's size, or 0 when
  // zlib failed (it cannot allocate): send the message uncompressed then.
  [[nodiscard]] size_t write_frame(std::span<uint8_t> out, Opcode opcode,
                                   std::span<const uint8_t> payload);

  // The size of buffer that compress() needs for a payload of `payload_bytes`.
  [[nodiscard]] static size_t compressed_bytes_max(size_t payload_bytes);

  // Compresses `payload` as one message (a fresh stream) into `out`, which holds at least
  // compressed_bytes_max(payload.size()) bytes, without the trailing 0x00 0x00 0xff 0xff
  // (§7.2.1): the payload of a data frame with RSV1, which a client then masks. Returns its
  // size, or 0 when zlib failed: send the message uncompressed then.
  [[nodiscard]] size_t compress(std::span<const uint8_t> payload, std::span<uint8_t> out);

 private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
};

}  // namespace herald::protocol::websocket
