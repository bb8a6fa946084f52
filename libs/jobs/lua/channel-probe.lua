--[[
Lets exactly one try probe a channel whose cooldown has ended (half-open): the first caller takes
a lease and may send its try there; every other caller keeps away until the probe's success
clears the cooldown (channel-success.lua), its failure cools the channel again
(channel-failure.lua), or the lease runs out (a prober that crashed).

KEYS[1]  channel hash (contract.ts channelKeys.state)
ARGV[1]  now, unix ms
ARGV[2]  leaseMs: how long the probe keeps the channel to itself

Returns 1 when the caller may use the channel now (healthy, or its probe is this caller's), else 0.
]]
if redis.call('HEXISTS', KEYS[1], 'disabled') == 1 then return 0 end
local now = tonumber(ARGV[1])
local coolUntil = tonumber(redis.call('HGET', KEYS[1], 'cool_until') or '0') or 0
if coolUntil == 0 then return 1 end
if coolUntil > now then return 0 end
local probeUntil = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0') or 0
if probeUntil > now then return 0 end
redis.call('HSET', KEYS[1], 'probe_until', now + tonumber(ARGV[2]))
return 1
