// Fuzzes the permessage-deflate inflater (RFC 7692 §7.2.2) with input cut into pieces and a
// small output limit: chunked and whole inflation agree, output never passes the limit by more
// than a byte, a MessageParser with the extension on delivers the same message in a compressed
// frame (or fails with the matching close code), and any input compressed by Deflater inflates
// back to itself. Traps otherwise.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protocol/websocket/deflate.h"
#include "protocol/websocket/message_parser.h"

namespace herald::protocol::websocket {
namespace {

constexpr uint64_t kOutputBytesMax = uint64_t{1} << 16;
constexpr size_t kChunkBytesMax = 64;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

struct Outcome {
  Inflater::Status status;
  std::string output;
};

// Inflates `input` as one message, in pieces whose sizes come from `seed` (0: whole).
Outcome inflate_in_pieces(std::span<const uint8_t> input, uint8_t seed) {
  Inflater inflater;
  Outcome outcome{Inflater::Status::kOk, {}};
  uint32_t state = seed;
  size_t offset = 0;
  while (offset < input.size() && outcome.status == Inflater::Status::kOk) {
    state = state * 1103515245u + 12345u;
    const size_t take = seed == 0
                            ? input.size()
                            : std::min(1 + (state >> 16) % kChunkBytesMax, input.size() - offset);
    // Each piece is its own allocation, freed after the call: ASan catches a kept pointer.
    const std::vector<uint8_t> piece(input.begin() + static_cast<std::ptrdiff_t>(offset),
                                     input.begin() + static_cast<std::ptrdiff_t>(offset + take));
    outcome.status = inflater.inflate(piece, outcome.output, kOutputBytesMax);
    check(outcome.output.size() <= kOutputBytesMax + 1);
    offset += take;
  }
  if (outcome.status == Inflater::Status::kOk) {
    outcome.status = inflater.finish_message(outcome.output, kOutputBytesMax);
  }
  check(outcome.output.size() <= kOutputBytesMax + 1);
  check(outcome.status != Inflater::Status::kNoMemory);
  return outcome;
}

// `input` as the payload of one compressed binary frame from a server (unmasked, RSV1), read by
// a client's MessageParser with permessage-deflate on: its event matches the Inflater's outcome.
void check_parser(std::span<const uint8_t> input, const Outcome& whole) {
  std::vector<uint8_t> frame(kServerFrameHeaderBytesMax);
  frame.resize(write_frame_header(frame.data(), Opcode::kBinary, input.size()));
  frame[0] |= 0x40;
  frame.insert(frame.end(), input.begin(), input.end());
  MessageParser parser(Role::kClient, kOutputBytesMax);
  parser.enable_deflate(false);
  parser.receive(frame);
  const ParserEvent event = parser.next();
  if (input.size() > kOutputBytesMax) {
    check(event.kind == ParserEvent::Kind::kError && event.code == CloseCode::kMessageTooBig);
    return;
  }
  switch (whole.status) {
    case Inflater::Status::kOk:
      check(event.kind == ParserEvent::Kind::kBinary);
      check(std::string(event.payload.begin(), event.payload.end()) == whole.output);
      return;
    case Inflater::Status::kTooBig:
      check(event.kind == ParserEvent::Kind::kError && event.code == CloseCode::kMessageTooBig);
      return;
    case Inflater::Status::kCorrupt:
    case Inflater::Status::kNoMemory:
      check(event.kind == ParserEvent::Kind::kError && event.code == CloseCode::kInvalidPayload);
      return;
  }
}

// Deflater's frame for `input`, inflated again, is `input` (a round trip at level 1 to 9).
void check_round_trip(std::span<const uint8_t> input, int level) {
  Deflater deflater(level);
  std::vector<uint8_t> frame(Deflater::frame_bytes_max(input.size()));
  const size_t size = deflater.write_frame(frame, Opcode::kBinary, input);
  check(size >= 3 && size <= frame.size());
  check(frame[0] == 0xc2);
  const uint8_t length = frame[1] & 0x7F;
  const size_t header = length == 126 ? 4 : length == 127 ? 10 : 2;
  const Outcome back = inflate_in_pieces(std::span(frame).subspan(header, size - header), 1);
  check(back.status == Inflater::Status::kOk);
  check(back.output == std::string(input.begin(), input.end()));
}

int test_one_input(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> input(data + 1, size - 1);
  const Outcome whole = inflate_in_pieces(input, 0);
  const Outcome chunked = inflate_in_pieces(input, data[0] | 1);
  check((whole.status == Inflater::Status::kOk) == (chunked.status == Inflater::Status::kOk));
  if (whole.status == Inflater::Status::kOk) check(whole.output == chunked.output);
  check_parser(input, whole);
  if (input.size() <= kOutputBytesMax) check_round_trip(input, 1 + data[0] % 9);
  return 0;
}

}  // namespace
}  // namespace herald::protocol::websocket

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return herald::protocol::websocket::test_one_input(data, size);
}
