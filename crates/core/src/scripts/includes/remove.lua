-- Removal of jobs taken out of their state by an admin operation (clean, drain,
-- obliterate), prepended after common.lua and parent.lua to the scripts that need it.

-- Removes one job whose id already left its state container: parent link (a hard
-- removal, see parent.lua), deduplication id and every key of the job.
local function removeJob(baseKey, jobId)
  local jobKey = baseKey .. jobId
  unlinkFromParent(jobKey, nil, true, baseKey)
  releaseDedupKey(baseKey, jobKey, jobId)
  deleteJobKeys(jobKey)
end

-- Whether a job is its scheduler's current iteration (`repeat:<scheduler>:<ms>`), which
-- admin removals spare. `rjk` is the job's scheduler id, if any.
local function isCurrentIteration(repeatKey, jobId, rjk)
  if not rjk then return false end
  local ms = rcall("ZSCORE", repeatKey, rjk)
  return ms ~= false and jobId == "repeat:" .. rjk .. ":" .. ms
end
