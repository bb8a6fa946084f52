--[[
Appends a running try's chunks to its job's log and tells live readers: the common case of
append-job-events.lua (a chunk of every stream passes here), with only what it needs, so each
chunk's command carries two keys instead of six and the record is read for two fields.

KEYS[1]  job record hash
KEYS[2]  job event stream
ARGV[1]  pub/sub channel of the job's events
ARGV[2]  approximate length bound of the event stream
ARGV[3]  fencing attempt: the record's `attempt` must equal it
ARGV[4 ..]  each chunk's data (JSON text), in order; logged as `job.chunk` events

Returns the id of the last event, or false when the job is unknown, already ended, or fenced off.
]]
local state = redis.call('HMGET', KEYS[1], 'status', 'attempt')
local status = state[1]
if not status then return false end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return false end
if state[2] ~= ARGV[3] then return false end

local id
for i = 4, #ARGV do
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'type', 'job.chunk', 'data', ARGV[i])
  redis.call('PUBLISH', ARGV[1], '{"id":"' .. id .. '","type":"job.chunk","data":' .. ARGV[i] .. '}')
end
return id
