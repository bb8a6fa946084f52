--[[
Takes the budget alerts that are due from the outbox for one sender: each taken alert's score
moves `lease` ms ahead, so other workers' senders skip it while this one POSTs it. The sender
removes a delivered alert (HDEL + ZREM); one it could not deliver comes due again after the lease.

KEYS[1]  budget alert outbox (sorted set: alert id -> unix ms when due)
KEYS[2]  budget alerts (hash: alert id -> JSON)
ARGV[1]  now (unix ms)
ARGV[2]  lease (ms)
ARGV[3]  most alerts to take

Returns a flat list: id, JSON, id, JSON…
]]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local taken = {}
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    taken[#taken + 1] = id
    taken[#taken + 1] = body
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return taken
