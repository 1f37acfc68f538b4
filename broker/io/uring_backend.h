// The io_uring backend: one ring (SINGLE_ISSUER, DEFER_TASKRUN), a direct-descriptor table
// for accepted sockets and a provided-buffer ring for multishot receives. The fast path.
#pragma once

#include "broker/io/backend.h"
#include "broker/io/buffer_ring.h"
#include "broker/io/ring.h"

namespace herald::broker::io {

class UringBackend final : public Backend {
 public:
  UringBackend() = default;

  [[nodiscard]] BackendKind kind() const override { return BackendKind::kUring; }
  [[nodiscard]] common::Status init(const BackendConfig& config) override;
  [[nodiscard]] WakeAddress wake_address(int event_fd) const override;

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
  void submit() override;
  [[nodiscard]] size_t reap(std::span<Completion> out) override;

  [[nodiscard]] std::span<uint8_t> buffer(uint16_t buffer_id, size_t bytes) override {
    return buffers_.buffer(buffer_id, bytes);
  }
  void recycle(uint16_t buffer_id) override { buffers_.recycle(buffer_id); }
  void trim_idle(uint64_t now_ms) override { buffers_.trim(now_ms); }

 private:
  // A failed MSG_RING completes here, tagged with this kind and the peer's eventfd.
  static constexpr uint8_t kWakeFailedKind = 0xff;

  void on_wake_failed(const Completion& completion);

  Ring ring_;
  BufferRing buffers_;
  bool msg_ring_failed_ = false;  // wake peers through their eventfd from now on
};

}  // namespace herald::broker::io
