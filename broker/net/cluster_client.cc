#include "broker/net/cluster_client.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "protocol/pubsub/topic.h"

namespace herald::broker::net {

namespace cl = cluster;

namespace {

constexpr uint64_t kReplayPage = 1000;  // messages per replay read, at most

int64_t wall_clock_ms() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

}  // namespace

// What a TopicFeed decides for one topic, carried out on this worker.
class ClusterClient::Sink {
 public:
  Sink(ClusterClient& client, std::string_view topic, Feed& feed)
      : client_(client), topic_(topic), feed_(feed) {}

  void deliver(uint64_t seq, std::string_view bytes, bool repaired) {
    cl::ClusterMessage message;
    if (!cl::decode_cluster_message(bytes, message)) return;  // not a Herald node's
    if (repaired) ++client_.counters_.cluster_repaired_messages;
    client_.host_.deliver_clustered(topic_, seq, message, message.node == client_.node_);
  }
  void gap(uint64_t missed) {
    client_.counters_.cluster_gap_messages += missed;
    client_.host_.deliver_gap(topic_, missed);
  }
  void reset(uint64_t epoch) {
    ++client_.counters_.cluster_resets;
    client_.host_.deliver_reset(topic_, epoch);
  }
  void read(uint64_t from, uint64_t to) {
    if (from != cl::TopicFeed::kAnchorSeq) ++client_.counters_.cluster_repair_reads;
    const uint64_t token = ++client_.read_tokens_;
    if (feed_.read_token != 0) client_.reads_.erase(feed_.read_token);
    feed_.read_token = token;
    client_.reads_.emplace(token, std::string(topic_));
    cl::RangeRequest request;
    request.topic = std::string(topic_);
    request.from_seq = from;
    request.to_seq = to;
    request.count_max = cl::TopicFeed::kPage;
    request.token = token;
    // A full request queue (16,384 waiting) fails the read like an outage: the feed repeats
    // it at the next reconnect, and until then parks what arrives.
    if (!client_.links_[feed_.shard]->port(client_.worker_).try_read_range(std::move(request))) {
      cl::RangeResult failed;
      failed.token = token;
      failed.status = cl::LinkStatus::kUnavailable;
      feed_.read_token = 0;
      client_.reads_.erase(token);
      feed_.feed.on_range(std::move(failed), *this);
      return;
    }
    client_.pushed_[feed_.shard] = true;
  }

