--[[
Parks a try whose key was at its cap: the caller has already moved the job to BullMQ's delayed set
(a long delay, only a safety net); here it joins the key's line of parked jobs, unless a slot freed
since its acquire failed: then the slot is reserved for it and the caller promotes it at once. Run
after the move and atomically, so a release between the failed acquire and this call is never
lost: either the releaser finds this job parked and wakes it, or this call finds the slot free.

KEYS[1]  the key's running set (concurrency-acquire.lua)
KEYS[2]  the key's parked set: queue job id -> rank (lower wakes first)
KEYS[3]  BullMQ's hash of the job (field `llmgw:parks`, read back by concurrency-acquire.lua)
ARGV[1]  the queue job id
ARGV[2]  the key's cap
ARGV[3]  lease length, ms (the reservation of a job promoted now)
ARGV[4]  "1" when the job is urgent (no BullMQ priority: a synchronous call) and goes before the key's
         asynchronous jobs, as BullMQ itself serves it; "0" otherwise
ARGV[5]  ms the parked set lives after this call (longer than a parked job's safety-net delay)

Returns 1 when the caller must promote the job now (the slot is reserved for it), else 0.
A job parked again keeps its first rank (ZADD NX): its place in line does not move back.
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
-- Each park is a BullMQ start (attemptsStarted) that the job's attempt number must not count.
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'llmgw:parks', 1)
end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  local leaseEnd = now + tonumber(ARGV[3])
  redis.call('ZADD', KEYS[1], leaseEnd, ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[1], math.max(leaseEnd, tonumber(last[2])))
  return 1
end
-- Synchronous calls rank before every asynchronous job (scores below any unix ms), each in order of parking.
local rank = now
if ARGV[4] == '1' then rank = now - 10000000000000 end
redis.call('ZADD', KEYS[2], 'NX', rank, ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 0
