--[[
Disables a channel until an admin enables it again: its key was refused (401/403), it is out of
credit (402, insufficient_quota), or an admin disabled it. Only the first disabling is recorded,
so among workers racing on the same refusal exactly one logs and alerts.

KEYS[1]  channel hash (contract.ts channelKeys.state)
ARGV[1]  reason, e.g. `key_refused`, `no_credit`, `admin`
ARGV[2]  now, unix ms

Returns 1 when this call disabled the channel, 0 when it already was.
]]
if redis.call('HSETNX', KEYS[1], 'disabled', ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'disabled_at', ARGV[2])
return 1
