-- claim.lua: ingest's event-id claims (docs/DATAFLOW.md, step 3). Loaded
-- and called by services/ingest/claim.c, one call per shard N of EVENT IDS
-- and batch (N = shard of the id, not of the customer: an event id is
-- claimed in one place for the whole system, whichever customer it names).
--
-- It first settles the claims whose outcome the caller knows since its last
-- call, then claims the ids of the new batch:
--   settling: action 'a' marks a claim accepted (its event is stored), 'r'
--   releases it (nothing was stored); either only if the claim still holds
--   the value the caller expects, so a claim someone else took since is
--   left alone;
--   claiming: a free id gets a pending claim "p:<now>:<owner>" that expires
--   after the retention; "a" means accepted before: a duplicate, counted
--   here; someone else's pending claim is returned as it is (that event is
--   being stored right now, or its ingest died: the caller sends no Ack and
--   settles a dead ingest's claim, see ingest_claims_resolve).
--
-- KEYS: stats hash (sk:{sN}:ingest), then nf claim keys to settle, then the
--       claim keys to claim (sk:{sN}:eid:<id>).
-- ARGV: now ms, retention ms, owner, nf, then per claim to settle: action,
--       expected value; then the event ids to claim.
-- Returns per id to claim: 1 claimed, 0 duplicate, or the other claim's value.
local nf = tonumber(ARGV[4])
local a = 5
for k = 2, 1 + nf do
  local act, exp = ARGV[a], ARGV[a + 1]
  a = a + 2
  if act == 'a' then
    local v = redis.call('SET', KEYS[k], 'a', 'XX', 'KEEPTTL', 'GET')
    if v and v ~= exp then redis.call('SET', KEYS[k], v, 'XX', 'KEEPTTL') end
  elseif redis.call('GET', KEYS[k]) == exp then
    redis.call('DEL', KEYS[k])
  end
end
local out, dup = {}, 0
local pend = 'p:' .. ARGV[1] .. ':' .. ARGV[3]
for k = 2 + nf, #KEYS do
  local v = redis.call('SET', KEYS[k], pend, 'NX', 'PX', ARGV[2], 'GET')
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
