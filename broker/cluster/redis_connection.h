// One non-blocking connection to a Redis server: TCP connect, optional TLS (OpenSSL over the
// socket), an output buffer of RESP commands formatted by hiredis, and hiredis's reader over
// the bytes received. It never blocks and never waits: the owner polls fd() for events() and
// calls on_events(). Thread: the owning link's only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/cluster/redis_config.h"

struct redisReader;
struct redisReply;
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace herald::broker::cluster {

// A parsed reply, freed with its owner.
struct ReplyDeleter {
  void operator()(redisReply* reply) const;
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisConnection {
 public:
  enum class State : uint8_t { kClosed, kConnecting, kTlsHandshake, kOpen };

  RedisConnection();
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Starts a non-blocking connect (a numeric address or a name resolved here, blocking only
  // on the link's own thread). `tls`: the context for rediss://, else null; it must outlive
  // the connection. Commands may be queued at once; they go out once the connection is open.
  [[nodiscard]] Status open(const RedisAddress& address, SSL_CTX* tls);
  // Closes the socket and drops the buffered bytes and unread replies.
  void close();

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] int fd() const { return fd_; }
  // The poll events to wait for (POLLIN always, POLLOUT while connecting or with output).
  [[nodiscard]] short events() const;
  // Advances the connection after poll reported `revents`: finishes the connect or the TLS
  // handshake, writes what it can, reads what there is. False when the connection failed;
  // error() says why, and the owner close()s it.
  [[nodiscard]] bool on_events(short revents);
  // Writes what it can of the output buffer; false on failure (as on_events).
  [[nodiscard]] bool flush();
  [[nodiscard]] const std::string& error() const { return error_; }
  // The last on_events() stopped reading at its bound with bytes possibly left: TLS may hold
  // them decrypted already, where poll cannot see them. Call on_events(POLLIN) again.
  [[nodiscard]] bool input_pending() const { return input_pending_; }

  // Formats one command into the output buffer (redisFormatCommandArgv).
  void queue(std::initializer_list<std::string_view> argv);
  void queue(const std::vector<std::string_view>& argv);
  [[nodiscard]] bool has_output() const { return out_sent_ < out_.size(); }

  // The next complete reply, null when none is buffered; false on a protocol error.
  [[nodiscard]] bool next_reply(Reply& out);

 private:
  bool fail(std::string why);
  bool finish_connect();
  bool do_handshake();
  bool read_some();
  long raw_write(const char* data, size_t size, bool& again);
  long raw_read(char* data, size_t size, bool& again);

  State state_ = State::kClosed;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool ssl_wants_write_ = false;
  bool input_pending_ = false;
  redisReader* reader_ = nullptr;
  std::string out_;
  size_t out_sent_ = 0;
  std::string error_;
};

}  // namespace herald::broker::cluster
