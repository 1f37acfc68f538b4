// epoll readiness turned into io_uring-shaped completions: a multishot receive is EPOLLIN kept
// registered, a send that meets a full socket waits for EPOLLOUT, timeouts share one timerfd.
#include "broker/io/epoll_backend.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

namespace herald::broker::io {

namespace {

constexpr size_t kEventBatch = 1024;
// Connections taken per listener readiness, so a connection storm cannot starve the loop.
constexpr int kAcceptBatch = 64;
// Buffers filled per readable socket per wait, as io_uring's multishot receive posts what has
// arrived: a publisher's burst is taken in one tick, so the frames it makes leave in one send
// per subscriber instead of one each. Bounded, so one busy peer cannot starve the others.
constexpr int kReceiveBurst = 256;

uint64_t pack(uint8_t source, uint32_t index) { return (uint64_t{source} << 32) | index; }

}  // namespace

EpollBackend::~EpollBackend() {
  for (const File& entry : files_) {
    if (entry.fd >= 0) ::close(entry.fd);
  }
  if (timer_fd_ >= 0) ::close(timer_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (buffer_memory_ != nullptr) munmap(buffer_memory_, buffer_memory_bytes_);
}

common::Status EpollBackend::init(const BackendConfig& config) {
  assert(config.recv_buffer_count > 0 && config.recv_buffer_count <= 32768);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    return common::Status::io_error(std::string("epoll_create1: ") + std::strerror(errno));
  }
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) {
    return common::Status::io_error(std::string("timerfd_create: ") + std::strerror(errno));
  }
  bool registered = false;
  set_registration(timer_fd_, Ref{Source::kTimer, 0}, EPOLLIN, registered);
  buffer_count_ = config.recv_buffer_count;
  buffer_bytes_ = config.recv_buffer_bytes;
  buffer_memory_bytes_ = size_t{buffer_count_} * buffer_bytes_;
  void* memory = mmap(nullptr, buffer_memory_bytes_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return common::Status::io_error("cannot map the receive buffers");
  buffer_memory_ = static_cast<uint8_t*>(memory);
  // Lowest ids on top: a quiet server keeps touching the same few buffers.
  free_buffers_.init(buffer_memory_, buffer_count_, buffer_bytes_);
  files_.resize(config.file_slots);
  free_files_.reserve(config.file_slots);
  for (uint32_t slot = config.file_slots; slot > 0; --slot) free_files_.push_back(slot - 1);
  events_.resize(kEventBatch);
  completions_.reserve(kEventBatch);
  return common::Status::ok();
}

EpollBackend::File& EpollBackend::file(uint32_t slot) {
  assert(slot < files_.size() && files_[slot].fd >= 0 && "operation on a free file slot");
  return files_[slot];
}

void EpollBackend::complete(uint64_t user_data, int32_t res, uint32_t flags) {
  completions_.push_back(Completion{user_data, res, flags});
}

void EpollBackend::set_registration(int fd, Ref ref, uint32_t events, bool& registered) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = pack(static_cast<uint8_t>(ref.source), ref.index);
  int op = registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  [[maybe_unused]] int rc = epoll_ctl(epoll_fd_, op, fd, &event);
  assert(rc == 0 && "epoll_ctl on a descriptor this backend owns");
  registered = true;
}

void EpollBackend::update_interest(uint32_t slot) {
  File& entry = files_[slot];
  uint32_t wanted = (entry.recv_armed ? EPOLLIN : 0u) | (entry.send_parked ? EPOLLOUT : 0u);
  if (wanted == entry.events) return;
  if (wanted == 0) {
    // Unregistered, not just masked: EPOLLHUP and EPOLLERR are reported whatever the mask,
    // and nothing would consume them.
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, entry.fd, nullptr);
  } else {
    bool registered = entry.events != 0;
    set_registration(entry.fd, Ref{Source::kFile, slot}, wanted, registered);
  }
  entry.events = wanted;
}

// Accept.

