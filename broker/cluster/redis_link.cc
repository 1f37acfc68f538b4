// The link's ports and thread: the poll loop, the command connection's handshake and
// pipeline, reconnects and the canary. The workers' requests become commands in
// redis_link_requests.cc, their replies results in redis_link_replies.cc; the pub/sub side is
// in redis_link_pubsub.cc; what the commands do in Redis is in herald.lua.
#include "broker/cluster/redis_link.h"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstring>

#include "broker/cluster/redis_functions.h"
#include "broker/cluster/redis_link_loop.h"

namespace herald::broker::cluster {
namespace {

constexpr int kPollMaxMs = 100;

std::string random_token() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Unique enough without a random source: the clock and the address of a local.
    const uint64_t fallback =
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        reinterpret_cast<uintptr_t>(&bytes);
    std::memcpy(bytes, &fallback, sizeof bytes);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 15]);
  }
  return token;
}

bool is_connection_error(std::string_view error) {
  // The server cannot take writes now (a replica, loading, failover): reconnect and retry
  // elsewhere in time, rather than report a refusal of this one publish.
  return error.starts_with("READONLY") || error.starts_with("LOADING") ||
         error.starts_with("MASTERDOWN") || error.starts_with("NOAUTH");
}

std::string_view info_field(std::string_view info, std::string_view name) {
  size_t at = 0;
  while (at < info.size()) {
    size_t end = info.find('\n', at);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(at, end - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ':') {
      return line.substr(name.size() + 1);
    }
    at = end + 1;
  }
  return {};
}

}  // namespace

int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string channel_prefix(uint32_t db) { return "herald:" + std::to_string(db) + ":m:"; }

std::string channel_of(uint32_t db, std::string_view topic) {
  return channel_prefix(db).append(topic);
}

std::string channel_pattern(uint32_t db, std::string_view herald_pattern) {
  std::string glob = channel_prefix(db);
  size_t at = 0;
  while (at <= herald_pattern.size()) {
    size_t dot = herald_pattern.find('.', at);
    if (dot == std::string_view::npos) dot = herald_pattern.size();
    const std::string_view token = herald_pattern.substr(at, dot - at);
    if (token == "*" || token == ">") return glob + "*";
    glob.append(token);
    if (dot < herald_pattern.size()) glob.push_back('.');
    at = dot + 1;
  }
  return glob;  // no wildcard: the topic's own channel
}

// ---- RedisPort

RedisPort::RedisPort(RedisLink& link, uint32_t capacity)
    : link_(link), requests_(capacity), events_(capacity) {}

uint64_t RedisPort::try_publish(PublishRequest&& request) {
  if (!requests_.writable()) return 0;
  const uint64_t ticket = tickets_ + 1;
  if (!requests_.try_push(LinkRequest(TicketedPublish{ticket, std::move(request)}))) return 0;
  tickets_ = ticket;
  pushed_ = true;
  return ticket;
}

bool RedisPort::try_read_range(RangeRequest&& request) {
  if (!requests_.writable()) return false;
  pushed_ = requests_.try_push(LinkRequest(std::move(request))) || pushed_;
  return true;
}

bool RedisPort::try_interest(std::string_view topic_or_pattern, bool pattern, bool on) {
  InterestRequest interest{pattern ? channel_pattern(link_.db(), topic_or_pattern)
                                   : channel_of(link_.db(), topic_or_pattern),
                           pattern, on};
  if (!requests_.try_push(LinkRequest(std::move(interest)))) return false;
  pushed_ = true;
  return true;
}

void RedisPort::submit() {
  if (!pushed_) return;
  pushed_ = false;
  link_.wake_link();
}

// ---- RedisLink

