// The simulated network: each submit_and_wait() is one step. It releases the completions the
// last steps made (unless the seed delays them), accepts waiting clients, hands each armed
// receive one random piece of what its client sent, and lets each parked send through as far
// as the client's window allows. Order within a connection is kept, as a kernel keeps it.
#include "broker/io/sim_backend.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

namespace herald::broker::io {

uint64_t SimBackend::Random::next() {
  state += 0x9e3779b97f4a7c15;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

common::Status SimBackend::init(const BackendConfig& config) {
  files_.resize(config.file_slots);
  for (uint32_t slot = config.file_slots; slot > 0; --slot) free_files_.push_back(slot - 1);
  buffers_.assign(config.recv_buffer_count, std::vector<uint8_t>(config.recv_buffer_bytes));
  for (uint32_t id = config.recv_buffer_count; id > 0; --id) {
    free_buffers_.push_back(static_cast<uint16_t>(id - 1));
  }
  return common::Status::ok();
}

void SimBackend::complete(uint64_t user_data, int32_t res, uint32_t flags) {
  staged_.push_back(Completion{user_data, res, flags});
}

// Accept.

void SimBackend::accept_multishot(int /*listen_fd*/, uint64_t user_data) {
  assert(!accept_armed_);
  accept_armed_ = true;
  accept_data_ = user_data;
}

void SimBackend::step_accept() {
  while (accept_armed_ && !connecting_.empty()) {
    if (free_files_.empty()) {
      complete(accept_data_, -ENFILE);
      accept_armed_ = false;
      return;
    }
    uint32_t id = connecting_.front();
    connecting_.pop_front();
    uint32_t slot = free_files_.back();
    free_files_.pop_back();
    files_[slot] = File{};
    files_[slot].client = id;
    files_[slot].open = true;
    clients_[id].file = slot;
    clients_[id].accepted = true;
    complete(accept_data_, static_cast<int32_t>(slot), Completion::kMoreFlag);
  }
}

void SimBackend::peer_name(uint32_t file, void* address, uint32_t address_bytes,
                           uint64_t user_data) {
  assert(files_[file].open);
  // 127.0.0.x, x from the client id: distinct clients, distinct addresses.
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_addr.s_addr = htonl(0x7f000001 + files_[file].client % 250);
  peer.sin_port = htons(static_cast<uint16_t>(40000 + files_[file].client));
  std::memset(address, 0, address_bytes);
  std::memcpy(address, &peer, std::min<size_t>(address_bytes, sizeof(peer)));
  complete(user_data, static_cast<int32_t>(address_bytes));
}

// Receive.

void SimBackend::recv_multishot(uint32_t file, uint64_t user_data) {
  File& entry = files_[file];
  assert(entry.open && !entry.recv_armed);
  entry.recv_armed = true;
  entry.recv_data = user_data;
}

void SimBackend::end_recv(File& file, int32_t res) {
  file.recv_armed = false;
  complete(file.recv_data, res);
}

void SimBackend::step_receive(uint32_t slot) {
  File& file = files_[slot];
  SimClient& client = clients_[file.client];
  if (client.reset) return end_recv(file, -ECONNRESET);
  if (client.to_server.empty()) {
    if (client.eof_sent) end_recv(file, 0);
    return;
  }
  if (free_buffers_.empty()) return end_recv(file, -ENOBUFS);
  uint16_t id = free_buffers_.back();
  free_buffers_.pop_back();
  size_t piece = std::min(client.to_server.size(), buffers_[id].size());
  if (faults_.receive_piece_max != 0) {
    piece = std::min<size_t>(piece, random_.between(1, faults_.receive_piece_max));
  }
  std::memcpy(buffers_[id].data(), client.to_server.data(), piece);
  client.to_server.erase(0, piece);
  complete(
      file.recv_data, static_cast<int32_t>(piece),
      Completion::kMoreFlag | Completion::kBufferFlag | (uint32_t{id} << Completion::kBufferShift));
}

std::span<uint8_t> SimBackend::buffer(uint16_t buffer_id, size_t bytes) {
  assert(buffer_id < buffers_.size() && bytes <= buffers_[buffer_id].size());
  return {buffers_[buffer_id].data(), bytes};
}

void SimBackend::recycle(uint16_t buffer_id) {
  assert(buffer_id < buffers_.size() && free_buffers_.size() < buffers_.size());
  free_buffers_.push_back(buffer_id);
}

// Send.

void SimBackend::park_send(uint32_t slot, std::string bytes, uint64_t user_data) {
  File& file = files_[slot];
  assert(file.open && !file.send_parked);
  file.send_parked = true;
  file.send_data = user_data;
  file.send_bytes = std::move(bytes);
}

void SimBackend::send(uint32_t file, const void* bytes, size_t size, uint64_t user_data) {
  park_send(file, std::string(static_cast<const char*>(bytes), size), user_data);
}

void SimBackend::sendmsg(uint32_t file, const msghdr* message, uint64_t user_data) {
  std::string bytes;
  for (size_t i = 0; i < message->msg_iovlen; ++i) {
    const iovec& piece = message->msg_iov[i];
    bytes.append(static_cast<const char*>(piece.iov_base), piece.iov_len);
  }
  park_send(file, std::move(bytes), user_data);
}

void SimBackend::step_send(uint32_t slot) {
  File& file = files_[slot];
  SimClient& client = clients_[file.client];
  if (client.reset) {
    file.send_parked = false;
    complete(file.send_data, -ECONNRESET);
    return;
  }
  size_t room = file.send_bytes.size();
  if (client.window != 0) {
    room =
        client.from_server.size() >= client.window ? 0 : client.window - client.from_server.size();
  }
  size_t sent = std::min(room, file.send_bytes.size());
  if (faults_.send_piece_max != 0 && sent > 0) {
    sent = std::min<size_t>(sent, random_.between(1, faults_.send_piece_max));
  }
  if (sent == 0) return;  // a full window: the send waits, as on a real socket
  client.from_server.append(file.send_bytes, 0, sent);
  file.send_parked = false;
  file.send_bytes.clear();
  complete(file.send_data, static_cast<int32_t>(sent));
}

void SimBackend::shutdown_write(uint32_t file, uint64_t user_data) {
  assert(files_[file].open);
  clients_[files_[file].client].server_fin = true;
  complete(user_data, 0);
}

// Cancel and close.

void SimBackend::cancel(uint64_t target, uint64_t user_data) {
  bool found = false;
  if (accept_armed_ && accept_data_ == target) {
    accept_armed_ = false;
    found = true;
  }
  for (File& file : files_) {
    if (found) break;
    if (file.recv_armed && file.recv_data == target) {
      file.recv_armed = false;
      found = true;
    } else if (file.send_parked && file.send_data == target) {
      file.send_parked = false;
      found = true;
    }
  }
  if (!found) {
    size_t before = timers_.size();
    std::erase(timers_, target);
    found = timers_.size() != before;
  }
  if (found) complete(target, -ECANCELED);
  complete(user_data, found ? 0 : -ENOENT);
}

void SimBackend::close_file(uint32_t slot, uint64_t user_data) {
  File& file = files_[slot];
  assert(file.open);
  if (file.recv_armed) complete(file.recv_data, -ECANCELED);
  if (file.send_parked) complete(file.send_data, -ECANCELED);
  clients_[file.client].server_closed = true;
  file = File{};
  free_files_.push_back(slot);
  complete(user_data, 0);
}

// Timers, reads, wakes.

void SimBackend::timeout(const Timespec* /*after*/, uint64_t user_data) {
  timers_.push_back(user_data);
}

void SimBackend::fire_timers() {
  for (uint64_t user_data : timers_) complete(user_data, -ETIME);
  timers_.clear();
}

void SimBackend::read(int fd, void* buffer, uint32_t bytes, uint64_t user_data) {
  reads_.push_back(Read{fd, buffer, bytes, user_data});
}

void SimBackend::step_reads() {
  // The worker's eventfd is real (request_stop() writes it): look without blocking.
  for (size_t i = 0; i < reads_.size();) {
    pollfd ready{reads_[i].fd, POLLIN, 0};
    if (poll(&ready, 1, 0) == 1 && (ready.revents & POLLIN) != 0) {
      ssize_t got = ::read(reads_[i].fd, reads_[i].buffer, reads_[i].bytes);
      complete(reads_[i].user_data, got >= 0 ? static_cast<int32_t>(got) : -errno);
      reads_.erase(reads_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

void SimBackend::wake(const WakeAddress& peer, uint64_t /*peer_data*/) {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t written = ::write(peer.event_fd, &one, sizeof(one));
}

// The step.

int SimBackend::submit_and_wait(unsigned /*wait_count*/) {
  bool delayed = faults_.delay_percent != 0 && random_.between(1, 100) <= faults_.delay_percent;
  if (!delayed) {
    ready_.insert(ready_.end(), staged_.begin(), staged_.end());
    staged_.clear();
  }
  step_accept();
  for (uint32_t slot = 0; slot < files_.size(); ++slot) {
    if (files_[slot].open && files_[slot].recv_armed) step_receive(slot);
    if (files_[slot].open && files_[slot].send_parked) step_send(slot);
  }
  step_reads();
  return 0;
}

size_t SimBackend::reap(std::span<Completion> out) {
  size_t count = std::min(out.size(), ready_.size());
  std::copy_n(ready_.begin(), count, out.begin());
  ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(count));
  return count;
}

// The test's side.

uint32_t SimBackend::connect() {
  auto id = static_cast<uint32_t>(clients_.size());
  clients_.emplace_back();
  connecting_.push_back(id);
  return id;
}

std::string SimBackend::take(uint32_t id) { return std::exchange(clients_[id].from_server, {}); }

bool SimBackend::busy() const {
  if (!staged_.empty() || !ready_.empty()) return true;
  return std::any_of(files_.begin(), files_.end(), [this](const File& file) {
    if (!file.open) return false;
    const SimClient& client = clients_[file.client];
    return file.send_parked || (file.recv_armed && !client.to_server.empty());
  });
}

}  // namespace herald::broker::io
