// One listener's multishot accept: arming it, re-arming when the kernel ends it, retrying an
// error on the next sweep tick, waiting for a free slot when the file table is full, and
// stopping. Owns the listener; yields accepted file slots to the worker, which opens them.
#pragma once

#include <cstdint>
#include <optional>

#include "broker/io/backend.h"
#include "broker/net/counters.h"
#include "broker/net/listener.h"

namespace herald::broker::net {

// Thread: the owning worker's. `accept_tag` and `cancel_tag` are the user_data of its accept
// and of the accept's cancel.
class Acceptor {
 public:
  Acceptor() = default;
  Acceptor(Listener listener, uint64_t accept_tag, uint64_t cancel_tag)
      : listener_(std::move(listener)), accept_tag_(accept_tag), cancel_tag_(cancel_tag) {}

  // Arms the accept if the listener is open and it is not armed already.
  void start(io::Backend& io);
  // The accept's completion: the file slot of a new connection, if it brought one. Re-arms, or
  // notes why it cannot (a retry on the next tick, a full table); while stopping, closes.
  [[nodiscard]] std::optional<uint32_t> on_complete(const io::Completion& completion,
                                                    io::Backend& io, bool stopping,
                                                    WorkerCounters& counters);
  // The once-a-second tick: re-arms an accept that an error ended.
  void on_tick(io::Backend& io, bool stopping);
  // A connection released its file slot: re-arms an accept that a full table ended.
  void on_slot_freed(io::Backend& io, bool stopping);
  // Stops accepting: cancels the accept (the listener closes when it completes) or closes now.
  void stop(io::Backend& io);

  [[nodiscard]] bool armed() const { return armed_; }
  [[nodiscard]] bool is_open() const { return listener_.is_open(); }
  [[nodiscard]] int fd() const { return listener_.fd(); }
  [[nodiscard]] uint16_t port() const { return listener_.port(); }

 private:
  Listener listener_;
  uint64_t accept_tag_ = 0;
  uint64_t cancel_tag_ = 0;
  bool armed_ = false;
  bool retry_ = false;    // an error ended it: re-arm on the next tick
  bool blocked_ = false;  // -ENFILE ended it: re-arm when a slot frees (or on the next tick)
};

}  // namespace herald::broker::net
