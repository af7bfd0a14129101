-- trim.lua: forgets sent records past their retention (docs/REMINDERS.md,
-- "Retention"). Called by services/reminder/queue.c with the records of one
-- HSCAN page of a shard's rsent that sk_remind_forgettable let go.
--
-- KEYS: [1] rsent, [2] rdue, [3] rproc, then per record [3 + i] rlog:<cid>
--       of its customer (all sk:{sN}:..., one shard)
-- ARGV: per record [i] its key, in the order of KEYS[4..]
-- A record still in rsent whose key is neither queued (rdue) nor being sent
-- (rproc: a worker may hold it still, and its record is what stops a second
-- mail) is removed from rsent and from its customer's rlog in one step
-- (never one without the other). Returns how many.
local n = 0
for i = 1, #ARGV do
  local k = ARGV[i]
  if not redis.call('ZSCORE', KEYS[2], k) and not redis.call('ZSCORE', KEYS[3], k)
      and redis.call('HDEL', KEYS[1], k) == 1 then
    redis.call('ZREM', KEYS[3 + i], k)
    n = n + 1
  end
end
return n