 private:
  ClusterClient& client_;
  std::string_view topic_;
  Feed& feed_;
};

ClusterClient::ClusterClient(const std::vector<cl::RedisLink*>& links,
                             const storage::HistoryRules& rules, uint32_t worker, Host& host,
                             WorkerCounters& counters)
    : links_(links),
      rules_(rules),
      worker_(worker),
      host_(host),
      counters_(counters),
      node_(links.front()->node_token()),
      pending_(links.size()),
      pushed_(links.size(), false) {}

ClusterClient::~ClusterClient() {
  for (std::deque<Pending>& pending : pending_) {
    for (const Pending& entry : pending) core::PublishRequest::destroy(entry.request);
  }
}

void ClusterClient::publish(const core::PublishRequest::Fields& fields) {
  const uint32_t shard = cl::shard_of(fields.topic, static_cast<uint32_t>(links_.size()));
  cl::PublishRequest request;
  request.topic = std::string(fields.topic);
  request.message = cl::encode_cluster_message(
      cl::ClusterMessage{fields.binary, fields.echo, node_, fields.reply.worker,
                         fields.reply.connection, fields.payload});
  if (const storage::HistoryRule* rule = rules_.match(fields.topic); rule != nullptr) {
    request.history_count = static_cast<uint32_t>(rule->retention.count_max);
    request.history_age_ms = rule->retention.age_ms_max;
  }
  request.time_ms = wall_clock_ms();
  const bool wants_answer =
      fields.origin == core::PublishRequest::Origin::kHttp || !fields.id.empty();
  bool retry = false;
  const uint64_t tag = fields.id.empty() ? 0 : idempotency_tag(fields, retry);
  if (tag != 0) {
    request.idempotency_id = std::to_string(worker_) + ":" + std::to_string(tag);
    request.retry = retry;
  }
  const uint64_t ticket = links_[shard]->port(worker_).try_publish(std::move(request));
  core::PublishRequest* answer = wants_answer ? core::PublishRequest::create(fields) : nullptr;
  if (ticket == 0) {
    ++counters_.cluster_publishes_unavailable;
    if (answer != nullptr) {
      answer->status = core::PublishRequest::Status::kUnavailable;
      if (tag != 0) remember_unavailable(*answer, tag);
      host_.answer_clustered(answer);
    }
    return;
  }
  pushed_[shard] = true;
  if (answer != nullptr) pending_[shard].push_back(Pending{ticket, answer, tag});
}

// Ids are the client's correlation ids, which it may reuse for new messages: only a publish
// answered `unavailable` (which Redis may or may not have applied) gives its key to the next
// publish of the same connection and id, the retry. Every other publish gets a fresh key.
uint64_t ClusterClient::idempotency_tag(const core::PublishRequest::Fields& fields, bool& retry) {
  if (!retry_tags_.empty()) {
    const std::string key = std::to_string(fields.reply.connection) + ":" + std::string(fields.id);
    if (auto it = retry_tags_.find(key); it != retry_tags_.end()) {
      const uint64_t tag = it->second;
      retry_tags_.erase(it);
      retry = true;
      return tag;
    }
  }
  return ++tags_;
}

void ClusterClient::remember_unavailable(const core::PublishRequest& request, uint64_t tag) {
  constexpr size_t kRetriesKept = 4096;
  std::string key = std::to_string(request.reply().connection) + ":" + std::string(request.id());
  if (retry_tags_.insert_or_assign(key, tag).second) retry_order_.push_back(std::move(key));
  while (retry_order_.size() > kRetriesKept) {
    retry_tags_.erase(retry_order_.front());
    retry_order_.pop_front();
  }
}

void ClusterClient::interest(std::string_view filter, bool on) {
  if (protocol::pubsub::is_reserved(filter)) return;  // $sys topics are each node's own
  auto it = interests_.find(filter);
  if (on) {
    if (it == interests_.end()) it = interests_.emplace(std::string(filter), 0).first;
    if (++it->second > 1) return;
  } else {
    if (it == interests_.end() || --it->second > 0) return;
    interests_.erase(it);
  }
  const bool pattern = protocol::pubsub::is_pattern(filter);
  const auto shards = static_cast<uint32_t>(links_.size());
  if (!pattern) {
    const uint32_t shard = cl::shard_of(filter, shards);
    request_interest({std::string(filter), false, on, shard});
    if (!on) {
      unfollowed_ = true;
      return;
    }
    start_feed(filter, shard);
    return;
  }
  // A pattern's topics may live on any server.
  for (uint32_t shard = 0; shard < shards; ++shard) {
    request_interest({std::string(filter), true, on, shard});
  }
  if (!on) unfollowed_ = true;
}

void ClusterClient::follow(std::string_view topic) {
  start_feed(topic, cl::shard_of(topic, static_cast<uint32_t>(links_.size())));
}

// A new feed learns where the topic stands now (TopicFeed, "Anchoring"); one already fed (by
// a pattern, or an exact subscriber) keeps its position.
void ClusterClient::start_feed(std::string_view topic, uint32_t shard) {
  auto [feed, created] = feeds_.try_emplace(std::string(topic), Feed{{}, shard, 0});
  if (created) {
    Sink sink(*this, feed->first, feed->second);
    feed->second.feed.anchor(sink);
  }
}

void ClusterClient::request_interest(PendingInterest request) {
  if (interest_backlog_.empty() && links_[request.shard]->port(worker_).try_interest(
                                       request.filter, request.pattern, request.on)) {
    pushed_[request.shard] = true;
    return;
  }
  interest_backlog_.push_back(std::move(request));  // in order, behind the earlier ones
}

void ClusterClient::forget_unfollowed_feeds() {
  unfollowed_ = false;
  std::erase_if(feeds_, [&](const auto& entry) { return !host_.has_subscribers(entry.first); });
}

void ClusterClient::tick() {
  // Here, not in interest(): an unsubscribe can happen inside a delivery (a slow consumer's
  // close), while a Sink holds its feed.
  if (unfollowed_) forget_unfollowed_feeds();
  while (!interest_backlog_.empty()) {
    PendingInterest& next = interest_backlog_.front();
    if (!links_[next.shard]->port(worker_).try_interest(next.filter, next.pattern, next.on)) {
      break;
    }
    pushed_[next.shard] = true;
    interest_backlog_.pop_front();
  }
  cl::LinkEvent event;
  for (uint32_t shard = 0; shard < links_.size(); ++shard) {
    // Bounded per tick, so one busy server cannot keep the loop from its sockets.
    for (int taken = 0; taken < 4096 && links_[shard]->port(worker_).try_take(event); ++taken) {
      take(shard, event);
    }
  }
  for (uint32_t shard = 0; shard < links_.size(); ++shard) {
    if (!pushed_[shard]) continue;
    pushed_[shard] = false;
    links_[shard]->port(worker_).submit();
  }
}

void ClusterClient::take(uint32_t shard, cl::LinkEvent& event) {
  if (auto* result = std::get_if<cl::PublishResult>(&event)) {
    on_publish_result(shard, *result);
  } else if (auto* message = std::get_if<cl::IncomingMessage>(&event)) {
    on_incoming(shard, std::move(*message));
  } else if (auto* range = std::get_if<cl::RangeResult>(&event)) {
    on_range(std::move(*range));
  } else if (std::holds_alternative<cl::Reconnected>(event)) {
    on_reconnected(shard);
  }
  event = std::monostate{};
}

void ClusterClient::on_publish_result(uint32_t shard, const cl::PublishResult& result) {
  const bool ok = result.status == cl::LinkStatus::kOk;
  if (ok) {
    ++counters_.messages_published;
  } else {
    ++counters_.cluster_publishes_unavailable;
  }
  std::deque<Pending>& pending = pending_[shard];
  // Results come in ticket order; publishes that want no answer have no entry.
  if (pending.empty() || pending.front().ticket != result.ticket) return;
  core::PublishRequest* request = pending.front().request;
  const uint64_t tag = pending.front().tag;
  pending.pop_front();
  if (!ok && tag != 0) remember_unavailable(*request, tag);
  request->status =
      ok ? core::PublishRequest::Status::kSequenced : core::PublishRequest::Status::kUnavailable;
  request->seq = ok ? result.seq : 0;
  host_.answer_clustered(request);
}

void ClusterClient::on_incoming(uint32_t shard, cl::IncomingMessage&& message) {
  ++counters_.cluster_messages_in;
  auto it = feeds_.find(message.topic);
  if (it == feeds_.end()) {
    if (!host_.has_subscribers(message.topic)) return;
    it = feeds_.emplace(message.topic, Feed{{}, shard, 0}).first;
  }
  Sink sink(*this, it->first, it->second);
  it->second.feed.on_message(std::move(message), sink);
}

bool ClusterClient::try_read(storage::ReadRequest&& request) {
  const uint32_t shard = cl::shard_of(request.topic, static_cast<uint32_t>(links_.size()));
  cl::RangeRequest range;
  range.topic = request.topic;
  switch (request.start) {
    case storage::ReadRequest::Start::kSeq:
      range.start = cl::RangeStart::kSeq;
      range.from_seq = request.value;
      break;
    case storage::ReadRequest::Start::kLast:
      range.start = cl::RangeStart::kLast;
      range.value = request.value;
      break;
    case storage::ReadRequest::Start::kTime:
      range.start = cl::RangeStart::kTime;
      range.value = request.value;
      break;
  }
  // One reply stays bounded: the replay pages on from where this one ends.
  range.count_max =
      static_cast<uint32_t>(std::min<uint64_t>(request.limits.count_max, kReplayPage));
  range.bytes_max = request.limits.bytes_max;
  const uint64_t token = ++read_tokens_;
  range.token = token;
  if (!links_[shard]->port(worker_).try_read_range(std::move(range))) {
    --read_tokens_;
    return false;  // `request` untouched: the HistoryClient retries it
  }
  pushed_[shard] = true;
  replay_reads_.emplace(token, ReplayRead{request.token, std::move(request.topic)});
  return true;
}

bool ClusterClient::try_take_read_result(storage::ReadResult& out) {
  if (replay_results_.empty()) return false;
  out = std::move(replay_results_.front());
  replay_results_.pop_front();
  return true;
}

void ClusterClient::on_replay_read(uint64_t storage_token, const std::string& topic,
                                   cl::RangeResult&& range) {
  storage::ReadResult& result = replay_results_.emplace_back();
  result.token = storage_token;
  result.has_history = rules_.match(topic) != nullptr;
  result.state.topic = topic;
  if (range.status != cl::LinkStatus::kOk) {
    result.status = storage::Status::io_error(
        range.status == cl::LinkStatus::kUnavailable ? "Redis is unreachable" : range.error);
    return;
  }
  result.state.epoch = range.epoch;
  result.state.first_seq = range.first_seq;
  result.state.last_seq = range.last_seq;
  size_t bytes = 0;
  for (const cl::RangeEntry& entry : range.entries) bytes += entry.message.size();
  result.messages.reserve(range.entries.size(), bytes);
  for (const cl::RangeEntry& entry : range.entries) {
    cl::ClusterMessage message;
    if (!cl::decode_cluster_message(entry.message, message)) continue;
    result.messages.add(entry.seq, entry.time_ms, message.binary,
                        std::string_view(reinterpret_cast<const char*>(message.payload.data()),
                                         message.payload.size()));
  }
}

void ClusterClient::on_range(cl::RangeResult&& range) {
  if (auto replay = replay_reads_.find(range.token); replay != replay_reads_.end()) {
    ReplayRead read = std::move(replay->second);
    replay_reads_.erase(replay);
    on_replay_read(read.storage_token, read.topic, std::move(range));
    return;
  }
  auto read = reads_.find(range.token);
  if (read == reads_.end()) return;  // its feed is gone, or asked again since
  const std::string topic = std::move(read->second);
  reads_.erase(read);
  auto it = feeds_.find(topic);
  if (it == feeds_.end() || it->second.read_token != range.token) return;
  it->second.read_token = 0;
  Sink sink(*this, it->first, it->second);
  it->second.feed.on_range(std::move(range), sink);
}

void ClusterClient::on_reconnected(uint32_t shard) {
  for (auto& [topic, feed] : feeds_) {
    if (feed.shard != shard) continue;
    Sink sink(*this, topic, feed);
    feed.feed.on_reconnected(sink);
  }
}

std::string render_link_metrics(const std::vector<cl::RedisLink*>& links) {
  struct Series {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const cl::RedisLink&);
  };
  static constexpr Series kSeries[] = {
      {"herald_redis_up", "gauge", "Whether both connections to the Redis server are up (1).",
       [](const cl::RedisLink& link) { return link.connected() ? 1.0 : 0.0; }},
      {"herald_redis_healthy", "gauge",
       "Whether the server is up and this node's canary came back in time (1).",
       [](const cl::RedisLink& link) { return link.healthy() ? 1.0 : 0.0; }},
      {"herald_redis_round_trip_seconds", "gauge", "The last command's round trip to Redis.",
       [](const cl::RedisLink& link) { return static_cast<double>(link.round_trip_us()) / 1e6; }},
      {"herald_redis_pending_commands", "gauge", "Commands sent to Redis and not yet answered.",
       [](const cl::RedisLink& link) { return static_cast<double>(link.pending_commands()); }},
      {"herald_redis_reconnects_total", "counter", "Times the link to Redis was re-established.",
       [](const cl::RedisLink& link) { return static_cast<double>(link.reconnects()); }},
      {"herald_redis_canary_age_seconds", "gauge",
       "Time since this node's canary last came back through Redis (-1: never yet).",
       [](const cl::RedisLink& link) {
         const uint64_t age = link.canary_age_ms();
         return age == UINT64_MAX ? -1.0 : static_cast<double>(age) / 1e3;
       }},
      {"herald_redis_outbox_waits_total", "counter",
       "Times the link waited for a worker's full event queue.",
       [](const cl::RedisLink& link) { return static_cast<double>(link.outbox_waits()); }},
  };
  std::string text;
  for (const Series& series : kSeries) {
    text.append("# HELP ").append(series.name).append(" ").append(series.help).append("\n");
    text.append("# TYPE ").append(series.name).append(" ").append(series.type).append("\n");
    for (size_t shard = 0; shard < links.size(); ++shard) {
      char value[64];
      std::snprintf(value, sizeof value, "%.6g", series.value(*links[shard]));
      text.append(series.name)
          .append("{shard=\"")
          .append(std::to_string(shard))
          .append("\"} ")
          .append(value)
          .append("\n");
    }
  }
  return text;
}

bool ClusterClient::healthy() const {
  for (const cl::RedisLink* link : links_) {
    if (!link->healthy()) return false;
  }
  return true;
}

}  // namespace herald::broker::net
