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

void encode_message_value(const MessageHeader& header, std::string_view payload, std::string& out) {
  out.resize(kMessageHeaderBytes);
  out[0] = static_cast<char>(header.binary ? kFlagBinary : 0);
  put_u64(out.data() + 1, static_cast<uint64_t>(header.time_ms));
  put_u64(out.data() + 9, header.bytes_through);
  out.append(payload);
}

std::optional<MessageHeader> decode_message_value(std::string_view value) {
  if (value.size() < kMessageHeaderBytes) return std::nullopt;
  auto flags = static_cast<uint8_t>(value[0]);
  if ((flags & ~kFlagBinary) != 0) return std::nullopt;
  MessageHeader header;
  header.binary = (flags & kFlagBinary) != 0;
  header.time_ms = static_cast<int64_t>(get_u64(value.data() + 1));
  header.bytes_through = get_u64(value.data() + 9);
  // A message's own payload is part of bytes_through, so it can never be smaller.
  if (header.bytes_through < value.size() - kMessageHeaderBytes) return std::nullopt;
  return header;
}

void encode_topic_value(const TopicRecord& record, std::string& out) {
  out.resize(kTopicValueBytes);
  out[0] = 1;
  put_u64(out.data() + 1, record.topic_id);
  put_u64(out.data() + 9, record.epoch);
  put_u64(out.data() + 17, record.first_seq);
  put_u64(out.data() + 25, record.last_seq);
  put_u64(out.data() + 33, record.bytes_through_last);
}

std::optional<TopicRecord> decode_topic_value(std::string_view value) {
  if (value.size() != kTopicValueBytes || value[0] != 1) return std::nullopt;
  TopicRecord record;
  record.topic_id = get_u64(value.data() + 1);
  record.epoch = get_u64(value.data() + 9);
  record.first_seq = get_u64(value.data() + 17);
  record.last_seq = get_u64(value.data() + 25);
  record.bytes_through_last = get_u64(value.data() + 33);
  if (record.topic_id == 0 || record.epoch == 0) return std::nullopt;
  if (record.first_seq > record.last_seq) return std::nullopt;
  // The maximal id is reserved: key(id + 1, 0) bounds a topic's range from above.
  if (record.topic_id == UINT64_MAX) return std::nullopt;
  return record;
}

}  // namespace herald::storage::format
