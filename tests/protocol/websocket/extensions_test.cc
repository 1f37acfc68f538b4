// Sec-WebSocket-Extensions in byte literals: the offers of RFC 7692 §5.1, the permessage-deflate
// negotiations of §7.1.3, and the offers §7.1 says to decline (bad, duplicated, unknown); the
// client's offer and its checks of the server's answer.
#include "protocol/websocket/extensions.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::protocol::websocket {
namespace {

constexpr std::string_view kAnswer =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
constexpr std::string_view kAnswerWindow15 =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
    "server_max_window_bits=15";

std::vector<ExtensionOffer> parse(std::string_view value) {
  std::vector<ExtensionOffer> offers;
  parse_extension_offers(value, offers);
  return offers;
}

// A request whose only headers are these Sec-WebSocket-Extensions fields, in order.
HttpRequest request_with(std::initializer_list<const char*> extension_fields) {
  HttpRequest request;
  for (const char* field : extension_fields) {
    request.headers.emplace_back("sec-websocket-extensions", field);
  }
  return request;
}

DeflatePolicy on() {
  return DeflatePolicy{.enabled = true, .allow_client_context_takeover = false};
}

// The response value for one header value, or "declined".
std::string negotiate(std::string_view value, DeflatePolicy policy = on()) {
  const std::string field(value);
  std::optional<DeflateAgreement> agreement =
      negotiate_deflate(request_with({field.c_str()}), policy);
  return agreement ? agreement->response : "declined";
}

TEST(ExtensionOffers, Rfc7692Section5Examples) {
  std::vector<ExtensionOffer> offers = parse("permessage-foo");
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].name, "permessage-foo");
  EXPECT_TRUE(offers[0].params.empty());
  EXPECT_FALSE(offers[0].malformed);

  for (std::string_view value : {"permessage-foo; x=10", "permessage-foo; x=\"10\""}) {
    offers = parse(value);
    ASSERT_EQ(offers.size(), 1u) << value;
    ASSERT_EQ(offers[0].params.size(), 1u) << value;
    EXPECT_EQ(offers[0].params[0].name, "x");
    EXPECT_TRUE(offers[0].params[0].has_value);
    EXPECT_EQ(offers[0].params[0].value, "10");
    EXPECT_FALSE(offers[0].malformed);
  }

  offers = parse("permessage-foo, permessage-bar");
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_EQ(offers[0].name, "permessage-foo");
  EXPECT_EQ(offers[1].name, "permessage-bar");

  offers = parse("permessage-foo; use_y, permessage-foo");
  ASSERT_EQ(offers.size(), 2u);
  ASSERT_EQ(offers[0].params.size(), 1u);
  EXPECT_EQ(offers[0].params[0].name, "use_y");
  EXPECT_FALSE(offers[0].params[0].has_value);
  EXPECT_EQ(offers[1].name, "permessage-foo");
  EXPECT_TRUE(offers[1].params.empty());
}

TEST(ExtensionOffers, WhitespaceEmptyElementsAndEscapes) {
  std::vector<ExtensionOffer> offers = parse(" ,\t a ;b = \"c\\d\" ;e ,, f ,");
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_EQ(offers[0].name, "a");
  ASSERT_EQ(offers[0].params.size(), 2u);
  EXPECT_EQ(offers[0].params[0].name, "b");
  EXPECT_EQ(offers[0].params[0].value, "cd");
  EXPECT_EQ(offers[0].params[1].name, "e");
  EXPECT_EQ(offers[1].name, "f");
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse(" , ,").empty());
}

TEST(ExtensionOffers, MalformedElementsResumeAtTheNextComma) {
  // A quoted value that is not a token (a comma inside it), a missing value, a missing name,
  // a stray character: each breaks its own element only.
  for (std::string_view bad :
       {"a; x=\"1,2\"", "a; x=", "a; =1", "a;;", "a b", "a; x=\"1", "@a", "a; x=1=2"}) {
    std::string value(bad);
    value.append(", next");
    std::vector<ExtensionOffer> offers = parse(value);
    ASSERT_FALSE(offers.empty()) << bad;
    EXPECT_TRUE(offers[0].malformed) << bad;
    // An unterminated quote swallows the rest of the value; any other fault ends at the comma.
    if (bad != "a; x=\"1") {
      ASSERT_EQ(offers.size(), 2u) << bad;
      EXPECT_EQ(offers[1].name, "next") << bad;
      EXPECT_FALSE(offers[1].malformed) << bad;
    }
  }
}

