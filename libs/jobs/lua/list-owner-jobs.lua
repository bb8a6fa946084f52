--[[
One page of an owner's job ids, newest first, after a cursor job.

Paging by rank rather than by score: many jobs share a creation millisecond, and a score cursor
would skip the rest of them. Rank and range are read in one script so a job created in between
cannot shift the page.

KEYS[1]  owner's job index (sorted set, score = creation time)
ARGV[1]  cursor job id, or "" for the newest page
ARGV[2]  most ids to return

Returns the ids; empty when the cursor is not in the index.
]]
local start = 0
if ARGV[1] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[1])
  if not rank then return {} end
  start = rank + 1
end
return redis.call('ZREVRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
