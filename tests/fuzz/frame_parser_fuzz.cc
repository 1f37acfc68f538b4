// Fuzzes MessageParser (RFC 6455 §5) with input cut into reads: the events must not depend on
// the cuts, text must be valid UTF-8, and a failed parser must stay failed. Traps otherwise.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/websocket/message_parser.h"
#include "protocol/websocket/utf8.h"

namespace herald::protocol::websocket {
namespace {

constexpr uint64_t kMessageBytesMax = uint64_t{1} << 20;
constexpr size_t kChunkBytesMax = 64;

struct Recorded {
  ParserEvent::Kind kind;
  std::string payload;
  CloseCode code;
  bool operator==(const Recorded&) const = default;
};

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// Byte 0 of the input: bit 0 picks the role; the rest seeds the read sizes (0: one byte at a
// time, otherwise 1 to kChunkBytesMax bytes from a small LCG).
class Chunker {
 public:
  explicit Chunker(uint8_t selector) : state_(selector >> 1) {}
  size_t next_size() {
    if (state_ == 0) return 1;
    state_ = state_ * 1103515245u + 12345u;
    return 1 + (state_ >> 16) % kChunkBytesMax;
  }

 private:
  uint32_t state_;
};

// Drains events until kNeedMore or kError, checking the invariants of each. Returns false
// once the parser failed.
bool drain(MessageParser& parser, std::vector<Recorded>& events) {
  for (;;) {
    ParserEvent event = parser.next();
    if (event.kind == ParserEvent::Kind::kNeedMore) return true;
    if (event.kind == ParserEvent::Kind::kText) check(is_valid_utf8(event.payload));
    if (event.kind == ParserEvent::Kind::kPing || event.kind == ParserEvent::Kind::kPong) {
      check(event.payload.size() <= kControlPayloadBytesMax);
    }
    events.push_back(
        {event.kind, std::string(event.payload.begin(), event.payload.end()), event.code});
    if (event.kind == ParserEvent::Kind::kError) {
      ParserEvent again = parser.next();
      check(again.kind == ParserEvent::Kind::kError && again.code == event.code);
      return false;
    }
  }
}

// Each read is its own allocation, freed once drained: AddressSanitizer then catches a parser
// that keeps a pointer into a read past kNeedMore.
std::vector<Recorded> run_chunked(Role role, const uint8_t* data, size_t size, Chunker chunker) {
  MessageParser parser(role, kMessageBytesMax);
  std::vector<Recorded> events;
  Utf8Validator validator;
  bool utf8_valid = true;
  size_t offset = 0;
  while (offset < size) {
    size_t take = std::min(chunker.next_size(), size - offset);
    std::vector<uint8_t> read(data + offset, data + offset + take);
    utf8_valid = utf8_valid && validator.feed(read);
    offset += take;
    parser.receive(read);
    if (!drain(parser, events)) {
      std::vector<uint8_t> more = {0x81, 0x80, 0, 0, 0, 0};
      parser.receive(more);
      check(parser.next().kind == ParserEvent::Kind::kError);
      return events;
    }
    check(parser.buffered_bytes() <= offset + kClientFrameHeaderBytesMax);
    if (take % 3 == 0) parser.shrink();
  }
  // The streaming validator agrees with the whole check on the same cuts.
  check((utf8_valid && validator.at_boundary()) == is_valid_utf8({data, size}));
  return events;
}

std::vector<Recorded> run_whole(Role role, const uint8_t* data, size_t size) {
  MessageParser parser(role, kMessageBytesMax);
  std::vector<Recorded> events;
  std::vector<uint8_t> input(data, data + size);  // unmasked in place: never the fuzzer's
  parser.receive(input);
  drain(parser, events);
  return events;
}

int test_one_input(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Role role = (data[0] & 1) != 0 ? Role::kClient : Role::kServer;
  std::vector<Recorded> chunked = run_chunked(role, data + 1, size - 1, Chunker(data[0]));
  std::vector<Recorded> whole = run_whole(role, data + 1, size - 1);
  check(chunked == whole);
  return 0;
}

}  // namespace
}  // namespace herald::protocol::websocket

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return herald::protocol::websocket::test_one_input(data, size);
}
