// Shared by the AccessGate, Sweeper and HttpRoutes tests: a ServerConfig whose AccessPolicy is
// built from settings (an HS256 secret in a temporary file when auth is on), tokens signed for
// it, and Sessions that have read a request and wait for the decision. No sockets.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/auth/access_policy.h"
#include "broker/net/config.h"
#include "broker/net/counters.h"
#include "protocol/websocket/session.h"
#include "tests/broker/auth/token_signer.h"

namespace herald::broker::net::testing {

class AccessFixture : public ::testing::Test {
 protected:
  static constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef01234567";

  AccessFixture() { session_config_.subprotocols = {"herald.v1"}; }
  ~AccessFixture() override {
    if (!secret_path_.empty()) std::remove(secret_path_.c_str());
  }

  // Builds config_.access from `settings`; with auth on, the secret is kSecret.
  void build_access(auth::AccessSettings settings) {
    if (settings.auth_required) {
      secret_path_ = ::testing::TempDir() + "/access_fixture_secret";
      std::ofstream(secret_path_, std::ios::binary) << kSecret;
      settings.jwt_secret_file = secret_path_;
    }
    auto built = auth::AccessPolicy::build(settings);
    ASSERT_TRUE(built.status.is_ok()) << built.status.message();
    config_.access = std::move(built.value);
  }
  void build_auth() {
    auth::AccessSettings settings;
    settings.auth_required = true;
    build_access(settings);
  }

  // A token for kSecret expiring `expires_in_s` from now, with `claims` (",\"pub_allow\":...").
  static std::string token(std::string_view claims = "", int64_t expires_in_s = 60) {
    return auth::testing::hs256_token(
        kSecret, "{\"exp\":" + std::to_string(auth::unix_now_s() + expires_in_s) +
                     std::string(claims) + "}");
  }

  // A new Session that has read `request` (the Session is then in kDeciding, or kClosed when
  // it refused the request itself).
  protocol::websocket::Session& session_with(std::string request) {
    sessions_.push_back(std::make_unique<protocol::websocket::Session>(session_config_));
    reads_.push_back(std::move(request));
    std::string& bytes = reads_.back();
    sessions_.back()->receive({reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()});
    protocol::websocket::Session::Event event = sessions_.back()->next_event();
    EXPECT_TRUE(event.kind == protocol::websocket::Session::Event::Kind::kUpgradeRequest ||
                event.kind == protocol::websocket::Session::Event::Kind::kHttpRequest)
        << request;
    return *sessions_.back();
  }
  // An upgrade to `target` with the extra header lines `headers` ("Origin: x\r\n").
  static std::string upgrade(std::string_view target, std::string_view headers = "") {
    return "GET " + std::string(target) +
           " HTTP/1.1\r\nHost: broker\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
           std::string(headers) + "\r\n";
  }
  // A plain HTTP request with a body (Content-Length is added when the body is not empty).
  static std::string http(std::string_view method, std::string_view target,
                          std::string_view headers = "", std::string_view body = "") {
    std::string request = std::string(method) + " " + std::string(target) +
                          " HTTP/1.1\r\nHost: broker\r\n" + std::string(headers);
    if (!body.empty()) request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return request + "\r\n" + std::string(body);
  }
  // The refusals counted for `refusal`.
  [[nodiscard]] uint64_t refusals(core::Refusal refusal) const {
    return counters_.refusals[static_cast<size_t>(refusal)].load();
  }

  ServerConfig config_;
  WorkerCounters counters_;
  protocol::websocket::SessionConfig session_config_;

 private:
  std::string secret_path_;
  std::vector<std::unique_ptr<protocol::websocket::Session>> sessions_;
  std::deque<std::string> reads_;  // never moved: a Session may point into what it read
};

}  // namespace herald::broker::net::testing
