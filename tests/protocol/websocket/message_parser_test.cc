// The frame parser against the byte literals of RFC 6455 §5.7, every receiver rule of §5 with
// its close code, and the same events for every way the input can be cut into reads.
#include "protocol/websocket/message_parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace herald::protocol::websocket {
namespace {

using Bytes = std::vector<uint8_t>;
using Kind = ParserEvent::Kind;

constexpr uint64_t kMessageBytesMax = 1 << 20;

struct Recorded {
  Kind kind;
  std::string payload;
  CloseCode code;
  bool operator==(const Recorded&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Recorded& event) {
  return out << "{kind " << static_cast<int>(event.kind) << ", " << event.payload.size()
             << " bytes, code " << static_cast<int>(event.code) << "}";
}

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// A client frame: masked with `key` (§5.3), computed here independently of unmask().
Bytes masked(Opcode opcode, const Bytes& payload, bool fin = true,
             const Bytes& key = {0x37, 0xfa, 0x21, 0x3d}) {
  uint32_t key_word = 0;
  std::memcpy(&key_word, key.data(), 4);
  Bytes frame(kClientFrameHeaderBytesMax);
  frame.resize(write_masked_frame_header(frame.data(), opcode, payload.size(), key_word, fin));
  for (size_t i = 0; i < payload.size(); ++i) frame.push_back(payload[i] ^ key[i % 4]);
  return frame;
}

Bytes unmasked(Opcode opcode, const Bytes& payload, bool fin = true) {
  Bytes frame(kServerFrameHeaderBytesMax);
  frame.resize(write_frame_header(frame.data(), opcode, payload.size(), fin));
  frame.insert(frame.end(), payload.begin(), payload.end());
  return frame;
}

// Drains events until kNeedMore or the first kError.
void drain(MessageParser& parser, std::vector<Recorded>& events) {
  for (;;) {
    ParserEvent event = parser.next();
    if (event.kind == Kind::kNeedMore) return;
    events.push_back(
        {event.kind, std::string(event.payload.begin(), event.payload.end()), event.code});
    if (event.kind == Kind::kError) return;
  }
}

// Feeds a copy of `input` cut at `cuts` (ascending offsets) and records the events.
std::vector<Recorded> run(Role role, Bytes input, const std::vector<size_t>& cuts = {},
                          uint64_t message_bytes_max = kMessageBytesMax) {
  MessageParser parser(role, message_bytes_max);
  std::vector<Recorded> events;
  size_t begin = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    parser.receive(std::span<uint8_t>(input).subspan(begin, end - begin));
    drain(parser, events);
    if (!events.empty() && events.back().kind == Kind::kError) break;
    begin = end;
  }
  return events;
}

std::vector<Recorded> run_byte_by_byte(Role role, const Bytes& input) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  return run(role, input, cuts);
}

// The events of `input` fed whole, after checking that every two-read split and one byte
// at a time give the same events.
std::vector<Recorded> run_every_split(Role role, const Bytes& input) {
  std::vector<Recorded> whole = run(role, input);
  for (size_t split = 0; split <= input.size(); ++split) {
    EXPECT_EQ(run(role, input, {split}), whole) << "split at " << split;
  }
  EXPECT_EQ(run_byte_by_byte(role, input), whole) << "one byte at a time";
  return whole;
}

Recorded event(Kind kind, std::string payload = "", CloseCode code = CloseCode::kNoStatus) {
  return {kind, std::move(payload), code};
}
Recorded text(std::string payload) { return event(Kind::kText, std::move(payload)); }
Recorded binary(std::string payload) { return event(Kind::kBinary, std::move(payload)); }
Recorded error(CloseCode code) { return event(Kind::kError, "", code); }

TEST(MessageParserTest, RfcSingleFrameUnmaskedText) {
  Bytes input = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  EXPECT_EQ(run_every_split(Role::kClient, input), std::vector<Recorded>{text("Hello")});
}

