// UTF-8 validation, whole and in pieces: the Autobahn 6.x cases (RFC 3629 §4 table), split at
// every position, and the fail-fast rule of RFC 6455 §8.1.
#include "protocol/websocket/utf8.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace herald::protocol::websocket {
namespace {

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Feeds `text` in two pieces split at `split`; returns false as soon as a feed fails.
bool valid_when_split(std::string_view text, size_t split) {
  Utf8Validator validator;
  return validator.feed(bytes_of(text.substr(0, split))) &&
         validator.feed(bytes_of(text.substr(split))) && validator.at_boundary();
}

bool valid_byte_by_byte(std::string_view text) {
  Utf8Validator validator;
  for (char c : text) {
    if (!validator.feed(bytes_of(std::string_view(&c, 1)))) return false;
  }
  return validator.at_boundary();
}

const std::vector<std::string> kValid = {
    "",
    "Hello-µ@ßöäüàá-UTF-8!!",
    "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5",  // Autobahn 6.2: "κόσμε"
    "\x7F",                                          // 6.4: last code point of each length
    "\xDF\xBF",
    "\xEF\xBF\xBF",
    "\xF4\x8F\xBF\xBF",  // U+10FFFF
    "\xC2\x80",          // first code point of each length
    "\xE0\xA0\x80",
    "\xF0\x90\x80\x80",
    "\xED\x9F\xBF",  // U+D7FF and U+E000 around the surrogates
    "\xEE\x80\x80",
    "\xEF\xBF\xBE",                    // U+FFFE: a noncharacter, still valid UTF-8
    "a\xF0\x9F\x98\x80z\xE2\x82\xAC",  // emoji and euro sign among ASCII
};

const std::vector<std::string> kInvalid = {
    "\xC0\xAF",                  // overlong '/' (Autobahn 6.8)
    "\xE0\x80\xAF",              // overlong, 3 bytes
    "\xF0\x80\x80\xAF",          // overlong, 4 bytes
    "\xC1\xBF",                  // overlong U+007F
    "\xE0\x9F\xBF",              // overlong U+07FF
    "\xED\xA0\x80",              // surrogate U+D800 (6.19)
    "\xED\xBF\xBF",              // surrogate U+DFFF
    "\xED\xA0\x80\xED\xB0\x80",  // surrogate pair (6.20)
    "\xF4\x90\x80\x80",          // U+110000
    "\xF5\x80\x80\x80",          // lead byte above U+10FFFF
    "\xFE",                      // never valid (6.6)
    "\xFF",
    "\x80",  // lone continuation (6.9)
    "\xC2",  // truncated at the end (6.10)
    "\xE2\x82",
    "\xF0\x9F\x98",
    "\xE2\x28\xA1",  // lead followed by a non-continuation
    "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80"
    "edited",  // 6.3
};

TEST(Utf8Test, WholeTexts) {
  for (const std::string& text : kValid) EXPECT_TRUE(is_valid_utf8(bytes_of(text))) << text;
  for (const std::string& text : kInvalid) EXPECT_FALSE(is_valid_utf8(bytes_of(text))) << text;
}

TEST(Utf8Test, ValidTextsSplitAtEveryPosition) {
  for (const std::string& text : kValid) {
    for (size_t split = 0; split <= text.size(); ++split) {
      EXPECT_TRUE(valid_when_split(text, split)) << text << " split at " << split;
    }
    EXPECT_TRUE(valid_byte_by_byte(text)) << text;
  }
}

TEST(Utf8Test, InvalidTextsSplitAtEveryPosition) {
  for (const std::string& text : kInvalid) {
    for (size_t split = 0; split <= text.size(); ++split) {
      EXPECT_FALSE(valid_when_split(text, split)) << text << " split at " << split;
    }
    EXPECT_FALSE(valid_byte_by_byte(text)) << text;
  }
}

TEST(Utf8Test, LongTextSplitAtEveryPositionAgreesWithTheWholeCheck) {
  std::string text;
  for (int i = 0; i < 8; ++i) text += "ascii \xCE\xBA\xE1\xBD\xB9\xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
  ASSERT_TRUE(is_valid_utf8(bytes_of(text)));
  for (size_t split = 0; split <= text.size(); ++split) {
    EXPECT_TRUE(valid_when_split(text, split)) << split;
  }
}

TEST(Utf8Test, IncompleteTailIsNotABoundary) {
  Utf8Validator validator;
  EXPECT_TRUE(validator.feed(bytes_of("ab\xF0\x9F")));
  EXPECT_FALSE(validator.at_boundary());
  EXPECT_TRUE(validator.feed(bytes_of("\x98")));
  EXPECT_FALSE(validator.at_boundary());
  EXPECT_TRUE(validator.feed(bytes_of("\x80")));
  EXPECT_TRUE(validator.at_boundary());
  EXPECT_TRUE(validator.feed(bytes_of("\xE2")));
  validator.reset();
  EXPECT_TRUE(validator.at_boundary());
  EXPECT_TRUE(validator.feed(bytes_of("ok")));
}

TEST(Utf8Test, FailsAtTheFirstPieceThatCannotBeValid) {
  // Each prefix below can begin no valid text: the piece that ends with it fails at once.
  for (std::string_view prefix :
       {"\xF4\x90", "\xED\xA0", "\xE0\x80", "\xF0\x8F", "\xC0", "\xC1", "\xF5", "\xFF", "\x80"}) {
    Utf8Validator validator;
    EXPECT_TRUE(validator.feed(bytes_of("valid so far ")));
    EXPECT_FALSE(validator.feed(bytes_of(prefix))) << "prefix of " << prefix.size();
    EXPECT_FALSE(validator.feed(bytes_of("more text"))) << "stays failed";
    EXPECT_FALSE(validator.at_boundary());
  }
  // The same when the bad second byte arrives in a piece of its own.
  Utf8Validator validator;
  EXPECT_TRUE(validator.feed(bytes_of("\xED")));
  EXPECT_FALSE(validator.feed(bytes_of("\xA0")));
  // Autobahn 6.4.x: "κόσμε" followed by a code point above U+10FFFF fails in its fragment.
  Utf8Validator fragments;
  EXPECT_TRUE(fragments.feed(bytes_of("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5")));
  EXPECT_FALSE(fragments.feed(bytes_of("\xF4\x90\x80\x80")));
}

TEST(Utf8Test, StreamingAgreesWithTheWholeCheckOnRandomTexts) {
  // Texts glued from pieces near every boundary of the RFC 3629 table, split everywhere.
  const std::vector<std::string> pieces = {"a",    "\x7F", "\xC2",         "\xDF",
                                           "\xE0", "\xED", "\xEF",         "\xF0",
                                           "\xF4", "\xF5", "\xC0",         "\x80",
                                           "\x8F", "\x90", "\x9F",         "\xA0",
                                           "\xBF", "\xFF", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
  std::mt19937 random(6455);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    size_t count = random() % 8;
    for (size_t i = 0; i < count; ++i) text += pieces[random() % pieces.size()];
    bool whole = is_valid_utf8(bytes_of(text));
    for (size_t split = 0; split <= text.size(); ++split) {
      ASSERT_EQ(valid_when_split(text, split), whole) << round << " split at " << split;
    }
    ASSERT_EQ(valid_byte_by_byte(text), whole) << round;
  }
}

}  // namespace
}  // namespace herald::protocol::websocket
