--[[
Appends events to a job's log, updates its record, tells live readers and, when the job ends,
records its usage: all atomically.

KEYS[1]  job record hash
KEYS[2]  job event stream
KEYS[3]  usage stream (written only when ARGV[5] is not "")
KEYS[4]  webhook outbox (sorted set): a job with a webhook is added when it ends
KEYS[5]  budget alert outbox (sorted set) and KEYS[6] budget alerts (hash: id -> JSON)
ARGV[1]  pub/sub channel of the job's events
ARGV[2]  approximate length bound of the event stream
ARGV[3]  seconds the record and log live from now on; "0" leaves their expiry alone
ARGV[4]  fencing attempt: when not "", the record's `attempt` must equal it (a worker whose try
         was taken over by another after a stall must not write any more)
ARGV[5]  usage entry (JSON) to add to the usage stream, or ""
ARGV[6]  spending (JSON, spending.ts) to add with the usage entry, or "": {tokens, counters: [{key,
         ttl, budget, alert}]}. The counters' names travel here rather than in KEYS because how many
         there are varies (a key's, and its user's); they live in the same deployment's Redis.
ARGV[7]  number N of events
ARGV[8 .. 7+2N]  event type, event data (JSON text) pairs, in order
ARGV[8+2N ..]    field, value pairs to set on the record

When the job ends, its final event also goes to each API process named in the record's `notify`
field (space-separated channels), as `<job id> <event>`: the processes whose callers wait for it.
A job with a webhook enters the webhook outbox in the same call, so that a process dying before it
queues the delivery loses nothing (libs/jobs/src/webhook-outbox.ts).

Returns the id of the last event, or false when the job is unknown, already ended, or fenced
off: exactly one terminal event is ever written, nothing after it, and usage and spending once
with it. A counter that crosses 80% or 100% of its budget raises one alert per threshold and period
(a marker key says it was raised), put in the budget alert outbox for a worker to deliver.
Batching the chunks that arrive together keeps one log entry (and one message) per chunk while
paying one round trip for all of them.
]]
local state = redis.call('HMGET', KEYS[1], 'status', 'attempt', 'notify', 'id', 'webhook')
local status = state[1]
if not status then return false end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return false end
if ARGV[4] ~= '' and state[2] ~= ARGV[4] then return false end

local count = tonumber(ARGV[7])
local id, message
for i = 0, count - 1 do
  local eventType = ARGV[8 + 2 * i]
  local data = ARGV[9 + 2 * i]
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'type', eventType, 'data', data)
  message = '{"id":"' .. id .. '","type":"' .. eventType .. '","data":' .. data .. '}'
  redis.call('PUBLISH', ARGV[1], message)
end
-- Only a final event comes with a retention time (ARGV[3]).
if ARGV[3] ~= '0' then
  if state[3] then
    for channel in string.gmatch(state[3], '%S+') do
      redis.call('PUBLISH', channel, state[4] .. ' ' .. message)
    end
  end
  if state[5] then
    local now = redis.call('TIME')
    redis.call('ZADD', KEYS[4], now[1] * 1000 + math.floor(now[2] / 1000), state[4])
  end
end
local fields = 8 + 2 * count
if #ARGV >= fields then
  redis.call('HSET', KEYS[1], unpack(ARGV, fields))
end
if ARGV[3] ~= '0' then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
if ARGV[5] ~= '' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', '1000000', '*', 'entry', ARGV[5])
end
if ARGV[6] ~= '' then
  local spend = cjson.decode(ARGV[6])
  for _, counter in ipairs(spend.counters) do
    local after = redis.call('INCRBY', counter.key, spend.tokens)
    -- Set once, by the period's first request: the counter only has to outlive its period.
    if after == spend.tokens then redis.call('EXPIRE', counter.key, counter.ttl) end
    if counter.budget > 0 then
      local before = after - spend.tokens
      for _, percent in ipairs({ 80, 100 }) do
        local mark = math.ceil(counter.budget * percent / 100)
        if before < mark and after >= mark and redis.call('SET', counter.key .. ':alert:' .. percent, '1', 'NX', 'EX', counter.ttl) then
          local now = redis.call('TIME')
          local alert = counter.alert
          alert.id = 'budget_' .. alert.scope .. '_' .. (alert.key_id or alert.user_id) .. '_' .. alert.period_start .. '_' .. percent
          alert.type = 'budget.threshold_reached'
          alert.threshold_percent = percent
          alert.budget_tokens = counter.budget
          alert.spent_tokens = after
          alert.created_at = tonumber(now[1])
          redis.call('HSET', KEYS[6], alert.id, cjson.encode(alert))
          redis.call('ZADD', KEYS[5], now[1] * 1000 + math.floor(now[2] / 1000), alert.id)
        end
      end
    end
  end
end
return id
