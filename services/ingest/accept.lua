-- accept.lua: ingest's storing of events (docs/DATAFLOW.md, step 4).
-- Loaded and called by services/ingest/accept.c, one call per customer shard
-- N and batch for every claimed event of that shard (one call instead of one
-- per event, because the call costs more than the work inside it). Events
-- are handled in message order, each on its own:
--   - an order whose version is not above the highest accepted one: 2 when
--     its content is the same (nothing changes), else -(1 + that version);
--   - a new version of an accepted order that changes what its schedule
--     comes from (its schedule hash differs, or the stored value has none:
--     stored before it was kept) from a sender that may not (an operator
--     key; docs/AUDIT.md section 8): 3, nothing stored (erp_only);
--   - else XADD the received bytes (with `q`, the event's number among its
--     order's events, 1, 2, ...: discount applies an order's events in that
--     order), note the id in the call's stored record (below), record the
--     order's "VERSION:HASH:Q:SHASH" (a value of three parts, from before
--     the schedule hash, is still read), keep the sender's ZAP User-Id as
--     field `u` of the entry (when there is one), write the customer
--     profile: 1.
-- The accepted and duplicate counters change in the same call, and so does
-- the stored record: HSET stored <field> "\n<id>\n<id>...\n", the ids of the
-- events the call stored, under the field the caller names (the pending
-- value of their claims: one per batch), until their claims are accepted;
-- that is how a claim left pending by a crash is settled. Should XADD fail,
-- the results so far are returned with XADD's error in the failed event's
-- place, after counting and recording what came before (Redis does not roll
-- a script back); the events after it were not looked at.
--
-- KEYS: stored hash, events stream, order versions hash, stats hash (all of
--       shard N), then the customer hashes the events write.
-- ARGV: n, the stored record's field, then per event: event id, envelope
--       bytes, order id ('' for a customer), version (0: not an order),
--       content hash, schedule hash,
--       '1' if its sender may change a schedule (else '0'), the sender's
--       user ('' none), index in KEYS of its customer hash (0: none),
--       number of field/value pairs, the pairs.
-- Returns one integer per event (fewer after an error, see above).
local out, i, acc, dup, st = {}, 3, 0, 0, {}
local function count()
  if #st > 0 then redis.call('HSET', KEYS[1], ARGV[2], '\n' .. table.concat(st, '\n') .. '\n') end
  if acc > 0 then redis.call('HINCRBY', KEYS[4], 'accepted', acc) end
  if dup > 0 then redis.call('HINCRBY', KEYS[4], 'duplicate', dup) end
end
for e = 1, tonumber(ARGV[1]) do
  local id, oid, ver, h = ARGV[i], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4]
  local sh, erp, u = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local kidx, np = tonumber(ARGV[i + 8]), tonumber(ARGV[i + 9])
  local res, cv, ch, cq, csh = 1, 0, '', 0, nil
  local cur = oid ~= '' and redis.call('HGET', KEYS[3], oid)
  if cur then
    local a = string.find(cur, ':', 1, true)
    local b = string.find(cur, ':', a + 1, true) or #cur + 1
    local c = string.find(cur, ':', b + 1, true)
    cv, ch = tonumber(string.sub(cur, 1, a - 1)), string.sub(cur, a + 1, b - 1)
    cq = tonumber(string.sub(cur, b + 1, (c or #cur + 1) - 1)) or 0
    if c then csh = string.sub(cur, c + 1) end
    if ver > 0 and ver <= cv then
      if ch == h then res = 2 else res = -1 - cv end
    elseif ver > 0 and erp ~= '1' and csh ~= sh then
      res = 3
    end
  end
  if res == 1 then
    local r
    if oid ~= '' then
      cq = cq + 1
      if u ~= '' then
        r = redis.pcall('XADD', KEYS[2], '*', 'e', ARGV[i + 1], 'q', cq, 'u', u)
      else
        r = redis.pcall('XADD', KEYS[2], '*', 'e', ARGV[i + 1], 'q', cq)
      end
    else
      r = redis.pcall('XADD', KEYS[2], '*', 'e', ARGV[i + 1])
    end
    if type(r) == 'table' and r.err then
      out[e] = r
      count()
      return out
    end
    st[#st + 1] = id
    if oid ~= '' then
      if ver > 0 then cv, ch, csh = ver, h, sh end
      redis.call('HSET', KEYS[3], oid, cv .. ':' .. ch .. ':' .. cq .. ':' .. (csh or ''))
    end
    if kidx > 0 then
      redis.call('HSET', KEYS[kidx], unpack(ARGV, i + 10, i + 9 + 2 * np))
      redis.call('HSETNX', KEYS[kidx], 'statement', 'weekly')
    end
    acc = acc + 1
  elseif res == 2 then
    dup = dup + 1
  end
  out[e] = res
  i = i + 10 + 2 * np
end
count()
return out
