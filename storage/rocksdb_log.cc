// The RocksDB log: messages in the default column family, in chunks of one topic's run of
// messages under the (topic id, seq) key of the chunk's first message; one metadata record per
// topic in the "topics" column family, both written in one WriteBatch so that a crash never
// separates a message from its topic's last_seq. Key and value bytes are in record_format.h.
// RocksDB's types stay in this file; its statuses become storage::Status.
#include "storage/rocksdb_log.h"

#include <rocksdb/db.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <unordered_map>

#include "protocol/common/string_hash.h"
#include "storage/record_format.h"

namespace herald::storage {
namespace {

constexpr const char* kTopicsFamily = "topics";
// The "meta" family holds one key, present only between a clean shutdown and the next open.
constexpr const char* kMetaFamily = "meta";
constexpr const char* kCleanKey = "clean_shutdown";
constexpr uint64_t kReadReserveMax = 4096;
// A chunk closes before passing this (a larger message is a chunk of its own): about one
// 16 KiB table block, so a read from any seq decodes at most one block it does not need.
constexpr size_t kChunkBytesMax = 16 << 10;

Status convert(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return Status::ok();
  std::string message = std::string(what) + ": " + status.ToString();
  if (status.IsCorruption()) return Status::corruption(std::move(message));
  if (status.IsInvalidArgument()) return Status::invalid_argument(std::move(message));
  return Status::io_error(std::move(message));
}

struct Key {
  Key(uint64_t topic_id, uint64_t seq) { format::message_key(topic_id, seq, bytes); }
  [[nodiscard]] rocksdb::Slice slice() const { return {bytes, format::kMessageKeyBytes}; }
  char bytes[format::kMessageKeyBytes];
};

// The memtable insert hint's prefix: the topic id of a full message key. RocksDB 7.8 keeps one
// hint per prefix for the point and the range-deletion memtables alike, so a range deletion
// whose begin key had the same prefix would hand a point insert a node of the other list
// (an assertion in RocksDB, corruption without it). Range deletions therefore begin at the
// bare 8-byte topic id, which is outside this transform's domain.
class TopicHint final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "herald.TopicHint"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override { return {key.data(), 8}; }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() == format::kMessageKeyBytes;
  }
};

// One topic's messages through a bounded iterator, positioned by message seq whatever chunk
// holds it. Not movable: the read options point at the bounds it owns.
class TopicReader {
 public:
  TopicReader(rocksdb::DB& db, uint64_t topic_id)
      : topic_id_(topic_id), lower_(topic_id, 0), upper_(topic_id + 1, 0) {
    lower_slice_ = lower_.slice();
    upper_slice_ = upper_.slice();
    rocksdb::ReadOptions options;
    options.iterate_lower_bound = &lower_slice_;
    options.iterate_upper_bound = &upper_slice_;
    it_.reset(db.NewIterator(options));
  }
  TopicReader(const TopicReader&) = delete;
  TopicReader& operator=(const TopicReader&) = delete;

  // The first message with seq >= `seq`. False past the last message, or on an error
  // (status() then says which). The payload views the iterator's bytes until the next call.
  bool seek(uint64_t seq, format::ChunkMessage& out) {
    it_->SeekForPrev(Key(topic_id_, seq).slice());
    if (!it_->Valid()) {
      if (!it_->status().ok()) return fail(convert(it_->status(), "seeking"));
      it_->Seek(lower_slice_);  // no chunk starts at or before seq: begin at the first
    }
    if (!open_chunk()) return false;
    while (next(out)) {
      if (out.seq >= seq) return true;
    }
    return false;
  }

  // The topic's last message.
  bool last(format::ChunkMessage& out) {
    it_->SeekToLast();
    if (!open_chunk()) return false;
    bool found = false;
    format::ChunkMessage message;
    while (cursor_.next(message)) {
      out = message;
      found = true;
    }
    if (cursor_.damaged() || !found) return fail(damage());
    return true;
  }

