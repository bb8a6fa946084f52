--[[
  Leases on a key's open long-lived connections (event streams, WebSockets), taken or renewed in
  one atomic call: under any concurrency, from any number of API instances, a key with cap N holds
  at most N leases.

  A lease is a member of the key's sorted set, scored by its expiry in Redis server time (TIME,
  never a client clock). The API instance that holds it renews it well before then and removes it
  when the connection closes; a lease whose instance died is simply not renewed and frees its slot
  when it expires, so a crash never leaves a key locked out for longer than one lease length.

  KEYS[1]  sorted set: member = lease id, score = expiry (ms)

  ARGV[1]  lease id (unique per connection)
  ARGV[2]  cap (integer >= 0); a renewal passes a cap it cannot reach, so a live connection keeps its lease
  ARGV[3]  lease length (ms)

  Returns {taken (0|1), count}
    count   live leases after this call (including this one when taken)

  The set expires on its own: PEXPIRE to one lease length on every take or renewal.
]]

local key = KEYS[1]
local leaseId = ARGV[1]
local cap = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local held = redis.call('ZSCORE', key, leaseId)
local count = redis.call('ZCARD', key)
if not held and count >= cap then
  return {0, count}
end
redis.call('ZADD', key, now + leaseMs, leaseId)
redis.call('PEXPIRE', key, leaseMs)
if not held then
  count = count + 1
end
return {1, count}
