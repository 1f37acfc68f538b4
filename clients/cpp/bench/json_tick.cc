// JSON ticks for --payload json-tick: written with std::to_chars into a caller's buffer (the
// publisher makes one per message, so no snprintf and no allocation), checked by layout and
// checksum on the subscribers' side.
#include "clients/cpp/bench/json_tick.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstring>

namespace herald::bench {

namespace {

constexpr size_t kStampDigits = 20;
constexpr std::string_view kIdKey = R"({"id":")";
constexpr std::string_view kTsKey = R"(","ts":")";
constexpr std::string_view kCheckKey = R"(,"ck":")";
// The tail of a tick: kCheckKey, 8 hex digits, the closing quote and brace.
constexpr size_t kCheckTailBytes = kCheckKey.size() + 8 + 2;

struct Listing {
  std::string_view symbol;
  std::string_view exchange;
  int64_t price_cents;  // about where it trades
};

constexpr std::array<Listing, 24> kListings = {{
    {"AAPL", "XNAS", 18723}, {"MSFT", "XNAS", 41210},  {"NVDA", "XNAS", 12155},
    {"AMZN", "XNAS", 17840}, {"GOOGL", "XNAS", 16377}, {"META", "XNAS", 49820},
    {"TSLA", "XNAS", 24166}, {"AVGO", "XNAS", 140512}, {"JPM", "XNYS", 19830},
    {"V", "XNYS", 27411},    {"XOM", "XNYS", 11802},   {"UNH", "XNYS", 52790},
    {"JNJ", "XNYS", 15233},  {"WMT", "XNYS", 6781},    {"PG", "XNYS", 16692},
    {"MA", "XNYS", 45120},   {"HD", "XNYS", 35567},    {"CVX", "XNYS", 15671},
    {"KO", "XNYS", 6234},    {"PEP", "XNAS", 17012},   {"COST", "XNAS", 78433},
    {"ADBE", "XNAS", 52211}, {"NFLX", "XNAS", 62890},  {"ORCL", "XNYS", 12744},
}};

// splitmix64: a fresh, reproducible stream of numbers per message.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, bound) for test data.
  int64_t below(uint64_t bound) { return static_cast<int64_t>(next() % bound); }

 private:
  uint64_t state_;
};

// Appends to a buffer the caller sized (kJsonTickBytesMax holds the longest tick).
class Writer {
 public:
  explicit Writer(std::span<char> out) : out_(out) {}

  void text(std::string_view text) {
    assert(size_ + text.size() <= out_.size());
    std::memcpy(out_.data() + size_, text.data(), text.size());
    size_ += text.size();
  }
  void integer(int64_t value) {
    size_ = static_cast<size_t>(
        std::to_chars(out_.data() + size_, out_.data() + out_.size(), value).ptr - out_.data());
  }
  // A decimal number with two places: 18723 is 187.23, -5 is -0.05.
  void cents(int64_t value) {
    if (value < 0) {
      text("-");
      value = -value;
    }
    integer(value / 100);
    const char places[2] = {static_cast<char>('0' + value % 100 / 10),
                            static_cast<char>('0' + value % 10)};
    text(".");
    text({places, 2});
  }
  // Zero-padded to `digits`, for fields read back at fixed offsets.
  void padded(uint64_t value, size_t digits) {
    for (size_t i = digits; i-- > 0; value /= 10)
      out_[size_ + i] = static_cast<char>('0' + value % 10);
    size_ += digits;
  }
  void field(std::string_view key, int64_t value) {
    text(key);
    integer(value);
  }
  void price(std::string_view key, int64_t value) {
    text(key);
    cents(value);
  }
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] const char* data() const { return out_.data(); }

 private:
  std::span<char> out_;
  size_t size_ = 0;
};

// An Adler-32-like sum: cheap for every subscriber to recompute on every delivery.
uint32_t checksum(std::string_view bytes) {
  uint32_t a = 1;
  uint32_t b = 0;
  for (const char c : bytes) {  // at most 512 bytes: neither sum overflows
    a += static_cast<uint8_t>(c);
    b += a;
  }
  return ((b % 65521) << 16) | (a % 65521);
}

void write_hex(uint32_t value, char* out) {
  for (int i = 7; i >= 0; --i, value >>= 4) out[i] = "0123456789abcdef"[value & 0xF];
}

