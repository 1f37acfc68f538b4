// Where the headers of a tick's multi-buffer sends live until the kernel has taken them: a
// sendmsg's msghdr and iovec array need only outlast the submit that carries it (io/backend.h),
// not the send, so one per-worker arena serves every connection and is reset each tick.
//
// Before this, each send owned a 1 KiB operation object until its completion. At 10,000
// subscribers a tick keeps 10,000 sends in flight, more than a pool should pin, so most sends
// allocated and zeroed one: 60 of the 418 instructions a delivery cost (callgrind, 10,000
// subscribers, --publish-window 10).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <memory>

namespace herald::broker::net {

// Thread: the owning worker's.
class SendScratch {
 public:
  static constexpr size_t kIovecs = 16384;  // 256 KiB
  static constexpr size_t kHeaders = 4096;

  // A copy of `message` and its iovecs that stays put until reset(), or null when the arena is
  // full: submit what was issued, reset(), and ask again.
  [[nodiscard]] const msghdr* keep(const msghdr& message);
  void reset() {
    iovecs_used_ = 0;
    headers_used_ = 0;
  }

 private:
  // Allocated on first use: a worker that never gathers two buffers touches none of it.
  std::unique_ptr<iovec[]> iovecs_;
  std::unique_ptr<msghdr[]> headers_;
  size_t iovecs_used_ = 0;
  size_t headers_used_ = 0;
};

}  // namespace herald::broker::net
