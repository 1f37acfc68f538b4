// The link's pub/sub connection: the union of the workers' interests as SUBSCRIBE and
// PSUBSCRIBE, batched per round and replayed after a reconnect, and incoming messages handed
// to the ports that asked for them.
#include <hiredis/hiredis.h>

#include "broker/cluster/redis_link_loop.h"

namespace herald::broker::cluster {
namespace {

constexpr size_t kChannelsPerCommand = 512;  // keeps one command's size reasonable

// Sends `command` over `names` in commands of at most kChannelsPerCommand names.
template <typename Names>
void queue_batched(RedisConnection& connection, std::string_view command, const Names& names) {
  std::vector<std::string_view> argv;
  for (const auto& name : names) {
    if (argv.empty()) argv.push_back(command);
    argv.push_back(name);
    if (argv.size() > kChannelsPerCommand) {
      connection.queue(argv);
      argv.clear();
    }
  }
  if (!argv.empty()) connection.queue(argv);
}

std::string_view str(const redisReply& reply) {
  return reply.str != nullptr ? std::string_view(reply.str, reply.len) : std::string_view();
}

}  // namespace

void RedisLink::Loop::open_pubsub(int64_t now_ms) {
  pubsub_opened_ms = now_ms;
  if (Status status = pubsub.open(address, tls); !status.is_ok()) {
    fail_pubsub(status.message(), now_ms);
    return;
  }
  if (!config.password.empty()) {
    if (address.user.empty()) {
      pubsub.queue({"AUTH", config.password});
    } else {
      pubsub.queue({"AUTH", address.user, config.password});
    }
  }
  // Everything anyone is interested in, with the canary channel first; ready once all are
  // confirmed, so "reconnected" means the subscriptions are really back.
  std::vector<std::string_view> names{canary_channel};
  if (link.topic_listener_) names.push_back(topics_channel);
  for (auto& [name, interest] : channels) {
    interest.subscribed = interest.total > 0;
    if (interest.subscribed) names.push_back(name);
  }
  queue_batched(pubsub, "SUBSCRIBE", names);
  pubsub_confirms = static_cast<uint32_t>(names.size());
  names.clear();
  for (auto& [name, interest] : patterns) {
    interest.subscribed = interest.total > 0;
    if (interest.subscribed) names.push_back(name);
  }
  queue_batched(pubsub, "PSUBSCRIBE", names);
  pubsub_confirms += static_cast<uint32_t>(names.size());
  dirty_channels.clear();
  dirty_patterns.clear();
  std::erase_if(channels, [](const auto& entry) { return entry.second.total == 0; });
  std::erase_if(patterns, [](const auto& entry) { return entry.second.total == 0; });
}

void RedisLink::Loop::fail_pubsub(const std::string& why, int64_t now_ms) {
  last_error = why;
  const bool was_open = pubsub.state() != RedisConnection::State::kClosed;
  pubsub.close();
  if (pubsub_ready) went_down();
  pubsub_ready = false;
  pubsub_confirms = 0;
  for (auto& [name, interest] : channels) interest.subscribed = false;
  for (auto& [name, interest] : patterns) interest.subscribed = false;
  if (was_open || now_ms >= pubsub_retry_ms) {
    pubsub_retry_ms = next_retry(pubsub_backoff_ms, now_ms);
  }
}

void RedisLink::Loop::drain_pubsub(int64_t now_ms) {
  Reply reply;
  while (pubsub.state() != RedisConnection::State::kClosed) {
    if (!pubsub.next_reply(reply)) {
      fail_pubsub(pubsub.error(), now_ms);
      return;
    }
    if (!reply) return;
    on_pubsub_reply(*reply, now_ms);
  }
}

void RedisLink::Loop::on_pubsub_reply(const redisReply& reply, int64_t now_ms) {
  if (reply.type == REDIS_REPLY_ERROR) {
    fail_pubsub(std::string(str(reply)), now_ms);
    return;
  }
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3) return;  // AUTH's +OK
  for (size_t i = 0; i < reply.elements; ++i) {
    if (reply.element[i]->type != REDIS_REPLY_STRING &&
        reply.element[i]->type != REDIS_REPLY_INTEGER) {
      return;
    }
  }
  const std::string_view kind = str(*reply.element[0]);
  if (kind == "message") {
    const std::string_view channel = str(*reply.element[1]);
    if (channel == canary_channel) {
      link.canary_returned_ms_.store(now_ms, std::memory_order_release);
      return;
    }
    if (channel == topics_channel) {
      if (link.topic_listener_) link.topic_listener_(str(*reply.element[2]));
      return;
    }
    dispatch(channels, channel, channel, str(*reply.element[2]));
  } else if (kind == "pmessage" && reply.elements == 4) {
    dispatch(patterns, str(*reply.element[1]), str(*reply.element[2]), str(*reply.element[3]));
  } else if (kind == "subscribe" || kind == "psubscribe") {
    if (pubsub_ready || pubsub_confirms == 0) return;
    if (--pubsub_confirms > 0) return;
    pubsub_ready = true;
    pubsub_backoff_ms = config.backoff_min_ms;
    check_up(now_ms);
  }
}

