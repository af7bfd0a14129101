-- record.lua: how a claimed reminder or statement ends (docs/REMINDERS.md,
-- "Reminder worker"). Loaded and called by services/reminder/queue.c, once
-- per claimed key, after the re-check and (for 'sent') after the SMTP server
-- or the maildir took the mail.
--
-- The caller holds the key while rproc scores it with the lease value that
-- claim.lua returned (its token). Every action first checks that; when
-- another worker has taken the key since (the lease expired), nothing of
-- the queue is touched and the result is 0, except that a mail that went
-- out is still recorded (unless rsent has the key already: the first record
-- of a key stays), because sales must see every mail that left.
--   sent   HSET rsent key record, ZADD rlog:<cid> sent_ms key, ZREM rproc,
--          HDEL rtry (attempts and the ambiguous mark), statement advance
--   drop   ZREM rproc, HDEL rtry, statement advance (not sent: counted by
--          the caller with its reason)
--   retry  the lease moved to Redis TIME + backoff ms (claim.lua takes it
--          back then), HINCRBY rtry key 1; ARGV[8] = 1 also marks the key
--          ambiguous (field "a|<key>" of rtry: the mail may have arrived)
--   dead   ZREM rproc, HDEL rtry, HSET undeliv <cid> address (a 5xx)
-- Reminder chain (sent, drop, dead): the due queue holds each invoice's next
-- reminder only (docs/REMINDERS.md). ARGV[9] is the invoice's key ("" none:
-- nothing to chain) and ARGV[10] the revision the worker read it at; if the
-- invoice is still at it, the first of the ARGV[11] (due, key) pairs that
-- follow (the plan at now, in due order) that is not this key and is neither
-- in rsent nor in rproc is ZADDed. If the revision moved, the discount
-- worker's apply step queued the new plan's next reminder already (this key
-- was in rproc then, so it took the one after).
-- Statement advance: when the next key is given and stmt still names this
-- key for the customer, stmt <cid> = next and ZADD NX rdue due next (unless
-- next is in rsent); when next is "" and stmt names this key, HDEL it.
--
-- KEYS: [1] rproc, [2] rsent, [3] rlog:<cid>, [4] rtry, [5] stmt, [6] rdue,
--       [7] undeliv (all sk:{sN}:..., the customer's shard)
-- ARGV: [1] action, [2] key, [3] lease (the claim's token), [4] customer id,
--       [5] next statement key or "" (statements; "" for reminders),
--       [6] its due ms (clock) or "", then per action
--       sent: [7] record JSON, [8] sent ms; retry: [7] backoff ms,
--       [8] 1 ambiguous / 0; dead: [7] the refused address ("" pads the
--       unused ones); then the chain: [9] invoice key or "", [10] its rev,
--       [11] n, then n pairs due ms, key
-- Returns 1 done, 0 the lease was not ours (see above).
local act, key, cid = ARGV[1], ARGV[2], ARGV[4]
local held = tonumber(redis.call('ZSCORE', KEYS[1], key)) == tonumber(ARGV[3])
local function advance()
  if key:sub(1, 2) ~= 's|' then return end
  local next = ARGV[5]
  if redis.call('HGET', KEYS[5], cid) ~= key then return end
  if next == '' then
    redis.call('HDEL', KEYS[5], cid)
  else
    redis.call('HSET', KEYS[5], cid, next)
    if redis.call('HEXISTS', KEYS[2], next) == 0 and not redis.call('ZSCORE', KEYS[1], next) then
      redis.call('ZADD', KEYS[6], 'NX', ARGV[6], next)
    end
  end
end
local function chain()
  local n = tonumber(ARGV[11] or '0') or 0
  if ARGV[9] == nil or ARGV[9] == '' or n == 0 then return end
  local v = redis.pcall('GET', ARGV[9])
  if type(v) ~= 'string' or string.match(v, '^(%d+)%.') ~= ARGV[10] then return end
  for j = 12, 10 + 2 * n, 2 do
    local k = ARGV[j + 1]
    if k ~= key and redis.call('HEXISTS', KEYS[2], k) == 0 and not redis.call('ZSCORE', KEYS[1], k) then
      redis.call('ZADD', KEYS[6], ARGV[j], k)
      return
    end
  end
end
local function forget()
  redis.call('ZREM', KEYS[1], key)
  redis.call('HDEL', KEYS[4], key, 'a|' .. key)
end
if act == 'sent' then
  if held then
    redis.call('HSET', KEYS[2], key, ARGV[7])
  elseif redis.call('HEXISTS', KEYS[2], key) == 0 then
    redis.call('HSET', KEYS[2], key, ARGV[7]) -- HSET, not HSETNX: the Redis user's commands
  end
  redis.call('ZADD', KEYS[3], ARGV[8], key)
  if not held then return 0 end
  forget()
  advance()
  chain()
  return 1
end
if not held then return 0 end
if act == 'drop' then
  forget()
  advance()
  chain()
elseif act == 'retry' then
  local t = redis.call('TIME')
  local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[7])
  redis.call('ZADD', KEYS[1], 'XX', at, key)
  redis.call('HINCRBY', KEYS[4], key, 1)
  if ARGV[8] == '1' then redis.call('HSET', KEYS[4], 'a|' .. key, 1) end
elseif act == 'dead' then
  forget()
  redis.call('HSET', KEYS[7], cid, ARGV[7])
  chain()
else
  return redis.error_reply('ERR record: unknown action')
end
return 1