TEST(DeflateNegotiation, Rfc7692Section7Examples) {
  // §7.1.3: the simplest offer (Firefox's), accepted.
  EXPECT_EQ(negotiate("permessage-deflate"), kAnswer);
  // A server that does not honour server_max_window_bits declines this offer (our choice).
  EXPECT_EQ(negotiate("permessage-deflate; client_max_window_bits; server_max_window_bits=10"),
            "declined");
  // ... and so takes the fallback offer of the same example, on one line or over two fields.
  EXPECT_EQ(negotiate("permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
                      "permessage-deflate; client_max_window_bits"),
            kAnswer);
  std::optional<DeflateAgreement> agreement = negotiate_deflate(
      request_with({"permessage-deflate; client_max_window_bits; server_max_window_bits=10",
                    "permessage-deflate; client_max_window_bits"}),
      on());
  ASSERT_TRUE(agreement.has_value());
  EXPECT_EQ(agreement->response, kAnswer);
  EXPECT_FALSE(agreement->client_context_takeover);
}

TEST(DeflateNegotiation, BrowsersAndLibraries) {
  // Chrome and Node's ws.
  EXPECT_EQ(negotiate("permessage-deflate; client_max_window_bits"), kAnswer);
  // python-websockets.
  EXPECT_EQ(negotiate("permessage-deflate; client_max_window_bits=12"), kAnswer);
  EXPECT_EQ(negotiate("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
            kAnswer);
  // §7.1.2.1: an accepted server_max_window_bits is answered.
  EXPECT_EQ(negotiate("permessage-deflate; server_max_window_bits=15"), kAnswerWindow15);
}

TEST(DeflateNegotiation, QuotedValuesAreRead) {
  EXPECT_EQ(negotiate("permessage-deflate; client_max_window_bits=\"10\""), kAnswer);
  EXPECT_EQ(negotiate("permessage-deflate; server_max_window_bits=\"1\\5\""), kAnswerWindow15);
}

TEST(DeflateNegotiation, BadOffersAreDeclined) {
  for (std::string_view offer : {
           "permessage-deflate; client_max_window_bits=7",
           "permessage-deflate; client_max_window_bits=16",
           "permessage-deflate; client_max_window_bits=08",
           "permessage-deflate; client_max_window_bits=\"\"",
           "permessage-deflate; client_max_window_bits=ten",
           "permessage-deflate; server_max_window_bits",
           "permessage-deflate; server_max_window_bits=8",
           "permessage-deflate; server_max_window_bits=16",
           "permessage-deflate; server_no_context_takeover=1",
           "permessage-deflate; client_no_context_takeover=\"x\"",
           "permessage-deflate; client_max_window_bits; client_max_window_bits",
           "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
           "permessage-deflate; server_max_window_bits=15; server_max_window_bits=15",
           "permessage-deflate; mystery",
           "permessage-deflate; client_max_window_bits=\"10",
           "permessage-deflate;",
           "Permessage-Deflate",
           "x-webkit-deflate-frame",
       }) {
    EXPECT_EQ(negotiate(offer), "declined") << offer;
  }
}

TEST(DeflateNegotiation, TheFirstAcceptableOfferWins) {
  EXPECT_EQ(negotiate("permessage-deflate; mystery, foo, "
                      "permessage-deflate; server_max_window_bits=15, permessage-deflate"),
            kAnswerWindow15);
  EXPECT_EQ(negotiate("permessage-deflate; x=\"a,b\", permessage-deflate"), kAnswer);
}

TEST(DeflateNegotiation, PolicyOffDeclinesEverything) {
  EXPECT_EQ(negotiate("permessage-deflate", DeflatePolicy{}), "declined");
  EXPECT_FALSE(negotiate_deflate(request_with({}), on()).has_value());
}

TEST(DeflateNegotiation, ClientContextTakeoverWhenThePolicyAllowsIt) {
  const DeflatePolicy allow{.enabled = true, .allow_client_context_takeover = true};
  std::optional<DeflateAgreement> agreement =
      negotiate_deflate(request_with({"permessage-deflate; client_max_window_bits"}), allow);
  ASSERT_TRUE(agreement.has_value());
  EXPECT_EQ(agreement->response, "permessage-deflate; server_no_context_takeover");
  EXPECT_TRUE(agreement->client_context_takeover);
  // A client that gives it up itself keeps no window, and the answer confirms it (§7.1.1.2).
  agreement =
      negotiate_deflate(request_with({"permessage-deflate; client_no_context_takeover"}), allow);
  ASSERT_TRUE(agreement.has_value());
  EXPECT_EQ(agreement->response, kAnswer);
  EXPECT_FALSE(agreement->client_context_takeover);
}

using ResponseStatus = DeflateResponse::Status;

TEST(ClientDeflate, TheOfferIsChromesAndHeraldAcceptsIt) {
  EXPECT_EQ(kClientDeflateOffer, "permessage-deflate; client_max_window_bits");
  EXPECT_EQ(negotiate(kClientDeflateOffer), kAnswer);
  // Herald's answers are accepted by the client.
  for (std::string_view answer : {kAnswer, kAnswerWindow15}) {
    const DeflateResponse response = judge_deflate_response(answer);
    ASSERT_EQ(response.status, ResponseStatus::kAccepted) << answer;
    EXPECT_FALSE(response.agreement.server_context_takeover);
    EXPECT_TRUE(response.agreement.client_no_context_takeover);
    EXPECT_EQ(response.agreement.server_max_window_bits, 15);
    EXPECT_EQ(response.agreement.client_max_window_bits, 15);
  }
}

TEST(ClientDeflate, NoExtensionMeansNoCompression) {
  EXPECT_EQ(judge_deflate_response("").status, ResponseStatus::kNone);
  EXPECT_EQ(judge_deflate_response(" , ,").status, ResponseStatus::kNone);
}

TEST(ClientDeflate, Rfc7692Section7_1_3Answers) {
  // §7.1.3: the plain answer keeps both windows.
  DeflateResponse response = judge_deflate_response("permessage-deflate");
  ASSERT_EQ(response.status, ResponseStatus::kAccepted);
  EXPECT_TRUE(response.agreement.server_context_takeover);
  EXPECT_FALSE(response.agreement.client_no_context_takeover);
  // §7.1.3: "permessage-deflate; server_max_window_bits=10", which a server may send unasked.
  response = judge_deflate_response("permessage-deflate; server_max_window_bits=10");
  ASSERT_EQ(response.status, ResponseStatus::kAccepted);
  EXPECT_EQ(response.agreement.server_max_window_bits, 10);
  // §7.1.2.2: the server limits the window we offered to let it limit, quoted or not.
  for (std::string_view answer : {"permessage-deflate; client_max_window_bits=9",
                                  "permessage-deflate;client_max_window_bits=\"9\""}) {
    response = judge_deflate_response(answer);
    ASSERT_EQ(response.status, ResponseStatus::kAccepted) << answer;
    EXPECT_EQ(response.agreement.client_max_window_bits, 9);
  }
  response = judge_deflate_response(
      "permessage-deflate; client_no_context_takeover; server_no_context_takeover; "
      "client_max_window_bits=8; server_max_window_bits=8");
  ASSERT_EQ(response.status, ResponseStatus::kAccepted);
  EXPECT_EQ(response.agreement.client_max_window_bits, 8);
  EXPECT_EQ(response.agreement.server_max_window_bits, 8);
  EXPECT_FALSE(response.agreement.server_context_takeover);
  EXPECT_TRUE(response.agreement.client_no_context_takeover);
}

TEST(ClientDeflate, AnswersTheClientMustFail) {
  for (std::string_view answer : {
           "permessage-foo",                                        // not offered
           "x-webkit-deflate-frame",                                // not offered
           "permessage-deflate, permessage-deflate",                // twice
           "permessage-deflate, permessage-foo",                    // one not offered
           "permessage-deflate; client_max_window_bits",            // no value in an answer
           "permessage-deflate; server_max_window_bits",            // no value in an answer
           "permessage-deflate; client_max_window_bits=16",         // out of range
           "permessage-deflate; client_max_window_bits=7",          // out of range
           "permessage-deflate; server_max_window_bits=010",        // a leading zero
           "permessage-deflate; server_max_window_bits=1a",         // not a number
           "permessage-deflate; server_no_context_takeover=1",      // a value on a flag
           "permessage-deflate; client_no_context_takeover=\"x\"",  // a value on a flag
           "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
           "permessage-deflate; client_max_window_bits=9; client_max_window_bits=9",
           "permessage-deflate; mystery",                     // unknown parameter
           "permessage-deflate;",                             // malformed
           "permessage-deflate; client_max_window_bits=\"9",  // unterminated quote
           "permessage-deflate x",                            // malformed
       }) {
    EXPECT_EQ(judge_deflate_response(answer).status, ResponseStatus::kInvalid) << answer;
  }
}

}  // namespace
}  // namespace herald::protocol::websocket