void RedisLink::Loop::dispatch(const Interests& interests, std::string_view key,
                               std::string_view channel, std::string_view payload) {
  const auto found = interests.find(std::string(key));
  if (found == interests.end() || found->second.total == 0) return;
  if (!channel.starts_with(topic_channel_prefix)) return;
  ChannelBatch received;
  if (!parse_channel_batch(payload, received)) return;  // the feed repairs what it misses
  const std::string topic(channel.substr(topic_channel_prefix.size()));
  const std::vector<uint32_t>& counts = found->second.counts;
  uint32_t last = 0;
  uint32_t receivers = 0;
  for (uint32_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) {
      last = i;
      ++receivers;
    }
  }
  for (size_t m = 0; m < received.messages.size(); ++m) {
    IncomingMessage message{topic, received.first_seq + m, received.epoch,
                            std::string(received.messages[m])};
    for (uint32_t i = 0; i < counts.size() && receivers > 0; ++i) {
      if (counts[i] == 0) continue;
      if (i == last) {
        push_event(i, std::move(message));  // the last receiver takes the original
      } else {
        push_event(i, IncomingMessage(message));
      }
    }
  }
}

void RedisLink::Loop::change_interest(uint32_t port, const InterestRequest& request) {
  Interests& interests = request.pattern ? patterns : channels;
  Interest& interest = interests[request.channel];
  if (interest.counts.empty()) interest.counts.assign(outbox.size(), 0);
  if (request.on) {
    ++interest.counts[port];
    ++interest.total;
  } else if (interest.counts[port] > 0) {
    --interest.counts[port];
    --interest.total;
  }
  (request.pattern ? dirty_patterns : dirty_channels).insert(request.channel);
}

void RedisLink::Loop::send_subscription_changes() {
  if (pubsub.state() == RedisConnection::State::kClosed) {
    dirty_channels.clear();  // open_pubsub() subscribes from the interests themselves
    dirty_patterns.clear();
    return;
  }
  auto changes = [&](Interests& interests, std::unordered_set<std::string>& dirty,
                     std::string_view on_command, std::string_view off_command) {
    std::vector<std::string_view> on;
    std::vector<std::string_view> off;
    for (const std::string& name : dirty) {
      auto found = interests.find(name);
      if (found == interests.end()) continue;
      Interest& interest = found->second;
      const bool wanted = interest.total > 0;
      if (wanted == interest.subscribed) continue;
      interest.subscribed = wanted;
      (wanted ? on : off).push_back(found->first);
    }
    queue_batched(pubsub, off_command, off);
    queue_batched(pubsub, on_command, on);
    dirty.clear();
    std::erase_if(interests, [](const auto& entry) {
      return entry.second.total == 0 && !entry.second.subscribed;
    });
  };
  changes(channels, dirty_channels, "SUBSCRIBE", "UNSUBSCRIBE");
  changes(patterns, dirty_patterns, "PSUBSCRIBE", "PUNSUBSCRIBE");
}

}  // namespace herald::broker::cluster
