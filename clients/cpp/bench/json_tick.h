// The --payload json-tick messages of the pub/sub scenarios: stock ticks in JSON of about 320
// bytes, distinct per message, which carry the publisher's counter and send time for the
// subscribers' order and latency checks; and a fast reader of the broker's text envelope.
// No I/O, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace herald::bench {

// A tick is never longer than this.
inline constexpr size_t kJsonTickBytesMax = 512;

// What a tick carries for the checks.
struct TickStamp {
  uint64_t counter = 0;  // the publisher's message number
  int64_t sent_ns = 0;   // steady_clock at publish
};

// Writes the tick of message `counter` into `out` (at least kJsonTickBytesMax bytes) and
// returns its size. Its numbers come from a PRNG seeded with `counter`, so every message
// differs and a run is reproducible; its last field, "ck", is a checksum of the bytes before.
//   {"id":"<counter, 20 digits>","ts":"<sent_ns, 20 digits>","sym":"AAPL","px":187.23,...}
size_t write_json_tick(uint64_t counter, int64_t sent_ns, std::span<char> out);

// The stamp of a tick written by write_json_tick(), or nullopt when its layout or checksum
// is wrong (the bytes were corrupted on the way).
[[nodiscard]] std::optional<TickStamp> read_json_tick(std::string_view tick);

// A message frame of the text protocol, {"type":"msg","topic":T,"seq":N,"data":D} (PROTOCOL.md
// section 4), in the exact form the broker encodes: its seq and data. nullopt for any other
// text (acks, errors, notices) and for another topic: parse those the general way.
struct TextDelivery {
  uint64_t seq = 0;
  std::string_view data;
};
[[nodiscard]] std::optional<TextDelivery> read_text_delivery(std::string_view frame,
                                                             std::string_view topic);

}  // namespace herald::bench
