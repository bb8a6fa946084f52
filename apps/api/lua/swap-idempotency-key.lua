--[[
Replaces or deletes an Idempotency-Key reservation only if it still holds what the caller read,
so two submits that both found a dead reservation cannot both take it over.

KEYS[1]  the reservation (string)
ARGV[1]  the value the caller read
ARGV[2]  the new value, or "" to delete the reservation
ARGV[3]  seconds the new value lives

Returns 1 when swapped, 0 when the reservation had changed.
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return 1