TEST(MessageParserTest, RfcSingleFrameMaskedText) {
  Bytes input = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  EXPECT_EQ(input, masked(Opcode::kText, bytes_of("Hello")));
  EXPECT_EQ(run_every_split(Role::kServer, input), std::vector<Recorded>{text("Hello")});
}

TEST(MessageParserTest, RfcFragmentedUnmaskedText) {
  Bytes input = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
  EXPECT_EQ(run_every_split(Role::kClient, input), std::vector<Recorded>{text("Hello")});
}

TEST(MessageParserTest, RfcUnmaskedPingAndMaskedPong) {
  Bytes ping = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  EXPECT_EQ(run_every_split(Role::kClient, ping),
            std::vector<Recorded>{event(Kind::kPing, "Hello")});
  Bytes pong = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  EXPECT_EQ(run_every_split(Role::kServer, pong),
            std::vector<Recorded>{event(Kind::kPong, "Hello")});
}

TEST(MessageParserTest, RfcBinaryWith16BitLength) {
  std::string payload(256, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i);
  Bytes input = concat({{0x82, 0x7E, 0x01, 0x00}, bytes_of(payload)});
  EXPECT_EQ(run_every_split(Role::kClient, input), std::vector<Recorded>{binary(payload)});
  EXPECT_EQ(run_every_split(Role::kServer, masked(Opcode::kBinary, bytes_of(payload))),
            std::vector<Recorded>{binary(payload)});
}

TEST(MessageParserTest, RfcBinaryWith64BitLength) {
  std::string payload(65536, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + 3);
  Bytes input = concat({{0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}, bytes_of(payload)});
  std::vector<Recorded> expected = {binary(payload)};
  EXPECT_EQ(run(Role::kClient, input), expected);
  EXPECT_EQ(run_byte_by_byte(Role::kClient, input), expected);
  Bytes client = masked(Opcode::kBinary, bytes_of(payload));
  EXPECT_EQ(run(Role::kServer, client), expected);
  EXPECT_EQ(run_byte_by_byte(Role::kServer, client), expected);
  for (size_t split : {1, 2, 9, 10, 13, 14, 15, 1000, 32771, 65549}) {
    EXPECT_EQ(run(Role::kServer, client, {split}), expected) << split;
  }
}

TEST(MessageParserTest, WholeFrameIsDeliveredWithoutCopy) {
  Bytes input = masked(Opcode::kBinary, bytes_of("zero-copy"));
  MessageParser parser(Role::kServer, kMessageBytesMax);
  parser.receive(input);
  ParserEvent event = parser.next();
  ASSERT_EQ(event.kind, Kind::kBinary);
  EXPECT_EQ(event.payload.data(), input.data() + 6);  // unmasked in place
  EXPECT_EQ(std::string(event.payload.begin(), event.payload.end()), "zero-copy");
  EXPECT_EQ(parser.next().kind, Kind::kNeedMore);
}

TEST(MessageParserTest, DeliversEmptyMessages) {
  Bytes input = concat({masked(Opcode::kText, {}), masked(Opcode::kBinary, {}),
                        masked(Opcode::kText, {}, false), masked(Opcode::kContinuation, {}),
                        masked(Opcode::kPing, {})});
  EXPECT_EQ(run_every_split(Role::kServer, input),
            (std::vector<Recorded>{text(""), binary(""), text(""), event(Kind::kPing, "")}));
}

TEST(MessageParserTest, ControlFramesInterleaveWithFragments) {
  // §5.4: control frames may be injected in the middle of a fragmented message.
  Bytes input = concat(
      {masked(Opcode::kText, bytes_of("Hel"), false), masked(Opcode::kPing, bytes_of("p1")),
       masked(Opcode::kContinuation, bytes_of(""), false), masked(Opcode::kPong, bytes_of("p2")),
       masked(Opcode::kContinuation, bytes_of("lo"))});
  EXPECT_EQ(
      run_every_split(Role::kServer, input),
      (std::vector<Recorded>{event(Kind::kPing, "p1"), event(Kind::kPong, "p2"), text("Hello")}));
}

