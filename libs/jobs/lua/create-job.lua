--[[
Creates a job record with its first event (job.queued), unless a job with that id exists.

KEYS[1]  job record hash
KEYS[2]  job event stream
KEYS[3]  owner's job index (sorted set, score = creation time)
ARGV[1]  pub/sub channel of the job's events
ARGV[2]  seconds the record lives before it ends (refreshed to the retention time when it ends)
ARGV[3]  job id
ARGV[4]  creation time, unix milliseconds (index score)
ARGV[5]  seconds the owner's index lives after its newest job: the longest any of its records can live
ARGV[6]  index entries scored below this (unix ms) belong to records that have expired; they are removed
ARGV[7..] field, value pairs of the record

Returns {1, event id} when created, or {0, status} of the existing job (coalescing and
idempotent submits join it).
]]
local status = redis.call('HGET', KEYS[1], 'status')
if status then return {0, status} end

redis.call('HSET', KEYS[1], unpack(ARGV, 7))
local id = redis.call('XADD', KEYS[2], '*', 'type', 'job.queued', 'data', '{}')
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
-- The index would otherwise grow with every job a busy key ever made.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('PUBLISH', ARGV[1], '{"id":"' .. id .. '","type":"job.queued","data":{}}')
return {1, id}
