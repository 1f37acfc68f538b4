// The bytes a node stores in Redis for one published message (the stream entry's `m`, and one
// of the messages of a channel batch, below): what every node needs to encode the message frame
// for its own subscribers, and to suppress the publisher's echo on its own node. Redis and
// the link treat them as opaque.
//
//   byte 0        format version (1)
//   byte 1        flags: bit 0 binary payload, bit 1 echo to the publisher
//   bytes 2-17    the publishing node's token (16 hex digits, RedisLink::node_token())
//   bytes 18-21   the publisher's worker, little-endian
//   bytes 22-29   the publisher's connection key, little-endian
//   bytes 30-     the payload (the JSON of "data", or a binary frame's bytes)
//
// Fixed-width fields, not JSON: a node decodes every message it receives, and a header it can
// read with two loads keeps that off the delivery's cost.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace herald::broker::cluster {

inline constexpr size_t kMessageHeaderBytes = 30;
inline constexpr size_t kNodeTokenChars = 16;

struct ClusterMessage {
  bool binary = false;
  bool echo = true;
  std::string_view node;  // the publishing node's token
  uint32_t worker = 0;
  uint64_t connection = 0;
  std::span<const uint8_t> payload;
};

// `message.node` must be kNodeTokenChars long.
[[nodiscard]] std::string encode_cluster_message(const ClusterMessage& message);
// False for bytes that are not a version-1 message (a foreign publisher on our channel, or
// a corrupted entry): the caller drops them. The views point into `bytes`.
[[nodiscard]] bool decode_cluster_message(std::string_view bytes, ClusterMessage& out);

// What a topic's channel carries (herald.lua, publish_batch): consecutive messages of one
// history, as "<first seq> <epoch> <len>,<len>,... " and then the messages back to back.
// One PUBLISH per topic per batch, where one per message cost Redis a call each.
struct ChannelBatch {
  uint64_t first_seq = 0;
  uint64_t epoch = 0;
  std::vector<std::string_view> messages;  // views into the payload; message i is first_seq + i
};

// False for a payload that is not such a batch (lengths that do not add up to the bytes, a
// bad number): the caller drops it, and the gap it leaves is repaired like any other.
[[nodiscard]] bool parse_channel_batch(std::string_view payload, ChannelBatch& out);

// Decimal without sign or spaces, within uint64_t.
[[nodiscard]] bool parse_u64(std::string_view text, uint64_t& out);
// An epoch as Redis keeps it: exactly 16 hex digits.
[[nodiscard]] bool parse_epoch(std::string_view text, uint64_t& out);

}  // namespace herald::broker::cluster