TEST(MessageParserTest, SeveralMessagesInOneInput) {
  Bytes input = concat({masked(Opcode::kText, bytes_of("one")),
                        masked(Opcode::kBinary, bytes_of("two"), false),
                        masked(Opcode::kContinuation, bytes_of("three")),
                        masked(Opcode::kText, bytes_of("\xE2\x82\xAC four"))});
  EXPECT_EQ(run_every_split(Role::kServer, input),
            (std::vector<Recorded>{text("one"), binary("twothree"), text("\xE2\x82\xAC four")}));
}

TEST(MessageParserTest, FragmentsMaySplitACodePoint) {
  Bytes input = concat({masked(Opcode::kText, bytes_of("\xF0\x9F"), false),
                        masked(Opcode::kContinuation, bytes_of("\x98"), false),
                        masked(Opcode::kContinuation, bytes_of("\x80"))});
  EXPECT_EQ(run_every_split(Role::kServer, input), std::vector<Recorded>{text("\xF0\x9F\x98\x80")});
}

TEST(MessageParserTest, MaskingMustMatchTheRole) {
  // §5.1: a server fails on an unmasked client frame, a client on a masked server frame.
  EXPECT_EQ(run(Role::kServer, unmasked(Opcode::kText, bytes_of("Hello"))),
            std::vector<Recorded>{error(CloseCode::kProtocolError)});
  EXPECT_EQ(run(Role::kClient, masked(Opcode::kText, bytes_of("Hello"))),
            std::vector<Recorded>{error(CloseCode::kProtocolError)});
}

TEST(MessageParserTest, ReservedBitsAndOpcodesAreProtocolErrors) {
  for (uint8_t rsv : {0x40, 0x20, 0x10}) {
    Bytes frame = masked(Opcode::kText, bytes_of("x"));
    frame[0] |= rsv;
    EXPECT_EQ(run_every_split(Role::kServer, frame),
              std::vector<Recorded>{error(CloseCode::kProtocolError)});
  }
  for (uint8_t opcode : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    Bytes frame = masked(static_cast<Opcode>(opcode), {});
    EXPECT_EQ(run(Role::kServer, frame), std::vector<Recorded>{error(CloseCode::kProtocolError)})
        << int{opcode};
  }
}

TEST(MessageParserTest, ControlFrameRules) {
  // §5.5: at most 125 bytes, never fragmented. Both are judged from the first two bytes.
  Bytes too_long = masked(Opcode::kPing, Bytes(126, 'x'));
  EXPECT_EQ(run(Role::kServer, Bytes(too_long.begin(), too_long.begin() + 2)),
            std::vector<Recorded>{error(CloseCode::kProtocolError)});
  EXPECT_EQ(run(Role::kServer, masked(Opcode::kClose, Bytes(126, 'x'))),
            std::vector<Recorded>{error(CloseCode::kProtocolError)});
  EXPECT_EQ(run(Role::kServer, masked(Opcode::kPing, bytes_of("x"), false)),
            std::vector<Recorded>{error(CloseCode::kProtocolError)});
  EXPECT_EQ(run(Role::kServer, masked(Opcode::kPong, Bytes(125, 'y'))),
            (std::vector<Recorded>{event(Kind::kPong, std::string(125, 'y'))}));
}

