// Sec-WebSocket-Extensions (RFC 6455 §9.1) and the permessage-deflate negotiation of RFC 7692
// §5 and §7.1, server side. Sans-I/O: header values in, a decision and a response value out.
//
// Decisions, for the broker's encode-once fan-out and its ~1 KiB idle connections:
// - The answer always carries server_no_context_takeover (§7.1.1.1): every server message is
//   deflated on its own, so one broadcast is compressed once and the same frame goes to every
//   subscriber, and no connection keeps a compressor.
// - An offer with server_max_window_bits below 15 is declined (§7.1.2.1 lets the server decline
//   it; the client's next offer, or no compression, follows). Keying broadcast variants by window
//   size would make up to 8 compressions of one message; every browser asks for 15 or nothing.
//   server_max_window_bits=15 is accepted and echoed.
// - client_max_window_bits is accepted with or without a value and never answered (§7.1.2.2):
//   the inflater always uses a 32 KiB window, which reads any smaller one.
// - The answer asks for client_no_context_takeover unless the policy allows context takeover
//   (DeflatePolicy::allow_client_context_takeover, off by default). Then no inflater outlives a
//   message, so an idle connection holds none (about 40 KiB of zlib state and window each) and
//   the idle budget of about 1 KiB holds. Browsers honour it: Chrome, Firefox, ws and
//   python-websockets all support it. The cost is a slightly worse ratio on client messages,
//   which are mostly small commands.
// A malformed, duplicated, unknown or out-of-range parameter declines that offer only (§7.1):
// the handshake itself goes on, with the next acceptable offer or without compression.
//
// Client side (the C++ client and herald-bench): one offer, as Chrome sends it, and the checks
// §7.1 asks of a client reading the server's answer, which fail the connection when broken.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/websocket/handshake.h"

namespace herald::protocol::websocket {

inline constexpr std::string_view kPermessageDeflate = "permessage-deflate";

// One extension offer of a Sec-WebSocket-Extensions list: `extension-token *(";" param)`.
struct ExtensionOffer {
  struct Param {
    std::string name;
    std::string value;  // unquoted and unescaped; empty when the parameter has no value
    bool has_value = false;
  };
  std::string name;
  std::vector<Param> params;
  // The element broke the §9.1 grammar (a bad token, an unterminated or non-token quoted
  // value); `name` and `params` hold what was read before the fault.
  bool malformed = false;
};

// Appends the offers of one header value (a comma-separated list, RFC 9110 §5.6.1: empty
// elements are skipped) to `offers`, in order. Never fails: a broken element becomes one
// offer marked malformed and parsing resumes after the next comma outside a quoted string.
void parse_extension_offers(std::string_view value, std::vector<ExtensionOffer>& offers);

struct DeflatePolicy {
  bool enabled = false;  // off: no offer is ever accepted
  // Whether a client may keep its LZ77 window across messages. Off (the default), the answer
  // asks for client_no_context_takeover; on, an inflater lives as long as the connection.
  bool allow_client_context_takeover = false;
};

// The outcome of an accepted permessage-deflate offer.
struct DeflateAgreement {
  // The client may compress each message against its previous ones (§7.1.1.2): the inflater
  // must keep its window across messages.
  bool client_context_takeover = false;
  std::string response;  // the Sec-WebSocket-Extensions value of the 101
};

// Judges one offer against §7.1 and the policy; nullopt declines it.
[[nodiscard]] std::optional<DeflateAgreement> accept_deflate_offer(const ExtensionOffer& offer,
                                                                   const DeflatePolicy& policy);

// Reads every Sec-WebSocket-Extensions field of `request` (the field may repeat, RFC 6455
// §11.3.2) and accepts the first acceptable permessage-deflate offer. nullopt when the policy is
// off or no offer is acceptable: the handshake goes on without the extension.
[[nodiscard]] std::optional<DeflateAgreement> negotiate_deflate(const HttpRequest& request,
                                                                const DeflatePolicy& policy);

// Client side.

// The client's offer, as Chrome sends it: client_max_window_bits without a value tells the server
// it may limit our window (§7.1.2.2); no other parameter is asked for.
inline constexpr std::string_view kClientDeflateOffer =
    "permessage-deflate; client_max_window_bits";

// What a server's accepted answer to kClientDeflateOffer binds the client to.
struct ClientDeflateAgreement {
  // The server keeps its window from one message to the next unless it answered
  // server_no_context_takeover (§7.1.1.1): the client's inflater must then keep it too.
  bool server_context_takeover = true;
  // The server asked the client to compress every message on its own (§7.1.1.2). A client
  // may do so anyway, and Deflater::compress() always does.
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;  // informative: a 15-bit inflater reads any smaller window
  // The largest LZ77 window the client may compress with (§7.1.2.2), 8 to 15.
  int client_max_window_bits = 15;
};

struct DeflateResponse {
  enum class Status : uint8_t {
    kNone,      // the answer names no extension: the connection runs without compression
    kAccepted,  // `agreement` holds
    kInvalid,   // the client must fail the connection (RFC 6455 §4.1, RFC 7692 §7.1)
  };
  Status status = Status::kNone;
  ClientDeflateAgreement agreement;
};

// Judges the server's Sec-WebSocket-Extensions (every field's value joined by ", ", empty when
// absent) against kClientDeflateOffer. kInvalid for anything §7.1 says to fail on: an extension
// that was not offered, permessage-deflate twice, a malformed element, an unknown or duplicated
// parameter, a value on a no_context_takeover flag, a window size missing or outside 8 to 15.
[[nodiscard]] DeflateResponse judge_deflate_response(std::string_view value);

}  // namespace herald::protocol::websocket