  // The message after the one last returned.
  bool next(format::ChunkMessage& out) {
    while (!cursor_.next(out)) {
      if (cursor_.damaged()) return fail(damage());
      it_->Next();
      if (!open_chunk()) return false;
    }
    if (out.seq < chunk_seq_ || (first_in_chunk_ && out.seq != chunk_seq_)) return fail(damage());
    first_in_chunk_ = false;
    return true;
  }

  // The key seq of the chunk holding the message last returned.
  [[nodiscard]] uint64_t chunk_seq() const { return chunk_seq_; }
  [[nodiscard]] const Status& status() const { return status_; }

 private:
  bool open_chunk() {
    if (!it_->Valid()) return fail(convert(it_->status(), "reading messages"));
    auto key = format::decode_message_key(std::string_view(it_->key().data(), it_->key().size()));
    if (!key || key->topic_id != topic_id_) return fail(damage());
    chunk_seq_ = key->seq;
    first_in_chunk_ = true;
    cursor_ = format::ChunkCursor(std::string_view(it_->value().data(), it_->value().size()));
    return true;
  }
  bool fail(Status status) {
    status_ = std::move(status);
    return false;
  }
  Status damage() const {
    return Status::corruption("bad message chunk in topic id " + std::to_string(topic_id_) +
                              " at seq " + std::to_string(chunk_seq_));
  }

  uint64_t topic_id_;
  Key lower_;
  Key upper_;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  format::ChunkCursor cursor_{{}};
  uint64_t chunk_seq_ = 0;
  bool first_in_chunk_ = false;
  Status status_ = Status::ok();
};

}  // namespace

struct RocksDbLog::Impl {
  // What the oldest retained message looks like, so that an idle topic inside its bounds
  // costs retention no read at all. Learned by one seek; forgotten when first_seq changes.
  struct Oldest {
    int64_t time_ms = 0;
    uint64_t bytes_before = 0;  // the topic's payload bytes before it
    uint64_t count_before = 0;  // the topic's messages before it
  };
  struct Topic {
    format::TopicRecord record;
    std::optional<Retention> retention;  // asked once, when first needed
    std::optional<Oldest> oldest;
  };
  using TopicMap = common::StringMap<Topic>;
  // The first message at or after a seq, with what a retention search needs of it.
  struct Found {
    bool exists = false;  // false past the last message
    uint64_t seq = 0;
    format::MessageHeader header;
    uint64_t payload_bytes = 0;
    uint64_t chunk_seq = 0;  // the key of the chunk holding it
  };
  // A topic's record as an append builds it, with the chunk it has open.
  struct Pending {
    format::TopicRecord record;
    std::string chunk;
    uint64_t chunk_seq = 0;
  };

  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* messages = nullptr;  // the default family, owned by db
  rocksdb::ColumnFamilyHandle* topics_family = nullptr;
  rocksdb::ColumnFamilyHandle* meta_family = nullptr;
  bool opened_after_crash = false;
  RetentionFor retention_for;
  TopicMap topics;
  uint64_t next_topic_id = 1;
  // Reused by every append: the batch, one value buffer, and the topics the batch touches.
  rocksdb::WriteBatch batch;
  std::string value;
  std::unordered_map<std::string_view, Pending> pending;

  ~Impl() {
    if (topics_family) db->DestroyColumnFamilyHandle(topics_family);
    if (meta_family) db->DestroyColumnFamilyHandle(meta_family);
    if (db) db->Close().PermitUncheckedError();
  }

  Topic* find(std::string_view topic) {
    auto it = topics.find(topic);
    return it == topics.end() ? nullptr : &it->second;
  }

  void put_topic(std::string_view name, const format::TopicRecord& record) {
    format::encode_topic_value(record, value);
    batch.Put(topics_family, rocksdb::Slice(name.data(), name.size()), value);
  }

  void put_chunk(Pending& open) {
    batch.Put(messages, Key(open.record.topic_id, open.chunk_seq).slice(), open.chunk);
    open.chunk.clear();
  }

  Status load_topics();
  Status skip_after_crash(uint64_t skip);
  static Status first_at_or_after(TopicReader& reader, uint64_t seq, Found& out);
  template <typename Keep>
  Result<uint64_t> first_kept(const format::TopicRecord& record, Keep keep);
  Result<uint64_t> retention_cut(const std::string& name, Topic& topic, int64_t now_ms);
};

