--[[
Appends one event to a job's log, updates its record and tells live readers, atomically.

KEYS[1]  job record hash
KEYS[2]  job event stream
ARGV[1]  pub/sub channel of the job's events
ARGV[2]  event type (job.started, job.chunk, ...)
ARGV[3]  event data, a JSON text
ARGV[4]  approximate length bound of the stream
ARGV[5]  seconds the record and log live from now on; "0" leaves their expiry alone
ARGV[6]  fencing attempt: when not "", the record's `attempt` must equal it (a worker whose try
         was taken over by another after a stall must not write any more)
ARGV[7..] field, value pairs to set on the record

Returns the new event id, or false when the job is unknown, already ended, or fenced off:
exactly one terminal event is ever written, and nothing after it.
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return false end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return false end
if ARGV[6] ~= '' and redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[6] then return false end

local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'type', ARGV[2], 'data', ARGV[3])
if #ARGV >= 7 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 7))
end
if ARGV[5] ~= '0' then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
end
redis.call('PUBLISH', ARGV[1], '{"id":"' .. id .. '","type":"' .. ARGV[2] .. '","data":' .. ARGV[3] .. '}')
return id
