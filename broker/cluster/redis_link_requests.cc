// The workers' requests as commands on the link's command connection: a round's publishes
// as one batched function call, range reads, interest changes handed to the pub/sub side.
#include <algorithm>
#include <string>
#include <vector>

#include "broker/cluster/redis_link_loop.h"

namespace herald::broker::cluster {
namespace {

constexpr uint32_t kRequestsPerPortRound = 4096;  // so one busy worker cannot starve the rest
// Publishes per herald_publish_batch call: enough to pay Redis's per-call cost rarely, few
// enough that one call holds Redis for well under a millisecond.
constexpr size_t kPublishBatchMax = 128;
// ...and a batch's messages stop growing it past this many bytes, so that large messages do
// not make one call (and the PUBLISHes it sends) megabytes long.
constexpr size_t kPublishBatchBytes = size_t{1} << 20;

}  // namespace

void RedisLink::Loop::take_requests() {
  for (uint32_t i = 0; i < link.ports_.size(); ++i) {
    RedisPort& port = *link.ports_[i];
    LinkRequest request;
    for (uint32_t n = 0; n < kRequestsPerPortRound && port.requests_.try_pop(request); ++n) {
      if (auto* publish = std::get_if<TicketedPublish>(&request)) {
        queue_publish(i, std::move(*publish));
      } else if (auto* range = std::get_if<RangeRequest>(&request)) {
        flush_publishes();  // a range sees every publish queued before it
        queue_range(i, *range);
      } else if (auto* interest = std::get_if<InterestRequest>(&request)) {
        change_interest(i, *interest);
      }
    }
  }
  flush_publishes();
}

void RedisLink::Loop::queue_publish(uint32_t port, TicketedPublish&& publish) {
  if (!command_ready || link.stopping_.load(std::memory_order_relaxed)) {
    push_event(port, PublishResult{publish.ticket, LinkStatus::kUnavailable, 0, 0,
                                   last_error.empty() ? "not connected" : last_error});
    return;
  }
  batch_tickets.push_back({port, publish.ticket});
  batch_bytes += publish.request.message.size();
  batch.push_back(std::move(publish.request));
  if (batch.size() >= kPublishBatchMax || batch_bytes >= kPublishBatchBytes) flush_publishes();
}

// The batch as one FCALL herald_publish_batch: Redis runs the function once for all of them
// (one call per publish was Redis's own ceiling), and their replies come back as one array.
void RedisLink::Loop::flush_publishes() {
  if (batch.empty()) return;
  std::vector<std::string> keys;
  std::vector<std::string> args;
  keys.reserve(8 + 2 * batch.size());
  keys.emplace_back("herald:instance");
  // The idempotency buckets (herald.lua): a period is a quarter of the window; the current
  // one and the four before it are searched, the fifth before it is freed.
  const int64_t period_ms = std::max<int64_t>(config.idempotency_ttl_ms / 4, 1);
  const int64_t period = std::max<int64_t>(batch.front().time_ms, 0) / period_ms;
  const std::string bucket = "herald:idem:" + link.node_token_ + ":";
  for (int64_t back = 0; back <= 5; ++back) keys.push_back(bucket + std::to_string(period - back));
  keys.emplace_back("herald:topics");
  // Each topic once (its keys, channel and retention, from its first publish: one topic has
  // one rule), then each message with its topic's number: a batch is mostly a few busy topics.
  std::vector<const PublishRequest*> topics;
  std::vector<uint32_t> topic_of;
  topic_of.reserve(batch.size());
  for (const PublishRequest& r : batch) {
    auto found = std::find_if(topics.begin(), topics.end(),
                              [&](const PublishRequest* t) { return t->topic == r.topic; });
    if (found == topics.end()) {
      found = topics.insert(topics.end(), &r);
      const std::string tag = "herald:{" + r.topic + "}:";
      keys.push_back(tag + "state");
      keys.push_back(tag + "log");
    }
    topic_of.push_back(static_cast<uint32_t>(found - topics.begin()) + 1);
  }
  args.reserve(4 + 3 * topics.size() + 4 * batch.size());
  args.push_back(link.node_token_);
  args.push_back(std::to_string(config.idempotency_ttl_ms + 2 * period_ms));
  args.push_back(topics_channel);
  args.push_back(topic_channel_prefix);
  for (const PublishRequest* first : topics) {
    args.push_back(first->topic);
    args.push_back(std::to_string(first->history_count));
    args.push_back(std::to_string(first->history_age_ms));
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    PublishRequest& r = batch[i];
    args.push_back(std::to_string(topic_of[i]));
    args.push_back(std::to_string(r.time_ms));
    args.push_back(r.retry && !r.idempotency_id.empty() ? "?" + r.idempotency_id
                                                        : std::move(r.idempotency_id));
    args.push_back(std::move(r.message));
  }
  std::vector<std::string_view> argv;
  argv.reserve(3 + keys.size() + args.size());
  const std::string key_count = std::to_string(keys.size());
  argv.insert(argv.end(), {"FCALL", "herald_publish_batch", key_count});
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  command.queue(argv);
  Op op{OpKind::kPublish, 0, 0, steady_us(), std::move(batch_tickets)};
  ops.push_back(std::move(op));
  batch_tickets.clear();
  batch.clear();
  batch_bytes = 0;
}

void RedisLink::Loop::queue_range(uint32_t port, const RangeRequest& range) {
  if (!command_ready || link.stopping_.load(std::memory_order_relaxed)) {
    RangeResult result;
    result.token = range.token;
    result.status = LinkStatus::kUnavailable;
    result.error = last_error.empty() ? "not connected" : last_error;
    push_event(port, std::move(result));
    return;
  }
  const std::string tag = "herald:{" + range.topic + "}:";
  const std::string state = tag + "state";
  const std::string log = tag + "log";
  // herald_range's arguments: value, to seq, count max, mode, bytes max. Seq numbers stay
  // far below 2^53, where Lua's numbers are exact; 2^62 stands for "no end".
  const uint64_t value =
      range.start == RangeStart::kSeq ? std::max<uint64_t>(range.from_seq, 1) : range.value;
  const char* mode = range.start == RangeStart::kLast   ? "last"
                     : range.start == RangeStart::kTime ? "time"
                                                        : "seq";
  const std::string to = std::to_string(std::min<uint64_t>(range.to_seq, uint64_t{1} << 62));
  command.queue({"FCALL", "herald_range", "2", state, log, std::to_string(value), to,
                 std::to_string(range.count_max), mode, std::to_string(range.bytes_max)});
  ops.push_back({OpKind::kRange, port, range.token, steady_us()});
}

}  // namespace herald::broker::cluster
