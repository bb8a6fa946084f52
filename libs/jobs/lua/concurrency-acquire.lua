--[[
Takes one of a key's `max_concurrent` slots for a try that is about to start (concurrency-gate.ts).
A slot is a lease: the queue job id in the key's running set, scored by the time it runs out, so a
slot whose worker died frees itself. A job that already holds one (reserved for it when it was woken,
or its own try before a stall or a retry) renews it and goes, whatever the count.

KEYS[1]  the key's running set (contract.ts jobKeys.running): queue job id -> lease end, unix ms
KEYS[2]  the key's parked set (contract.ts jobKeys.parked): the job leaves it once it runs
KEYS[3]  BullMQ's hash of the job: its field `llmgw:parks` counts the tries it parked
ARGV[1]  the queue job id
ARGV[2]  the key's cap (max_concurrent)
ARGV[3]  lease length, ms: longer than any try may run (JOB_TIMEOUT_MS plus a margin)

Returns {1, parks} when the try may start, {0, parks} when the key is at its cap (the caller parks).
Time is Redis's own (TIME), so workers with skewed clocks agree on every lease.
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local parks = tonumber(redis.call('HGET', KEYS[3], 'llmgw:parks') or '0')
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not held and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return {0, parks}
end
local leaseEnd = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], leaseEnd, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
-- The set lives as long as its longest lease: a key nobody uses leaves nothing behind.
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.max(leaseEnd, tonumber(last[2])))
return {1, parks}
