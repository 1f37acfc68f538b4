// The link's reading of the function library's replies: herald_publish_batch's {seq, epoch} per
// publish and herald_range's {last seq, epoch, entries, first seq}. Anything else is an error
// result, never a crash.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdint>

#include "broker/cluster/redis_link_loop.h"

namespace herald::broker::cluster {

PublishResult RedisLink::Loop::publish_result(uint64_t ticket, const redisReply& reply) {
  PublishResult result;
  result.ticket = ticket;
  if (reply.type == REDIS_REPLY_ERROR) {
    result.status = LinkStatus::kError;
    result.error.assign(reply.str, reply.len);
    return result;
  }
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 ||
      reply.element[0]->type != REDIS_REPLY_INTEGER ||
      reply.element[1]->type != REDIS_REPLY_STRING ||
      !parse_epoch(std::string_view(reply.element[1]->str, reply.element[1]->len), result.epoch)) {
    result.status = LinkStatus::kError;
    result.error = "herald_publish_batch: unexpected reply";
    return result;
  }
  result.seq = static_cast<uint64_t>(reply.element[0]->integer);
  return result;
}

namespace {

std::string_view text_of(const redisReply& reply) {
  return reply.type == REDIS_REPLY_STRING ? std::string_view(reply.str, reply.len)
                                          : std::string_view();
}

// One stream entry as herald_range returns it: {"<seq>-0", {"t", <ms>, "m", <message>}}.
bool parse_entry(const redisReply& entry, RangeEntry& out) {
  if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2 ||
      entry.element[0]->type != REDIS_REPLY_STRING || entry.element[1]->type != REDIS_REPLY_ARRAY ||
      entry.element[1]->elements != 4) {
    return false;
  }
  const redisReply& fields = *entry.element[1];
  for (size_t i = 0; i < 4; ++i) {
    if (fields.element[i]->type != REDIS_REPLY_STRING) return false;
  }
  const std::string_view id = text_of(*entry.element[0]);
  uint64_t time_ms = 0;
  if (text_of(*fields.element[0]) != "t" || text_of(*fields.element[2]) != "m" ||
      !id.ends_with("-0") || !parse_u64(id.substr(0, id.size() - 2), out.seq) ||
      !parse_u64(text_of(*fields.element[1]), time_ms) || time_ms > INT64_MAX) {
    return false;
  }
  out.time_ms = static_cast<int64_t>(time_ms);
  out.message.assign(text_of(*fields.element[3]));
  return true;
}

}  // namespace

RangeResult RedisLink::Loop::range_result(uint64_t token, const redisReply& reply) {
  RangeResult result;
  result.token = token;
  auto bad = [&](const char* why) {
    result.status = LinkStatus::kError;
    result.error = why;
    result.entries.clear();
    return std::move(result);
  };
  if (reply.type == REDIS_REPLY_ERROR) return bad(reply.str);
  // {last seq, epoch, entries, first retained seq}
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 4 ||
      reply.element[0]->type != REDIS_REPLY_INTEGER || reply.element[0]->integer < 0 ||
      reply.element[1]->type != REDIS_REPLY_STRING || reply.element[2]->type != REDIS_REPLY_ARRAY ||
      reply.element[3]->type != REDIS_REPLY_INTEGER || reply.element[3]->integer < 0) {
    return bad("herald_range: unexpected reply");
  }
  result.last_seq = static_cast<uint64_t>(reply.element[0]->integer);
  result.first_seq = static_cast<uint64_t>(reply.element[3]->integer);
  const std::string_view epoch = text_of(*reply.element[1]);
  if (!epoch.empty() && !parse_epoch(epoch, result.epoch)) return bad("herald_range: bad epoch");
  const redisReply& entries = *reply.element[2];
  result.entries.reserve(entries.elements);
  for (size_t i = 0; i < entries.elements; ++i) {
    RangeEntry out;
    if (!parse_entry(*entries.element[i], out)) return bad("herald_range: bad entry");
    // Ascending and retained: what a reader pages on relies on it.
    if (out.seq < std::max<uint64_t>(result.first_seq, 1) || out.seq > result.last_seq ||
        (!result.entries.empty() && out.seq <= result.entries.back().seq)) {
      return bad("herald_range: entries out of order");
    }
    result.entries.push_back(std::move(out));
  }
  return result;
}

}  // namespace herald::broker::cluster
