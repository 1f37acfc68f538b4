// Fuzzes the Sec-WebSocket-Extensions parser and the permessage-deflate decision (RFC 6455 §9.1,
// RFC 7692 §7.1): offers must be well formed unless marked, and an accepted offer's answer must
// itself parse as one acceptable offer that the client's check accepts. The same bytes read as a
// server's answer: accepted only as one well-formed permessage-deflate element with windows of 8
// to 15 bits. Traps otherwise.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/websocket/extensions.h"

namespace herald::protocol::websocket {
namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

void check_offers(const std::vector<ExtensionOffer>& offers, size_t input_bytes) {
  check(offers.size() <= input_bytes);
  for (const ExtensionOffer& offer : offers) {
    if (offer.malformed) continue;
    check(is_token(offer.name));
    for (const ExtensionOffer::Param& param : offer.params) {
      check(is_token(param.name));
      check(param.has_value ? is_token(param.value) : param.value.empty());
    }
  }
}

void check_agreement(const std::optional<DeflateAgreement>& agreement,
                     const DeflatePolicy& policy) {
  if (!agreement) return;
  check(policy.enabled);
  check(agreement->response.starts_with("permessage-deflate; server_no_context_takeover"));
  check(!agreement->client_context_takeover || policy.allow_client_context_takeover);
  // The answer read back as an offer is one acceptable offer, with the same answer.
  std::vector<ExtensionOffer> answer;
  parse_extension_offers(agreement->response, answer);
  check(answer.size() == 1 && !answer[0].malformed);
  const std::optional<DeflateAgreement> again = accept_deflate_offer(answer[0], policy);
  check(again.has_value() && again->response == agreement->response);
  // The client accepts every answer Herald gives, as one without context takeover.
  const DeflateResponse judged = judge_deflate_response(agreement->response);
  check(judged.status == DeflateResponse::Status::kAccepted);
  check(!judged.agreement.server_context_takeover);
}

// `value` as the server's answer to kClientDeflateOffer.
void check_response(std::string_view value, const std::vector<ExtensionOffer>& elements) {
  const DeflateResponse response = judge_deflate_response(value);
  if (response.status == DeflateResponse::Status::kNone) {
    check(elements.empty());
    return;
  }
  check(!elements.empty());
  if (response.status == DeflateResponse::Status::kInvalid) return;
  check(elements.size() == 1 && !elements[0].malformed);
  check(elements[0].name == kPermessageDeflate && elements[0].params.size() <= 4);
  for (int bits :
       {response.agreement.server_max_window_bits, response.agreement.client_max_window_bits}) {
    check(bits >= 8 && bits <= 15);
  }
}

int test_one_input(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  std::vector<ExtensionOffer> offers;
  parse_extension_offers(value, offers);
  check_offers(offers, size);
  check_response(value, offers);

  // The field may repeat (RFC 6455 §11.3.2): split the bytes over two at their first comma.
  HttpRequest request;
  const size_t comma = value.find(',');
  request.headers.emplace_back("sec-websocket-extensions", std::string(value.substr(0, comma)));
  if (comma != std::string_view::npos) {
    request.headers.emplace_back("sec-websocket-extensions", std::string(value.substr(comma + 1)));
  }
  for (bool takeover : {false, true}) {
    const DeflatePolicy policy{.enabled = true, .allow_client_context_takeover = takeover};
    check_agreement(negotiate_deflate(request, policy), policy);
  }
  check(!negotiate_deflate(request, DeflatePolicy{}).has_value());
  return 0;
}

}  // namespace
}  // namespace herald::protocol::websocket

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return herald::protocol::websocket::test_one_input(data, size);
}
