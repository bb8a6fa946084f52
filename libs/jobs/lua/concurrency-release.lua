--[[
Gives back a try's slot and wakes the parked jobs that may now run: each is popped from the line
in rank order, skipped unless it still waits in BullMQ's delayed set (a cancelled job was removed,
a job its safety-net delay already woke has left), and gets a slot reserved in its name; the
caller promotes the ids returned. A reserved job that is never promoted (its caller died) still
finds its reservation when its own delay wakes it.

The slot is given back only when nobody else runs the job now: a try taken over after a stall
must not drop the lease of the try that took over. BullMQ's lock of the job says who runs it.

KEYS[1]  the key's running set (concurrency-acquire.lua)
KEYS[2]  the key's parked set (concurrency-park.lua)
KEYS[3]  BullMQ's delayed set of the queue
KEYS[4]  BullMQ's lock of the job (`<job key>:lock`: the running try's token), absent when nobody runs it
ARGV[1]  the queue job id
ARGV[2]  the releasing try's BullMQ token, "" when the caller runs no try (a cancel, a stalled job given up)
ARGV[3]  lease length, ms (the reservation of each woken job)
ARGV[4]  the key's cap, or "" when the caller does not know it: then one job is woken, and only
         when this call freed a slot

Returns the queue job ids to promote (possibly none).
]]
local holder = redis.call('GET', KEYS[4])
if holder and holder ~= ARGV[2] then return {} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local freed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = freed
if ARGV[4] ~= '' then free = tonumber(ARGV[4]) - redis.call('ZCARD', KEYS[1]) end
local woken = {}
local leaseEnd = now + tonumber(ARGV[3])
while free > 0 do
  local head = redis.call('ZPOPMIN', KEYS[2])
  if #head == 0 then break end
  if redis.call('ZSCORE', KEYS[3], head[1]) then
    redis.call('ZADD', KEYS[1], leaseEnd, head[1])
    woken[#woken + 1] = head[1]
    free = free - 1
  end
end
if #woken > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[1], math.max(leaseEnd, tonumber(last[2])))
end
return woken
