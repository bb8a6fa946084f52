--[[
Appends running tries' chunks, each to its own job's log, and tells live readers. A worker sends
the chunks of all its streams that arrived in one event-loop turn in one call (chunk-batch.ts), so
a chunk costs a call only when it arrives alone. Each job is fenced on its own: one job refused
does not stop the others.

KEYS[2i-1], KEYS[2i]  job i's record hash and event stream
ARGV[1]  approximate length bound of an event stream
then for each job, in KEYS order: its pub/sub channel, its fencing attempt (the record's `attempt`
must equal it), the number n of its chunks, and the n chunks' data (JSON text), in order; each is
logged as a `job.chunk` event

Returns, per job, the id of its last event, or false when the job is unknown, already ended, or
fenced off.
]]
local results = {}
local at = 2
for job = 1, #KEYS / 2 do
  local record, events = KEYS[2 * job - 1], KEYS[2 * job]
  local channel, attempt, count = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
  local first = at + 3
  at = first + count
  local state = redis.call('HMGET', record, 'status', 'attempt')
  local status = state[1]
  local id = false
  if status and status ~= 'succeeded' and status ~= 'failed' and status ~= 'cancelled' and state[2] == attempt then
    for i = first, at - 1 do
      id = redis.call('XADD', events, 'MAXLEN', '~', ARGV[1], '*', 'type', 'job.chunk', 'data', ARGV[i])
      redis.call('PUBLISH', channel, '{"id":"' .. id .. '","type":"job.chunk","data":' .. ARGV[i] .. '}')
    end
  end
  results[job] = id
end
return results
