// Notices are small beside message frames, but every publish with an id gets one: measuring
// and writing share one function per notice, so the two cannot disagree.
#include "protocol/pubsub/notice.h"

#include <cassert>
#include <cstring>

#include "protocol/pubsub/json_text.h"
#include "protocol/websocket/frame.h"

namespace herald::protocol::pubsub {
namespace {

// Writes into `out`, or only counts when `out` is null.
class Text {
 public:
  explicit Text(char* out) : out_(out) {}

  void add(std::string_view bytes) {
    if (out_ != nullptr) std::memcpy(out_ + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
  }
  void add_number(uint64_t value) {
    char digits[kDecimalBytesMax];
    add({digits, write_decimal(digits, value)});
  }
  void add_string(std::string_view text) {
    size_ += out_ != nullptr ? write_json_string(out_ + size_, text) : json_string_bytes(text);
  }
  void add_id(std::string_view id) {
    if (id.empty()) return;
    add(R"(,"id":)");
    add(id);
  }
  void add_complete(bool complete) {
    add(complete ? R"(,"complete":true})" : R"(,"complete":false})");
  }
  [[nodiscard]] size_t size() const { return size_; }

 private:
  char* const out_;
  size_t size_ = 0;
};

void write(Text& text, const Ack& ack) {
  text.add(R"({"type":"ack")");
  text.add_id(ack.id);
  if (ack.has_seq) {
    text.add(R"(,"seq":)");
    text.add_number(ack.seq);
  }
  text.add("}");
}

void write(Text& text, const SubscribeAck& ack) {
  text.add(R"({"type":"ack")");
  text.add_id(ack.id);
  text.add_complete(ack.complete);
}

void write(Text& text, const Error& error) {
  text.add(R"({"type":"error")");
  text.add_id(error.id);
  text.add(R"(,"code":")");
  text.add(error_code_name(error.code));
  text.add(R"(","text":)");
  text.add_string(error.text);
  text.add("}");
}

void write(Text& text, const Gap& gap) {
  text.add(R"({"type":"gap","topic":)");
  text.add_string(gap.topic);
  text.add(R"(,"missed":)");
  text.add_number(gap.missed);
  text.add("}");
}

void write(Text& text, const Recovery& recovery) {
  text.add(R"({"type":"recovery","topic":)");
  text.add_string(recovery.topic);
  text.add(R"(,"epoch":)");
  text.add_string(recovery.epoch);
  text.add(R"(,"first":)");
  text.add_number(recovery.first);
  text.add(R"(,"from":)");
  text.add_number(recovery.from);
  text.add(R"(,"next":)");
  text.add_number(recovery.next);
  text.add_complete(recovery.complete);
}

void write(Text& text, const Reconnect& reconnect) {
  text.add(R"({"type":"reconnect","after_ms":)");
  text.add_number(reconnect.after_ms);
  text.add(R"(,"jitter_ms":)");
  text.add_number(reconnect.jitter_ms);
  if (!reconnect.reason.empty()) {
    text.add(R"(,"reason":)");
    text.add_string(reconnect.reason);
  }
  text.add("}");
}

size_t write_text(char* out, const Notice& message) {
  Text text(out);
  std::visit([&](const auto& value) { write(text, value); }, message);
  return text.size();
}

}  // namespace

std::string encode_notice(const Notice& message) {
  std::string out(write_text(nullptr, message), '\0');
  write_text(out.data(), message);
  return out;
}

size_t notice_frame_bytes(const Notice& message) {
  const size_t payload = write_text(nullptr, message);
  return websocket::frame_header_bytes(payload) + payload;
}

size_t write_notice_frame(uint8_t* out, const Notice& message) {
  const size_t payload = write_text(nullptr, message);
  const size_t header = websocket::write_frame_header(out, websocket::Opcode::kText, payload);
  [[maybe_unused]] size_t written = write_text(reinterpret_cast<char*>(out + header), message);
  assert(written == payload);
  return header + payload;
}

}  // namespace herald::protocol::pubsub
