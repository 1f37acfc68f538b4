// The bytes the RocksDB log stores, as plain functions with no RocksDB type: message keys, the
// chunks of messages under them, and topic metadata. Decoders take untrusted bytes (a damaged
// disk) and say so rather than read past the end.
//
//   chunk key:     topic_id (8 bytes, big-endian) | seq (8 bytes, big-endian) of the chunk's
//                  first message; big-endian so that RocksDB's bytewise order is (topic, seq)
//   chunk value:   one or more messages of the topic, seq strictly rising, each:
//                    seq (8, big-endian) | flags (1 byte: bit 0 binary, others zero) |
//                    time_ms (8, big-endian, two's complement) | bytes_through (8, big-endian:
//                    the topic's payload bytes up to and including this message) |
//                    count_through (8, big-endian: the topic's messages up to and including
//                    this one) | size (4, big-endian) | payload (size bytes)
//   topic key:     the topic name (metadata column family)
//   topic value:   version (1 byte, 2) | topic_id | epoch | first_seq | last_seq |
//                  bytes_through_last | count_through_last (each 8 bytes, big-endian)
//
// Why chunks: one group commit carries a run of messages per topic, and RocksDB's cost is per
// key (a memtable skiplist insert, a compaction step), not per byte. One key per run instead of
// per message measured 3x the append rate with 64 B messages; the key is still the
// (topic, seq) of a message, so a seek lands on the chunk holding any seq in one step.
//
// bytes_through and count_through make the bytes and count bounds binary searches instead of
// scans: the retained bytes from seq s on are bytes_through(last) - bytes_through(s) + size(s),
// and the messages count_through(last) - count_through(s) + 1. Counting messages rather than
// subtracting seqs keeps the count bound right across gaps in the sequence (after a crash the
// log skips sequence numbers on purpose; see RocksDbOptions::crash_seq_skip).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald::storage::format {

inline constexpr size_t kMessageKeyBytes = 16;
inline constexpr size_t kChunkMessageHeaderBytes = 37;
inline constexpr size_t kTopicValueBytes = 49;
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
  uint64_t count_through = 0;
};

// One message inside a chunk; the payload views the chunk's bytes.
struct ChunkMessage {
  uint64_t seq = 0;
  MessageHeader header;
  std::string_view payload;
};

// Appends one message to a chunk being built in `out`.
void append_chunk_message(const ChunkMessage& message, std::string& out);

// Walks a chunk's messages in order. next() is false at the end and at the first damaged
// byte; damaged() tells the two apart. Checks what holds of any chunk we wrote: flags known,
// sizes inside the value, seqs rising, bytes_through covering the message's own payload,
// count_through counting the message itself.
class ChunkCursor {
 public:
  explicit ChunkCursor(std::string_view value) : rest_(value) {}
  bool next(ChunkMessage& out);
  [[nodiscard]] bool damaged() const { return damaged_; }

 private:
  std::string_view rest_;
  uint64_t last_seq_ = 0;
  bool damaged_ = false;
};

struct TopicRecord {
  uint64_t topic_id = 0;
  uint64_t epoch = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t bytes_through_last = 0;
  uint64_t count_through_last = 0;
};
void encode_topic_value(const TopicRecord& record, std::string& out);
// Also checks what must hold of any record we wrote (ids and epoch nonzero, first <= last).
[[nodiscard]] std::optional<TopicRecord> decode_topic_value(std::string_view value);

}  // namespace herald::storage::format