RocksDbLog::RocksDbLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksDbLog::~RocksDbLog() = default;

Result<std::unique_ptr<RocksDbLog>> RocksDbLog::open(const RocksDbOptions& options,
                                                     RetentionFor retention_for) {
  std::error_code error;
  std::filesystem::create_directories(options.path, error);
  if (error) {
    return {Status::io_error("cannot create " + options.path + ": " + error.message()), {}};
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  db_options.max_total_wal_size = 4 * options.write_buffer_bytes;

  // Messages: written once in key order per topic, read in long forward scans. Large
  // memtables make group commits cheap. LZ4 at every level, the bottom included: with ZSTD
  // there a replay of compacted 64 B messages measured 1.5M instead of 1.9M msgs per CPU
  // second, and replay speed is the target; the disk pays a little for it.
  rocksdb::ColumnFamilyOptions message_options;
  message_options.write_buffer_size = options.write_buffer_bytes;
  message_options.max_write_buffer_number = 3;
  // A group commit interleaves many topics, each a run of rising keys. Without a hint every
  // insert searches the skiplist from the top (measured 3-4x slower with 64 topics); with the
  // topic id as the hint prefix, each insert starts where that topic's last one ended.
  message_options.memtable_insert_with_hint_prefix_extractor = std::make_shared<TopicHint>();
  message_options.compression = rocksdb::kLZ4Compression;
  message_options.bottommost_compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.block_size = 16 << 10;
  message_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, message_options},
      {kTopicsFamily, rocksdb::ColumnFamilyOptions()},
      {kMetaFamily, rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(db_options, options.path, families, &handles, &raw);
  if (!status.ok()) return {convert(status, "cannot open RocksDB at " + options.path), {}};

  auto impl = std::make_unique<Impl>();
  impl->db.reset(raw);
  impl->topics_family = handles[1];
  impl->meta_family = handles[2];
  // The default family's handle is owned by the DB; only ours needs destroying.
  impl->db->DestroyColumnFamilyHandle(handles[0]).PermitUncheckedError();
  impl->messages = impl->db->DefaultColumnFamily();
  impl->retention_for = std::move(retention_for);
  if (Status loaded = impl->load_topics(); !loaded.is_ok()) return {std::move(loaded), {}};
  if (Status skipped = impl->skip_after_crash(options.crash_seq_skip); !skipped.is_ok()) {
    return {std::move(skipped), {}};
  }
  return {Status::ok(), std::unique_ptr<RocksDbLog>(new RocksDbLog(std::move(impl)))};
}

// Loads every topic's record, then checks it against the messages themselves: the last key of
// the topic's range wins if it is somehow newer, so a sequence number is never reused.
Status RocksDbLog::Impl::load_topics() {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), topics_family));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string name = it->key().ToString();
    std::optional<format::TopicRecord> record =
        format::decode_topic_value(std::string_view(it->value().data(), it->value().size()));
    if (!record) return Status::corruption("bad topic record for '" + name + "'");
    next_topic_id = std::max(next_topic_id, record->topic_id + 1);
    topics.emplace(std::move(name), Topic{*record, std::nullopt, std::nullopt});
  }
  if (!it->status().ok()) return convert(it->status(), "reading topic records");

  for (auto& [name, topic] : topics) {
    TopicReader reader(*db, topic.record.topic_id);
    format::ChunkMessage last;
    if (!reader.last(last)) {
      if (!reader.status().is_ok()) return reader.status();
      continue;
    }
    if (last.seq <= topic.record.last_seq) continue;
    topic.record.last_seq = last.seq;
    topic.record.bytes_through_last = last.header.bytes_through;
    topic.record.count_through_last = last.header.count_through;
    if (topic.record.first_seq == 0) topic.record.first_seq = reader.chunk_seq();
  }
  return Status::ok();
}

