--[[
The BullMQ priority of a new asynchronous job, so that the keys with work waiting take turns
(start-time fair queuing). The queue's head (its lowest waiting priority) is "now"; each key has
the priority of its own last job. A new job goes one step after the later of the two: a key that
submits 20 jobs behind another key's 2,000 gets priorities beside the head's, interleaved with
the big batch (ties go to the job queued first), instead of after it.

When no asynchronous job waits, every key's turn is forgotten (the hash is deleted), so numbers
start again from 1; a queue that never empties for ~2 million turns reaches BullMQ's highest
number and is served first come, first served from there until it empties.

KEYS[1]  hash of each key's last priority (contract.ts jobKeys.fairShare)
KEYS[2]  BullMQ's sorted set of prioritized jobs (score = priority * 2^32 + insertion counter)
ARGV[1]  the key id
ARGV[2]  BullMQ's highest priority number

Returns the priority, from 1 to ARGV[2].
]]
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local now = 0
if head[2] then
  now = math.floor(tonumber(head[2]) / 4294967296)
else
  redis.call('DEL', KEYS[1])
end
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local priority = math.min(math.max(now, last) + 1, tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], ARGV[1], priority)
return priority
