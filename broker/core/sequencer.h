// The owner's side of a publish (PROTOCOL.md sections 6 and 9): the topic's next sequence
// number, the history append queued before any worker can see the message, and the one encoded
// frame every subscriber shares. No I/O: the append is the caller's, the frame type too.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "broker/core/publication.h"
#include "broker/core/topic_table.h"
#include "protocol/pubsub/encode.h"

namespace herald::broker::core {

// `Frame` is a shared, refcounted buffer (broker/net's SharedRef, or a test's): it has
// `static Frame allocate(size_t bytes, size_t meta_bytes)`, `mutable_bytes()` and
// `mutable_meta()`. Thread: the owning worker's; `topics` must outlive the sequencer.
template <typename Frame>
class Sequencer {
 public:
  explicit Sequencer(TopicTable& topics) : topics_(topics) {}

  struct Sequenced {
    uint64_t seq = 0;     // 0: the topic is new and the broker is at its topic limit
    uint64_t ticket = 0;  // what `append` returned: the ack waits for it (0: no history)
    Frame frame;          // the message frame, with a FrameOrigin as its meta
  };

  // Numbers the message, then calls `append(seq)` (uint64_t(uint64_t): queue the history
  // append, return its ticket or 0), and only then encodes the frame. The order is the seam's
  // (worker_history.cc): a message is in the log before any subscriber can get it live, so a
  // replay's read covers whatever live frames its subscription missed.
  template <typename Append>
  [[nodiscard]] Sequenced sequence(const PublishRequest::Fields& fields, Append&& append) {
    Sequenced out;
    out.seq = topics_.next_seq(fields.topic);
    if (out.seq == 0) return out;
    out.ticket = std::forward<Append>(append)(out.seq);
    out.frame = encode(fields, out.seq);
    return out;
  }

  // The message frame of `fields` numbered `seq`, encoded once: every subscriber on every
  // worker gets a reference to these bytes.
  [[nodiscard]] static Frame encode(const PublishRequest::Fields& fields, uint64_t seq) {
    const size_t bytes = protocol::pubsub::message_frame_bytes(
        fields.topic, seq, fields.payload.size(), fields.binary);
    Frame frame = Frame::allocate(bytes, frame_origin_bytes(fields.topic));
    [[maybe_unused]] size_t written = protocol::pubsub::encode_message_frame(
        frame.mutable_bytes().data(), fields.topic, seq, fields.payload, fields.binary);
    assert(written == bytes);
    frame_origin_write(frame.mutable_meta(),
                       FrameOrigin{fields.reply, seq, fields.echo, fields.topic});
    return frame;
  }

  // Continues `topic` after `last_seq` (from its history log at start-up).
  bool continue_after(std::string_view topic, uint64_t last_seq) {
    return topics_.continue_after(topic, last_seq);
  }

 private:
  TopicTable& topics_;
};

}  // namespace herald::broker::core
