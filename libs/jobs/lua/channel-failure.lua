--[[
Counts one failed try of a channel (429, 408, 5xx, connection error, first-byte timeout) and
cools the channel down when it has failed `failuresToCool` times in a row, or at once for the
time a 429's Retry-After asked. The count is reset by a success only, so once the cooldown ends
the next try is a probe (channel-probe.lua): it fails -> cooled down again at once and its lease
ends; it succeeds -> healthy (channel-success.lua).

KEYS[1]  channel hash (contract.ts channelKeys.state)
ARGV[1]  now, unix ms
ARGV[2]  failuresToCool (CHANNEL_FAILURES_TO_COOL)
ARGV[3]  cooldownMs (CHANNEL_COOLDOWN_MS)
ARGV[4]  retryAfterMs the upstream asked for, 0 when none

Returns {consecutive failures, cooling down until (unix ms, 0 = not cooling)}.
]]
local fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
redis.call('HDEL', KEYS[1], 'probe_until')
redis.call('HINCRBY', KEYS[1], 'errors', 1)
local now = tonumber(ARGV[1])
local retryAfter = tonumber(ARGV[4])
local untilMs = 0
if retryAfter > 0 then
  untilMs = now + retryAfter
elseif fails >= tonumber(ARGV[2]) then
  untilMs = now + tonumber(ARGV[3])
end
local current = tonumber(redis.call('HGET', KEYS[1], 'cool_until') or '0') or 0
if untilMs > current then
  redis.call('HSET', KEYS[1], 'cool_until', untilMs)
else
  untilMs = current > now and current or 0
end
return {fails, untilMs}