void EpollBackend::accept_multishot(int listen_fd, uint64_t user_data) {
  auto it = std::find_if(listeners_.begin(), listeners_.end(),
                         [listen_fd](const Listener& l) { return l.fd == listen_fd; });
  if (it == listeners_.end()) {
    // Readiness is shared by every worker's SO_REUSEPORT socket and a peer may give up before
    // accept4: a blocking listener could stall the loop.
    fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
    it = listeners_.insert(listeners_.end(), Listener{listen_fd});
  }
  auto index = static_cast<uint32_t>(it - listeners_.begin());
  assert(!it->armed);
  it->armed = true;
  it->user_data = user_data;
  set_registration(listen_fd, Ref{Source::kListener, index}, EPOLLIN, it->registered);
  pending_[user_data] = Ref{Source::kListener, index};
}

void EpollBackend::on_accept_ready(uint32_t index) {
  Listener& listener = listeners_[index];
  auto end_accept = [&](int32_t res) {
    complete(listener.user_data, res);
    pending_.erase(listener.user_data);
    listener.armed = false;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listener.fd, nullptr);
    listener.registered = false;
  };
  for (int taken = 0; taken < kAcceptBatch && listener.armed; ++taken) {
    if (free_files_.empty()) {
      end_accept(-ENFILE);  // the caller re-arms once it frees a slot
      return;
    }
    int fd = accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == ECONNABORTED || errno == EINTR) continue;
      end_accept(-errno);
      return;
    }
    uint32_t slot = free_files_.back();
    free_files_.pop_back();
    files_[slot] = File{};
    files_[slot].fd = fd;
    complete(listener.user_data, static_cast<int32_t>(slot), Completion::kMoreFlag);
  }
}

void EpollBackend::peer_name(uint32_t slot, void* address, uint32_t address_bytes,
                             uint64_t user_data) {
  socklen_t length = address_bytes;
  if (getpeername(file(slot).fd, static_cast<sockaddr*>(address), &length) != 0) {
    complete(user_data, -errno);
    return;
  }
  complete(user_data, static_cast<int32_t>(std::min<socklen_t>(length, address_bytes)));
}

// Receive.

void EpollBackend::recv_multishot(uint32_t slot, uint64_t user_data) {
  File& entry = file(slot);
  assert(!entry.recv_armed);
  entry.recv_armed = true;
  entry.recv_data = user_data;
  pending_[user_data] = Ref{Source::kFile, slot};
  update_interest(slot);
}

void EpollBackend::end_recv(uint32_t slot) {
  File& entry = files_[slot];
  entry.recv_armed = false;
  pending_.erase(entry.recv_data);
  update_interest(slot);
}

