-- dlq.lua: the reminder's dead letters (a 5xx answer, a mail that cannot
-- be made), into the one dead-letter list ingest also writes
-- (sk:{sys}:dlq, newest first, source "reminder"). Loaded and called by
-- services/reminder/queue.c before the key is settled with record.lua 'dead'
-- (a crash in between sends again and writes a second letter, never none).
--
-- The list's bound is ingest's (services/ingest/dlq.lua): at most ARGV[1]
-- records and ARGV[2] bytes, the oldest trimmed; the byte total is the
-- same field dlq_bytes of sk:{sys}:ingest, kept by both writers (measured
-- once when absent). Ingest's `rejected` counter is not touched: reminder
-- dead letters are counted in the reminder's /metrics.
--
-- KEYS: [1] sk:{sys}:dlq, [2] sk:{sys}:ingest
-- ARGV: [1] max records, [2] max bytes, [3] the JSON record
-- Returns the list's length.
local bytes = tonumber(redis.call('HGET', KEYS[2], 'dlq_bytes'))
if not bytes then
  bytes = 0
  local len = redis.call('LLEN', KEYS[1])
  for s = 0, len - 1, 1000 do
    for _, v in ipairs(redis.call('LRANGE', KEYS[1], s, s + 999)) do bytes = bytes + #v end
  end
end
local len = redis.call('LPUSH', KEYS[1], ARGV[3])
bytes = bytes + #ARGV[3]
local maxn, maxb = tonumber(ARGV[1]), tonumber(ARGV[2])
while len > 1 and (len > maxn or bytes > maxb) do
  bytes = bytes - #redis.call('RPOP', KEYS[1])
  len = len - 1
end
redis.call('HSET', KEYS[2], 'dlq_bytes', bytes)
return len