RedisLink::RedisLink(const RedisConfig& config, uint32_t shard, uint32_t port_count,
                     uint32_t queue_capacity)
    : config_(config), shard_(shard), node_token_(random_token()) {
  for (uint32_t i = 0; i < port_count; ++i) {
    ports_.push_back(std::unique_ptr<RedisPort>(new RedisPort(*this, queue_capacity)));
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

RedisLink::~RedisLink() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status RedisLink::start() {
  if (shard_ >= config_.servers.size()) return Status::invalid_argument("no such Redis shard");
  if (wake_fd_ < 0) return Status::io_error("eventfd failed");
  loop_ = std::make_unique<Loop>(*this);
  if (Status status = loop_->setup_tls(); !status.is_ok()) return status;
  thread_ = std::thread([this] { loop_->run(); });
  return Status::ok();
}

void RedisLink::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  thread_.join();
}

void RedisLink::wake_link() {
  // Pairs with the fence in Loop::wait(): either the link sees our push before it sleeps,
  // or we see it sleeping and wake it.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!sleeping_.load(std::memory_order_relaxed)) return;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

bool RedisLink::healthy() const {
  if (!connected()) return false;
  return canary_age_ms() <= 2ULL * config_.canary_interval_ms;
}

uint64_t RedisLink::canary_age_ms() const {
  const int64_t returned = canary_returned_ms_.load(std::memory_order_acquire);
  if (returned < 0) return UINT64_MAX;
  const int64_t now = steady_us() / 1000;
  return now > returned ? static_cast<uint64_t>(now - returned) : 0;
}

std::string RedisLink::instance() const {
  std::lock_guard lock(instance_mutex_);
  return instance_;
}

// ---- The loop: setup, the thread's rounds, waiting

RedisLink::Loop::Loop(RedisLink& owner)
    : link(owner),
      config(owner.config_),
      address(owner.config_.servers[owner.shard_]),
      rng(std::random_device{}()),
      outbox(owner.ports_.size()),
      woken(owner.ports_.size(), false) {
  command_backoff_ms = config.backoff_min_ms;
  pubsub_backoff_ms = config.backoff_min_ms;
  canary_channel = "herald:" + std::to_string(address.db) + ":node:" + owner.node_token_;
  topic_channel_prefix = channel_prefix(address.db);
  topics_channel = "herald:" + std::to_string(address.db) + ":topics";
}

RedisLink::Loop::~Loop() {
  if (tls != nullptr) SSL_CTX_free(tls);
}

Status RedisLink::Loop::setup_tls() {
  if (!address.tls) return Status::ok();
  tls = SSL_CTX_new(TLS_client_method());
  if (tls == nullptr) return Status::io_error("TLS: cannot create a context");
  SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
  SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, nullptr);
  const int loaded = config.tls_ca_file.empty()
                         ? SSL_CTX_set_default_verify_paths(tls)
                         : SSL_CTX_load_verify_locations(tls, config.tls_ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return Status::invalid_argument("--redis-tls-ca-file " + config.tls_ca_file +
                                    ": cannot be loaded");
  }
  return Status::ok();
}

void RedisLink::Loop::run() {
  while (!link.stopping_.load(std::memory_order_acquire)) {
    const int64_t now_ms = steady_us() / 1000;
    take_requests();
    maintain(now_ms);
    send_subscription_changes();
    if (command.state() != RedisConnection::State::kClosed && !command.flush()) {
      fail_command(command.error(), now_ms);
    }
    if (pubsub.state() != RedisConnection::State::kClosed && !pubsub.flush()) {
      fail_pubsub(pubsub.error(), now_ms);
    }
    link.pending_.store(ops.size(), std::memory_order_relaxed);
    deliver();
    wait(now_ms);
  }
  shut_down();
}

void RedisLink::Loop::shut_down() {
  const int64_t now_ms = steady_us() / 1000;
  fail_command("stopped", now_ms);
  pubsub.close();
  // Requests still queued are answered too, so no worker waits for a stopped link.
  take_requests();
  deliver();
}

void RedisLink::Loop::wait(int64_t now_ms) {
  int64_t timeout = kPollMaxMs;
  auto until = [&](int64_t at) { timeout = std::max<int64_t>(0, std::min(timeout, at - now_ms)); };
  if (command.state() == RedisConnection::State::kClosed) until(command_retry_ms);
  if (pubsub.state() == RedisConnection::State::kClosed) until(pubsub_retry_ms);
  if (link.connected_.load(std::memory_order_relaxed)) until(canary_due_ms);
  for (const auto& waiting : outbox) {
    if (!waiting.empty()) until(now_ms + 1);  // a worker's queue was full: retry soon
  }
  if (command.input_pending() || pubsub.input_pending()) timeout = 0;
  pollfd fds[3];
  nfds_t count = 0;
  fds[count++] = {link.wake_fd_, POLLIN, 0};
  const int command_slot = command.fd() >= 0 ? static_cast<int>(count) : -1;
  if (command_slot >= 0) fds[count++] = {command.fd(), command.events(), 0};
  const int pubsub_slot = pubsub.fd() >= 0 ? static_cast<int>(count) : -1;
  if (pubsub_slot >= 0) fds[count++] = {pubsub.fd(), pubsub.events(), 0};

  link.sleeping_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (const auto& port : link.ports_) {
    if (!port->requests_.empty_approx()) timeout = 0;
  }
  if (link.stopping_.load(std::memory_order_acquire)) timeout = 0;
  const int ready = ::poll(fds, count, static_cast<int>(timeout));
  link.sleeping_.store(false, std::memory_order_relaxed);
  if (ready < 0) return;
  if (command_slot >= 0 && command.input_pending()) fds[command_slot].revents |= POLLIN;
  if (pubsub_slot >= 0 && pubsub.input_pending()) fds[pubsub_slot].revents |= POLLIN;
  if (fds[0].revents != 0) {
    uint64_t value;
    [[maybe_unused]] ssize_t n = ::read(link.wake_fd_, &value, sizeof value);
  }
  const int64_t after_ms = steady_us() / 1000;
  if (command_slot >= 0 && fds[command_slot].revents != 0) {
    if (!command.on_events(fds[command_slot].revents)) {
      fail_command(command.error(), after_ms);
    } else {
      drain_command(after_ms);
    }
  }
  if (pubsub_slot >= 0 && fds[pubsub_slot].revents != 0) {
    if (!pubsub.on_events(fds[pubsub_slot].revents)) {
      fail_pubsub(pubsub.error(), after_ms);
    } else {
      drain_pubsub(after_ms);
    }
  }
}

void RedisLink::Loop::maintain(int64_t now_ms) {
  using State = RedisConnection::State;
  if (command.state() == State::kClosed && now_ms >= command_retry_ms) open_command(now_ms);
  if (pubsub.state() == State::kClosed && now_ms >= pubsub_retry_ms) open_pubsub(now_ms);
  if (command.state() != State::kClosed && !command_ready &&
      now_ms - command_opened_ms > config.connect_timeout_ms) {
    fail_command("timed out connecting", now_ms);
  }
  if (pubsub.state() != State::kClosed && !pubsub_ready &&
      now_ms - pubsub_opened_ms > config.connect_timeout_ms) {
    fail_pubsub("timed out connecting", now_ms);
  }
  if (!ops.empty() && now_ms - ops.front().sent_us / 1000 > config.command_timeout_ms) {
    fail_command("no reply in time", now_ms);
  }
  if (!link.connected_.load(std::memory_order_relaxed)) return;
  // A subscription that stopped delivering while the server still answers (the stuck pub/sub
  // connection): the canary stops coming back; start the pub/sub connection over.
  const int64_t overdue = 3LL * config.canary_interval_ms;
  const int64_t returned = link.canary_returned_ms_.load(std::memory_order_relaxed);
  if (now_ms - up_since_ms > overdue && now_ms - returned > overdue) {
    fail_pubsub("the canary did not come back", now_ms);
    return;
  }
  if (now_ms >= canary_due_ms) {
    const std::string sent = std::to_string(now_ms);
    command.queue({"PUBLISH", canary_channel, sent});
    ops.push_back({OpKind::kCanary, 0, 0, steady_us()});
    canary_due_ms = now_ms + config.canary_interval_ms;
  }
}

int64_t RedisLink::Loop::next_retry(uint32_t& backoff_ms, int64_t now_ms) {
  // Full jitter over the upper half: nodes that lost the same server spread their returns.
  std::uniform_int_distribution<uint32_t> jitter(backoff_ms / 2, backoff_ms);
  const int64_t at = now_ms + jitter(rng);
  backoff_ms = std::min(backoff_ms * 2, config.backoff_max_ms);
  return at;
}

void RedisLink::Loop::push_event(uint32_t port, LinkEvent&& event) {
  auto& waiting = outbox[port];
  if (waiting.empty() && link.ports_[port]->events_.try_push(std::move(event))) {
    woken[port] = true;
    return;
  }
  waiting.push_back(std::move(event));
  link.outbox_waits_.fetch_add(1, std::memory_order_relaxed);
}

void RedisLink::Loop::deliver() {
  for (size_t i = 0; i < outbox.size(); ++i) {
    auto& waiting = outbox[i];
    while (!waiting.empty() && link.ports_[i]->events_.try_push(std::move(waiting.front()))) {
      waiting.pop_front();
      woken[i] = true;
    }
    if (woken[i]) {
      woken[i] = false;
      if (link.ports_[i]->wake_) link.ports_[i]->wake_();
    }
  }
}

// ---- The command connection

void RedisLink::Loop::open_command(int64_t now_ms) {
  command_opened_ms = now_ms;
  if (Status status = command.open(address, tls); !status.is_ok()) {
    fail_command(status.message(), now_ms);
    return;
  }
  const int64_t now_us = steady_us();
  if (!config.password.empty()) {
    if (address.user.empty()) {
      command.queue({"AUTH", config.password});
    } else {
      command.queue({"AUTH", address.user, config.password});
    }
    ops.push_back({OpKind::kSetup, 0, 0, now_us});
  }
  if (address.db != 0) {
    command.queue({"SELECT", std::to_string(address.db)});
    ops.push_back({OpKind::kSetup, 0, 0, now_us});
  }
  command.queue({"FUNCTION", "LOAD", "REPLACE", kHeraldFunctions});
  ops.push_back({OpKind::kSetup, 0, 0, now_us});
  command.queue({"INFO", "replication"});
  ops.push_back({OpKind::kInfo, 0, 0, now_us});
}

void RedisLink::Loop::fail_command(const std::string& why, int64_t now_ms) {
  last_error = why;
  const bool was_open = command.state() != RedisConnection::State::kClosed;
  command.close();
  for (const Op& op : ops) {
    if (op.kind == OpKind::kPublish) {
      for (const Ticket& t : op.publishes) {
        push_event(t.port, PublishResult{t.ticket, LinkStatus::kUnavailable, 0, 0, why});
      }
    } else if (op.kind == OpKind::kRange) {
      RangeResult result;
      result.token = op.id;
      result.status = LinkStatus::kUnavailable;
      result.error = why;
      push_event(op.port, std::move(result));
    }
  }
  ops.clear();
  if (command_ready) went_down();
  command_ready = false;
  if (was_open || now_ms >= command_retry_ms) {
    command_retry_ms = next_retry(command_backoff_ms, now_ms);
  }
}

void RedisLink::Loop::went_down() {
  if (link.connected_.exchange(false, std::memory_order_acq_rel)) outage = true;
}

void RedisLink::Loop::check_up(int64_t now_ms) {
  if (!command_ready || !pubsub_ready) return;
  link.connected_.store(true, std::memory_order_release);
  up_since_ms = now_ms;
  canary_due_ms = now_ms;  // the first canary at once: healthy() waits for it
  // Every way up is reported, the first included (reconnects 0): interest registered while the
  // link was down may have missed messages as much as interest held through an outage.
  const uint64_t reconnects =
      outage ? link.reconnects_.fetch_add(1, std::memory_order_relaxed) + 1 : 0;
  outage = false;
  for (uint32_t i = 0; i < outbox.size(); ++i) push_event(i, Reconnected{reconnects});
  // Subscribed to the new-topics channel already: the scan and it miss nothing between them.
  if (link.topic_listener_) scan_topics("0");
}

void RedisLink::Loop::scan_topics(std::string_view cursor) {
  command.queue({"SSCAN", "herald:topics", cursor, "COUNT", "1000"});
  ops.push_back({OpKind::kTopics, 0, 0, steady_us()});
}

// One page of herald:topics: {cursor, {topic...}}; cursor "0" ends the scan. A malformed
// page ends it too (the next connect scans again).
void RedisLink::Loop::on_topics_page(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 ||
      reply.element[0]->type != REDIS_REPLY_STRING || reply.element[1]->type != REDIS_REPLY_ARRAY) {
    return;
  }
  const redisReply& members = *reply.element[1];
  for (size_t i = 0; i < members.elements; ++i) {
    if (members.element[i]->type != REDIS_REPLY_STRING) continue;
    link.topic_listener_(std::string_view(members.element[i]->str, members.element[i]->len));
  }
  const std::string_view cursor(reply.element[0]->str, reply.element[0]->len);
  if (cursor != "0") scan_topics(cursor);
}

