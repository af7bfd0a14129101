-- claim.lua: ingest's event-id claims (docs/DATAFLOW.md, step 3). Loaded
-- and called by services/ingest/claim.c, one call per shard N of EVENT IDS
-- and batch (N = shard of the id, not of the customer: an event id is
-- claimed in one place for the whole system, whichever customer it names).
--
-- A claim is "p:<ms>:<owner>" from the moment it is taken. It is accepted
-- once its owner's watermark in the settled hash (owner -> ms) reaches its
-- ms: the owner raises it past a batch's claims only after that batch's
-- events are stored and every claim of it whose event was not stored is
-- released, so one HSET per shard and batch settles all of the batch's
-- accepted claims. "a" is an accepted claim too (settled one by one: by the
-- recovery of a claim its ingest left pending, or from before watermarks).
--
-- A call first settles what the caller names one by one since its last
-- call, then raises the caller's watermark, then claims the ids of the new
-- batch:
--   settling: action 'a' marks a claim accepted ("a"), 'r' releases it
--   (nothing was stored); either only if the claim still holds the value the
--   caller expects, so a claim someone else took since is left alone;
--   the watermark: HSET settled owner W, when W is given;
--   claiming: a free id gets a pending claim "p:<now>:<owner>" that expires
--   after the retention; an accepted one ("a", or pending at or below its
--   owner's watermark) means a duplicate, counted here; any other pending
--   claim is returned as it is (that event is being stored right now, or its
--   ingest died: the caller sends no Ack and settles a dead ingest's claim,
--   see ingest_claims_resolve).
--
-- KEYS: stats hash (sk:{sN}:ingest), settled hash (sk:{sN}:settled), then nf
--       claim keys to settle, then the claim keys to claim (sk:{sN}:eid:<id>).
-- ARGV: now ms, retention ms, owner, nf, W ('' none), then per claim to
--       settle: action, expected value.
-- Returns per id to claim: 1 claimed, 0 duplicate, or the other claim's value.
local nf = tonumber(ARGV[4])
local a = 6
for k = 3, 2 + nf do
  local act, exp = ARGV[a], ARGV[a + 1]
  a = a + 2
  if act == 'a' then
    local v = redis.call('SET', KEYS[k], 'a', 'XX', 'KEEPTTL', 'GET')
    if v and v ~= exp then redis.call('SET', KEYS[k], v, 'XX', 'KEEPTTL') end
  elseif redis.call('GET', KEYS[k]) == exp then
    redis.call('DEL', KEYS[k])
  end
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[5]) end
local out, dup, marks = {}, 0, {}
local pend = 'p:' .. ARGV[1] .. ':' .. ARGV[3]
for k = 3 + nf, #KEYS do
  local v = redis.call('SET', KEYS[k], pend, 'NX', 'PX', ARGV[2], 'GET')
  if v and v ~= 'a' then
    local ms, ow = string.match(v, '^p:(%d+):(.+)$')
    if ms then
      local w = marks[ow]
      if w == nil then
        w = tonumber(redis.call('HGET', KEYS[2], ow) or '') or false
        marks[ow] = w
      end
      if w and tonumber(ms) <= w then v = 'a' end
    end
  end
  if not v then
    out[#out + 1] = 1
  elseif v == 'a' then
    dup = dup + 1
    out[#out + 1] = 0
  else
    out[#out + 1] = v
  end
end
if dup > 0 then redis.call('HINCRBY', KEYS[1], 'duplicate', dup) end
return out
