-- requeue.lua: puts invoices' next reminder and customers' statements into
-- the due queue (docs/REMINDERS.md), one shard per call. Called by the
-- backfill (backfill.h: what was stored before the due queue existed) and
-- by a customer's re-time (retime.h: the customer's zone or profile moved),
-- through services/discount/requeue.c.
--
-- The due queue holds each open invoice's NEXT reminder only: the earliest
-- of its plan not sent and not being sent. Whoever settles that one (the
-- reminder worker, record.lua) queues the one after it.
--
-- KEYS: 1 rdue, 2 stmt, then the invoices of the records.
-- ARGV: 1 rsent, 2 rproc (only read; not in KEYS, see apply.lua), then
--       records, each either
--   "i" kidx rev nd (rkey)*nd na (due rkey)*na
--        an invoice's plan, in due order; only if the invoice KEYS[kidx] is
--        still at rev (an apply in between queued its own plan): ZREM the nd
--        keys, then ZADD NX the first of the na keys that is neither sent nor
--        in process and stop there (a re-time ZREMs the planned keys first,
--        so they enter again at their new instants)
--   "s" cid key due                a customer's statement, only if it has
--                                  none (HSETNX)
-- Returns {reminders added to rdue, statements added}.
local added, stmts = 0, 0
local RSENT, RPROC = ARGV[1], ARGV[2]
local i, n = 3, #ARGV
while i <= n do
  if ARGV[i] == 'i' then
    local k, rev, nd = KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], tonumber(ARGV[i + 3])
    local ai = i + 4 + nd
    local na = tonumber(ARGV[ai])
    local v = redis.pcall('GET', k)
    local r = type(v) == 'string' and string.match(v, '^(%d+)%.') or nil
    if r == rev then
      if nd > 0 then redis.call('ZREM', KEYS[1], unpack(ARGV, i + 4, i + 3 + nd)) end
      for j = ai + 1, ai + 2 * na, 2 do
        local m = ARGV[j + 1]
        if redis.call('HEXISTS', RSENT, m) == 0 and not redis.call('ZSCORE', RPROC, m) then
          added = added + redis.call('ZADD', KEYS[1], 'NX', ARGV[j], m)
          break
        end
      end
    end
    i = ai + 1 + 2 * na
  else
    if redis.call('HSETNX', KEYS[2], ARGV[i + 1], ARGV[i + 2]) == 1 then
      redis.call('ZADD', KEYS[1], ARGV[i + 3], ARGV[i + 2])
      stmts = stmts + 1
    end
    i = i + 4
  end
end
return {added, stmts}