TEST(MessageParserTest, ContinuationOrder) {
  EXPECT_EQ(run(Role::kServer, masked(Opcode::kContinuation, bytes_of("x"))),
            std::vector<Recorded>{error(CloseCode::kProtocolError)});
  for (Opcode opcode : {Opcode::kText, Opcode::kBinary}) {
    Bytes input = concat({masked(Opcode::kText, bytes_of("a"), false), masked(opcode, {})});
    EXPECT_EQ(run_every_split(Role::kServer, input),
              std::vector<Recorded>{error(CloseCode::kProtocolError)});
  }
  // A continuation after a finished message has nothing to continue.
  Bytes after_end =
      concat({masked(Opcode::kText, bytes_of("a")), masked(Opcode::kContinuation, bytes_of("b"))});
  EXPECT_EQ(run(Role::kServer, after_end),
            (std::vector<Recorded>{text("a"), error(CloseCode::kProtocolError)}));
}

TEST(MessageParserTest, SixtyFourBitLengthWithTheTopBitSet) {
  Bytes input = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0x01, 1, 2, 3, 4};
  EXPECT_EQ(run_every_split(Role::kServer, input),
            std::vector<Recorded>{error(CloseCode::kProtocolError)});
}

TEST(MessageParserTest, AcceptsNonMinimalLengths) {
  // §5.2 asks senders for the minimal encoding; we accept longer ones, as most servers do.
  Bytes sixteen = {0x82, 0x7E, 0x00, 0x03, 'a', 'b', 'c'};
  Bytes sixty_four = {0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x03, 'a', 'b', 'c'};
  EXPECT_EQ(run_every_split(Role::kClient, sixteen), std::vector<Recorded>{binary("abc")});
  EXPECT_EQ(run_every_split(Role::kClient, sixty_four), std::vector<Recorded>{binary("abc")});
}

TEST(MessageParserTest, MessageTooBigIsRefusedFromTheHeader) {
  // Only the header arrives: 1009 before any payload is buffered.
  Bytes frame = masked(Opcode::kBinary, Bytes(11, 'x'));
  Bytes header_only(frame.begin(), frame.begin() + 6);
  EXPECT_EQ(run(Role::kServer, header_only, {}, 10),
            std::vector<Recorded>{error(CloseCode::kMessageTooBig)});
  EXPECT_EQ(run(Role::kServer, masked(Opcode::kBinary, Bytes(10, 'x')), {}, 10),
            std::vector<Recorded>{binary(std::string(10, 'x'))});
  // Across fragments the total counts: 6 + 5 bytes exceed 10 at the second header.
  Bytes fragments = concat(
      {masked(Opcode::kText, Bytes(6, 'a'), false), masked(Opcode::kContinuation, Bytes(5, 'b'))});
  EXPECT_EQ(run(Role::kServer, Bytes(fragments.begin(), fragments.begin() + 18), {}, 10),
            std::vector<Recorded>{error(CloseCode::kMessageTooBig)});
  // A 2^63 - 1 byte frame must not overflow the running total.
  Bytes huge = {0x00, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4};
  Bytes both = concat({masked(Opcode::kBinary, bytes_of("ab"), false), huge});
  EXPECT_EQ(run(Role::kServer, both), std::vector<Recorded>{error(CloseCode::kMessageTooBig)});
}

TEST(MessageParserTest, InvalidTextIsRefusedAtOnce) {
  EXPECT_EQ(run_every_split(Role::kServer, masked(Opcode::kText, bytes_of("ok \xC0\xAF"))),
            std::vector<Recorded>{error(CloseCode::kInvalidPayload)});
  // The first fragment already cannot be valid: fail before the rest arrives (§8.1).
  Bytes first = masked(Opcode::kText, bytes_of("\xCE\xBA\xF4\x90"), false);
  EXPECT_EQ(run(Role::kServer, first), std::vector<Recorded>{error(CloseCode::kInvalidPayload)});
  // One frame split across reads: its first unmasked piece is judged on arrival.
  Bytes frame = masked(Opcode::kText, bytes_of("\xED\xA0\x80 and much more text after it"));
  EXPECT_EQ(run(Role::kServer, Bytes(frame.begin(), frame.begin() + 9)),
            std::vector<Recorded>{error(CloseCode::kInvalidPayload)});
  // A message may not end inside a code point.
  Bytes truncated = concat(
      {masked(Opcode::kText, bytes_of("abc\xE2\x82"), false), masked(Opcode::kContinuation, {})});
  EXPECT_EQ(run_every_split(Role::kServer, truncated),
            std::vector<Recorded>{error(CloseCode::kInvalidPayload)});
  // Binary messages are not judged.
  EXPECT_EQ(run(Role::kServer, masked(Opcode::kBinary, bytes_of("\xFF"))),
            std::vector<Recorded>{binary("\xFF")});
}