bool read_padded(std::string_view digits, uint64_t& value) {
  value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

size_t write_json_tick(uint64_t counter, int64_t sent_ns, std::span<char> out) {
  assert(out.size() >= kJsonTickBytesMax);
  Random random(counter * 0x2545F4914F6CDD1DULL + 0x5EED);
  const Listing& listing = kListings[static_cast<size_t>(random.below(kListings.size()))];
  // Prices wander within about 2% of the listing's level; the spread is 1 to 3 cents.
  const int64_t price =
      listing.price_cents + random.below(listing.price_cents / 25 + 1) - listing.price_cents / 50;
  const int64_t spread = 1 + random.below(3);
  const int64_t previous_close = listing.price_cents + random.below(201) - 100;
  const int64_t open = previous_close + random.below(101) - 50;
  Writer writer(out);
  writer.text(kIdKey);
  writer.padded(counter, kStampDigits);
  writer.text(kTsKey);
  writer.padded(static_cast<uint64_t>(sent_ns), kStampDigits);
  writer.text(R"(","sym":")");
  writer.text(listing.symbol);
  writer.text(R"(","exch":")");
  writer.text(listing.exchange);
  writer.text("\"");
  writer.price(R"(,"px":)", price);
  writer.price(R"(,"bid":)", price - spread / 2 - 1);
  writer.price(R"(,"ask":)", price + spread / 2);
  writer.field(R"(,"bsz":)", 100 * (1 + random.below(40)));
  writer.field(R"(,"asz":)", 100 * (1 + random.below(40)));
  writer.field(R"(,"sz":)", 1 + random.below(2000));
  writer.field(R"(,"vol":)", 1'000'000 + random.below(90'000'000));
  writer.price(R"(,"open":)", open);
  writer.price(R"(,"high":)", std::max(open, price) + random.below(150));
  writer.price(R"(,"low":)", std::min(open, price) - random.below(150));
  writer.price(R"(,"prev":)", previous_close);
  writer.price(R"(,"chg":)", price - previous_close);
  writer.price(R"(,"pct":)", (price - previous_close) * 10000 / previous_close);
  writer.price(R"(,"vwap":)", (open + price) / 2 + random.below(21) - 10);
  writer.field(R"(,"trades":)", 10'000 + random.below(500'000));
  writer.text(random.below(8) == 0 ? R"(,"cond":"T","halted":false)"
                                   : R"(,"cond":"@","halted":false)");
  const uint32_t sum = checksum({writer.data(), writer.size()});
  writer.text(kCheckKey);
  char hex[8];
  write_hex(sum, hex);
  writer.text({hex, sizeof(hex)});
  writer.text("\"}");
  return writer.size();
}

std::optional<TickStamp> read_json_tick(std::string_view tick) {
  const size_t stamps_end = kIdKey.size() + kStampDigits + kTsKey.size() + kStampDigits;
  if (tick.size() < stamps_end + kCheckTailBytes || !tick.starts_with(kIdKey) ||
      tick.substr(kIdKey.size() + kStampDigits, kTsKey.size()) != kTsKey ||
      !tick.ends_with("\"}")) {
    return std::nullopt;
  }
  const size_t body_bytes = tick.size() - kCheckTailBytes;
  if (tick.substr(body_bytes, kCheckKey.size()) != kCheckKey) return std::nullopt;
  char hex[8];
  write_hex(checksum(tick.substr(0, body_bytes)), hex);
  if (tick.substr(body_bytes + kCheckKey.size(), 8) != std::string_view(hex, 8)) {
    return std::nullopt;
  }
  uint64_t counter = 0;
  uint64_t sent_ns = 0;
  if (!read_padded(tick.substr(kIdKey.size(), kStampDigits), counter) ||
      !read_padded(tick.substr(stamps_end - kStampDigits, kStampDigits), sent_ns)) {
    return std::nullopt;
  }
  return TickStamp{counter, static_cast<int64_t>(sent_ns)};
}

std::optional<TextDelivery> read_text_delivery(std::string_view frame, std::string_view topic) {
  // {"type":"msg","topic":"<topic>","seq":<n>,"data":<data>} as the broker writes it; a
  // topic needs no escaping (topic.h allows no quote or backslash).
  constexpr std::string_view kHead = R"({"type":"msg","topic":")";
  constexpr std::string_view kSeqKey = R"(","seq":)";
  constexpr std::string_view kDataKey = R"(,"data":)";
  if (!frame.starts_with(kHead) || !frame.ends_with("}")) return std::nullopt;
  frame.remove_prefix(kHead.size());
  if (!frame.starts_with(topic)) return std::nullopt;
  frame.remove_prefix(topic.size());
  if (!frame.starts_with(kSeqKey)) return std::nullopt;
  frame.remove_prefix(kSeqKey.size());
  TextDelivery delivery;
  const auto [end, status] =
      std::from_chars(frame.data(), frame.data() + frame.size(), delivery.seq);
  if (status != std::errc()) return std::nullopt;
  frame.remove_prefix(static_cast<size_t>(end - frame.data()));
  if (!frame.starts_with(kDataKey)) return std::nullopt;
  frame.remove_prefix(kDataKey.size());
  delivery.data = frame.substr(0, frame.size() - 1);
  return delivery;
}

}  // namespace herald::bench
