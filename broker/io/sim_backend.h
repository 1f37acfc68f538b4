// The simulated backend, for tests: in-memory sockets and a seeded scheduler in place of the
// kernel. The real worker runs over it on the test's thread, with no sockets: bytes arrive in
// random pieces, sends come back short, completions wait a few ticks, peers reset. The same
// seed replays the same run.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/io/backend.h"

namespace herald::broker::io {

// What the simulation may do to the broker; every choice is drawn from the seed.
struct SimFaults {
  uint32_t receive_piece_max = 0;  // bytes per receive completion at most (0: a whole buffer)
  uint32_t send_piece_max = 0;     // bytes a send takes at most (0: all that fits the window)
  uint32_t delay_percent = 0;      // chance that a tick holds back the completions it made
};

// One client's end of a simulated connection.
struct SimClient {
  uint32_t file = 0;  // the broker's file slot, once accepted
  bool accepted = false;
  bool eof_sent = false;       // the client shut its side down
  bool reset = false;          // the client vanished: the broker's I/O fails
  bool server_fin = false;     // the broker shut its side down
  bool server_closed = false;  // the broker closed the connection
  size_t window = 0;           // bytes the client leaves unread before sends stall (0: none)
  std::string to_server;       // sent by the client, not yet received
  std::string from_server;     // received from the broker, not yet taken by the test
};

class SimBackend final : public Backend {
 public:
  SimBackend(uint64_t seed, SimFaults faults) : random_(seed), faults_(faults) {}

  [[nodiscard]] BackendKind kind() const override { return BackendKind::kSimulated; }
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

  // Never blocks: one step of the simulated network, whatever `wait_count` says.
  int submit_and_wait(unsigned wait_count) override;
  [[nodiscard]] size_t reap(std::span<Completion> out) override;

  [[nodiscard]] std::span<uint8_t> buffer(uint16_t buffer_id, size_t bytes) override;
  void recycle(uint16_t buffer_id) override;

  // The test's side of the network.
  // A new client; the broker accepts it while an accept is armed. Returns its id.
  uint32_t connect();
  [[nodiscard]] SimClient& client(uint32_t id) { return clients_[id]; }
  [[nodiscard]] size_t client_count() const { return clients_.size(); }
  // Bytes the broker sent to `id` since the last call.
  [[nodiscard]] std::string take(uint32_t id);
  // Completes every armed timeout (the once-a-second sweep runs on the next tick).
  void fire_timers();
  // Whether the broker has an operation in flight or a completion not yet reaped.
  [[nodiscard]] bool busy() const;

 private:
  // splitmix64: the same sequence from the same seed on every platform.
  struct Random {
    explicit Random(uint64_t seed) : state(seed) {}
    uint64_t next();
    // Uniform in [low, high].
    uint64_t between(uint64_t low, uint64_t high) { return low + next() % (high - low + 1); }
    uint64_t state;
  };
  struct File {
    uint32_t client = 0;
    bool open = false;
    bool recv_armed = false;
    bool send_parked = false;
    uint64_t recv_data = 0;
    uint64_t send_data = 0;
    std::string send_bytes;  // the parked send's bytes, gathered when it was issued
  };
  struct Read {
    int fd;
    void* buffer;
    uint32_t bytes;
    uint64_t user_data;
  };

  void complete(uint64_t user_data, int32_t res, uint32_t flags = 0);
  void step_accept();
  void step_receive(uint32_t slot);
  void step_send(uint32_t slot);
  void step_reads();
  void end_recv(File& file, int32_t res);
  void park_send(uint32_t slot, std::string bytes, uint64_t user_data);

  Random random_;
  SimFaults faults_;
  std::vector<SimClient> clients_;
  std::deque<uint32_t> connecting_;  // clients not accepted yet
  std::vector<File> files_;
  std::vector<uint32_t> free_files_;
  bool accept_armed_ = false;
  uint64_t accept_data_ = 0;
  std::vector<uint64_t> timers_;
  std::vector<Read> reads_;
  std::vector<Completion> staged_;  // made this tick; released to ready_ at the next one
  std::deque<Completion> ready_;
  std::vector<std::vector<uint8_t>> buffers_;
  std::vector<uint16_t> free_buffers_;
};

}  // namespace herald::broker::io
