// The frame parser and message assembler (RFC 6455 §5): enforces every receiver rule of §5
// and delivers whole messages, zero-copy when a frame arrives in one piece. No I/O.
#include "protocol/websocket/message_parser.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "protocol/websocket/unmask.h"

namespace herald::protocol::websocket {
namespace {

using Kind = ParserEvent::Kind;

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kRsvBits = 0x70;
constexpr uint8_t kRsv1Bit = 0x40;
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLengthBits = 0x7F;
constexpr uint8_t kLength16 = 126;
constexpr uint8_t kLength64 = 127;
constexpr size_t kMaskKeyBytes = 4;
// Reassembly capacity kept by shrink(): a typical message fits without a new allocation.
constexpr size_t kAssemblyKeepBytes = 4096;

bool is_known_opcode(uint8_t opcode) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::kContinuation:
    case Opcode::kText:
    case Opcode::kBinary:
    case Opcode::kClose:
    case Opcode::kPing:
    case Opcode::kPong:
      return true;
  }
  return false;  // 0x3-0x7 and 0xB-0xF are reserved (§5.2)
}

uint64_t read_big_endian(const uint8_t* bytes, size_t size) {
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) value = (value << 8) | bytes[i];
  return value;
}

// 2 bytes, then 0, 2 or 8 bytes of extended length, then the mask key if MASK is set.
size_t header_size(const uint8_t* header) {
  uint8_t length = header[1] & kLengthBits;
  size_t extended = length == kLength16 ? 2 : length == kLength64 ? 8 : 0;
  return 2 + extended + ((header[1] & kMaskBit) != 0 ? kMaskKeyBytes : 0);
}

}  // namespace

MessageParser::MessageParser(Role role, uint64_t message_bytes_max)
    : message_bytes_max_(message_bytes_max), role_(role) {}

void MessageParser::receive(std::span<uint8_t> bytes) {
  if (failed_) return;
  // The previous buffer must be consumed first: the parser tracks one input at a time.
  assert(input_.empty());
  release_delivered();
  input_ = bytes;
}

ParserEvent MessageParser::next() {
  if (failed_) return ParserEvent{Kind::kError, {}, failure_};
  release_delivered();
  for (;;) {
    if (!in_payload_) {
      if (input_.empty()) return ParserEvent{};
      if (auto event = parse_header()) return *event;
      if (!in_payload_) return ParserEvent{};  // the header is incomplete
    }
    // A frame with an empty payload completes here even when the input is exhausted.
    if (auto event = parse_payload()) return *event;
    if (in_payload_) return ParserEvent{};  // the payload continues in the next input
  }
}

size_t MessageParser::buffered_bytes() const {
  return header_bytes_ + (held_ ? held_->assembly.size() + held_->control.size() : 0);
}

void MessageParser::shrink() {
  // The last event's payload may still point into the buffers until next() or receive().
  if (delivered_message_ || !held_) return;
  std::string& assembly = held_->assembly;
  std::string& control = held_->control;
  if (assembly.empty() && control.empty()) {
    held_.reset();
  } else {
    if (assembly.capacity() > kAssemblyKeepBytes) assembly.shrink_to_fit();
    if (control.empty()) std::string().swap(control);
  }
  // Without context takeover an inflater holds nothing a later message needs (extensions.h).
  if (inflater_ && !deflate_context_takeover_ && !in_message_) inflater_.reset();
}

void MessageParser::enable_deflate(bool context_takeover) {
  deflate_ = true;
  deflate_context_takeover_ = context_takeover;
}

ParserEvent MessageParser::fail(CloseCode code) {
  failed_ = true;
  failure_ = code;
  input_ = {};
  return ParserEvent{Kind::kError, {}, code};
}

void MessageParser::release_delivered() {
  if (!held_) return;
  if (delivered_message_) {
    delivered_message_ = false;
    held_->assembly.clear();
  }
  // A control frame may interrupt a fragmented message (§5.4), so its bytes are kept apart
  // and dropped once delivered, while the message goes on in the assembly.
  if (!in_payload_ || !is_control(frame_opcode_)) held_->control.clear();
}

std::optional<ParserEvent> MessageParser::parse_header() {
  // The header is at most 14 bytes: copying it is simpler than parsing it in place when it
  // is whole and resuming it when it is not, and costs next to nothing.
  size_t needed = header_bytes_ < 2 ? 2 : header_size(header_);
  while (header_bytes_ < needed) {
    size_t take = std::min(needed - header_bytes_, input_.size());
    std::memcpy(header_ + header_bytes_, input_.data(), take);
    header_bytes_ = static_cast<uint8_t>(header_bytes_ + take);
    input_ = input_.subspan(take);
    if (header_bytes_ < needed) return std::nullopt;
    if (needed == 2) {
      // Judge the first two bytes at once: a violation fails before the rest arrives.
      if (auto event = check_first_header_bytes()) return event;
      needed = header_size(header_);
    }
  }
  return start_frame();
}

