// The link's reading of the function library's replies: herald_publish's {seq, epoch} and
// herald_range's {last seq, epoch, entries}. Anything else is an error result, never a crash.
#include <hiredis/hiredis.h>

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
    result.error = "herald_publish: unexpected reply";
    return result;
  }
  result.seq = static_cast<uint64_t>(reply.element[0]->integer);
  return result;
}

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
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3 ||
      reply.element[0]->type != REDIS_REPLY_INTEGER ||
      reply.element[1]->type != REDIS_REPLY_STRING || reply.element[2]->type != REDIS_REPLY_ARRAY) {
    return bad("herald_range: unexpected reply");
  }
  result.last_seq = static_cast<uint64_t>(reply.element[0]->integer);
  const std::string_view epoch(reply.element[1]->str, reply.element[1]->len);
  if (!epoch.empty() && !parse_epoch(epoch, result.epoch)) return bad("herald_range: bad epoch");
  const redisReply& entries = *reply.element[2];
  result.entries.reserve(entries.elements);
  for (size_t i = 0; i < entries.elements; ++i) {
    const redisReply& entry = *entries.element[i];
    if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2 ||
        entry.element[0]->type != REDIS_REPLY_STRING ||
        entry.element[1]->type != REDIS_REPLY_ARRAY || entry.element[1]->elements != 4) {
      return bad("herald_range: bad entry");
    }
    const std::string_view id(entry.element[0]->str, entry.element[0]->len);
    const redisReply& fields = *entry.element[1];
    RangeEntry out;
    uint64_t time_ms = 0;
    if (!parse_u64(id.substr(0, id.find('-')), out.seq) ||
        !parse_u64(std::string_view(fields.element[1]->str, fields.element[1]->len), time_ms)) {
      return bad("herald_range: bad entry");
    }
    out.time_ms = static_cast<int64_t>(time_ms);
    out.message.assign(fields.element[3]->str, fields.element[3]->len);
    result.entries.push_back(std::move(out));
  }
  return result;
}

}  // namespace herald::broker::cluster
