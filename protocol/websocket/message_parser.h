// Incremental frame parser and message assembler (RFC 6455 §5): bytes in, messages out.
// Sans-I/O: no fds, threads or clocks. Used by the server Session and by the C++ clients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "protocol/websocket/close_code.h"
#include "protocol/websocket/deflate.h"
#include "protocol/websocket/frame.h"
#include "protocol/websocket/utf8.h"

namespace herald::protocol::websocket {

// A server requires masked frames from its peer (§5.1); a client requires unmasked ones.
enum class Role : uint8_t { kServer, kClient };

struct ParserEvent {
  enum class Kind : uint8_t {
    kNeedMore,  // every byte given to receive() has been consumed
    kText,      // a complete text message, valid UTF-8
    kBinary,    // a complete binary message
    kPing,
    kPong,
    kClose,  // the peer's Close: `code` is its status, or kNoStatus if it sent none
    kError,  // a violation: fail the connection with `code` (1002, 1007, 1009; 1011 when
             // zlib cannot allocate)
  };
  Kind kind = Kind::kNeedMore;
  // Message, ping/pong payload or close reason. Valid until the next call to next() or
  // receive(); it may point into the buffer given to receive() (no copy) or into the
  // parser's own reassembly buffer.
  std::span<const uint8_t> payload;
  CloseCode code = CloseCode::kNoStatus;
};

// Checks every rule of §5 that a receiver must enforce: masking by role, RSV bits (none, or
// RSV1 on a message's first frame once permessage-deflate is on), reserved opcodes, control frames
// (<=125 bytes, never fragmented), continuation order, 64-bit lengths with the top bit set, the
// message size limit (1009), UTF-8 of text messages as each piece arrives (1007), close payloads (a
// 1-byte payload and codes not allowed on the wire are 1002, an invalid reason is 1007).
class MessageParser {
 public:
  MessageParser(Role role, uint64_t message_bytes_max);

  // Hands over the next received bytes. Payload bytes are unmasked in place, so the buffer
  // must be writable and must stay valid until next() returns kNeedMore.
  void receive(std::span<uint8_t> bytes);

  // The next event. Returns kNeedMore once all received bytes are consumed. After kError
  // the parser stays failed and returns kError again.
  [[nodiscard]] ParserEvent next();

  // Between messages: no frame or message is partly read and none failed, so the next byte
  // received starts a frame. A client may then read whole frames itself.
  [[nodiscard]] bool at_message_boundary() const {
    return !in_payload_ && header_bytes_ == 0 && !in_message_ && !failed_;
  }

  // Bytes held between calls (partial header, reassembly buffer), for memory accounting.
  [[nodiscard]] size_t buffered_bytes() const;

  // Gives back reassembly memory above a small threshold, and the inflater when it keeps no
  // window between messages; call when the connection is idle.
  void shrink();

  // Turns permessage-deflate on (RFC 7692), once, before the first frame: RSV1 on the first
  // frame of a data message marks it compressed, and it is inflated (§7.2.2) before it is
  // delivered, its inflated size counted against message_bytes_max as it grows (1009), a bad
  // DEFLATE stream failing with 1007. With `context_takeover` the inflater keeps its window
  // from one message to the next (§7.1.1.2) and so lives as long as the parser.
  void enable_deflate(bool context_takeover);
  [[nodiscard]] bool deflate_enabled() const { return deflate_; }
  // Why inflating failed, when that is what failed the parser; kOk otherwise.
  [[nodiscard]] Inflater::Status inflate_failure() const { return inflate_failure_; }

 private:
  // Each step returns the event it produced, or nothing when parsing goes on (the input ran
  // out, or a frame ended without completing a message).
  ParserEvent fail(CloseCode code);
  std::optional<ParserEvent> parse_header();
  std::optional<ParserEvent> check_first_header_bytes();
  std::optional<ParserEvent> start_frame();
  std::optional<ParserEvent> parse_payload();
  std::optional<ParserEvent> on_data_piece(std::span<const uint8_t> piece, bool whole_frame);
  std::optional<ParserEvent> on_compressed_piece(std::span<const uint8_t> piece);
  std::optional<ParserEvent> inflate_into_assembly(std::span<const uint8_t> piece,
                                                   bool end_of_message);
  ParserEvent finish_control_frame(std::span<const uint8_t> payload);
  ParserEvent check_close_payload(std::span<const uint8_t> payload);
  void release_delivered();

  // Configuration and input not yet consumed. Members are ordered for packing: a parser
  // lives in every connection.
  uint64_t message_bytes_max_;
  std::span<uint8_t> input_;

  // The frame being parsed.
  uint64_t frame_payload_bytes_ = 0;
  uint64_t frame_payload_done_ = 0;
  uint32_t frame_mask_ = 0;
  uint8_t header_[kClientFrameHeaderBytesMax] = {};
  uint8_t header_bytes_ = 0;
  bool in_payload_ = false;
  bool frame_fin_ = false;
  Opcode frame_opcode_ = Opcode::kContinuation;

  // The message being reassembled across frames or reads.
  uint64_t message_bytes_ = 0;
  Utf8Validator utf8_;
  Role role_;
  bool in_message_ = false;  // a fragmented data message is open
  Opcode message_opcode_ = Opcode::kContinuation;
  bool delivered_message_ = false;  // the last event points into the assembly
  bool failed_ = false;
  CloseCode failure_ = CloseCode::kProtocolError;

  // permessage-deflate: the inflater exists from the first compressed message on.
  bool deflate_ = false;
  bool deflate_context_takeover_ = false;
  bool message_compressed_ = false;  // RSV1 was set on the open message's first frame
  Inflater::Status inflate_failure_ = Inflater::Status::kOk;
  std::unique_ptr<Inflater> inflater_;

  // Bytes kept across frames or reads: made when a message or control frame first needs them,
  // freed by shrink() once empty. A message that arrives whole in one read never needs them,
  // and an idle connection pays one pointer instead of two strings.
  struct Held {
    std::string assembly;  // payload bytes kept across frames or reads
    std::string control;   // a control frame split across reads
  };
  std::unique_ptr<Held> held_;
  std::string& assembly() { return held().assembly; }
  std::string& control() { return held().control; }
  Held& held() {
    if (!held_) held_ = std::make_unique<Held>();
    return *held_;
  }
  [[nodiscard]] std::span<const uint8_t> assembled() const {
    return {reinterpret_cast<const uint8_t*>(held_->assembly.data()), held_->assembly.size()};
  }
};

}  // namespace herald::protocol::websocket
