-- move_to_waiting_children: parks an active job in waiting-children while it has pending
-- children (or until the given child finishes), for a processor that adds children and
-- waits for them (then throws WaitingChildrenError).
-- KEYS: 1 active, 2 waiting-children, 3 stalled, 4 events
-- ARGV: 1 job key, 2 job id, 3 lock token, 4 child key ("" = any pending child),
--       5 now (ms)
-- Returns 0 when moved, 1 when nothing is pending, -1 missing job, -2 missing lock,
-- -3 not active, -6 lock mismatch, -9 a child failed the job.
local jobKey, jobId = ARGV[1], ARGV[2]
if rcall("EXISTS", jobKey) == 0 then return -1 end
if rcall("ZCARD", jobKey .. ":unsuccessful") ~= 0 then return -9 end
local pending = jobKey .. ":dependencies"
if ARGV[4] ~= "" then
  if rcall("SISMEMBER", pending, ARGV[4]) == 0 then return 1 end
elseif rcall("SCARD", pending) == 0 then
  return 1
end
local code = releaseLock(jobKey, KEYS[3], jobId, ARGV[3])
if code < 0 then return code end
if rcall("LREM", KEYS[1], -1, jobId) == 0 then return -3 end
rcall("ZADD", KEYS[2], ARGV[5], jobId)
rcall("XADD", KEYS[4], "*", "event", "waiting-children", "jobId", jobId, "prev", "active")
return 0