void EpollBackend::receive(uint32_t slot) {
  File& entry = files_[slot];
  for (int taken = 0; taken < kReceiveBurst; ++taken) {
    if (free_buffers_.empty()) {
      complete(entry.recv_data, -ENOBUFS);  // as io_uring: the multishot ends, the owner re-arms
      end_recv(slot);
      return;
    }
    uint16_t id = free_buffers_.top();
    ssize_t got = ::recv(entry.fd, buffer_memory_ + size_t{id} * buffer_bytes_, buffer_bytes_, 0);
    if (got > 0) {
      free_buffers_.pop();
      complete(entry.recv_data, static_cast<int32_t>(got),
               Completion::kMoreFlag | Completion::kBufferFlag |
                   (uint32_t{id} << Completion::kBufferShift));
      // A buffer not filled means the socket is drained: skip the read that would say EAGAIN.
      if (static_cast<size_t>(got) < buffer_bytes_) return;
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    complete(entry.recv_data, got == 0 ? 0 : -errno);  // EOF or an error ends the multishot
    end_recv(slot);
    return;
  }
}

std::span<uint8_t> EpollBackend::buffer(uint16_t buffer_id, size_t bytes) {
  assert(buffer_id < buffer_count_ && bytes <= buffer_bytes_);
  return {buffer_memory_ + size_t{buffer_id} * buffer_bytes_, bytes};
}

void EpollBackend::recycle(uint16_t buffer_id) {
  assert(buffer_id < buffer_count_ && free_buffers_.size() < buffer_count_);
  free_buffers_.push(buffer_id);
}

void EpollBackend::trim_idle(uint64_t now_ms) {
  static_cast<void>(now_ms);
  // A burst of readable sockets fills up to kReceiveBurst buffers per socket before the loop
  // recycles them; the ones a quiet second did not reach give their pages back.
  free_buffers_.release_cold();
}

// Send.

void EpollBackend::send(uint32_t slot, const void* bytes, size_t size, uint64_t user_data) {
  File& entry = file(slot);
  entry.single = iovec{const_cast<void*>(bytes), size};
  entry.message = msghdr{};
  entry.message.msg_iov = &entry.single;
  entry.message.msg_iovlen = 1;
  entry.send_data = user_data;
  try_send(slot);
}

void EpollBackend::sendmsg(uint32_t slot, const msghdr* message, uint64_t user_data) {
  File& entry = file(slot);
  entry.message = *message;  // the iovecs stay the caller's, valid until the completion
  entry.send_data = user_data;
  try_send(slot);
}

void EpollBackend::try_send(uint32_t slot) {
  File& entry = files_[slot];
  ssize_t sent = ::sendmsg(entry.fd, &entry.message, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    if (!entry.send_parked) {
      if (entry.message.msg_iov != &entry.single) {
        entry.parked_iovecs.assign(entry.message.msg_iov,
                                   entry.message.msg_iov + entry.message.msg_iovlen);
        entry.message.msg_iov = entry.parked_iovecs.data();
      }
      entry.send_parked = true;
      pending_[entry.send_data] = Ref{Source::kFile, slot};
      update_interest(slot);
    }
    return;
  }
  complete(entry.send_data, sent >= 0 ? static_cast<int32_t>(sent) : -errno);
  if (entry.send_parked) {
    entry.send_parked = false;
    pending_.erase(entry.send_data);
    update_interest(slot);
  }
}

void EpollBackend::shutdown_write(uint32_t slot, uint64_t user_data) {
  complete(user_data, ::shutdown(file(slot).fd, SHUT_WR) == 0 ? 0 : -errno);
}

// Cancel and close.

void EpollBackend::cancel(uint64_t target, uint64_t user_data) {
  auto it = pending_.find(target);
  if (it == pending_.end()) {
    complete(user_data, -ENOENT);
    return;
  }
  Ref ref = it->second;
  pending_.erase(it);
  complete(target, -ECANCELED);
  switch (ref.source) {
    case Source::kFile: {
      File& entry = files_[ref.index];
      if (entry.recv_armed && entry.recv_data == target) entry.recv_armed = false;
      if (entry.send_parked && entry.send_data == target) entry.send_parked = false;
      update_interest(ref.index);
      break;
    }
    case Source::kListener: {
      Listener& listener = listeners_[ref.index];
      listener.armed = false;
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listener.fd, nullptr);
      listener.registered = false;
      break;
    }
    case Source::kRead:
      reads_[ref.index].armed = false;  // EPOLLONESHOT: no event comes until it is re-armed
      break;
    case Source::kTimer:
      std::erase_if(timers_, [target](const Timer& timer) { return timer.user_data == target; });
      break;
  }
  complete(user_data, 0);
}

void EpollBackend::close_file(uint32_t slot, uint64_t user_data) {
  File& entry = file(slot);
  // What is still armed ends now, as a cancelled operation would.
  if (entry.recv_armed) {
    complete(entry.recv_data, -ECANCELED);
    pending_.erase(entry.recv_data);
  }
  if (entry.send_parked) {
    complete(entry.send_data, -ECANCELED);
    pending_.erase(entry.send_data);
  }
  ::close(entry.fd);  // also leaves the epoll set: nothing else holds the descriptor
  entry = File{};
  free_files_.push_back(slot);
  complete(user_data, 0);
}

// Timers, reads and wakeups.

void EpollBackend::timeout(const Timespec* after, uint64_t user_data) {
  uint64_t deadline = monotonic_ns() + static_cast<uint64_t>(after->tv_sec) * 1000000000 +
                      static_cast<uint64_t>(after->tv_nsec);
  timers_.push_back(Timer{deadline, user_data});
  pending_[user_data] = Ref{Source::kTimer, 0};
  arm_timerfd();
}

