--[[
Adds to the number of synchronous callers waiting on a job (coalesced requests share one job),
only while the job's record exists, so that no record without an expiry is ever created.

KEYS[1]  job record hash
ARGV[1]  delta (+1 when a caller joins, -1 when one leaves)

Returns the new count, or false when the job is unknown.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('HINCRBY', KEYS[1], 'waiters', ARGV[1])
