-- Removal of jobs taken out of their state by an admin operation (clean), prepended after
-- common.lua to the scripts that need it.

-- Drops a removed job from its parent's pending children. When that was the last one and
-- the parent waits for children, the parent goes too: removed with its keys when it lives
-- in this queue (and so on up the tree), released to the front of its own queue's wait
-- list (no event) when it lives in another one.
local function unlinkFromParent(jobKey, baseKey)
  local parentKey = rcall("HGET", jobKey, "parentKey")
  if not parentKey or parentKey == "" or rcall("EXISTS", parentKey) == 0 then return end
  local pending = parentKey .. ":dependencies"
  if rcall("SREM", pending, jobKey) == 0 or rcall("SCARD", pending) > 0 then return end
  local parentId = string.match(parentKey, ".*:(.*)")
  local parentBase = string.sub(parentKey, 1, #parentKey - #parentId)
  if rcall("ZREM", parentBase .. "waiting-children", parentId) == 0 then return end
  if parentBase == baseKey then
    unlinkFromParent(parentKey, baseKey)
    deleteJobKeys(parentKey)
    return
  end
  rcall("RPUSH", parentBase .. "wait", parentId)
  if not isPausedOrMaxed(parentBase .. "meta", parentBase .. "active") then
    markReady(parentBase .. "marker")
  end
end

-- Removes one job whose id already left its state container: parent link, deduplication
-- id and every key of the job.
local function removeJob(baseKey, jobId)
  local jobKey = baseKey .. jobId
  unlinkFromParent(jobKey, baseKey)
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
