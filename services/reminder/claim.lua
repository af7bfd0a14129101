-- claim.lua: the reminder worker's claim on one shard's due queue
-- (docs/REMINDERS.md, "Reminder worker"). Loaded and called by
-- services/reminder/queue.c, one call per shard N per loop turn; the
-- benchmark (bench/) loads the same file.
--
-- It takes, in this order and at most `batch` keys in all:
--   1. keys of rproc whose lease has expired (score <= Redis TIME ms): a
--      worker that died (kill -9) or a retry whose backoff is over;
--   2. keys of rdue that are due (score <= now, the workers' clock ms),
--      smallest score first; each leaves rdue.
-- Every key taken gets the lease: rproc score = Redis TIME ms + lease ms.
-- The lease is real time (Redis TIME), never the simulated clock, so a
-- simulated clock that jumps ahead does not expire everyone's leases. A key
-- is in at most one of rdue and rproc after the call. The lease value is
-- the claimer's token: the record script (record.lua) checks that rproc
-- still holds it, and a later claim after expiry always writes a larger
-- one (TIME + lease > the expired score), so two holders never share it.
-- Cost: O(log n + batch) per call whatever the number of keys pending.
--
-- KEYS: [1] sk:{sN}:rdue, [2] sk:{sN}:rproc
-- ARGV: [1] now ms (clock), [2] lease ms (1 .. 86400000),
--       [3] batch (1 .. 1000)
-- Returns: { lease expiry ms, number of keys from expired leases (the
--           first ones), key, key, ... }
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local batch = tonumber(ARGV[3])
if not now or not lease or lease < 1 or lease > 86400000 or not batch or batch < 1
    or batch > 1000 then
  return redis.error_reply('ERR claim: now, lease 1..86400000, batch 1..1000')
end
local t = redis.call('TIME')
local tnow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = tnow + lease
local out = { until_ms, 0 }
local back = redis.call('ZRANGE', KEYS[2], '-inf', tnow, 'BYSCORE', 'LIMIT', 0, batch)
for _, k in ipairs(back) do
  redis.call('ZADD', KEYS[2], 'XX', until_ms, k)
  out[#out + 1] = k
end
out[2] = #back
local left = batch - #back
if left > 0 then
  local due = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, left)
  for _, k in ipairs(due) do
    redis.call('ZREM', KEYS[1], k)
    redis.call('ZADD', KEYS[2], until_ms, k)
    out[#out + 1] = k
  end
end
return out
