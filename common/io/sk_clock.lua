-- sk_clock.lua: moves the simulated clock of a stack run with SKONTO_CLOCK=redis
-- (common/io/sk_clock.c, sk_clock_redis_move; `skontoctl clock set|advance`).
-- Simulated time only moves forward, so the check and the write are one atomic step.
--
-- KEYS[1]  sk:{sys}:clock, a string: the simulated instant in ms since the Unix epoch
-- ARGV[1]  "set" or "advance"
-- ARGV[2]  set: the new instant (ms since the epoch); advance: how far (ms, > 0)
-- ARGV[3]  the wall clock now (ms): the simulated instant when the key is absent
--
-- Returns the new instant (an integer). Errors: "EARLIER <current ms>" when set
-- names an instant before the current one (nothing changes); "BADCLOCK" when the
-- key holds something that is not a whole number of ms.
local cur = redis.call('GET', KEYS[1])
if cur then
  cur = tonumber(cur)
  if not cur or cur ~= math.floor(cur) then
    return redis.error_reply('BADCLOCK')
  end
else
  cur = tonumber(ARGV[3])
end
local v = tonumber(ARGV[2])
local new
if ARGV[1] == 'advance' then
  new = cur + v
else
  if v < cur then
    return redis.error_reply('EARLIER ' .. string.format('%d', cur))
  end
  new = v
end
redis.call('SET', KEYS[1], string.format('%d', new))
return new