void EpollBackend::arm_timerfd() {
  uint64_t earliest = 0;
  for (const Timer& timer : timers_) {
    if (earliest == 0 || timer.deadline_ns < earliest) earliest = timer.deadline_ns;
  }
  if (earliest == timerfd_deadline_ns_) return;
  timerfd_deadline_ns_ = earliest;
  itimerspec spec{};  // all zero disarms
  if (earliest != 0) {
    spec.it_value.tv_sec = static_cast<time_t>(earliest / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(earliest % 1000000000);
  }
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void EpollBackend::on_timer_ready() {
  uint64_t expirations = 0;
  [[maybe_unused]] ssize_t got = ::read(timer_fd_, &expirations, sizeof(expirations));
  uint64_t now = monotonic_ns();
  // In deadline order, as io_uring posts them.
  std::sort(timers_.begin(), timers_.end(),
            [](const Timer& a, const Timer& b) { return a.deadline_ns < b.deadline_ns; });
  size_t expired = 0;
  while (expired < timers_.size() && timers_[expired].deadline_ns <= now) {
    complete(timers_[expired].user_data, -ETIME);
    pending_.erase(timers_[expired].user_data);
    ++expired;
  }
  timers_.erase(timers_.begin(), timers_.begin() + static_cast<std::ptrdiff_t>(expired));
  timerfd_deadline_ns_ = 0;  // it fired: whatever it was armed for is gone
  arm_timerfd();
}

void EpollBackend::read(int fd, void* buffer, uint32_t bytes, uint64_t user_data) {
  auto it = std::find_if(reads_.begin(), reads_.end(), [fd](const Read& r) { return r.fd == fd; });
  if (it == reads_.end()) it = reads_.insert(reads_.end(), Read{fd});
  auto index = static_cast<uint32_t>(it - reads_.begin());
  assert(!it->armed);
  it->armed = true;
  it->buffer = buffer;
  it->bytes = bytes;
  it->user_data = user_data;
  set_registration(fd, Ref{Source::kRead, index}, EPOLLIN | EPOLLONESHOT, it->registered);
  pending_[user_data] = Ref{Source::kRead, index};
}

void EpollBackend::on_read_ready(uint32_t index) {
  Read& entry = reads_[index];
  if (!entry.armed) return;
  ssize_t got = ::read(entry.fd, entry.buffer, entry.bytes);
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
    set_registration(entry.fd, Ref{Source::kRead, index}, EPOLLIN | EPOLLONESHOT, entry.registered);
    return;
  }
  entry.armed = false;
  pending_.erase(entry.user_data);
  complete(entry.user_data, got >= 0 ? static_cast<int32_t>(got) : -errno);
}

void EpollBackend::wake(const WakeAddress& peer, uint64_t /*peer_data*/) {
  // The peer's eventfd read completes; it drains its channels every tick whatever woke it.
  uint64_t one = 1;
  [[maybe_unused]] ssize_t written = ::write(peer.event_fd, &one, sizeof(one));
}

// The wait.

void EpollBackend::on_event(const epoll_event& event) {
  auto source = static_cast<Source>(event.data.u64 >> 32);
  auto index = static_cast<uint32_t>(event.data.u64);
  switch (source) {
    case Source::kFile:
      on_file_ready(index, event.events);
      return;
    case Source::kListener:
      if (listeners_[index].armed) on_accept_ready(index);
      return;
    case Source::kRead:
      on_read_ready(index);
      return;
    case Source::kTimer:
      on_timer_ready();
      return;
  }
}

void EpollBackend::on_file_ready(uint32_t slot, uint32_t events) {
  File& entry = files_[slot];
  // A slot closed earlier in this batch (its events were queued before the close).
  if (entry.fd < 0) return;
  if (entry.recv_armed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) receive(slot);
  if (entry.send_parked && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) try_send(slot);
}

int EpollBackend::submit_and_wait(unsigned wait_count) {
  bool ready = completions_head_ < completions_.size();
  int timeout_ms = ready || wait_count == 0 ? 0 : -1;
  int count = epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (count < 0) return -errno;
  for (int i = 0; i < count; ++i) on_event(events_[static_cast<size_t>(i)]);
  return count;
}

size_t EpollBackend::reap(std::span<Completion> out) {
  size_t count = std::min(out.size(), completions_.size() - completions_head_);
  std::copy_n(completions_.begin() + static_cast<std::ptrdiff_t>(completions_head_), count,
              out.begin());
  completions_head_ += count;
  if (completions_head_ == completions_.size()) {
    completions_.clear();
    completions_head_ = 0;
  }
  return count;
}

}  // namespace herald::broker::io