std::optional<ParserEvent> MessageParser::check_first_header_bytes() {
  uint8_t opcode = header_[0] & kOpcodeBits;
  bool fin = (header_[0] & kFinBit) != 0;
  bool masked = (header_[1] & kMaskBit) != 0;
  if (!is_known_opcode(opcode)) return fail(CloseCode::kProtocolError);
  // §5.2: RSV bits are 0 unless an extension defines them. permessage-deflate defines RSV1 on
  // the first frame of a data message only (RFC 7692 §6, §6.1).
  const uint8_t rsv = header_[0] & kRsvBits;
  const bool rsv1_allowed = deflate_ && !is_control(static_cast<Opcode>(opcode)) &&
                            static_cast<Opcode>(opcode) != Opcode::kContinuation;
  if (rsv != 0 && !(rsv == kRsv1Bit && rsv1_allowed)) return fail(CloseCode::kProtocolError);
  // §5.1: a server fails a connection on an unmasked frame; a client on a masked one.
  if (masked != (role_ == Role::kServer)) return fail(CloseCode::kProtocolError);
  if (is_control(static_cast<Opcode>(opcode))) {
    // §5.5: control frames carry at most 125 bytes and are never fragmented.
    if (!fin || (header_[1] & kLengthBits) > kControlPayloadBytesMax) {
      return fail(CloseCode::kProtocolError);
    }
    return std::nullopt;
  }
  // §5.4: a continuation needs an open message; a new message must wait until it ends.
  bool continuation = static_cast<Opcode>(opcode) == Opcode::kContinuation;
  if (continuation != in_message_) return fail(CloseCode::kProtocolError);
  return std::nullopt;
}

std::optional<ParserEvent> MessageParser::start_frame() {
  uint8_t length = header_[1] & kLengthBits;
  size_t offset = 2;
  uint64_t payload_bytes = length;
  // §5.2 requires the minimal length encoding, but we accept a longer one (126 for a length
  // below 126, 127 for one below 65536) as most servers do: it is unambiguous and harmless.
  if (length == kLength16) {
    payload_bytes = read_big_endian(header_ + offset, 2);
    offset += 2;
  } else if (length == kLength64) {
    payload_bytes = read_big_endian(header_ + offset, 8);
    offset += 8;
    // §5.2: "the most significant bit MUST be 0".
    if ((payload_bytes >> 63) != 0) return fail(CloseCode::kProtocolError);
  }
  frame_mask_ = 0;
  if ((header_[1] & kMaskBit) != 0) std::memcpy(&frame_mask_, header_ + offset, kMaskKeyBytes);

  frame_fin_ = (header_[0] & kFinBit) != 0;
  frame_opcode_ = static_cast<Opcode>(header_[0] & kOpcodeBits);
  frame_payload_bytes_ = payload_bytes;
  frame_payload_done_ = 0;
  header_bytes_ = 0;
  in_payload_ = true;
  if (is_control(frame_opcode_)) {
    if (held_) held_->control.clear();
    return std::nullopt;
  }
  if (frame_opcode_ != Opcode::kContinuation) {
    assert(!held_ || held_->assembly.empty());
    message_opcode_ = frame_opcode_;
    message_bytes_ = 0;
    utf8_.reset();
    message_compressed_ = (header_[0] & kRsv1Bit) != 0;
    if (message_compressed_ && !inflater_) inflater_ = std::make_unique<Inflater>();
  }
  // Refuse an oversized message from its header, before buffering any of it (§10.4). A
  // compressed message's limit is on its inflated size (counted as it inflates); its wire
  // bytes are only kept from running on without output. They get room for incompressible
  // data in small deflate blocks (zlib's deflateBound() for any memLevel: an eighth and a
  // sixty-fourth more), so a message at the limit fits however its sender compressed it.
  const uint64_t slack =
      message_compressed_ ? (message_bytes_max_ >> 3) + (message_bytes_max_ >> 6) + 1024 : 0;
  const uint64_t wire_bytes_max =
      message_bytes_max_ > UINT64_MAX - slack ? UINT64_MAX : message_bytes_max_ + slack;
  if (payload_bytes > wire_bytes_max - message_bytes_) {
    return fail(CloseCode::kMessageTooBig);
  }
  message_bytes_ += payload_bytes;
  in_message_ = !frame_fin_;
  return std::nullopt;
}

std::optional<ParserEvent> MessageParser::parse_payload() {
  uint64_t remaining = frame_payload_bytes_ - frame_payload_done_;
  size_t take = static_cast<size_t>(std::min<uint64_t>(remaining, input_.size()));
  std::span<uint8_t> piece = input_.first(take);
  input_ = input_.subspan(take);
  // A piece that resumes a frame continues the key where the previous piece stopped (§5.3).
  if (role_ == Role::kServer && !piece.empty()) {
    unmask(piece.data(), piece.size(), frame_mask_, frame_payload_done_);
  }
  bool whole_frame = take == frame_payload_bytes_;
  frame_payload_done_ += take;
  if (!is_control(frame_opcode_)) return on_data_piece(piece, whole_frame);
  if (whole_frame) return finish_control_frame(piece);
  std::string& held_control = control();
  held_control.append(piece.begin(), piece.end());
  if (frame_payload_done_ < frame_payload_bytes_) return std::nullopt;
  return finish_control_frame(
      {reinterpret_cast<const uint8_t*>(held_control.data()), held_control.size()});
}

