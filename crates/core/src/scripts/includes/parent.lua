-- Flow bookkeeping between a child and its parent, prepended after common.lua to the
-- scripts that finish, retry or remove jobs. A parent is known by its full job key
-- (`<prefix>:<queue>:<id>`), so it may live in another queue, under another prefix.
-- A parent's pending children are the set `<parentKey>:dependencies`; completed ones
-- move to the hash `:processed` (child key -> return value), failures the parent
-- ignores to `:failed` (child key -> reason), failures that fail it to the sorted set
-- `:unsuccessful`.

-- The id and the base key (`<prefix>:<queue>:`) of the job at `jobKey`: the id is the
-- text after the last colon.
local function splitJobKey(jobKey)
  local jobId = string.match(jobKey, ".*:(.*)")
  return jobId, string.sub(jobKey, 1, #jobKey - #jobId)
end

-- Wakes the workers of the queue at `base` unless it is paused or its global
-- concurrency is used up.
local function markReadyUnlessHeld(base)
  if not isPausedOrMaxed(base .. "meta", base .. "active") then markReady(base .. "marker") end
end

-- Sends a parent whose wait for children is over on its way: to delayed when it has a
-- delay (due now + delay), else to prioritized or the front of wait; the event goes to
-- the parent's own stream.
local function releaseParent(parentKey, parentId, parentBase, nowText)
  local attrs = rcall("HMGET", parentKey, "priority", "delay")
  local priority, delay = tonumber(attrs[1]) or 0, tonumber(attrs[2]) or 0
  local events = parentBase .. "events"
  if delay > 0 then
    local due = tonumber(nowText) + delay
    rcall("ZADD", parentBase .. "delayed", due * 4096, parentId)
    rcall("XADD", events, "*", "event", "delayed", "jobId", parentId, "delay", due)
    markNextDelayed(parentBase .. "marker", parentBase .. "delayed")
    return
  end
  if priority > 0 then
    rcall("ZADD", parentBase .. "prioritized", priorityScore(parentBase .. "pc", priority), parentId)
  else
    rcall("RPUSH", parentBase .. "wait", parentId)
  end
  markReadyUnlessHeld(parentBase)
  rcall("XADD", events, "*", "event", "waiting", "jobId", parentId, "prev", "waiting-children")
end

-- Releases the parent at `parentKey` if it still exists and waits for children.
local function releaseIfWaiting(parentKey, nowText)
  if rcall("EXISTS", parentKey) == 0 then return end
  local parentId, parentBase = splitJobKey(parentKey)
  if rcall("ZREM", parentBase .. "waiting-children", parentId) == 0 then return end
  releaseParent(parentKey, parentId, parentBase, nowText)
end

-- A child completed: its return value is recorded with the parent, and the parent is
-- released when no children are pending any more.
local function childCompleted(childKey, parentKey, returnvalue, nowText)
  local pending = parentKey .. ":dependencies"
  if rcall("SREM", pending, childKey) == 0 then return end
  rcall("HSET", parentKey .. ":processed", childKey, returnvalue)
  if rcall("SCARD", pending) == 0 then releaseIfWaiting(parentKey, nowText) end
end

-- A child failed with failParentOnFailure: the parent gets a deferred failure, and one
-- that waits (for children, or its delay) is released so the next worker fails it.
local function deferParentFailure(parentKey, childKey, nowText)
  if rcall("EXISTS", parentKey) == 0 then return end
  local parentId, parentBase = splitJobKey(parentKey)
  local reason = "child " .. childKey .. " failed"
  local waiting = rcall("ZREM", parentBase .. "waiting-children", parentId) == 1
  if not waiting and rcall("ZREM", parentBase .. "delayed", parentId) == 1 then
    rcall("HSET", parentKey, "delay", 0)
    waiting = true
  end
  if waiting then
    rcall("HSET", parentKey, "defa", reason)
    releaseParent(parentKey, parentId, parentBase, nowText)
  elseif not rcall("ZSCORE", parentBase .. "failed", parentId) then
    rcall("HSET", parentKey, "defa", reason)
  end
end

-- A child failed for good; what its parent makes of it follows the flag in the child's
-- `parent` JSON: fpof fails the parent, cpof releases it at once, idof and rdof drop the
-- child (idof keeping the reason); without a flag the parent keeps waiting for it.
local function childFailed(childKey, parentJson, reason, nowText)
  if not parentJson then return end
  local parent = cjson.decode(parentJson)
  if not (parent.fpof or parent.cpof or parent.idof or parent.rdof) then return end
  local parentKey = parent.queueKey .. ":" .. parent.id
  local pending = parentKey .. ":dependencies"
  if rcall("SREM", pending, childKey) == 0 then return end
  if parent.fpof then
    rcall("ZADD", parentKey .. ":unsuccessful", nowText, childKey)
    deferParentFailure(parentKey, childKey, nowText)
  elseif parent.cpof then
    rcall("HSET", parentKey .. ":failed", childKey, reason)
    releaseIfWaiting(parentKey, nowText)
  else
    if rcall("SCARD", pending) == 0 then releaseIfWaiting(parentKey, nowText) end
    if parent.idof then rcall("HSET", parentKey .. ":failed", childKey, reason) end
  end
end

local unlinkFromParent

-- After the last pending child of `parentKey` went away without finishing: a parent
-- waiting for children goes to the front of its wait, ignoring its delay and priority,
-- and says so on its stream. A `hard` removal (clean, drain, obliterate) deletes a
-- parent of the queue at `baseKey` instead, and so on up the tree (with the removed
-- child's deduplication id `childDeid`, as BullMQ does), and releases a parent of
-- another queue silently.
local function lastChildGone(parentKey, hard, baseKey, childDeid)
  local parentId, parentBase = splitJobKey(parentKey)
  if rcall("ZREM", parentBase .. "waiting-children", parentId) == 0 then return end
  if hard and parentBase == baseKey then
    unlinkFromParent(parentKey, nil, true, baseKey)
    deleteJobKeys(parentKey)
    if childDeid then rcall("DEL", parentBase .. "de:" .. childDeid) end
    return
  end
  rcall("RPUSH", parentBase .. "wait", parentId)
  markReadyUnlessHeld(parentBase)
  if not hard then
    rcall("XADD", parentBase .. "events", "*", "event", "waiting", "jobId", parentId,
      "prev", "waiting-children")
  end
end

-- Drops a job that goes away from its parent's pending children; see lastChildGone for
-- what happens to the parent. `parentKey` nil means the job's own (read from its hash,
-- and only while that parent exists). Returns whether the job was pending there.
unlinkFromParent = function(jobKey, parentKey, hard, baseKey)
  local deid
  if not parentKey then
    local f = rcall("HMGET", jobKey, "parentKey", "deid")
    if not f[1] or f[1] == "" or rcall("EXISTS", f[1]) == 0 then return false end
    parentKey, deid = f[1], f[2] or nil
  end
  local pending = parentKey .. ":dependencies"
  if rcall("SREM", pending, jobKey) == 0 then return false end
  if rcall("SCARD", pending) == 0 then lastChildGone(parentKey, hard, baseKey, deid) end
  return true
end

-- A finished child that runs again is pending for its parent again (a parent that has
-- left waiting-children stays where it is). `fromState` is completed or failed.
local function rejoinParent(jobKey, fromState)
  local parentKey = rcall("HGET", jobKey, "parentKey")
  if not parentKey or rcall("EXISTS", parentKey) == 0 then return end
  local settled
  if fromState == "failed" then
    settled = rcall("ZREM", parentKey .. ":unsuccessful", jobKey) == 1
      or rcall("HDEL", parentKey .. ":failed", jobKey) == 1
  else
    settled = rcall("HDEL", parentKey .. ":processed", jobKey) == 1
  end
  if settled then rcall("SADD", parentKey .. ":dependencies", jobKey) end
end
