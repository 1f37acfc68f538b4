// Encoding and checked decoding of the RocksDB log's keys and values (layout in the header).
#include "storage/record_format.h"

namespace herald::storage::format {

void put_u64(char* out, uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

uint64_t get_u64(const char* in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}

void message_key(uint64_t topic_id, uint64_t seq, char* out) {
  put_u64(out, topic_id);
  put_u64(out + 8, seq);
}

std::optional<MessageKey> decode_message_key(std::string_view key) {
  if (key.size() != kMessageKeyBytes) return std::nullopt;
  return MessageKey{get_u64(key.data()), get_u64(key.data() + 8)};
}

void append_chunk_message(const ChunkMessage& message, std::string& out) {
  size_t at = out.size();
  out.resize(at + kChunkMessageHeaderBytes);
  char* header = out.data() + at;
  put_u64(header, message.seq);
  header[8] = static_cast<char>(message.header.binary ? kFlagBinary : 0);
  put_u64(header + 9, static_cast<uint64_t>(message.header.time_ms));
  put_u64(header + 17, message.header.bytes_through);
  put_u64(header + 25, message.header.count_through);
  auto size = static_cast<uint32_t>(message.payload.size());
  for (int i = 0; i < 4; ++i) header[33 + i] = static_cast<char>(size >> (24 - 8 * i));
  out.append(message.payload);
}

bool ChunkCursor::next(ChunkMessage& out) {
  if (rest_.empty() || damaged_) return false;
  damaged_ = true;  // until this message proves whole
  if (rest_.size() < kChunkMessageHeaderBytes) return false;
  const char* header = rest_.data();
  auto flags = static_cast<uint8_t>(header[8]);
  uint64_t size = 0;
  for (int i = 0; i < 4; ++i) size = (size << 8) | static_cast<unsigned char>(header[33 + i]);
  if ((flags & ~kFlagBinary) != 0 || size > rest_.size() - kChunkMessageHeaderBytes) return false;
  out.seq = get_u64(header);
  out.header.binary = (flags & kFlagBinary) != 0;
  out.header.time_ms = static_cast<int64_t>(get_u64(header + 9));
  out.header.bytes_through = get_u64(header + 17);
  out.header.count_through = get_u64(header + 25);
  out.payload = rest_.substr(kChunkMessageHeaderBytes, size);
  // Seq 0 is never stored, and a message's own payload and itself are in its running totals.
  if (out.seq <= last_seq_ || out.header.bytes_through < size || out.header.count_through == 0) {
    return false;
  }
  last_seq_ = out.seq;
  rest_.remove_prefix(kChunkMessageHeaderBytes + size);
  damaged_ = false;
  return true;
}

void encode_topic_value(const TopicRecord& record, std::string& out) {
  out.resize(kTopicValueBytes);
  out[0] = 2;
  put_u64(out.data() + 1, record.topic_id);
  put_u64(out.data() + 9, record.epoch);
  put_u64(out.data() + 17, record.first_seq);
  put_u64(out.data() + 25, record.last_seq);
  put_u64(out.data() + 33, record.bytes_through_last);
  put_u64(out.data() + 41, record.count_through_last);
}

std::optional<TopicRecord> decode_topic_value(std::string_view value) {
  if (value.size() != kTopicValueBytes || value[0] != 2) return std::nullopt;
  TopicRecord record;
  record.topic_id = get_u64(value.data() + 1);
  record.epoch = get_u64(value.data() + 9);
  record.first_seq = get_u64(value.data() + 17);
  record.last_seq = get_u64(value.data() + 25);
  record.bytes_through_last = get_u64(value.data() + 33);
  record.count_through_last = get_u64(value.data() + 41);
  if (record.topic_id == 0 || record.epoch == 0) return std::nullopt;
  if (record.first_seq > record.last_seq) return std::nullopt;
  // The maximal id is reserved: key(id + 1, 0) bounds a topic's range from above.
  if (record.topic_id == UINT64_MAX) return std::nullopt;
  return record;
}

}  // namespace herald::storage::format
