-- append.lua — the audit log's one append (docs/AUDIT.md section 8).
--
-- KEYS[1]  sk:{audit}:log
-- KEYS[2..] the keys the entry's state writes name (all in the {audit} slot)
-- ARGV[1]  the position the worker expects: the log's length now
-- ARGV[2]  the entry's sequence number (= ARGV[1])
-- ARGV[3]  its leaf hash, 64 lower-case hex
-- ARGV[4]  the exact AuditEvent bytes
-- ARGV[5..] the state writes of that entry, four arguments each:
--          op, key index (into KEYS), a, b
--            hset k field value | zadd k score member | zrem k member - |
--            xadd k field value (XADD k * field value)
--
-- Refused (nothing written) unless XLEN is the expected position: a second
-- or stale worker cannot interleave entries. Entry i is stored under stream
-- id 0-(i+1), so that a reader finds position i without an index. Every op
-- is checked before anything is written (Redis does not roll back).
-- Returns the entry's stream id.
local n = redis.call('XLEN', KEYS[1])
if n ~= tonumber(ARGV[1]) or ARGV[2] ~= ARGV[1] then
  return redis.error_reply('POSITION the log has ' .. n .. ' entries, the worker expected ' .. ARGV[1])
end
local ops = { hset = true, zadd = true, zrem = true, xadd = true }
for i = 5, #ARGV, 4 do
  local k = tonumber(ARGV[i + 1])
  if not ops[ARGV[i]] or not k or not KEYS[k] or k < 2 or ARGV[i + 3] == nil then
    return redis.error_reply('BADOP argument ' .. i)
  end
end
local id = redis.call('XADD', KEYS[1], '0-' .. (n + 1), 'seq', ARGV[2], 'h', ARGV[3], 'e', ARGV[4])
for i = 5, #ARGV, 4 do
  local op, k, a, b = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
  if op == 'hset' then
    redis.call('HSET', k, a, b)
  elseif op == 'zadd' then
    redis.call('ZADD', k, a, b)
  elseif op == 'zrem' then
    redis.call('ZREM', k, a)
  else
    redis.call('XADD', k, '*', a, b)
  end
end
return id
