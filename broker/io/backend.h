// The I/O seam: one interface for every operation Herald issues (accept, receive, send,
// shutdown, close, cancel, timers, reads, cross-thread wakes, the peer address), with
// completions in io_uring's shape. Backends: io_uring, epoll. Nothing here knows a WebSocket.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "broker/io/completion.h"
#include "protocol/common/status.h"

namespace herald::broker::io {

// kSimulated is the tests' in-memory network (sim_backend.h); --io never picks it.
enum class BackendKind : uint8_t { kUring, kEpoll, kSimulated };

[[nodiscard]] std::string_view backend_name(BackendKind kind);

// Sizes fixed at start-up.
struct BackendConfig {
  uint32_t file_slots = 0;         // connections the backend may hold at once (the file table)
  uint32_t recv_buffer_count = 0;  // receive buffers, a power of two <= 32768
  uint32_t recv_buffer_bytes = 0;  // bytes per receive at most
  uint32_t queue_entries = 0;      // io_uring: SQ size (the CQ is four times larger)
};

// Where another thread wakes this loop: an io_uring to message (MSG_RING) and the eventfd
// that every backend can read. Written once in setup, read by peers after the start latch.
struct WakeAddress {
  int ring_fd = -1;  // -1 unless the backend takes MSG_RING
  int event_fd = -1;
};

// Owned and driven by exactly one thread, the one that called init(). Operations never fail
// when issued: each result, errors included, comes back as a Completion from reap(), never
// from inside the call that issued it. Memory an operation points to (a send's bytes, a peer
// address, a Timespec, a read buffer) must stay valid until its completion; a sendmsg's
// msghdr and iovec array only until the next submit() or submit_and_wait() returns.
// "file" is a slot of the backend's file table, as accepted; a listener or eventfd is a plain
// descriptor the caller owns.
class Backend {
 public:
  virtual ~Backend() = default;

  [[nodiscard]] virtual BackendKind kind() const = 0;
  // Fails with io_error and one line naming the likely cause and fix.
  [[nodiscard]] virtual common::Status init(const BackendConfig& config) = 0;
  [[nodiscard]] virtual WakeAddress wake_address(int event_fd) const = 0;

  // Accepts into free file slots until cancelled or failed; each completion's res is the slot
  // (or -errno, -ENFILE when the table is full; an error ends the operation).
  virtual void accept_multishot(int listen_fd, uint64_t user_data) = 0;
  // The peer's address, exactly `address_bytes` of it; res is the length or -errno.
  virtual void peer_name(uint32_t file, void* address, uint32_t address_bytes,
                         uint64_t user_data) = 0;
  // Receives into the backend's buffers until failed, cancelled, EOF (res 0) or -ENOBUFS (no
  // buffer free). Each completion with bytes carries a buffer to recycle().
  virtual void recv_multishot(uint32_t file, uint64_t user_data) = 0;
  // res is the bytes written (possibly fewer than offered) or -errno.
  virtual void send(uint32_t file, const void* bytes, size_t size, uint64_t user_data) = 0;
  // The kernel copies `message` and its iovecs when it takes the operation (io_uring with
  // IORING_FEAT_SUBMIT_STABLE); the epoll backend copies them when it parks the send.
  virtual void sendmsg(uint32_t file, const msghdr* message, uint64_t user_data) = 0;
  virtual void shutdown_write(uint32_t file, uint64_t user_data) = 0;
  // Cancels the operation tagged `target`: it completes with -ECANCELED (a multishot ends),
  // then this one with 0, or -ENOENT when the target had already ended. Operations are
  // carried out in the order issued, so a cancel issued before close_file finds its target.
  virtual void cancel(uint64_t target, uint64_t user_data) = 0;
  // Frees the slot and closes the socket.
  virtual void close_file(uint32_t file, uint64_t user_data) = 0;
  // Completes with -ETIME after `after`.
  virtual void timeout(const Timespec* after, uint64_t user_data) = 0;
  // One read(2) of `fd` once it is readable (the loop's eventfd).
  virtual void read(int fd, void* buffer, uint32_t bytes, uint64_t user_data) = 0;
  // Any other loop's wakeup: `peer` sees a completion tagged `peer_data` (io_uring MSG_RING)
  // or its eventfd becomes readable. Never fails from the caller's view.
  virtual void wake(const WakeAddress& peer, uint64_t peer_data) = 0;

  // Issues what is queued and waits for at least `wait_count` completions (0: do not wait).
  // Returns >= 0 or -errno; -EINTR, -EAGAIN, -EBUSY and -ETIME are transient.
  virtual int submit_and_wait(unsigned wait_count) = 0;
  // Hands what was issued to the kernel without waiting. Only io_uring batches; the others
  // act when an operation is issued.
  virtual void submit() {}
  // Copies up to out.size() completions out.
  [[nodiscard]] virtual size_t reap(std::span<Completion> out) = 0;

  // The first `bytes` of a received buffer, writable (the Session unmasks in place).
  [[nodiscard]] virtual std::span<uint8_t> buffer(uint16_t buffer_id, size_t bytes) = 0;
  // Gives a received buffer back, normally right after parsing: held buffers starve receives.
  virtual void recycle(uint16_t buffer_id) = 0;
  // Called about once a second with the monotonic time (monotonic_ns() / 1e6): a backend may
  // give back the memory of receive buffers that a quiet spell left unused.
  virtual void trim_idle(uint64_t now_ms) { static_cast<void>(now_ms); }
};

// Which backend to run. kAuto probes io_uring and falls back to epoll.
enum class BackendChoice : uint8_t { kAuto, kUring, kEpoll };

struct ResolvedBackend {
  BackendKind kind = BackendKind::kUring;
  std::string fallback_cause;  // kAuto fell back to epoll: why (one line), else empty
  std::string failure;         // kUring cannot run: why (one line), else empty
};

// Decides once, at start-up, on the main thread: probes io_uring unless epoll is forced.
[[nodiscard]] ResolvedBackend resolve_backend(BackendChoice choice);

// A new, uninitialised io_uring or epoll backend.
[[nodiscard]] std::unique_ptr<Backend> make_backend(BackendKind kind);

}  // namespace herald::broker::io
