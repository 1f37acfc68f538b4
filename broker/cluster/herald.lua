#!lua name=herald
-- Herald's Redis function library, loaded with FUNCTION LOAD REPLACE by every node on every
-- connect (embedded in the binary at build time: redis_functions.cc). Keys use the hash tag
-- {topic} so that one topic's keys would share a slot under Redis Cluster; herald:instance
-- and herald:replid are server-wide (see redis_link.h, "The epoch").
--
-- Per topic T:
--   herald:{T}:state       hash: seq (last number), epoch (16 hex), inst (the instance the
--                          epoch was made under). One key, so eviction takes all three at once.
--   herald:{T}:log         stream of the retained messages, id "<seq>-0", fields t (ms), m.
-- herald:topics             set: every topic published with history (count > 0), for the nodes'
--                            pattern replays; each new member is announced on herald:<db>:topics.
-- Per node N (a link's random token) and period P (ms since the epoch / a quarter of the
-- idempotency window):
--   herald:idem:N:P        hash: idempotency field -> "<seq> <epoch>" of a publish done in P.
-- Channel herald:<db>:m:T carries "<first seq> <epoch> <len>,<len>,... <messages>" to the nodes
-- (publish_batch; pub/sub ignores databases, so the channel's name carries it; the node
-- passes it in).