TEST(MessageParserTest, ClosePayloads) {
  EXPECT_EQ(run_every_split(Role::kServer, masked(Opcode::kClose, {})),
            (std::vector<Recorded>{event(Kind::kClose, "", CloseCode::kNoStatus)}));
  EXPECT_EQ(run_every_split(Role::kServer, masked(Opcode::kClose, bytes_of("\x03\xE8"
                                                                           "bye"))),
            (std::vector<Recorded>{event(Kind::kClose, "bye", CloseCode::kNormal)}));
  EXPECT_EQ(run(Role::kServer, masked(Opcode::kClose, {0x0F, 0xA0})),
            (std::vector<Recorded>{event(Kind::kClose, "", static_cast<CloseCode>(4000))}));
  EXPECT_EQ(run(Role::kServer, masked(Opcode::kClose, {0x03})),
            std::vector<Recorded>{error(CloseCode::kProtocolError)});
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 2000, 5000}) {
    Bytes body = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
    EXPECT_EQ(run(Role::kServer, masked(Opcode::kClose, body)),
              std::vector<Recorded>{error(CloseCode::kProtocolError)})
        << code;
  }
  EXPECT_EQ(
      run_every_split(Role::kServer, masked(Opcode::kClose, bytes_of("\x03\xE8\xED\xA0\x80"))),
      std::vector<Recorded>{error(CloseCode::kInvalidPayload)});
}

TEST(MessageParserTest, StaysFailedAfterAnError) {
  MessageParser parser(Role::kServer, kMessageBytesMax);
  Bytes bad = unmasked(Opcode::kText, bytes_of("x"));
  parser.receive(bad);
  EXPECT_EQ(parser.next().kind, Kind::kError);
  ParserEvent again = parser.next();
  EXPECT_EQ(again.kind, Kind::kError);
  EXPECT_EQ(again.code, CloseCode::kProtocolError);
  Bytes good = masked(Opcode::kText, bytes_of("x"));
  parser.receive(good);
  EXPECT_EQ(parser.next().kind, Kind::kError);
}

TEST(MessageParserTest, BufferedBytesAndShrink) {
  MessageParser parser(Role::kServer, kMessageBytesMax);
  Bytes first = masked(Opcode::kBinary, Bytes(10000, 'a'), false);
  parser.receive(first);
  EXPECT_EQ(parser.next().kind, Kind::kNeedMore);
  EXPECT_EQ(parser.buffered_bytes(), 10000u);
  parser.shrink();  // holds an open message: nothing may be lost
  Bytes partial_header = {0x80};
  parser.receive(partial_header);
  EXPECT_EQ(parser.next().kind, Kind::kNeedMore);
  EXPECT_EQ(parser.buffered_bytes(), 10001u);
  Bytes rest = masked(Opcode::kContinuation, bytes_of("b"));
  rest.erase(rest.begin());
  parser.receive(rest);
  ParserEvent event = parser.next();
  ASSERT_EQ(event.kind, Kind::kBinary);
  EXPECT_EQ(event.payload.size(), 10001u);
  EXPECT_EQ(event.payload.back(), 'b');
  EXPECT_EQ(parser.next().kind, Kind::kNeedMore);
  EXPECT_EQ(parser.buffered_bytes(), 0u);
  parser.shrink();
  EXPECT_EQ(parser.buffered_bytes(), 0u);
}

}  // namespace
}  // namespace herald::protocol::websocket
