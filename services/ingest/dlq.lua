-- dlq.lua: the dead-letter list sk:{sys}:dlq, newest first, written by
-- ingest (services/ingest/reply.c, one call per batch step with
-- rejections) and by the reminder worker (services/reminder/queue.c, a mail
-- refused for good): pushes the JSON records, counts them in the stats hash
-- field ARGV[3] (ingest: rejected; "" counts nothing), and trims the oldest
-- while the list holds more than ARGV[1] records or ARGV[2] bytes (the byte
-- total is kept in the stats hash, dlq_bytes, by every writer; a list from
-- before that field is measured once).
--
-- KEYS: the dead-letter list (sk:{sys}:dlq), the system stats hash
--       (sk:{sys}:ingest).
-- ARGV: max records, max bytes, counter field or "", then the records.
-- Returns the list's length.
local bytes = tonumber(redis.call('HGET', KEYS[2], 'dlq_bytes'))
local len = redis.call('LLEN', KEYS[1])
if not bytes then
  bytes = 0
  for s = 0, len - 1, 1000 do
    for _, v in ipairs(redis.call('LRANGE', KEYS[1], s, s + 999)) do bytes = bytes + #v end
  end
end
for k = 4, #ARGV do
  redis.call('LPUSH', KEYS[1], ARGV[k])
  bytes = bytes + #ARGV[k]
end
len = len + #ARGV - 3
local maxn, maxb = tonumber(ARGV[1]), tonumber(ARGV[2])
while len > 1 and (len > maxn or bytes > maxb) do
  bytes = bytes - #redis.call('RPOP', KEYS[1])
  len = len - 1
end
redis.call('HSET', KEYS[2], 'dlq_bytes', bytes)
if ARGV[3] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[3], #ARGV - 3) end
return len
