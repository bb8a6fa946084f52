--[[
Counts one successful try of a channel: no failures in a row any more and, when its cooldown had
ended (this was the probe, or a try that began before it cooled), healthy again. A try that
began before the channel cooled and ends while it is still cooling does not cut the cooldown short.

KEYS[1]  channel hash (contract.ts channelKeys.state)
ARGV[1]  now, unix ms
ARGV[2]  the try's latency, ms
]]
redis.call('HSET', KEYS[1], 'fails', 0)
redis.call('HINCRBY', KEYS[1], 'requests', 1)
redis.call('HINCRBY', KEYS[1], 'latency_ms', ARGV[2])
local coolUntil = tonumber(redis.call('HGET', KEYS[1], 'cool_until') or '0') or 0
if coolUntil <= tonumber(ARGV[1]) then redis.call('HDEL', KEYS[1], 'cool_until', 'probe_until') end
return 1
