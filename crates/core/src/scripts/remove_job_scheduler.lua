-- remove_job_scheduler: deletes job scheduler ARGV[1] and its iteration if still delayed
-- (an iteration already waiting or taken stays, as BullMQ leaves it).
-- KEYS: 1 repeat, 2 delayed, 3 events
-- ARGV: 1 scheduler id, 2 base key
-- Returns 1 when the scheduler existed, 0 when it did not.
local schedulerId, base = ARGV[1], ARGV[2]
local millis = rcall("ZSCORE", KEYS[1], schedulerId)
if millis then
  local jobId = "repeat:" .. schedulerId .. ":" .. millis
  if rcall("ZREM", KEYS[2], jobId) == 1 then
    deleteJobKeys(base .. jobId)
    rcall("XADD", KEYS[3], "*", "event", "removed", "jobId", jobId, "prev", "delayed")
  end
end
if rcall("ZREM", KEYS[1], schedulerId) == 0 then return 0 end
rcall("DEL", KEYS[1] .. ":" .. schedulerId)
return 1
