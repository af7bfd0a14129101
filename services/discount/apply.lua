-- apply.lua: the discount worker's one writer of invoices (docs/DATAFLOW.md,
-- step 6). Loaded and called by services/discount/main.c with the records
-- services/discount/apply.c plans, one call per up to DISCOUNT_BATCH_ENTRIES
-- entries of one shard.
--
-- KEYS: 1 stream, 2 fc:hist, 3 fc:net, 4 takeup, 5 unapplied, 6 rdue,
--       7 stmt (the due queue, docs/REMINDERS.md), 8 pol, 9 pcust, 10 psp
--       (the policy report's counters),
--       then per entry that changes state: invoice, copen, hist; and per
--       acknowledge-only entry whose invoice exists: the invoice.
-- ARGV: 1 rsent, 2 rproc (the shard's, only read: named here and not in
--       KEYS because EVALSHA needs write access to every KEYS entry, and the
--       discount's Redis user may only read them; same hash tag, same slot),
--       3 ns, then ns sums (kidx field sum), or "-" for none; then one record
--       per entry, in stream order:
--   id "*" u kq q                                   acknowledge only, or
--   id rev kb m copen s q incs
--      chk nd (rkey)*nd na (due rkey)*na cid skey sdue
-- The invoice (KEYS[kb]) is one string: "<rev>.<q>|" and then s, the packed
-- skonto.v1.InvoiceState (proto/skonto/v1/invoice_state.proto), which this
-- script stores and never reads. It is written with KEEPTTL: an invoice has
-- no time to live, and without it SET would look for one to remove in the
-- table of keys that have one (the event-id claims, one per remembered id).
-- rev: the revision the plan was computed from ("0" = the invoice must not
-- exist: without a hand-off it is stored at once with SET NX, which is also
-- that check, and deleted again should the entry be DUP); the stored one
-- becomes rev + 1. q: the
-- entry's number among its order's events ("" none): the stored q becomes the
-- larger of it and the q already stored, so it never goes back. kb: KEYS index
-- of the entry's invoice (copen kb+1, hist kb+2); m: order id (zset member);
-- copen op: "" nothing, "-" ZREM, else ZADD with that score; incs: the
-- entry's counter increments, each "<key>\t<field>\t<delta>\n", key the
-- KEYS index of a shard counter (2 .. 4, 8 .. 10), or 0 for the customer's
-- history (KEYS[kb + 2]). The sums are
-- what the increments of all the call's records that change state add up to
-- per counter field (kidx: KEYS index of the counter; sum: an integer, never
-- 0), summed by the worker: when every one of those records applies (the
-- usual case), the sums are added as they are and no incs is read; when one
-- does not (STALE, DUP), or the worker gave no sums, the increments of the
-- applied records are summed here per field and added once instead (a sum
-- is flushed early before it could leave the range where a Lua number is
-- exact; a single delta that large is added on its own). Either way a
-- counter that comes back to 0 is deleted.
-- An invoice still in the layout of before issue 7 (a hash,
-- not migrated yet) counts as a moved revision: STALE.
-- The due queue moves with the schedule (services/discount/remind.h): the nd
-- reminder keys are ZREMed from rdue, and of the na planned ones (in due
-- order) the first that is neither in rsent nor in rproc is ZADDed with its
-- due instant: the invoice's next reminder; the reminder worker queues the
-- one after when it settles it (chk "0": the invoice did not exist, so none
-- can be sent or in process, and the first is the one); skey
-- ("" none) is the customer's statement, queued only when stmt has no entry
-- for cid (HSETNX).
-- u of an acknowledge-only record: "" (nothing to keep), or the JSON record of
-- an event not recorded, LPUSHed onto unapplied (KEYS[5]) in the same step as
-- its XACK, and only if the entry is still pending (a redelivered entry that
-- is already acknowledged is DUP and pushes nothing). The push comes first: if
-- it fails the entry is not acknowledged (result UNRECORDED: retried later).
-- kq, q: KEYS index of its invoice (0: none) and its number among its
-- order's events: the invoice records q as applied (in its header, the state
-- unchanged), so the order's next event does not wait for this one.
-- A record may carry a hand-off for the audit log (docs/AUDIT.md section 8),
-- XADDed (field a) in the same step as what it describes:
--   "+" kh a  then an entry's record as above: when it applies, also
--             XADD KEYS[kh] * a <a> (an ERP version that changed a schedule:
--             ScheduleChanged);
--   "!" kh a  then a record as above whose id is an override order's (not an
--             entry of the stream: nothing is acknowledged or deleted, the
--             worker does that after this call): applied when the invoice's
--             rev is still the plan's (else STALE), with XADD KEYS[kh]
--             (OverrideApplied);
--   "?" kh oid a  only a hand-off (an override refused: stale, or a rule's
--             code): HSETNX KEYS[kh + 1] (ovref) oid, and if it was not
--             there the XADD; else DUP (a redelivery already handed off).
-- Returns per entry, in order: OK, DUP, STALE (the invoice's rev moved:
-- nothing changed, re-plan) or UNRECORDED.
-- stmt also holds the field "" (no customer id is empty) with a value longer
-- than hash-max-listpack-value (64 bytes by default), so Redis keeps the
-- hash as a hash table: in the compact listpack encoding it uses up to
-- hash-max-listpack-entries (512) fields, each order's HSETNX would search
-- the shard's customers one by one (2.3 us at 316 customers, against 0.1 us).
local S = KEYS[1]
redis.call('HSETNX', KEYS[7], '', 'a hash table, not a listpack: O(1) per customer (apply.lua) ' ..
           string.rep('.', 64))
