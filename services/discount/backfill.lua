-- backfill.lua: queues the reminders and statements of what was stored
-- before the due queue existed (services/discount/backfill.h), one shard
-- per call.
--
-- KEYS: 1 rdue, 2 stmt, then the invoices of the records.
-- ARGV: 1 rsent, 2 rproc (only read; not in KEYS, see apply.lua), then
--       records, each either
--   "i" kidx rev na (due key)*na   an invoice's plan: queued only if the
--                                  invoice KEYS[kidx] is still at rev; a key
--                                  only if it is not queued (NX), sent or in
--                                  process
--   "s" cid key due                a customer's statement, only if it has
--                                  none (HSETNX)
-- Returns {reminders added, statements added}.
local added, stmts = 0, 0
local RSENT, RPROC = ARGV[1], ARGV[2]
local i, n = 3, #ARGV
while i <= n do
  if ARGV[i] == 'i' then
    local k, rev, na = KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], tonumber(ARGV[i + 3])
    local v = redis.pcall('GET', k)
    local r = type(v) == 'string' and string.match(v, '^(%d+)%.') or nil
    if r == rev then
      for j = i + 4, i + 3 + 2 * na, 2 do
        local m = ARGV[j + 1]
        if redis.call('HEXISTS', RSENT, m) == 0 and not redis.call('ZSCORE', RPROC, m) then
          added = added + redis.call('ZADD', KEYS[1], 'NX', ARGV[j], m)
        end
      end
    end
    i = i + 4 + 2 * na
  else
    if redis.call('HSETNX', KEYS[2], ARGV[i + 1], ARGV[i + 2]) == 1 then
      redis.call('ZADD', KEYS[1], ARGV[i + 3], ARGV[i + 2])
      stmts = stmts + 1
    end
    i = i + 4
  end
end
return {added, stmts}