std::optional<ParserEvent> MessageParser::on_data_piece(std::span<const uint8_t> piece,
                                                        bool whole_frame) {
  if (message_compressed_) return on_compressed_piece(piece);
  bool text = message_opcode_ == Opcode::kText;
  Kind kind = text ? Kind::kText : Kind::kBinary;
  if (whole_frame && frame_fin_ && frame_opcode_ != Opcode::kContinuation) {
    // The fast path: an unfragmented message inside one input is delivered where it lies.
    in_payload_ = false;
    if (text && !is_valid_utf8(piece)) return fail(CloseCode::kInvalidPayload);
    return ParserEvent{kind, piece};
  }
  // §8.1: invalid text fails the connection as soon as a piece shows it, not at the end.
  if (text && !utf8_.feed(piece)) return fail(CloseCode::kInvalidPayload);
  assembly().append(piece.begin(), piece.end());
  if (frame_payload_done_ < frame_payload_bytes_) return std::nullopt;
  in_payload_ = false;
  if (!frame_fin_) return std::nullopt;
  if (text && !utf8_.at_boundary()) return fail(CloseCode::kInvalidPayload);
  delivered_message_ = true;
  return ParserEvent{kind, assembled()};
}

std::optional<ParserEvent> MessageParser::on_compressed_piece(std::span<const uint8_t> piece) {
  // The wire bytes were counted against the limit by start_frame(); the inflated bytes are
  // counted here, as they are produced.
  if (auto failure = inflate_into_assembly(piece, false)) return failure;
  if (frame_payload_done_ < frame_payload_bytes_) return std::nullopt;
  in_payload_ = false;
  if (!frame_fin_) return std::nullopt;
  // §7.2.2: the sender removed the sync flush's 0x00 0x00 0xff 0xff; put it back.
  if (auto failure = inflate_into_assembly({}, true)) return failure;
  bool text = message_opcode_ == Opcode::kText;
  if (text && !utf8_.at_boundary()) return fail(CloseCode::kInvalidPayload);
  // §7.1.1.2: without context takeover the next message starts with an empty window; after a
  // final block (BFINAL) a new stream must start in any case.
  if (!deflate_context_takeover_ || inflater_->stream_ended()) inflater_->reset();
  message_compressed_ = false;
  delivered_message_ = true;
  return ParserEvent{text ? Kind::kText : Kind::kBinary, assembled()};
}

// Inflates one piece of the message (or, at its end, the tail) into the assembly and checks the
// new text as it comes (§8.1). Returns the failure, if any.
std::optional<ParserEvent> MessageParser::inflate_into_assembly(std::span<const uint8_t> piece,
                                                                bool end_of_message) {
  std::string& out = assembly();
  const size_t before = out.size();
  const Inflater::Status status = end_of_message
                                      ? inflater_->finish_message(out, message_bytes_max_)
                                      : inflater_->inflate(piece, out, message_bytes_max_);
  if (status != Inflater::Status::kOk) inflate_failure_ = status;
  switch (status) {
    case Inflater::Status::kOk:
      break;
    case Inflater::Status::kTooBig:
      return fail(CloseCode::kMessageTooBig);
    case Inflater::Status::kCorrupt:
      return fail(CloseCode::kInvalidPayload);
    case Inflater::Status::kNoMemory:
      return fail(CloseCode::kInternalError);
  }
  std::span<const uint8_t> inflated(reinterpret_cast<const uint8_t*>(out.data()) + before,
                                    out.size() - before);
  if (message_opcode_ == Opcode::kText && !utf8_.feed(inflated)) {
    return fail(CloseCode::kInvalidPayload);
  }
  return std::nullopt;
}

ParserEvent MessageParser::finish_control_frame(std::span<const uint8_t> payload) {
  in_payload_ = false;
  switch (frame_opcode_) {
    case Opcode::kPing:
      return ParserEvent{Kind::kPing, payload};
    case Opcode::kPong:
      return ParserEvent{Kind::kPong, payload};
    default:
      return check_close_payload(payload);
  }
}

ParserEvent MessageParser::check_close_payload(std::span<const uint8_t> payload) {
  // §5.5.1: an empty body carries no status; otherwise a 2-byte code, then a UTF-8 reason.
  if (payload.empty()) return ParserEvent{Kind::kClose, {}, CloseCode::kNoStatus};
  if (payload.size() == 1) return fail(CloseCode::kProtocolError);
  auto code = static_cast<uint16_t>(read_big_endian(payload.data(), 2));
  if (!is_valid_wire_close_code(code)) return fail(CloseCode::kProtocolError);
  std::span<const uint8_t> reason = payload.subspan(2);
  if (!is_valid_utf8(reason)) return fail(CloseCode::kInvalidPayload);
  return ParserEvent{Kind::kClose, reason, static_cast<CloseCode>(code)};
}

}  // namespace herald::protocol::websocket
