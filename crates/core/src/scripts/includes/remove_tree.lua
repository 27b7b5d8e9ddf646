-- Removal of a job with its descendants (BullMQ's `remove` with `removeChildren`, and
-- `removeUnprocessedChildren`), prepended after common.lua and parent.lua. Children may
-- live in other queues: every key is built from the job's own key.

-- Takes a job out of whichever state holds it, checking them in BullMQ's order; returns
-- the state's name, or "unknown".
local function leaveState(base, jobId)
  for _, state in ipairs({"completed", "waiting-children", "delayed", "failed", "prioritized"}) do
    if rcall("ZREM", base .. state, jobId) == 1 then return state end
  end
  for _, state in ipairs({"wait", "paused", "active"}) do
    if rcall("LREM", base .. state, 1, jobId) == 1 then return state end
  end
  return "unknown"
end

-- Whether the job, or with `withChildren` any of its pending descendants, is locked.
local function isTreeLocked(jobKey, withChildren)
  if rcall("EXISTS", jobKey .. ":lock") == 1 then return true end
  if not withChildren then return false end
  for _, childKey in ipairs(rcall("SMEMBERS", jobKey .. ":dependencies")) do
    if isTreeLocked(childKey, true) then return true end
  end
  return false
end

local removeTree

-- Removes the children of `jobKey`, depth first: those that finished (processed, ignored
-- failures, failures), then the pending ones; only the pending ones with `pendingOnly`.
local function removeChildren(jobKey, how)
  if not how.pendingOnly then
    local processed = rcall("HGETALL", jobKey .. ":processed")
    for i = 1, #processed, 2 do removeTree(processed[i], jobKey, how) end
    local ignored = rcall("HGETALL", jobKey .. ":failed")
    for i = 1, #ignored, 2 do removeTree(ignored[i], jobKey, how) end
    for _, childKey in ipairs(rcall("ZRANGE", jobKey .. ":unsuccessful", 0, -1)) do
      removeTree(childKey, jobKey, how)
    end
  end
  for _, childKey in ipairs(rcall("SMEMBERS", jobKey .. ":dependencies")) do
    removeTree(childKey, jobKey, how)
  end
end

-- Removes the job at `jobKey` (a child of `parentKey`, nil for the job asked for): its
-- parent link, with `how.withChildren` its descendants, its state, deduplication id and
-- keys, emitting `removed` on its queue's stream when it existed. `how.skipLocked`
-- spares locked jobs; `how.pendingOnly` spares failed ones too.
removeTree = function(jobKey, parentKey, how)
  local jobId, base = splitJobKey(jobKey)
  if how.skipLocked and rcall("EXISTS", jobKey .. ":lock") == 1 then return end
  if how.pendingOnly and rcall("ZSCORE", base .. "failed", jobId) then return end
  unlinkFromParent(jobKey, parentKey, false, base)
  if how.withChildren then removeChildren(jobKey, how) end
  local prev = leaveState(base, jobId)
  releaseDedupKey(base, jobKey, jobId)
  if deleteJobKeys(jobKey) > 0 then
    rcall("XADD", base .. "events", "MAXLEN", "~", eventsMaxLen(base .. "meta"), "*",
      "event", "removed", "jobId", jobId, "prev", prev)
  end
end