-- 40 hex digits, different at every call that needs it: the node's random token, the server's
-- clock in microseconds and a tag (the topic's key). Lua's math.random is seeded identically on
-- every server, so it is no source of uniqueness; no counter key either, since a function may
-- only touch the keys it is given. A topic gets a new epoch only after its state is gone or its
-- instance changed, never twice in one microsecond, and every epoch also folds in the instance.
local function fresh_token(node, tag)
  local t = redis.call('TIME')
  return redis.sha1hex(node .. ':' .. t[1] .. '.' .. t[2] .. ':' .. tag)
end

local function new_instance(key, node)
  local instance = string.sub(fresh_token(node, 'instance'), 1, 16)
  redis.call('SET', key, instance)
  return instance
end

-- keys: herald:instance, herald:replid. args: node token, master_replid, master_replid2.
-- Returns the current instance. A new instance (so a new epoch for every topic) is made when
-- none exists (first use, a restart without persistence, eviction) or when this server is a
-- replica promoted from the history we last saw (its replid2 is the replid a node stored):
-- it may lack acknowledged writes of the old primary.
local function hello(keys, args)
  local stored = redis.call('GET', keys[2])
  local instance = redis.call('GET', keys[1])
  local promoted = stored and args[3] ~= string.rep('0', 40) and args[3] == stored
  if not instance or promoted then
    instance = new_instance(keys[1], args[1])
  end
  redis.call('SET', keys[2], args[2])
  return instance
end

-- Removes the oldest entries published before oldest_ms, at most 128 per call (the next
-- publish continues): ids follow sequence numbers, not time, so MINID alone cannot do it.
local function trim_age(stream, oldest_ms)
  local entries = redis.call('XRANGE', stream, '-', '+', 'COUNT', 128)
  local cut = nil
  for _, entry in ipairs(entries) do
    if tonumber(entry[2][2]) >= oldest_ms then break end
    cut = entry[1]
  end
  if cut then
    local seq = tonumber(string.match(cut, '^(%d+)-'))
    redis.call('XTRIM', stream, 'MINID', (seq + 1) .. '-0')
  end
end

local function current_instance(key, node)
  return redis.call('GET', key) or new_instance(key, node)
end

-- A topic's state for a batch of publishes, read once: {seq, epoch}, under `instance` (the
-- server's current herald:instance). A topic without state, or whose epoch was made under
-- another instance, starts a new history: numbers from 1, a new epoch, the old stream gone.
local function open_topic(state, log, instance, node)
  local current = redis.call('HMGET', state, 'seq', 'epoch', 'inst')
  if current[2] and current[3] == instance then
    return {seq = tonumber(current[1]), epoch = current[2]}
  end
  local epoch = string.sub(redis.sha1hex(instance .. ':' .. fresh_token(node, state)), 1, 16)
  if epoch == '0000000000000000' then epoch = '0000000000000001' end
  redis.call('DEL', log)
  redis.call('HSET', state, 'seq', 0, 'epoch', epoch, 'inst', instance)
  return {seq = 0, epoch = epoch}
end

-- A retried publish's first result, "<seq> <epoch>", from the idempotency buckets
-- keys[from..to] (newest first), or nil.
local function first_result(keys, from, to, field)
  for k = from, to do
    local done = redis.call('HGET', keys[k], field)
    if done then return done end
  end
  return nil
end

local function as_result(done)
  local space = string.find(done, ' ', 1, true)
  return {tonumber(string.sub(done, 1, space - 1)), string.sub(done, space + 1)}
end

-- A topic's messages published by one batch go to the nodes as few PUBLISHes, each of
-- consecutive numbers: "<first seq> <epoch> <len>,<len>,... <message><message>...". A PUBLISH
-- is sent once a topic's pending messages pass 64 KiB, so that none comes near Redis's
-- pub/sub output limits.
local kPublishBytes = 65536

local function send_pending(topic)
  if #topic.lens == 0 then return end
  redis.call('PUBLISH', topic.channel, (topic.seq - #topic.lens + 1) .. ' ' .. topic.epoch ..
             ' ' .. table.concat(topic.lens, ',') .. ' ' .. table.concat(topic.parts))
  topic.lens, topic.parts, topic.bytes = {}, {}, 0
end

-- Many publishes in one call, so Redis runs the function once per batch, not per message; it
-- reads and writes each topic's state once per batch and publishes its messages together:
-- per message there is one XADD (with its trim by count, MAXLEN) and nothing else.
--
-- Idempotency. A publish with an idempotency field records "<seq> <epoch>" under it in the
-- node's bucket for this period, one HSET per batch; a retry (only a publish whose first
-- attempt was answered unavailable) first looks for its field in the buckets of the window
-- and, found, gets its first result and nothing else happens. The node names the buckets (a
-- period is a quarter of the retention; the window is the current bucket and the four before
-- it), each kept by PEXPIRE; the one that just left the window goes with UNLINK, which frees a
-- large hash off Redis's main thread where an expiry would free it on it.
--
-- Each topic's keys and settings come once per call, each message only with what is its own:
-- Redis turns every argument into a string object and a Lua string, and the repeated ones were
-- most of a message's arguments.
--
-- keys: herald:instance, the node's idempotency buckets for this period and the 4 before it,
--   the bucket to free, herald:topics, then state and log per topic.
-- args: node token, bucket lifetime (ms), the topics channel, the message channels' prefix,
--   then per topic: its name, count (0: no history), age_ms (0: no age limit); then per
--   message: its topic (1-based, in keys' order), now_ms, idempotency field ('': none; '?'
--   before it: a retry, to look up first), message.
-- Returns one {seq, epoch} per message, in order.
local function publish_batch(keys, args)
  local node, bucket_ms, topics_channel, prefix = args[1], args[2], args[3], args[4]
  local instance = current_instance(keys[1], node)
  local topic_count = (#keys - 8) / 2
  local topics, recorded, results = {}, {}, {}
  local a = 5 + 3 * topic_count
  while a <= #args do
    local t = tonumber(args[a])
    local now_ms, field, message = args[a + 1], args[a + 2], args[a + 3]
    a = a + 4
    local done = nil
    if string.byte(field, 1) == 63 then  -- '?'
      field = string.sub(field, 2)
      done = first_result(keys, 2, 6, field)
    end
    if done then
      results[#results + 1] = as_result(done)
    else
      local topic = topics[t]
      if not topic then
        local c, name = 3 * t + 2, args[3 * t + 2]
        topic = open_topic(keys[7 + 2 * t], keys[8 + 2 * t], instance, node)
        topic.channel, topic.count, topic.age_ms = prefix .. name, tonumber(args[c + 1]),
                                                   tonumber(args[c + 2])
        topic.lens, topic.parts, topic.bytes = {}, {}, 0
        topics[t] = topic
        -- Every node lists the topics with history, for pattern replays: all of them when it
        -- connects, each new one as it is first published.
        if topic.count > 0 and redis.call('SADD', keys[8], name) == 1 then
          redis.call('PUBLISH', topics_channel, name)
        end
      end
      local seq = topic.seq + 1
      topic.seq = seq
      local seq_text = tostring(seq)  -- Lua formats a number with sprintf: once, not twice
      if topic.count > 0 then
        local log = keys[8 + 2 * t]
        redis.call('XADD', log, 'MAXLEN', topic.count, seq_text .. '-0', 't', now_ms, 'm', message)
        if topic.age_ms > 0 then trim_age(log, tonumber(now_ms) - topic.age_ms) end
      end
      local parts = topic.parts
      parts[#parts + 1] = message
      topic.lens[#parts] = #message
      topic.bytes = topic.bytes + #message
      if topic.bytes >= kPublishBytes then send_pending(topic) end
      if field ~= '' then
        recorded[#recorded + 1] = field
        recorded[#recorded + 1] = seq_text .. ' ' .. topic.epoch
      end
      results[#results + 1] = {seq, topic.epoch}
    end
  end
  for t = 1, topic_count do
    local topic = topics[t]
    if topic then
      send_pending(topic)
      redis.call('HSET', keys[7 + 2 * t], 'seq', topic.seq)
    end
  end
  if #recorded > 0 then
    redis.call('HSET', keys[2], unpack(recorded))
    redis.call('PEXPIRE', keys[2], bucket_ms)
  end
  redis.call('UNLINK', keys[7])
  return results
end

-- Stream ids are "<seq>-0" (publish): the two ways between them.
local function seq_of(id) return tonumber(string.match(id, '^(%d+)-')) end
local function id_of(seq) return string.format('%d-0', seq) end

-- The seq of the first of the last n retained entries of a stream of `length` entries from
-- seq first to last. Ids follow sequence numbers, so without holes it is arithmetic. Holes
-- appear only where publishes kept no history for a while (count 0 then N again); then walk
-- back in pages of ids, bounded by the retention (n < length), never holding more than a page.
local function first_of_last(log, n, first, last, length)
  if n >= length then return first end
  if last - first + 1 == length then return last - n + 1 end
  local cursor, left, start = '+', n, nil
  while left > 0 do
    local page = redis.call('XREVRANGE', log, cursor, '-', 'COUNT', math.min(left, 256))
    if #page == 0 then break end
    start = page[#page][1]
    left = left - #page
    cursor = '(' .. start
  end
  return seq_of(start)
end

-- The seq of the first retained entry whose time t is at or after `since`, or nil when none
-- is. A binary search over seq: Redis numbers publishes in the order it runs them, each
-- stamped with its node's clock, so t does not decrease along the stream and "t >= since" is
-- false then true (trim_age assumes it too). Each probe is one XRANGE <mid>-0 + COUNT 1 (the
-- first entry at or after mid, which skips holes): O(log n) probes of one entry, where a scan
-- would read the whole retained history inside Redis's one thread. With clock skew between
-- nodes (or a clock step) the answer may be early or late by the skew, as the single node's
-- is by a clock step.
local function first_at_time(log, since, first, last, last_t)
  if last_t < since then return nil end
  local lo, hi, best = first, last - 1, last  -- the answer is best or an entry in [lo, hi]
  while lo <= hi do
    local mid = lo + math.floor((hi - lo) / 2)
    local entry = redis.call('XRANGE', log, id_of(mid), '+', 'COUNT', 1)[1]
    local seq = seq_of(entry[1])
    if tonumber(entry[2][2]) >= since then
      best, hi = seq, mid - 1
    else
      lo = seq + 1
    end
  end
  return best
end

-- Entries from seq `from` to id `to`, at most `count`, stopping before the payload bytes (the
-- m fields) would pass bytes_max but always the first one. Read in pages of 64 under a byte
-- limit, so that Lua never holds much more than the reply.
local function read_page(log, from, to, count, bytes_max)
  local out, bytes, cursor = {}, 0, id_of(from)
  local page_max = count
  if bytes_max < math.huge then page_max = math.min(count, 64) end
  while #out < count do
    local want = math.min(count - #out, page_max)
    local page = redis.call('XRANGE', log, cursor, to, 'COUNT', want)
    for _, entry in ipairs(page) do
      local size = #entry[2][4]
      if #out > 0 and bytes + size > bytes_max then return out end
      bytes = bytes + size
      out[#out + 1] = entry
    end
    if #page < want then break end
    cursor = '(' .. page[#page][1]
  end
  return out
end

-- keys: state, log. args: value, to seq, count max, mode, bytes max (the last two optional:
-- mode 'seq', no byte limit; 2^53 or more is none). Modes, as the single node's history
-- reads (storage/storage_writer.h):
--   seq   entries from seq `value` (or the first retained, if later);
--   last  the last `value` retained entries;
--   time  entries from the first published at or after Unix ms `value`.
-- In every mode entries stop at seq `to` and after `count` (0: the state only) and bytes max.
-- Returns {last seq, epoch, entries, first retained seq}, read together (one atomic call);
-- entries ascending, each {id, {t, <ms>, m, <message>}}. A topic without state (never
-- published, or evicted: its stream, if any, is of a history that is gone) returns
-- {0, '', {}, 0}; one without a stream (count 0) its state and first seq 0.
local function range(keys, args)
  local value, count = tonumber(args[1]), tonumber(args[3])
  local mode, bytes_max = args[4] or 'seq', math.huge
  if args[5] then bytes_max = tonumber(args[5]) end
  if bytes_max and bytes_max >= 2^53 then bytes_max = math.huge end  -- UINT64_MAX: no limit
  if not value or not count or not bytes_max or not string.match(args[2] or '', '^%d+$') then
    return redis.error_reply('ERR herald_range: bad arguments')
  end
  if mode ~= 'seq' and mode ~= 'last' and mode ~= 'time' then
    return redis.error_reply('ERR herald_range: unknown mode ' .. mode)
  end
  local state = redis.call('HMGET', keys[1], 'seq', 'epoch')
  if not state[2] then return {0, '', {}, 0} end
  local log = keys[2]
  local head = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)[1]
  local reply = {tonumber(state[1]) or 0, state[2], {}, head and seq_of(head[1]) or 0}
  if not head or count < 1 then return reply end
  local first = reply[4]
  local tail = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)[1]
  local last = seq_of(tail[1])
  local from
  if mode == 'seq' then
    from = math.max(value, first)
  elseif mode == 'last' then
    if value < 1 then return reply end
    from = first_of_last(log, value, first, last, redis.call('XLEN', log))
  else
    from = first_at_time(log, value, first, last, tonumber(tail[2][2]))
  end
  if not from or from > last or from > tonumber(args[2]) then return reply end
  reply[3] = read_page(log, from, args[2] .. '-0', count, bytes_max)
  return reply
end

redis.register_function('herald_hello', hello)
redis.register_function{function_name = 'herald_range', callback = range, flags = {'no-writes'}}
redis.register_function('herald_publish_batch', publish_batch)