// Without the clean mark, the last run may have delivered messages live that never reached
// the log: move every topic's last_seq past them. Either way the mark goes, in the same
// synced batch, so that a crash from now on is seen at the next open.
Status RocksDbLog::Impl::skip_after_crash(uint64_t skip) {
  std::string ignored;
  rocksdb::Status found = db->Get(rocksdb::ReadOptions(), meta_family, kCleanKey, &ignored);
  if (!found.ok() && !found.IsNotFound()) return convert(found, "reading the shutdown mark");
  batch.Clear();
  opened_after_crash = found.IsNotFound() && !topics.empty();
  if (opened_after_crash) {
    for (auto& [name, topic] : topics) {
      format::TopicRecord& record = topic.record;
      record.last_seq =
          record.last_seq > UINT64_MAX - 1 - skip ? UINT64_MAX - 1 : record.last_seq + skip;
      put_topic(name, record);
    }
  }
  batch.Delete(meta_family, kCleanKey);
  rocksdb::WriteOptions synced;
  synced.sync = true;
  return convert(db->Write(synced, &batch), "clearing the shutdown mark");
}

Status RocksDbLog::mark_clean() {
  rocksdb::WriteOptions synced;
  synced.sync = true;
  return convert(impl_->db->Put(synced, impl_->meta_family, kCleanKey, "1"), "marking shutdown");
}

bool RocksDbLog::opened_after_crash() const { return impl_->opened_after_crash; }

Status RocksDbLog::append(std::span<const AppendEntry> entries, bool sync) {
  Impl& impl = *impl_;
  impl.batch.Clear();
  impl.pending.clear();
  for (const AppendEntry& entry : entries) {
    auto [it, inserted] = impl.pending.try_emplace(entry.topic);
    Impl::Pending& pending = it->second;
    format::TopicRecord& record = pending.record;
    if (inserted) {
      if (const Impl::Topic* topic = impl.find(entry.topic)) {
        record = topic->record;
      } else {
        record.topic_id = impl.next_topic_id++;
        record.epoch = new_epoch();
      }
    }
    if (entry.seq <= record.last_seq) {
      return Status::invalid_argument("seq " + std::to_string(entry.seq) + " of " +
                                      std::string(entry.topic) + " is not above " +
                                      std::to_string(record.last_seq));
    }
    const size_t adds = format::kChunkMessageHeaderBytes + entry.payload.size();
    if (!pending.chunk.empty() && pending.chunk.size() + adds > kChunkBytesMax) {
      impl.put_chunk(pending);
    }
    if (pending.chunk.empty()) pending.chunk_seq = entry.seq;
    record.bytes_through_last += entry.payload.size();
    record.count_through_last += 1;
    record.last_seq = entry.seq;
    if (record.first_seq == 0) record.first_seq = entry.seq;
    format::append_chunk_message(
        {entry.seq,
         {entry.binary, entry.time_ms, record.bytes_through_last, record.count_through_last},
         entry.payload},
        pending.chunk);
  }
  for (auto& [name, pending] : impl.pending) {
    impl.put_chunk(pending);
    impl.put_topic(name, pending.record);
  }

  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  Status status = convert(impl.db->Write(write_options, &impl.batch), "writing messages");
  if (!status.is_ok()) return status;
  for (const auto& [name, pending] : impl.pending) {
    auto [it, inserted] = impl.topics.try_emplace(std::string(name));
    if (it->second.record.first_seq != pending.record.first_seq) it->second.oldest.reset();
    it->second.record = pending.record;
  }
  return status;
}

Result<TopicState> RocksDbLog::state(std::string_view topic) {
  const Impl::Topic* found = impl_->find(topic);
  if (!found) return {};
  const format::TopicRecord& record = found->record;
  return {Status::ok(), TopicState{std::string(topic), record.topic_id, record.epoch,
                                   record.first_seq, record.last_seq}};
}