local out, del, acc = {}, {}, {}
local BIG, LIM = 1125899906842624, 4503599627370496
local HOLD_MS = 1000
-- The stored invoice's rev and q (strings) and where its state starts;
-- "0", "0" when there is none, nil for a value that is not an invoice string.
local function header(k)
  local v = redis.pcall('GET', k)
  if type(v) == 'table' and v.err then return nil end
  if not v then return '0', '0', nil, nil end
  local r, q, p = string.match(v, '^(%d+)%.(%d+)|()')
  return r, q, p, v
end
local function later(a, b)
  if b == '' or (#a > #b) or (#a == #b and a >= b) then return a end
  return b
end
local function hincr(k, f, d)
  if redis.call('HINCRBY', k, f, d) == 0 then redis.call('HDEL', k, f) end
end
local function add(k, f, s)
  local d = tonumber(s)
  if d >= BIG or d <= -BIG then hincr(k, f, s) return end
  local t = acc[k]
  if not t then t = {} acc[k] = t end
  local v = (t[f] or 0) + d
  if v >= LIM or v <= -LIM then hincr(k, f, string.format('%d', v)) v = 0 end
  t[f] = v
end
local RSENT, RPROC = ARGV[1], ARGV[2]
local NS = ARGV[3] ~= '-' and tonumber(ARGV[3]) or nil
local i, n = 4 + 3 * (NS or 0), #ARGV
-- whether the worker's sums do not hold (none given, or a record not applied),
-- and the applied records' incs and kb, for summing here then
local miss, oki, okb = NS == nil, {}, {}
while i <= n do
  local id, st, hk, ho, ovr = ARGV[i], 'OK', nil, nil, false
  if id == '+' or id == '!' then
    ovr = id == '!'
    hk, ho = KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]
    i = i + 3
    id = ARGV[i]
  end
  local exp = ARGV[i + 1]
  if id == '?' then
    local kh = tonumber(ARGV[i + 1])
    if redis.call('HSETNX', KEYS[kh + 1], ARGV[i + 2], '1') == 1 then
      redis.call('XADD', KEYS[kh], '*', 'a', ARGV[i + 3])
    else st = 'DUP' end
    i = i + 4
  elseif exp == '*' then
    local u, kq, q = ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4]
    i = i + 5
    if u == '' then
      if redis.call('XACK', S, 'discount', id) == 0 then st = 'DUP' else del[#del + 1] = id end
    elseif #redis.call('XPENDING', S, 'discount', id, id, 1) == 0 then st = 'DUP'
    else
      local r = redis.pcall('LPUSH', KEYS[5], u)
      if type(r) == 'table' and r.err then st = 'UNRECORDED'
      else redis.call('XACK', S, 'discount', id) del[#del + 1] = id end
    end
    if st == 'OK' and kq > 0 then
      local r, sq, p, v = header(KEYS[kq])
      if p and later(sq, q) ~= sq then
        redis.call('SET', KEYS[kq], r .. '.' .. q .. '|' .. string.sub(v, p), 'KEEPTTL')
      end
    end
  else
    local kb, m, cop = tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 4]
    local state, q, incs = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
    local ri = i + 8
    local nd = tonumber(ARGV[ri + 1])
    local ai = ri + 2 + nd
    local na = tonumber(ARGV[ai])
    local si = ai + 1 + 2 * na
    i = si + 3
    local inv = KEYS[kb]
    -- a new invoice is stored at once, which is also the check that there is
    -- none (no GET); it is deleted again if the entry turns out to be DUP.
    -- Not with a hand-off, which must stay the first write (see below).
    local r, sq, made = '0', '0', false
    if exp == '0' and not hk then
      made = redis.call('SET', inv, '1.' .. later('0', q) .. '|' .. state, 'NX') ~= false
      if not made then r = nil end
    else
      r, sq = header(inv)
    end
    if r ~= exp then
      if not ovr and #redis.call('XPENDING', S, 'discount', id, id, 1) == 0 then st = 'DUP'
      else st = 'STALE' end
    elseif not ovr and hk and #redis.call('XPENDING', S, 'discount', id, id, 1) == 0 then
      st = 'DUP'
    elseif not ovr and not hk and redis.call('XACK', S, 'discount', id) == 0 then st = 'DUP'
    else
      -- the hand-off first: should it fail, the entry stays pending
      if hk then redis.call('XADD', hk, '*', 'a', ho) end
      if not ovr then
        if hk then redis.call('XACK', S, 'discount', id) end
        del[#del + 1] = id
      end
      if cop == '-' then redis.call('ZREM', KEYS[kb + 1], m)
      elseif cop ~= '' then redis.call('ZADD', KEYS[kb + 1], cop, m) end
      if not made then
        local rev1 = string.format('%d', tonumber(exp) + 1)
        redis.call('SET', inv, rev1 .. '.' .. later(sq, q) .. '|' .. state, 'KEEPTTL')
      end
      oki[#oki + 1], okb[#okb + 1] = incs, kb
      if nd > 0 then redis.call('ZREM', KEYS[6], unpack(ARGV, ri + 2, ri + 1 + nd)) end
      if na > 0 and ARGV[ri] == '0' then
        redis.call('ZADD', KEYS[6], ARGV[ai + 1], ARGV[ai + 2])
      else
        for j = ai + 1, ai + 2 * na, 2 do
          local k = ARGV[j + 1]
          if redis.call('HEXISTS', RSENT, k) == 0 and not redis.call('ZSCORE', RPROC, k) then
            redis.call('ZADD', KEYS[6], ARGV[j], k)
            break
          end
        end
      end
      local sk = ARGV[si + 1]
      if sk ~= '' and redis.call('HSETNX', KEYS[7], ARGV[si], sk) == 1 then
        redis.call('ZADD', KEYS[6], ARGV[si + 2], sk)
      end
    end
    if st ~= 'OK' then
      miss = true
      if made then redis.call('DEL', inv) end
    end
  end
  out[#out + 1] = st
end
if not miss then
  for j = 4, 3 + 3 * NS, 3 do hincr(KEYS[tonumber(ARGV[j])], ARGV[j + 1], ARGV[j + 2]) end
else
  for x = 1, #oki do
    for c, f, d in string.gmatch(oki[x], '([^\t]*)\t([^\t]*)\t([^\n]*)\n') do
      add(c == '0' and KEYS[okb[x] + 2] or KEYS[tonumber(c)], f, d)
    end
  end
  for k, t in pairs(acc) do
    for f, v in pairs(t) do
      if v ~= 0 then hincr(k, f, string.format('%d', v)) end
    end
  end
end
-- The acknowledged entries leave the stream: everything before the oldest
-- entry still pending (delivered in stream order, so acknowledged) is
-- trimmed, which costs a fifth of deleting entries one by one. What this
-- call acknowledged after that entry is left to the call that settles it,
-- unless the entry was delivered more than HOLD_MS ago (it waits for its
-- order, or its worker died): then deleted now, so a held entry keeps back
-- at most a second of its stream. Nothing pending: everything delivered goes.
if #del > 0 then
  local p = redis.call('XPENDING', S, 'discount', '-', '+', 1)[1]
  if not p then
    local last
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', S)) do
      local f = {}
      for j = 1, #g, 2 do f[g[j]] = g[j + 1] end
      if f.name == 'discount' then last = f['last-delivered-id'] end
    end
    redis.call('XTRIM', S, 'MINID', last)
    redis.call('XDEL', S, last)
  else
    local low = p[1]
    redis.call('XTRIM', S, 'MINID', low)
    if p[3] > HOLD_MS then
      local function split(x)
        local a, b = string.match(x, '^(%d+)-(%d+)$')
        return tonumber(a), tonumber(b)
      end
      local lm, ls = split(low)
      local keep = {}
      for _, x in ipairs(del) do
        local m, q = split(x)
        if m > lm or (m == lm and q > ls) then keep[#keep + 1] = x end
      end
      if #keep > 0 then redis.call('XDEL', S, unpack(keep)) end
    end
  end
end
return out
