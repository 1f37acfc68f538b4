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

-- keys: state, log, idem, herald:instance.
-- args: message, now_ms, count, age_ms, node token, idem_ttl_ms, channel.
-- count 0: the topic keeps no history; it still gets numbers and an epoch. age_ms 0: no age
-- limit. idem_ttl_ms 0: no idempotency key. Returns {seq, epoch}.
local function publish(keys, args)
  local state, log, idem = keys[1], keys[2], keys[3]
  local idem_ttl = tonumber(args[6])
  if idem_ttl > 0 then
    local done = redis.call('GET', idem)
    if done then
      local space = string.find(done, ' ', 1, true)
      return {tonumber(string.sub(done, 1, space - 1)), string.sub(done, space + 1)}
    end
  end
  local instance = redis.call('GET', keys[4])
  if not instance then instance = new_instance(keys[4], args[5]) end
  local epoch = redis.call('HGET', state, 'epoch')
  if not epoch or redis.call('HGET', state, 'inst') ~= instance then
    -- A new history: numbers start again at 1 and the old history (of the old epoch) goes.
    epoch = string.sub(redis.sha1hex(instance .. ':' .. fresh_token(args[5], state)), 1, 16)
    if epoch == '0000000000000000' then epoch = '0000000000000001' end
    redis.call('DEL', log)
    redis.call('HSET', state, 'seq', 0, 'epoch', epoch, 'inst', instance)
  end
  local seq = redis.call('HINCRBY', state, 'seq', 1)
  local count = tonumber(args[3])
  if count > 0 then
    redis.call('XADD', log, 'MAXLEN', count, seq .. '-0', 't', args[2], 'm', args[1])
    local age = tonumber(args[4])
    if age > 0 then trim_age(log, tonumber(args[2]) - age) end
  end
  redis.call('PUBLISH', args[7], seq .. ' ' .. epoch .. ' ' .. args[1])
  if idem_ttl > 0 then redis.call('SET', idem, seq .. ' ' .. epoch, 'PX', idem_ttl) end
  return {seq, epoch}
end

-- keys: state, log. args: from seq, to seq, count max. Returns {last seq, epoch, entries}: the
-- topic's state and its retained entries in [from, to], read together (one atomic call).
local function range(keys, args)
  local state = redis.call('HMGET', keys[1], 'seq', 'epoch')
  local entries = redis.call('XRANGE', keys[2], args[1] .. '-0', args[2] .. '-0', 'COUNT', args[3])
  return {tonumber(state[1]) or 0, state[2] or '', entries}
end

redis.register_function('herald_hello', hello)
redis.register_function{function_name = 'herald_range', callback = range, flags = {'no-writes'}}
redis.register_function('herald_publish', publish)