Result<MessagePage> RocksDbLog::read(std::string_view topic, uint64_t from_seq, ReadLimits limits) {
  Result<MessagePage> result;
  const Impl::Topic* found = impl_->find(topic);
  if (!found || found->record.first_seq == 0 || limits.count_max == 0) return result;
  const format::TopicRecord& record = found->record;
  TopicReader reader(*impl_->db, record.topic_id);
  // A page is usually full: one allocation for each of its vectors instead of a doubling
  // series (a guess at the bytes, for payloads of a few hundred bytes).
  const uint64_t reserve = std::min<uint64_t>(limits.count_max, kReadReserveMax);
  result.value.reserve(reserve, std::min<uint64_t>(limits.bytes_max, reserve * 256));
  uint64_t bytes = 0;
  format::ChunkMessage message;
  for (bool more = reader.seek(std::max(from_seq, record.first_seq), message);
       more && result.value.size() < limits.count_max; more = reader.next(message)) {
    bytes += message.payload.size();
    if (bytes > limits.bytes_max && !result.value.empty()) break;
    result.value.add(message.seq, message.header.time_ms, message.header.binary, message.payload);
  }
  result.status = reader.status();
  return result;
}

// The first message of the topic with seq >= `seq` (out.exists false past the last).
Status RocksDbLog::Impl::first_at_or_after(TopicReader& reader, uint64_t seq, Found& out) {
  out = Found{};
  format::ChunkMessage message;
  if (!reader.seek(seq, message)) return reader.status();
  out = Found{true, message.seq, message.header, message.payload.size(), reader.chunk_seq()};
  return Status::ok();
}

// The first retained seq whose message satisfies `keep`, or last_seq + 1 when none does.
// `keep` must be false then true along the topic (times and byte totals only grow), so a
// binary search over seeks finds it in O(log n) reads instead of a scan. Seeks land on the
// next existing message, so gaps in the sequence are harmless.
template <typename Keep>
Result<uint64_t> RocksDbLog::Impl::first_kept(const format::TopicRecord& record, Keep keep) {
  TopicReader reader(*db, record.topic_id);
  uint64_t low = record.first_seq;
  uint64_t high = record.last_seq + 1;  // the answer when nothing is kept
  uint64_t answer = high;
  Found found;
  while (low < high) {
    uint64_t middle = low + (high - low) / 2;
    if (Status status = first_at_or_after(reader, middle, found); !status.is_ok()) {
      return {std::move(status), 0};
    }
    if (!found.exists || keep(found)) {
      if (found.exists) answer = found.seq;
      high = middle;
    } else {
      low = found.seq + 1;
    }
  }
  return {Status::ok(), answer};
}

Result<uint64_t> RocksDbLog::find_seq_at_or_after_time(std::string_view topic, int64_t time_ms) {
  const Impl::Topic* found = impl_->find(topic);
  if (!found) return {Status::ok(), 1};
  if (found->record.first_seq == 0) return {Status::ok(), found->record.last_seq + 1};
  return impl_->first_kept(found->record,
                           [&](const Impl::Found& m) { return m.header.time_ms >= time_ms; });
}

Result<uint64_t> RocksDbLog::first_of_last(std::string_view topic, uint64_t count) {
  const Impl::Topic* found = impl_->find(topic);
  if (!found) return {Status::ok(), 1};
  const format::TopicRecord& record = found->record;
  if (count == 0 || record.first_seq == 0) return {Status::ok(), record.last_seq + 1};
  return impl_->first_kept(record, [&](const Impl::Found& m) {
    return record.count_through_last - (m.header.count_through - 1) <= count;
  });
}

Result<std::vector<TopicState>> RocksDbLog::topics() {
  Result<std::vector<TopicState>> result;
  result.value.reserve(impl_->topics.size());
  for (const auto& [name, topic] : impl_->topics) {
    const format::TopicRecord& record = topic.record;
    result.value.push_back(
        TopicState{name, record.topic_id, record.epoch, record.first_seq, record.last_seq});
  }
  return result;
}

