// libFuzzer target for the opening handshake: RequestParser and ResponseParser fed in chunks
// cut by the first input byte, with their feed() contracts and the server's answers checked.
// Built with replay_main.cc it replays the corpus in the ordinary test run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "protocol/websocket/handshake.h"

namespace {

using herald::protocol::websocket::HttpRequest;
using herald::protocol::websocket::RequestParser;
using herald::protocol::websocket::ResponseParser;
using herald::protocol::websocket::UpgradeDecision;

constexpr size_t kBodyBytesMax = 4096;
constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 §1.3
const std::string kServerSubprotocols[] = {"chat", "herald.v1"};

// Not assert(): a fuzz check must hold in every build, NDEBUG or not. The abort gives libFuzzer
// (or the replayer under a sanitizer) the stack of the failed check.
void require(bool condition) {
  if (!condition) std::abort();
}

// Cuts the input into chunks: seed 0 feeds it whole, any other seed drives a xorshift that
// picks sizes from 1 to 64 bytes, so split CRLFs and one-byte feeds are both common.
class Chunker {
 public:
  explicit Chunker(uint8_t seed) : state_(seed), whole_(seed == 0) {}

  size_t next(size_t remaining) {
    if (whole_) return remaining;
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    const size_t size = (state_ % 64) + 1;
    return size < remaining ? size : remaining;
  }

 private:
  uint32_t state_;
  bool whole_;
};

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Feeds `input` in chunks and checks the contract every parser here shares: it never takes more
// than it is given, takes everything while it still needs more, and takes nothing once done.
// Returns how many bytes it took in all.
template <typename Parser, typename Status>
size_t feed_in_chunks(Parser& parser, std::span<const uint8_t> input, uint8_t seed,
                      Status need_more) {
  Chunker chunker(seed);
  size_t offset = 0;
  size_t taken = 0;
  while (offset < input.size() && parser.status() == need_more) {
    const std::span<const uint8_t> chunk =
        input.subspan(offset, chunker.next(input.size() - offset));
    const size_t used = parser.feed(chunk);
    require(used <= chunk.size());
    require(used == chunk.size() || parser.status() != need_more);
    taken += used;
    offset += chunk.size();
  }
  if (parser.status() != need_more) require(parser.feed(input) == 0);
  return taken;
}

// The server's answer must be one its own client reads the same way.
void check_upgrade_answer(const HttpRequest& request) {
  const UpgradeDecision decision =
      herald::protocol::websocket::validate_upgrade(request, kServerSubprotocols);
  const std::string key(request.header("sec-websocket-key"));
  ResponseParser client(key);
  if (decision.status == 101) {
    const std::string answer =
        herald::protocol::websocket::build_upgrade_response(key, decision.subprotocol);
    require(client.feed(bytes_of(answer)) == answer.size());
    require(client.status() == ResponseParser::Status::kAccepted);
    require(client.subprotocol() == decision.subprotocol);
  } else {
    require(!decision.reason.empty());
    const std::string answer = herald::protocol::websocket::build_upgrade_refusal(decision);
    client.feed(bytes_of(answer));
    require(client.status() == ResponseParser::Status::kRejected);
    require(client.http_status() == decision.status);
  }
}

void fuzz_request(std::span<const uint8_t> input, uint8_t seed) {
  RequestParser parser(herald::protocol::websocket::kHeaderBytesMax, kBodyBytesMax);
  const size_t taken = feed_in_chunks(parser, input, seed, RequestParser::Status::kNeedMore);
  if (parser.status() == RequestParser::Status::kError) {
    require(!herald::protocol::websocket::http_status_text(parser.error_status()).empty());
    require(!parser.error_reason().empty());
    return;
  }
  if (parser.status() != RequestParser::Status::kComplete) return;
  const HttpRequest& request = parser.request();
  require(request.body.size() <= kBodyBytesMax);
  require(taken <= herald::protocol::websocket::kHeaderBytesMax + request.body.size());
  require(request.target.starts_with('/'));
  if (request.wants_websocket()) check_upgrade_answer(request);
}

void fuzz_response(std::span<const uint8_t> input, uint8_t seed) {
  ResponseParser parser{std::string(kRfcKey)};
  const size_t taken = feed_in_chunks(parser, input, seed, ResponseParser::Status::kNeedMore);
  require(taken <= herald::protocol::websocket::kHeaderBytesMax);
  if (parser.status() == ResponseParser::Status::kAccepted) require(parser.http_status() == 101);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> input(data + 1, size - 1);
  fuzz_request(input, data[0]);
  fuzz_response(input, data[0]);
  return 0;
}
