-- remove_job: deletes one job that no worker holds, from whichever state has it.
-- KEYS: 1 completed, 2 waiting-children, 3 delayed, 4 failed, 5 prioritized, 6 wait,
--       7 paused, 8 active, 9 events, 10 meta, 11 repeat
-- ARGV: 1 base key, 2 job id
-- Returns 1 when removed, 0 when the job is locked, -8 for a scheduler's current iteration.
local baseKey, jobId = ARGV[1], ARGV[2]
local jobKey = baseKey .. jobId
local rjk = rcall("HGET", jobKey, "rjk")
if rjk then
  local score = rcall("ZSCORE", KEYS[11], rjk)
  if score and jobId == "repeat:" .. rjk .. ":" .. score then return -8 end
end
if rcall("EXISTS", jobKey .. ":lock") == 1 then return 0 end

local states = {
  {KEYS[1], "completed", false}, {KEYS[2], "waiting-children", false},
  {KEYS[3], "delayed", false}, {KEYS[4], "failed", false}, {KEYS[5], "prioritized", false},
  {KEYS[6], "wait", true}, {KEYS[7], "paused", true}, {KEYS[8], "active", true},
}
local prev = "unknown"
for _, state in ipairs(states) do
  local removed
  if state[3] then
    removed = rcall("LREM", state[1], 1, jobId)
  else
    removed = rcall("ZREM", state[1], jobId)
  end
  if removed > 0 then
    prev = state[2]
    break
  end
end
releaseDedupKey(baseKey, jobKey, jobId)
local existed = rcall("EXISTS", jobKey)
deleteJobKeys(jobKey)
if existed == 1 then
  rcall("XADD", KEYS[9], "MAXLEN", "~", eventsMaxLen(KEYS[10]), "*", "event", "removed",
    "jobId", jobId, "prev", prev)
end
return 1