// The first seq the topic's bounds keep at `now_ms` (first_seq when nothing is to go).
Result<uint64_t> RocksDbLog::Impl::retention_cut(const std::string& name, Topic& topic,
                                                 int64_t now_ms) {
  if (!topic.retention) topic.retention = retention_for(name);
  const Retention& bounds = *topic.retention;
  const format::TopicRecord& record = topic.record;
  uint64_t cut = record.first_seq;
  if (!bounds.count_max && !bounds.age_ms_max && !bounds.bytes_max) return {Status::ok(), cut};
  if (!topic.oldest) {
    TopicReader reader(*db, record.topic_id);
    Found first;
    if (Status status = first_at_or_after(reader, record.first_seq, first); !status.is_ok()) {
      return {std::move(status), 0};
    }
    if (!first.exists) return {Status::corruption("no message at first_seq of '" + name + "'"), 0};
    topic.oldest = Oldest{first.header.time_ms, first.header.bytes_through - first.payload_bytes,
                          first.header.count_through - 1};
  }
  if (bounds.count_max &&
      record.count_through_last - topic.oldest->count_before > bounds.count_max) {
    // Messages kept from m on: every one through the last minus those before m.
    auto kept = first_kept(record, [&](const Found& m) {
      return record.count_through_last - (m.header.count_through - 1) <= bounds.count_max;
    });
    if (!kept.status.is_ok()) return kept;
    cut = std::max(cut, kept.value);
  }
  int64_t oldest_kept = oldest_kept_ms(now_ms, bounds.age_ms_max);
  if (bounds.age_ms_max && topic.oldest->time_ms < oldest_kept) {
    auto kept = first_kept(record, [&](const Found& m) { return m.header.time_ms >= oldest_kept; });
    if (!kept.status.is_ok()) return kept;
    cut = std::max(cut, kept.value);
  }
  if (bounds.bytes_max &&
      record.bytes_through_last - topic.oldest->bytes_before > bounds.bytes_max) {
    // Bytes kept from m on: everything through the last minus everything before m.
    auto kept = first_kept(record, [&](const Found& m) {
      uint64_t before = m.header.bytes_through - m.payload_bytes;
      return record.bytes_through_last - before <= bounds.bytes_max;
    });
    if (!kept.status.is_ok()) return kept;
    cut = std::max(cut, kept.value);
  }
  return {Status::ok(), cut};
}

// One range delete per topic over everything below its cut, with the topic's new first_seq,
// in one unsynced batch: losing it in a crash only means deleting again after the restart.
Status RocksDbLog::enforce_retention(int64_t now_ms) {
  Impl& impl = *impl_;
  impl.batch.Clear();
  std::vector<std::pair<Impl::Topic*, uint64_t>> updates;  // topic, new first_seq
  for (auto& [name, topic] : impl.topics) {
    if (topic.record.first_seq == 0) continue;
    Result<uint64_t> cut = impl.retention_cut(name, topic, now_ms);
    if (!cut.status.is_ok()) return std::move(cut.status);
    if (cut.value <= topic.record.first_seq) continue;
    // The new first message, and the chunk holding it: chunks before that one go. The ones
    // before new_first in its own chunk stay on disk until the chunk goes; reads skip them.
    uint64_t new_first = 0;
    uint64_t delete_below = cut.value;
    if (cut.value <= topic.record.last_seq) {
      TopicReader reader(*impl.db, topic.record.topic_id);
      Impl::Found found;
      if (Status status = Impl::first_at_or_after(reader, cut.value, found); !status.is_ok()) {
        return status;
      }
      if (found.exists) {
        new_first = found.seq;
        delete_below = found.chunk_seq;
      }
    }
    // From the bare topic id (see TopicHint): nothing of the topic sorts before it.
    char begin[8];
    format::put_u64(begin, topic.record.topic_id);
    impl.batch.DeleteRange(impl.messages, rocksdb::Slice(begin, sizeof begin),
                           Key(topic.record.topic_id, delete_below).slice());
    format::TopicRecord record = topic.record;
    record.first_seq = new_first;
    impl.put_topic(name, record);
    updates.emplace_back(&topic, new_first);
  }
  if (updates.empty()) return Status::ok();
  Status status = convert(impl.db->Write(rocksdb::WriteOptions(), &impl.batch), "retention");
  if (!status.is_ok()) return status;
  for (auto [topic, new_first] : updates) {
    topic->record.first_seq = new_first;
    topic->oldest.reset();
  }
  return status;
}

Status RocksDbLog::compact() {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  if (Status status = convert(impl_->db->Flush(flush), "flush"); !status.is_ok()) return status;
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return convert(impl_->db->CompactRange(options, nullptr, nullptr), "compaction");
}

}  // namespace herald::storage
