// The Sec-WebSocket-Extensions grammar (RFC 6455 §9.1), the server's permessage-deflate
// decision and the client's check of the answer (RFC 7692 §7.1). Reads header values only: no
// zlib, no frames, no I/O.
#include "protocol/websocket/extensions.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::protocol::websocket {
namespace {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

// A cursor over one header value. Every reader stops at the first byte it does not take.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  [[nodiscard]] bool done() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return done() ? '\0' : text_[pos_]; }
  void advance() { ++pos_; }

  void skip_whitespace() {
    while (!done() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }

  std::string_view token() {
    const size_t start = pos_;
    while (!done() && is_tchar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // RFC 9110 §5.6.4 quoted-string, the cursor on its opening quote. Returns the unescaped
  // text, or nullopt when the closing quote is missing.
  std::optional<std::string> quoted_string() {
    std::string out;
    for (++pos_; !done(); ++pos_) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        if (++pos_ == text_.size()) break;
        c = text_[pos_];
      }
      out.push_back(c);
    }
    return std::nullopt;
  }

  // Moves past the next comma outside a quoted string (or to the end): the next element.
  void skip_element() {
    bool quoted = false;
    for (; !done(); ++pos_) {
      const char c = text_[pos_];
      if (quoted && c == '\\') {
        ++pos_;
        if (done()) return;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        ++pos_;
        return;
      }
    }
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// extension-param = token [ "=" (token | quoted-string) ]; the quoted form must unescape to a
// token (§9.1). The cursor is after ';'. False on a grammar fault.
bool parse_param(Cursor& cursor, ExtensionOffer::Param& param) {
  cursor.skip_whitespace();
  param.name = std::string(cursor.token());
  if (param.name.empty()) return false;
  cursor.skip_whitespace();
  if (cursor.peek() != '=') return true;
  cursor.advance();
  cursor.skip_whitespace();
  param.has_value = true;
  if (cursor.peek() == '"') {
    std::optional<std::string> value = cursor.quoted_string();
    if (!value || !is_token(*value)) return false;
    param.value = std::move(*value);
    return true;
  }
  param.value = std::string(cursor.token());
  return !param.value.empty();
}

// One list element after its leading whitespace; the cursor ends on ',' or the end when the
// element is well formed. False on a grammar fault.
bool parse_offer(Cursor& cursor, ExtensionOffer& offer) {
  offer.name = std::string(cursor.token());
  if (offer.name.empty()) return false;
  for (;;) {
    cursor.skip_whitespace();
    if (cursor.done() || cursor.peek() == ',') return true;
    if (cursor.peek() != ';') return false;
    cursor.advance();
    ExtensionOffer::Param& param = offer.params.emplace_back();
    if (!parse_param(cursor, param)) return false;
  }
}

// §7.1.2.1 and §7.1.2.2: a decimal from 8 to 15, without leading zeros.
std::optional<int> window_bits(std::string_view value) {
  if (value.size() == 1 && value[0] == '8') return 8;
  if (value.size() == 1 && value[0] == '9') return 9;
  if (value.size() == 2 && value[0] == '1' && value[1] >= '0' && value[1] <= '5') {
    return 10 + (value[1] - '0');
  }
  return std::nullopt;
}

// The parameters an offer may carry (§7.1) and what they ask for.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  bool server_max_window_bits = false;
  bool client_max_window_bits = false;
};

// Reads one parameter into `params`; false declines the offer (§7.1: an unknown name, a
// duplicate, or a value where none or a bad one where one is due).
bool read_deflate_param(const ExtensionOffer::Param& param, DeflateParams& params) {
  bool* seen = nullptr;
  if (param.name == "server_no_context_takeover") seen = &params.server_no_context_takeover;
  if (param.name == "client_no_context_takeover") seen = &params.client_no_context_takeover;
  if (param.name == "server_max_window_bits") seen = &params.server_max_window_bits;
  if (param.name == "client_max_window_bits") seen = &params.client_max_window_bits;
  if (seen == nullptr || *seen) return false;
  *seen = true;
  if (seen == &params.server_max_window_bits) {
    // Our choice (extensions.h): only 15, the window our compressor uses, is accepted.
    return param.has_value && window_bits(param.value) == 15;
  }
  if (seen == &params.client_max_window_bits) {
    return !param.has_value || window_bits(param.value).has_value();
  }
  return !param.has_value;  // the two no_context_takeover flags take no value
}

// Reads one parameter of a server's answer into `agreement`; false fails the connection (§7.1).
// `seen` flags each known name once, in the order server_no_context_takeover,
// client_no_context_takeover, server_max_window_bits, client_max_window_bits.
bool read_response_param(const ExtensionOffer::Param& param, ClientDeflateAgreement& agreement,
                         std::array<bool, 4>& seen) {
  constexpr std::array<std::string_view, 4> kNames = {
      "server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
      "client_max_window_bits"};
  const auto* found = std::find(kNames.begin(), kNames.end(), param.name);
  if (found == kNames.end()) return false;
  const auto index = static_cast<size_t>(found - kNames.begin());
  if (seen[index]) return false;
  seen[index] = true;
  switch (index) {
    case 0:
      agreement.server_context_takeover = false;
      return !param.has_value;
    case 1:
      agreement.client_no_context_takeover = true;
      return !param.has_value;
    default: {
      // §7.1.2.1 and §7.1.2.2: in an answer both window sizes carry a value. The server may
      // name server_max_window_bits unasked; client_max_window_bits we offered.
      const std::optional<int> bits = param.has_value ? window_bits(param.value) : std::nullopt;
      if (!bits) return false;
      (index == 2 ? agreement.server_max_window_bits : agreement.client_max_window_bits) = *bits;
      return true;
    }
  }
}

}  // namespace

void parse_extension_offers(std::string_view value, std::vector<ExtensionOffer>& offers) {
  Cursor cursor(value);
  while (!cursor.done()) {
    cursor.skip_whitespace();
    if (cursor.done()) break;
    if (cursor.peek() == ',') {  // an empty list element
      cursor.advance();
      continue;
    }
    ExtensionOffer& offer = offers.emplace_back();
    if (!parse_offer(cursor, offer)) {
      offer.malformed = true;
      cursor.skip_element();
      continue;
    }
    if (!cursor.done()) cursor.advance();  // the comma
  }
}

std::optional<DeflateAgreement> accept_deflate_offer(const ExtensionOffer& offer,
                                                     const DeflatePolicy& policy) {
  if (!policy.enabled || offer.malformed || offer.name != kPermessageDeflate) return std::nullopt;
  DeflateParams params;
  for (const ExtensionOffer::Param& param : offer.params) {
    if (!read_deflate_param(param, params)) return std::nullopt;
  }
  DeflateAgreement agreement;
  // §7.1.1.2: the client keeps its window unless it said it would not, or we ask it not to.
  const bool client_no_context_takeover =
      params.client_no_context_takeover || !policy.allow_client_context_takeover;
  agreement.client_context_takeover = !client_no_context_takeover;
  agreement.response = std::string(kPermessageDeflate) + "; server_no_context_takeover";
  if (client_no_context_takeover) agreement.response += "; client_no_context_takeover";
  // §7.1.2.1: accepting an offer with server_max_window_bits means answering it.
  if (params.server_max_window_bits) agreement.response += "; server_max_window_bits=15";
  return agreement;
}

std::optional<DeflateAgreement> negotiate_deflate(const HttpRequest& request,
                                                  const DeflatePolicy& policy) {
  if (!policy.enabled) return std::nullopt;
  std::vector<ExtensionOffer> offers;
  for (const auto& [name, value] : request.headers) {
    if (name == "sec-websocket-extensions") parse_extension_offers(value, offers);
  }
  for (const ExtensionOffer& offer : offers) {
    if (auto agreement = accept_deflate_offer(offer, policy)) return agreement;
  }
  return std::nullopt;
}

DeflateResponse judge_deflate_response(std::string_view value) {
  std::vector<ExtensionOffer> elements;
  parse_extension_offers(value, elements);
  DeflateResponse response;
  if (elements.empty()) return response;
  response.status = DeflateResponse::Status::kInvalid;
  // RFC 6455 §9.1: the server answers with extensions the client offered, each once; we offer
  // permessage-deflate alone.
  if (elements.size() != 1 || elements[0].malformed || elements[0].name != kPermessageDeflate) {
    return response;
  }
  std::array<bool, 4> seen{};
  for (const ExtensionOffer::Param& param : elements[0].params) {
    if (!read_response_param(param, response.agreement, seen)) return response;
  }
  response.status = DeflateResponse::Status::kAccepted;
  return response;
}

}  // namespace herald::protocol::websocket
