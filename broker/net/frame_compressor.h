// The frames a connection that negotiated permessage-deflate (RFC 7692) is sent instead of the
// plain ones. The broker always answers server_no_context_takeover, so a compressed frame
// depends on nothing that came before on its connection: a broadcast is compressed once, by the
// first worker that queues it to such a connection, and every such subscriber on every worker
// gets the same compressed bytes (SharedRef::variant).
#pragma once

#include <cstddef>
#include <memory>

#include "broker/net/counters.h"
#include "broker/net/shared_buffer.h"
#include "protocol/websocket/deflate.h"

namespace herald::broker::net {

// Thread: one worker's; one per worker. The zlib compressor (about 270 KiB) is made with the
// first frame it compresses, so a worker without deflate clients pays nothing.
class FrameCompressor {
 public:
  // `level`: zlib's 1 to 9. Frames whose payload is below `min_bytes` go out plain: the
  // deflate block costs more than it saves on them, and RSV1 is per message (§6).
  FrameCompressor(int level, size_t min_bytes, WorkerCounters& counters);
  ~FrameCompressor();
  FrameCompressor(const FrameCompressor&) = delete;
  FrameCompressor& operator=(const FrameCompressor&) = delete;

  // What to queue instead of `frames` (one frame, or a replay page of several) for a connection
  // that negotiated deflate: their compressed variant, made now if nobody has made it, or
  // `frames` themselves when compressing gains nothing or another worker is at it.
  [[nodiscard]] SharedRef for_deflate(const SharedRef& frames);

 private:
  // The variant of `frames`: each data frame of min_bytes or more compressed, the others
  // copied. Null when no frame got smaller.
  SharedRef compress(const SharedRef& frames);

  const int level_;
  const size_t min_bytes_;
  WorkerCounters& counters_;
  std::unique_ptr<protocol::websocket::Deflater> deflater_;
};

}  // namespace herald::broker::net
