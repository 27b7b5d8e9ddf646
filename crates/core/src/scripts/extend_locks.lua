-- extend_locks: renews the locks a worker holds, in one call.
-- KEYS: 1 stalled
-- ARGV: 1 base key, 2 lock duration (ms), then pairs of job id and lock token
-- Returns the ids whose lock is gone or owned by another token.
local lost = {}
for i = 3, #ARGV, 2 do
  local jobId, token = ARGV[i], ARGV[i + 1]
  local lockKey = ARGV[1] .. jobId .. ":lock"
  if rcall("GET", lockKey) == token then
    rcall("SET", lockKey, token, "PX", ARGV[2])
    rcall("SREM", KEYS[1], jobId)
  else
    lost[#lost + 1] = jobId
  end
end
return lost
