// Notices written into a buffer of their exact size: the frame is the WebSocket header of the
// text's length followed by the very text encode_notice() gives, at every length encoding.
#include "protocol/pubsub/notice.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/websocket/frame.h"

namespace herald::protocol::pubsub {
namespace {

std::string frame_of(const Notice& notice) {
  std::vector<uint8_t> out(notice_frame_bytes(notice) + 8, 0xEE);  // a tail to catch overruns
  const size_t written = write_notice_frame(out.data(), notice);
  EXPECT_EQ(written, notice_frame_bytes(notice));
  for (size_t i = written; i < out.size(); ++i) EXPECT_EQ(out[i], 0xEE) << "wrote past " << i;
  return {reinterpret_cast<const char*>(out.data()), written};
}

// The header a server text frame of `payload` bytes gets.
std::string header_of(size_t payload) {
  uint8_t header[websocket::kServerFrameHeaderBytesMax];
  const size_t bytes = websocket::write_frame_header(header, websocket::Opcode::kText, payload);
  return {reinterpret_cast<const char*>(header), bytes};
}

TEST(NoticeTest, FrameIsTheHeaderThenTheText) {
  const std::vector<Notice> notices = {
      Ack{R"("p1")", true, 18446744073709551615u},
      Ack{"", false, 0},
      SubscribeAck{"7", false},
      Error{R"("x")", ErrorCode::kForbidden, "quote \" backslash \\ control \x01 tab \t"},
      Gap{"prices.nasdaq.AAPL", 12},
      Recovery{"a.b", "9f2c4e1a0b3d5c7e", 5, 121, 130, true},
      Reconnect{0, 8000, "drain"},
      Reconnect{2000, 1000, ""},
  };
  for (const Notice& notice : notices) {
    const std::string text = encode_notice(notice);
    EXPECT_EQ(frame_of(notice), header_of(text.size()) + text) << text;
  }
}

TEST(NoticeTest, ReconnectAsPROTOCOLShowsIt) {
  EXPECT_EQ(encode_notice(Reconnect{0, 30000, "drain"}),
            R"({"type":"reconnect","after_ms":0,"jitter_ms":30000,"reason":"drain"})");
  EXPECT_EQ(encode_notice(Reconnect{2000, 1000, ""}),
            R"({"type":"reconnect","after_ms":2000,"jitter_ms":1000})");
}

TEST(NoticeTest, EveryLengthEncodingIsExact) {
  // An error's text is the one unbounded part: walk it across the 7-bit, 16-bit and 64-bit
  // length encodings (RFC 6455 section 5.2), escapes included, which change the length.
  for (size_t length :
       {0u, 60u, 61u, 62u, 63u, 64u, 65u, 66u, 70u, 65440u, 65480u, 65535u, 65536u, 70000u}) {
    for (const char fill : {'a', '"', '\x02'}) {
      const std::string text(length, fill);
      const Notice notice = Error{"1", ErrorCode::kBadRequest, text};
      const std::string expected = encode_notice(notice);
      EXPECT_EQ(frame_of(notice), header_of(expected.size()) + expected)
          << length << " of " << int(fill);
    }
  }
}

}  // namespace
}  // namespace herald::protocol::pubsub
