// libFuzzer target for the RocksDB log's record decoders (storage/record_format.h), which read
// bytes from disk that damage may have changed: any bytes decode or are refused, never read
// out of bounds, and whatever decodes re-encodes to the same bytes.
// Built with replay_main.cc it replays the corpus in the ordinary test run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/record_format.h"

namespace {

namespace format = herald::storage::format;

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string encoded;
  // A chunk: every message the cursor accepts re-encodes to the bytes it came from, and an
  // undamaged walk accounts for every byte.
  format::ChunkCursor cursor(bytes);
  format::ChunkMessage message;
  uint64_t previous = 0;
  while (cursor.next(message)) {
    require(message.seq > previous && message.header.bytes_through >= message.payload.size());
    previous = message.seq;
    format::append_chunk_message(message, encoded);
  }
  require(bytes.substr(0, encoded.size()) == encoded);
  require(cursor.damaged() || encoded.size() == bytes.size());
  encoded.clear();
  if (auto record = format::decode_topic_value(bytes)) {
    format::encode_topic_value(*record, encoded);
    require(encoded == bytes);
    require(record->first_seq <= record->last_seq && record->epoch != 0);
  }
  if (auto key = format::decode_message_key(bytes)) {
    char again[format::kMessageKeyBytes];
    format::message_key(key->topic_id, key->seq, again);
    require(std::string_view(again, sizeof again) == bytes);
  }
  return 0;
}
