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
--   herald:{T}:idem:<id>   "<seq> <epoch>" of a publish already done, with a TTL.
-- Channel herald:<db>:m:T carries "<seq> <epoch> <message>" to the nodes (pub/sub ignores
-- databases, so the channel's name carries it; the node passes it in).

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

-- One message of a topic whose keys are state, log and idem, under `instance` (the server's
-- current herald:instance, read once by the caller). count 0: the topic keeps no history; it
-- still gets numbers and an epoch. age_ms 0: no age limit. idem_ttl 0: no idempotency key.
-- Returns {seq, epoch}.
local function publish_one(state, log, idem, instance, message, now_ms, count, age_ms, node,
                           idem_ttl, channel)
  if idem_ttl > 0 then
    local done = redis.call('GET', idem)
    if done then
      local space = string.find(done, ' ', 1, true)
      return {tonumber(string.sub(done, 1, space - 1)), string.sub(done, space + 1)}
    end
  end
  local current = redis.call('HMGET', state, 'epoch', 'inst')
  local epoch = current[1]
  if not epoch or current[2] ~= instance then
    -- A new history: numbers start again at 1 and the old history (of the old epoch) goes.
    epoch = string.sub(redis.sha1hex(instance .. ':' .. fresh_token(node, state)), 1, 16)
    if epoch == '0000000000000000' then epoch = '0000000000000001' end
    redis.call('DEL', log)
    redis.call('HSET', state, 'seq', 0, 'epoch', epoch, 'inst', instance)
  end
  local seq = redis.call('HINCRBY', state, 'seq', 1)
  if count > 0 then
    redis.call('XADD', log, 'MAXLEN', count, seq .. '-0', 't', now_ms, 'm', message)
    if age_ms > 0 then trim_age(log, tonumber(now_ms) - age_ms) end
  end
  redis.call('PUBLISH', channel, seq .. ' ' .. epoch .. ' ' .. message)
  if idem_ttl > 0 then redis.call('SET', idem, seq .. ' ' .. epoch, 'PX', idem_ttl) end
  return {seq, epoch}
end

local function current_instance(key, node)
  return redis.call('GET', key) or new_instance(key, node)
end

-- keys: state, log, idem, herald:instance.
-- args: message, now_ms, count, age_ms, node token, idem_ttl_ms, channel. Returns {seq, epoch}.
local function publish(keys, args)
  return publish_one(keys[1], keys[2], keys[3], current_instance(keys[4], args[5]), args[1],
                     args[2], tonumber(args[3]), tonumber(args[4]), args[5], tonumber(args[6]),
                     args[7])
end

-- Many publishes in one call, so Redis runs the function once per batch, not per message.
-- keys: herald:instance, then state, log, idem per message.
-- args: node token, then message, now_ms, count, age_ms, idem_ttl_ms, channel per message.
-- Returns one {seq, epoch} per message, in order.
local function publish_batch(keys, args)
  local node = args[1]
  local instance = current_instance(keys[1], node)
  local results = {}
  local n = (#keys - 1) / 3
  for i = 0, n - 1 do
    local k = 2 + 3 * i
    local a = 2 + 6 * i
    results[i + 1] = publish_one(keys[k], keys[k + 1], keys[k + 2], instance, args[a],
                                 args[a + 1], tonumber(args[a + 2]), tonumber(args[a + 3]), node,
                                 tonumber(args[a + 4]), args[a + 5])
  end
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
redis.register_function('herald_publish', publish)
redis.register_function('herald_publish_batch', publish_batch)
