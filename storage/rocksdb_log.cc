// The RocksDB log: messages in the default column family under (topic id, seq) keys, one
// metadata record per topic in the "topics" column family, both written in one WriteBatch so
// that a crash never separates a message from its topic's last_seq. Key and value bytes are
// in record_format.h. RocksDB's types stay in this file; its statuses become storage::Status.
#include "storage/rocksdb_log.h"

#include <rocksdb/db.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <unordered_map>

#include "storage/record_format.h"

namespace herald::storage {
namespace {

constexpr const char* kTopicsFamily = "topics";

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

}  // namespace

struct RocksDbLog::Impl {
  // What the oldest retained message looks like, so that an idle topic inside its bounds
  // costs retention no read at all. Learned by one seek; forgotten when first_seq changes.
  struct Oldest {
    int64_t time_ms = 0;
    uint64_t bytes_before = 0;  // the topic's payload bytes before it
  };
  struct Topic {
    format::TopicRecord record;
    std::optional<Retention> retention;  // asked once, when first needed
    std::optional<Oldest> oldest;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  using TopicMap = std::unordered_map<std::string, Topic, Hash, std::equal_to<>>;
  // The first message at or after a seq, with what a retention search needs of it.
  struct Found {
    uint64_t seq = 0;
    format::MessageHeader header;
    uint64_t payload_bytes = 0;
  };

  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* messages = nullptr;  // the default family, owned by db
  rocksdb::ColumnFamilyHandle* topics_family = nullptr;
  RetentionFor retention_for;
  TopicMap topics;
  uint64_t next_topic_id = 1;
  // Reused by every append: the batch, one value buffer, and the topics the batch touches.
  rocksdb::WriteBatch batch;
  std::string value;
  std::unordered_map<std::string_view, format::TopicRecord> pending;

