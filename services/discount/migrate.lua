-- migrate.lua: turns one invoice of the layout before issue 7 (a hash) into
-- the packed layout (one string), atomically. Called by services/discount/
-- migrate.c for each invoice hash it finds, with the value it computed from
-- the hash it read.
--
-- KEYS: 1 the invoice key.
-- ARGV: 1 the hash's rev as read, 2 the packed value ("<rev>.<q>|<state>").
-- Returns 1 migrated, 0 already a string (another worker migrated it), -1
-- the hash changed since it was read (rev moved: read it again) or is gone.
local r = redis.pcall('HGET', KEYS[1], 'rev')
if type(r) == 'table' and r.err then return 0 end
if r ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
