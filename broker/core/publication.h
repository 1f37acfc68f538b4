// What travels between workers for one published message: the request a worker forwards to
// the topic's owner (and gets back as the answer), and the small description stored beside an
// encoded frame (topic, publisher, echo). I/O-free; frames themselves live in broker/net.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace herald::broker::core {

// Where an answer goes: a worker and a connection key (slot and generation) on it.
struct ReplyAddress {
  uint32_t worker = 0;
  uint64_t connection = 0;
};

// A publish on its way to the topic's owner, then back as the ack. One allocation holds the
// fields and the bytes (topic, id, payload). Thread: handed from one worker to another
// through a channel; exactly one thread uses it at a time.
class PublishRequest {
 public:
  enum class Origin : uint8_t { kWebSocket, kHttp };
  // kStorageFailed: sequenced and delivered live, but its history write failed (no ack).
  // kUnavailable: with several nodes, Redis could not number it (not published, no ack).
  enum class Status : uint8_t {
    kPending,
    kSequenced,
    kTooManyTopics,
    kStorageFailed,
    kUnavailable
  };

  struct Fields {
    std::string_view topic;  // passes check_topic
    std::string_view id;     // raw JSON id, empty when none (WebSocket only)
    std::span<const uint8_t> payload;
    bool binary = false;
    bool echo = true;
    Origin origin = Origin::kWebSocket;
    ReplyAddress reply;
  };

  // Copies `fields` into a new block. Free it with destroy().
  [[nodiscard]] static PublishRequest* create(const Fields& fields);
  static void destroy(PublishRequest* request);

  [[nodiscard]] std::string_view topic() const;
  [[nodiscard]] std::string_view id() const;
  [[nodiscard]] std::span<const uint8_t> payload() const;
  [[nodiscard]] bool binary() const { return binary_; }
  [[nodiscard]] bool echo() const { return echo_; }
  [[nodiscard]] Origin origin() const { return origin_; }
  [[nodiscard]] const ReplyAddress& reply() const { return reply_; }
  // True when the publisher waits for an answer: an HTTP publish, or a command with an id.
  [[nodiscard]] bool wants_answer() const { return origin_ == Origin::kHttp || id_bytes_ > 0; }

  // Set by the owner before the request goes back.
  Status status = Status::kPending;
  uint64_t seq = 0;

 private:
  PublishRequest() = default;
  [[nodiscard]] const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }

  ReplyAddress reply_;
  uint32_t payload_bytes_ = 0;
  uint8_t topic_bytes_ = 0;
  uint8_t id_bytes_ = 0;
  bool binary_ = false;
  bool echo_ = true;
  Origin origin_ = Origin::kWebSocket;
};

// Stored beside each encoded frame so a receiving worker can route it without parsing it.
struct FrameOrigin {
  ReplyAddress publisher;
  uint64_t seq = 0;  // the message's sequence in its topic
  bool echo = true;
  std::string_view topic;
};

// Bytes frame_origin_write() needs for `topic` (a multiple of 8, so what follows is aligned).
[[nodiscard]] size_t frame_origin_bytes(std::string_view topic);
void frame_origin_write(std::span<uint8_t> out, const FrameOrigin& origin);
// The topic view points into `bytes`.
[[nodiscard]] FrameOrigin frame_origin_read(std::span<const uint8_t> bytes);

}  // namespace herald::broker::core
