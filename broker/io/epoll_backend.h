// The epoll backend, for where io_uring is not allowed (container seccomp profiles,
// kernel.io_uring_disabled, old kernels): non-blocking sockets, sendmsg, an eventfd and a
// timerfd, turned into the same completions io_uring would post, so the loop above is one.
#pragma once

#include <sys/epoll.h>

#include <unordered_map>
#include <vector>

#include "broker/io/backend.h"
#include "broker/io/free_buffer_stack.h"

namespace herald::broker::io {

// Readiness is level-triggered: each ready socket gets one recv(2) per wait, so one busy peer
// cannot starve the others, and what it left unread reports ready again. Operations that need
// no readiness (a send with room, shutdown, close, cancel, getpeername) run when issued; their
// completions wait in a queue for reap().
class EpollBackend final : public Backend {
 public:
  EpollBackend() = default;
  ~EpollBackend() override;
  EpollBackend(const EpollBackend&) = delete;
  EpollBackend& operator=(const EpollBackend&) = delete;

  [[nodiscard]] BackendKind kind() const override { return BackendKind::kEpoll; }
  [[nodiscard]] common::Status init(const BackendConfig& config) override;
  [[nodiscard]] WakeAddress wake_address(int event_fd) const override {
    return WakeAddress{-1, event_fd};
  }

  void accept_multishot(int listen_fd, uint64_t user_data) override;
  void peer_name(uint32_t file, void* address, uint32_t address_bytes, uint64_t user_data) override;
  void recv_multishot(uint32_t file, uint64_t user_data) override;
  void send(uint32_t file, const void* bytes, size_t size, uint64_t user_data) override;
  void sendmsg(uint32_t file, const msghdr* message, uint64_t user_data) override;
  void shutdown_write(uint32_t file, uint64_t user_data) override;
  void cancel(uint64_t target, uint64_t user_data) override;
  void close_file(uint32_t file, uint64_t user_data) override;
  void timeout(const Timespec* after, uint64_t user_data) override;
  void read(int fd, void* buffer, uint32_t bytes, uint64_t user_data) override;
  void wake(const WakeAddress& peer, uint64_t peer_data) override;

  int submit_and_wait(unsigned wait_count) override;
  [[nodiscard]] size_t reap(std::span<Completion> out) override;

  [[nodiscard]] std::span<uint8_t> buffer(uint16_t buffer_id, size_t bytes) override;
  void recycle(uint16_t buffer_id) override;
  void trim_idle(uint64_t now_ms) override;

 private:
  // What an epoll event or a pending operation points at.
  enum class Source : uint8_t { kFile, kListener, kRead, kTimer };
  struct Ref {
    Source source;
    uint32_t index;
  };
  // One slot of the file table: an accepted socket and its two possible operations.
  struct File {
    int fd = -1;
    uint32_t events = 0;  // the interest registered with epoll; 0: not registered
    bool recv_armed = false;
    bool send_parked = false;  // waiting for EPOLLOUT
    uint64_t recv_data = 0;
    uint64_t send_data = 0;
    msghdr message{};  // the parked send (a lone buffer is wrapped in `single`)
    iovec single{};
    // A parked sendmsg's iovecs, copied: the caller's copy lasts only until the next submit.
    std::vector<iovec> parked_iovecs;
  };
  struct Listener {
    int fd = -1;
    bool armed = false;
    bool registered = false;
    uint64_t user_data = 0;
  };
  struct Read {
    int fd = -1;
    bool armed = false;
    bool registered = false;
    void* buffer = nullptr;
    uint32_t bytes = 0;
    uint64_t user_data = 0;
  };
  struct Timer {
    uint64_t deadline_ns;
    uint64_t user_data;
  };

  void complete(uint64_t user_data, int32_t res, uint32_t flags = 0);
  void on_event(const epoll_event& event);
  void on_file_ready(uint32_t slot, uint32_t events);
  void on_accept_ready(uint32_t index);
  void on_read_ready(uint32_t index);
  void on_timer_ready();
  // Up to kReceiveBurst buffers of what `slot` has received.
  void receive(uint32_t slot);
  // One sendmsg of the parked or new send: completes it, or parks it for EPOLLOUT.
  void try_send(uint32_t slot);
  void end_recv(uint32_t slot);
  void update_interest(uint32_t slot);
  void set_registration(int fd, Ref ref, uint32_t events, bool& registered);
  void arm_timerfd();
  [[nodiscard]] File& file(uint32_t slot);

  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  std::vector<File> files_;
  std::vector<uint32_t> free_files_;
  std::vector<Listener> listeners_;
  std::vector<Read> reads_;
  std::vector<Timer> timers_;
  uint64_t timerfd_deadline_ns_ = 0;  // what timer_fd_ is armed for; 0: disarmed
  // Operations a cancel can find, by user_data: receives, parked sends, accepts, reads, timers.
  std::unordered_map<uint64_t, Ref> pending_;
  std::vector<Completion> completions_;
  size_t completions_head_ = 0;
  std::vector<epoll_event> events_;

  // Receive buffers: count * bytes, mmap'd so untouched buffers cost no memory.
  uint8_t* buffer_memory_ = nullptr;
  size_t buffer_memory_bytes_ = 0;
  uint32_t buffer_bytes_ = 0;
  uint32_t buffer_count_ = 0;
  FreeBufferStack free_buffers_;
};

}  // namespace herald::broker::io
