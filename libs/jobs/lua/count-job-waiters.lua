--[[
Adds to the number of synchronous callers waiting on a job (coalesced requests share one job),
only while the job's record exists, so that no record without an expiry is ever created.

KEYS[1]  job record hash
ARGV[1]  delta (+1 when a caller joins, -1 when one leaves)
ARGV[2]  optional, with +1: the joining API process's notify channel, added to the record's
         `notify` list so that the job's final event reaches it (see append-job-events.lua)

Returns the new count, or false when the job is unknown, or when a caller with a channel joins a
job that has already ended (its final event was published before the channel was named).
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return false end
local channel = ARGV[2]
if channel and channel ~= '' then
  if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return false end
  local notify = redis.call('HGET', KEYS[1], 'notify') or ''
  if not string.find(' ' .. notify .. ' ', ' ' .. channel .. ' ', 1, true) then
    redis.call('HSET', KEYS[1], 'notify', notify == '' and channel or notify .. ' ' .. channel)
  end
end
return redis.call('HINCRBY', KEYS[1], 'waiters', ARGV[1])
