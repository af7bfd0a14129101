-- retime.lua: sets one customer's pending statement (services/discount/
-- retime.h), atomically against the reminder worker's advance.
--
-- KEYS: 1 rdue, 2 stmt.
-- ARGV: 1 customer id, 2 the pending key the worker read ("" none),
--       3 the new key ("" none: opted out or cadence none), 4 its due ms.
-- Changes nothing when stmt no longer holds ARGV[2] (the reminder worker
-- advanced it meanwhile) or already holds ARGV[3]. Returns 1 changed, 0 not.
local cur = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if cur ~= ARGV[2] or cur == ARGV[3] then return 0 end
if cur ~= '' then redis.call('ZREM', KEYS[1], cur) end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
end
return 1
