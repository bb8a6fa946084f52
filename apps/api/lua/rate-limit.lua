--[[
  Sliding-log rate limit over two rolling windows ("minute" and "hour"), checked and consumed in
  one atomic call: a request is admitted only if BOTH windows have room, and a refused request
  writes nothing, so a burst from any number of API instances admits exactly the limit.

  One sorted set holds every admitted request of the longer window, scored by Redis server time
  in milliseconds (TIME, never a client clock, so instances with skewed clocks agree); the
  shorter window is a ZCOUNT over the same set. Exact, at the cost of one member per request
  admitted in the last hour (1000 with the default limits).

  KEYS[1]  sorted set: member "<ms>-<seq>" per admitted request, score = admission time (ms)
  KEYS[2]  string: counter making members unique when requests share a millisecond
           (both keys share a {hash tag} so the script also runs on Redis Cluster)

  ARGV[1]  minute limit (integer >= 0)
  ARGV[2]  minute window length (ms)
  ARGV[3]  hour limit (integer >= 0)
  ARGV[4]  hour window length (ms)
  ARGV[5]  "1" to consume a request when both windows have room; "0" to only look (the headers
           of answers that do not count against the limit)

  Returns {allowed (0|1), minuteCount, minuteWaitMs, hourCount, hourWaitMs}
    count   requests in that window after this call (including this one when admitted)
    waitMs  time until that window has a free slot if it is full, else until its oldest
            request leaves it (0 when it is empty)

  Both keys expire on their own: PEXPIRE to the longer window on every admission.
]]

local logKey = KEYS[1]
local seqKey = KEYS[2]
local minuteLimit = tonumber(ARGV[1])
local minuteMs = tonumber(ARGV[2])
local hourLimit = tonumber(ARGV[3])
local hourMs = tonumber(ARGV[4])
local consume = ARGV[5] == '1'
local keepMs = math.max(minuteMs, hourMs)

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- A request admitted at t is inside a window of length w while t > now - w.
redis.call('ZREMRANGEBYSCORE', logKey, '-inf', now - keepMs)

local function countIn(windowMs)
  return redis.call('ZCOUNT', logKey, '(' .. (now - windowMs), '+inf')
end

local minuteCount = countIn(minuteMs)
local hourCount = countIn(hourMs)
local allowed = 0

if minuteCount < minuteLimit and hourCount < hourLimit then
  allowed = 1
end

if allowed == 1 and consume then
  local seq = redis.call('INCR', seqKey)
  redis.call('ZADD', logKey, now, now .. '-' .. seq)
  redis.call('PEXPIRE', logKey, keepMs)
  redis.call('PEXPIRE', seqKey, keepMs)
  minuteCount = minuteCount + 1
  hourCount = hourCount + 1
end

-- When full, a slot frees once the (count - limit + 1) oldest requests have left the window.
local function waitMs(windowMs, limit, count)
  if limit <= 0 then return windowMs end
  if count == 0 then return 0 end
  local index = 0
  if count >= limit then index = count - limit end
  local entry = redis.call('ZRANGEBYSCORE', logKey, '(' .. (now - windowMs), '+inf', 'WITHSCORES', 'LIMIT', index, 1)
  return tonumber(entry[2]) + windowMs - now
end

return {
  allowed,
  minuteCount, waitMs(minuteMs, minuteLimit, minuteCount),
  hourCount, waitMs(hourMs, hourLimit, hourCount),
}
