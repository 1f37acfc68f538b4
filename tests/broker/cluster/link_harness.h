// A RedisLink with one port, for tests: waits for events with bounded time, collects
// incoming messages apart from the rest.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "broker/cluster/redis_link.h"

namespace herald::broker::cluster::test {

using namespace std::chrono_literals;

inline RedisConfig config_for(const std::string& url) {
  RedisConfig config;
  EXPECT_TRUE(add_redis_url(config, url).is_ok());
  config.backoff_min_ms = 20;
  config.backoff_max_ms = 200;
  config.connect_timeout_ms = 1000;
  config.canary_interval_ms = 200;
  return config;
}

class Node {
 public:
  explicit Node(const RedisConfig& config) : link_(config, 0, 1) {
    EXPECT_TRUE(link_.start().is_ok());
  }
  explicit Node(const std::string& url) : Node(config_for(url)) {}

  RedisLink& link() { return link_; }
  RedisPort& port() { return link_.port(0); }

  // True once healthy (connected and the canary came back), within `limit`.
  bool wait_healthy(std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (link_.healthy()) return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }
  bool wait_disconnected(std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!link_.connected()) return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }

  // Takes events until one of type T arrives (others are kept: messages in messages_,
  // reconnects counted); false after `limit`.
  template <typename T>
  bool next(T& out, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      if (take_one<T>(out)) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
  }

  uint64_t publish(const std::string& topic, const std::string& message, uint32_t count = 100,
                   uint64_t age_ms = 0, int64_t time_ms = 1, const std::string& id = "",
                   bool retry = false) {
    PublishRequest request{topic, message, count, age_ms, time_ms, id, retry};
    const uint64_t ticket = port().try_publish(std::move(request));
    port().submit();
    return ticket;
  }
  // Publishes and waits for the result.
  PublishResult publish_sync(const std::string& topic, const std::string& message,
                             uint32_t count = 100, uint64_t age_ms = 0, int64_t time_ms = 1,
                             const std::string& id = "", bool retry = false) {
    const uint64_t ticket = publish(topic, message, count, age_ms, time_ms, id, retry);
    PublishResult result;
    result.status = LinkStatus::kError;
    result.error = "no result in time";
    if (!next(result)) return result;
    EXPECT_EQ(result.ticket, ticket);
    return result;
  }
  RangeResult range(const std::string& topic, uint64_t from, uint64_t to, uint32_t count = 1000) {
    return read(RangeRequest{topic, from, to, count});
  }
  // Any read (its token is set here), waiting for the result.
  RangeResult read(RangeRequest request) {
    const uint64_t token = ++tokens_;
    request.token = token;
    EXPECT_TRUE(port().try_read_range(std::move(request)));
    port().submit();
    RangeResult result;
    result.status = LinkStatus::kError;
    result.error = "no result in time";
    if (!next(result)) return result;
    EXPECT_EQ(result.token, token);
    return result;
  }
  void interest(const std::string& topic_or_pattern, bool pattern, bool on = true) {
    EXPECT_TRUE(port().try_interest(topic_or_pattern, pattern, on));
    port().submit();
  }

  // The next incoming message, within `limit`.
  bool message(IncomingMessage& out, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      poll_events();
      if (!messages_.empty()) {
        out = std::move(messages_.front());
        messages_.pop_front();
        return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
  }
  // Waits for a Reconnected event after an outage (or one already seen).
  bool wait_reconnected(std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      poll_events();
      if (reconnected_ > 0) {
        --reconnected_;
        return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
  }
  // Reconnected events seen, the first connect's included.
  int ups() {
    poll_events();
    return ups_;
  }
  std::deque<IncomingMessage>& messages() {
    poll_events();
    return messages_;
  }

 private:
  template <typename T>
  bool take_one(T& out) {
    if (auto* kept = find_kept<T>()) {
      out = std::move(*kept);
      kept_.pop_front();
      return true;
    }
    LinkEvent event;
    while (port().try_take(event)) {
      if (auto* wanted = std::get_if<T>(&event)) {
        out = std::move(*wanted);
        return true;
      }
      keep(std::move(event));
    }
    return false;
  }
  template <typename T>
  T* find_kept() {
    if (kept_.empty()) return nullptr;
    return std::get_if<T>(&kept_.front());
  }
  void poll_events() {
    LinkEvent event;
    while (port().try_take(event)) keep(std::move(event));
  }
  void keep(LinkEvent&& event) {
    if (auto* message = std::get_if<IncomingMessage>(&event)) {
      messages_.push_back(std::move(*message));
    } else if (auto* up = std::get_if<Reconnected>(&event)) {
      if (up->reconnects > 0) ++reconnected_;  // a return after an outage, not the first up
      ++ups_;
    } else {
      kept_.push_back(std::move(event));
    }
  }

  RedisLink link_;
  std::deque<IncomingMessage> messages_;
  std::deque<LinkEvent> kept_;  // results taken while waiting for something else
  int reconnected_ = 0;
  int ups_ = 0;
  uint64_t tokens_ = 0;
};

}  // namespace herald::broker::cluster::test
