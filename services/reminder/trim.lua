-- trim.lua: forgets sent records past their retention (docs/REMINDERS.md,
-- "Retention"). Called by services/reminder/queue.c with the records of one
-- HSCAN page of a shard's rsent that sk_remind_forgettable let go.
--
-- KEYS: [1] rsent, then per record [1 + i] rlog:<cid> of its customer
--       (all sk:{sN}:..., one shard)
-- ARGV: per record [i] its key, in the order of KEYS[2..]
-- A record still in rsent is removed from rsent and from its customer's
-- rlog in one step (never one without the other). Returns how many.
local n = 0
for i = 1, #ARGV do
  if redis.call('HDEL', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZREM', KEYS[1 + i], ARGV[i])
    n = n + 1
  end
end
return n