  ~Impl() {
    if (topics_family) db->DestroyColumnFamilyHandle(topics_family);
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

  Status load_topics();
  Status first_at_or_after(rocksdb::Iterator& it, const format::TopicRecord& record, uint64_t seq,
                           std::optional<Found>& out);
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
  // memtables make group commits cheap; LZ4 keeps the scan fast, ZSTD shrinks the old data.
  rocksdb::ColumnFamilyOptions message_options;
  message_options.write_buffer_size = options.write_buffer_bytes;
  message_options.max_write_buffer_number = 3;
  // A group commit interleaves many topics, each a run of rising keys. Without a hint every
  // insert searches the skiplist from the top (measured 3-4x slower with 64 topics); with the
  // topic id as the hint prefix, each insert starts where that topic's last one ended.
  message_options.memtable_insert_with_hint_prefix_extractor = std::make_shared<TopicHint>();
  message_options.compression = rocksdb::kLZ4Compression;
  message_options.bottommost_compression = rocksdb::kZSTD;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.block_size = 16 << 10;
  message_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, message_options},
      {kTopicsFamily, rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(db_options, options.path, families, &handles, &raw);
  if (!status.ok()) return {convert(status, "cannot open RocksDB at " + options.path), {}};

  auto impl = std::make_unique<Impl>();
  impl->db.reset(raw);
  impl->topics_family = handles[1];
  // The default family's handle is owned by the DB; only ours needs destroying.
  impl->db->DestroyColumnFamilyHandle(handles[0]).PermitUncheckedError();
  impl->messages = impl->db->DefaultColumnFamily();
  impl->retention_for = std::move(retention_for);
  if (Status loaded = impl->load_topics(); !loaded.is_ok()) return {std::move(loaded), {}};
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

  std::unique_ptr<rocksdb::Iterator> messages_it(db->NewIterator(rocksdb::ReadOptions()));
  for (auto& [name, topic] : topics) {
    Key last(topic.record.topic_id, UINT64_MAX);
    messages_it->SeekForPrev(last.slice());
    if (!messages_it->Valid()) continue;
    auto key = format::decode_message_key(
        std::string_view(messages_it->key().data(), messages_it->key().size()));
    if (!key || key->topic_id != topic.record.topic_id || key->seq <= topic.record.last_seq) {
      continue;
    }
    auto header = format::decode_message_value(
        std::string_view(messages_it->value().data(), messages_it->value().size()));
    if (!header) return Status::corruption("bad message value in '" + name + "'");
    topic.record.last_seq = key->seq;
    topic.record.bytes_through_last = header->bytes_through;
    if (topic.record.first_seq == 0) topic.record.first_seq = key->seq;
  }
  return convert(messages_it->status(), "checking last sequences");
}

Status RocksDbLog::append(std::span<const AppendEntry> entries, bool sync) {
  Impl& impl = *impl_;
  impl.batch.Clear();
  impl.pending.clear();
  for (const AppendEntry& entry : entries) {
    auto [it, inserted] = impl.pending.try_emplace(entry.topic);
    format::TopicRecord& record = it->second;
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
    record.bytes_through_last += entry.payload.size();
    record.last_seq = entry.seq;
    if (record.first_seq == 0) record.first_seq = entry.seq;
    format::encode_message_value({entry.binary, entry.time_ms, record.bytes_through_last},
                                 entry.payload, impl.value);
    impl.batch.Put(impl.messages, Key(record.topic_id, entry.seq).slice(), impl.value);
  }
  for (const auto& [name, record] : impl.pending) impl.put_topic(name, record);

  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  Status status = convert(impl.db->Write(write_options, &impl.batch), "writing messages");
  if (!status.is_ok()) return status;
  for (const auto& [name, record] : impl.pending) {
    auto [it, inserted] = impl.topics.try_emplace(std::string(name));
    if (it->second.record.first_seq != record.first_seq) it->second.oldest.reset();
    it->second.record = record;
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

Result<std::vector<StoredMessage>> RocksDbLog::read(std::string_view topic, uint64_t from_seq,
                                                    ReadLimits limits) {
  Result<std::vector<StoredMessage>> result;
  const Impl::Topic* found = impl_->find(topic);
  if (!found || found->record.first_seq == 0 || limits.count_max == 0) return result;
  const format::TopicRecord& record = found->record;
  Key upper(record.topic_id + 1, 0);
  rocksdb::Slice upper_slice = upper.slice();
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read_options));
  uint64_t bytes = 0;
  for (it->Seek(Key(record.topic_id, std::max(from_seq, record.first_seq)).slice());
       it->Valid() && result.value.size() < limits.count_max; it->Next()) {
    std::string_view value(it->value().data(), it->value().size());
    auto key = format::decode_message_key(std::string_view(it->key().data(), it->key().size()));
    auto header = format::decode_message_value(value);
    if (!key || !header) {
      result.status = Status::corruption("bad message in '" + std::string(topic) + "'");
      return result;
    }
    uint64_t payload_bytes = value.size() - format::kMessageHeaderBytes;
    bytes += payload_bytes;
    if (bytes > limits.bytes_max && !result.value.empty()) break;
    result.value.push_back(StoredMessage{key->seq, header->time_ms, header->binary,
                                         std::string(value.substr(format::kMessageHeaderBytes))});
  }
  result.status = convert(it->status(), "reading messages");
  return result;
}

// The first message of the topic with seq >= `seq`, or nullopt past the last.
Status RocksDbLog::Impl::first_at_or_after(rocksdb::Iterator& it, const format::TopicRecord& record,
                                           uint64_t seq, std::optional<Found>& out) {
  out.reset();
  it.Seek(Key(record.topic_id, seq).slice());
  if (!it.Valid()) return convert(it.status(), "seeking");
  auto key = format::decode_message_key(std::string_view(it.key().data(), it.key().size()));
  std::string_view stored(it.value().data(), it.value().size());
  auto header = format::decode_message_value(stored);
  if (!key || !header) return Status::corruption("bad message under a seek");
  if (key->topic_id != record.topic_id) return Status::ok();
  out = Found{key->seq, *header, stored.size() - format::kMessageHeaderBytes};
  return Status::ok();
}

// The first retained seq whose message satisfies `keep`, or last_seq + 1 when none does.
// `keep` must be false then true along the topic (times and byte totals only grow), so a
// binary search over seeks finds it in O(log n) reads instead of a scan. Seeks land on the
// next existing message, so gaps in the sequence are harmless.
template <typename Keep>
Result<uint64_t> RocksDbLog::Impl::first_kept(const format::TopicRecord& record, Keep keep) {
  Key upper(record.topic_id + 1, 0);
  rocksdb::Slice upper_slice = upper.slice();
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read_options));
  uint64_t low = record.first_seq;
  uint64_t high = record.last_seq + 1;  // the answer when nothing is kept
  uint64_t answer = high;
  std::optional<Found> found;
  while (low < high) {
    uint64_t middle = low + (high - low) / 2;
    if (Status status = first_at_or_after(*it, record, middle, found); !status.is_ok()) {
      return {std::move(status), 0};
    }
    if (!found || keep(*found)) {
      if (found) answer = found->seq;
      high = middle;
    } else {
      low = found->seq + 1;
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
  if (bounds.count_max && record.last_seq >= bounds.count_max) {
    cut = std::max(cut, record.last_seq - bounds.count_max + 1);
  }
  if ((bounds.age_ms_max || bounds.bytes_max) && !topic.oldest) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    std::optional<Found> first;
    if (Status status = first_at_or_after(*it, record, record.first_seq, first); !status.is_ok()) {
      return {std::move(status), 0};
    }
    if (!first) return {Status::corruption("no message at first_seq of '" + name + "'"), 0};
    topic.oldest =
        Oldest{first->header.time_ms, first->header.bytes_through - first->payload_bytes};
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
  std::unique_ptr<rocksdb::Iterator> it;
  for (auto& [name, topic] : impl.topics) {
    if (topic.record.first_seq == 0) continue;
    Result<uint64_t> cut = impl.retention_cut(name, topic, now_ms);
    if (!cut.status.is_ok()) return std::move(cut.status);
    if (cut.value <= topic.record.first_seq) continue;
    uint64_t new_first = 0;
    if (cut.value <= topic.record.last_seq) {
      if (!it) it.reset(impl.db->NewIterator(rocksdb::ReadOptions()));
      std::optional<Impl::Found> found;
      if (Status status = impl.first_at_or_after(*it, topic.record, cut.value, found);
          !status.is_ok()) {
        return status;
      }
      if (found) new_first = found->seq;
    }
    // From the bare topic id (see TopicHint): nothing of the topic sorts before it.
    char begin[8];
    format::put_u64(begin, topic.record.topic_id);
    impl.batch.DeleteRange(impl.messages, rocksdb::Slice(begin, sizeof begin),
                           Key(topic.record.topic_id, cut.value).slice());
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