void RedisLink::Loop::drain_command(int64_t now_ms) {
  Reply reply;
  while (command.state() != RedisConnection::State::kClosed) {
    if (!command.next_reply(reply)) {
      fail_command(command.error(), now_ms);
      return;
    }
    if (!reply) return;
    if (ops.empty()) {
      fail_command("a reply nobody asked for", now_ms);
      return;
    }
    const Op op = std::move(ops.front());
    ops.pop_front();
    on_command_reply(op, *reply, now_ms);
  }
}

void RedisLink::Loop::on_command_reply(const Op& op, const redisReply& reply, int64_t now_ms) {
  const bool error = reply.type == REDIS_REPLY_ERROR;
  const std::string_view text =
      reply.str != nullptr ? std::string_view(reply.str, reply.len) : std::string_view();
  if (error && (op.kind == OpKind::kSetup || op.kind == OpKind::kInfo ||
                op.kind == OpKind::kHello || is_connection_error(text))) {
    if (op.kind == OpKind::kPublish) {
      for (const Ticket& t : op.publishes) {
        push_event(t.port,
                   PublishResult{t.ticket, LinkStatus::kUnavailable, 0, 0, std::string(text)});
      }
    }
    fail_command(std::string(text), now_ms);
    return;
  }
  switch (op.kind) {
    case OpKind::kSetup:
    case OpKind::kCanary:
      return;
    case OpKind::kInfo: {
      const std::string replid(info_field(text, "master_replid"));
      const std::string replid2(info_field(text, "master_replid2"));
      command.queue({"FCALL", "herald_hello", "2", "herald:instance", "herald:replid",
                     link.node_token_, replid, replid2});
      ops.push_back({OpKind::kHello, 0, 0, steady_us()});
      return;
    }
    case OpKind::kHello:
      if (reply.type != REDIS_REPLY_STRING) {
        fail_command("herald_hello: unexpected reply", now_ms);
        return;
      }
      {
        std::lock_guard lock(link.instance_mutex_);
        link.instance_ = std::string(text);
      }
      command_ready = true;
      command_backoff_ms = config.backoff_min_ms;
      check_up(now_ms);
      return;
    case OpKind::kPublish: {
      link.rtt_us_.store(static_cast<uint64_t>(steady_us() - op.sent_us),
                         std::memory_order_relaxed);
      // One reply per publish, or one error for the whole batch (a refused call).
      const bool each = reply.type == REDIS_REPLY_ARRAY && reply.elements == op.publishes.size();
      for (size_t i = 0; i < op.publishes.size(); ++i) {
        push_event(op.publishes[i].port,
                   publish_result(op.publishes[i].ticket, each ? *reply.element[i] : reply));
      }
      return;
    }
    case OpKind::kTopics:
      on_topics_page(reply);
      return;
    case OpKind::kRange:
      push_event(op.port, range_result(op.id, reply));
      return;
  }
}

}  // namespace herald::broker::cluster
