// The bytes the RocksDB log stores, as plain functions with no RocksDB type: message keys and
// values and topic metadata. Decoders take untrusted bytes (a damaged disk) and say so rather
// than read past the end.
//
//   message key:   topic_id (8 bytes, big-endian) | seq (8 bytes, big-endian)
//                  big-endian so that RocksDB's bytewise order is (topic, seq) order
//   message value: flags (1 byte: bit 0 binary, others zero) | time_ms (8, big-endian,
//                  two's complement) | bytes_through (8, big-endian: the topic's payload bytes
//                  up to and including this message) | payload
//   topic key:     the topic name (metadata column family)
//   topic value:   version (1 byte, 1) | topic_id | epoch | first_seq | last_seq |
//                  bytes_through_last (each 8 bytes, big-endian)
//
// bytes_through makes the bytes bound a binary search instead of a scan: the retained bytes
// from seq s on are bytes_through(last) - bytes_through(s) + size(s).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald::storage::format {

inline constexpr size_t kMessageKeyBytes = 16;
inline constexpr size_t kMessageHeaderBytes = 17;
inline constexpr size_t kTopicValueBytes = 41;
inline constexpr uint8_t kFlagBinary = 1;

void put_u64(char* out, uint64_t value);
[[nodiscard]] uint64_t get_u64(const char* in);

// Writes the 16-byte key into `out`.
void message_key(uint64_t topic_id, uint64_t seq, char* out);

struct MessageKey {
  uint64_t topic_id = 0;
  uint64_t seq = 0;
};
[[nodiscard]] std::optional<MessageKey> decode_message_key(std::string_view key);

struct MessageHeader {
  bool binary = false;
  int64_t time_ms = 0;
  uint64_t bytes_through = 0;
};
// Appends header and payload to `out` (cleared first).
void encode_message_value(const MessageHeader& header, std::string_view payload, std::string& out);
// The header of a stored value; its payload is value.substr(kMessageHeaderBytes).
[[nodiscard]] std::optional<MessageHeader> decode_message_value(std::string_view value);

struct TopicRecord {
  uint64_t topic_id = 0;
  uint64_t epoch = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t bytes_through_last = 0;
};
void encode_topic_value(const TopicRecord& record, std::string& out);
// Also checks what must hold of any record we wrote (ids and epoch nonzero, first <= last).
[[nodiscard]] std::optional<TopicRecord> decode_topic_value(std::string_view value);

}  // namespace herald::storage::format
