-- Storing new jobs, shared by add_jobs.lua (one queue) and add_flow.lua (trees spanning
-- queues), prepended after common.lua and parent.lua. Each job leaves what one BullMQ
-- add script would (hash, events, list order, deduplication keys, parent links); a batch
-- shares the pushes onto each wait list and the wake-ups (see finishTarget).
--
-- A job's arguments are 13 consecutive ARGV entries from index `at`:
--   +0 id ("" = the caller picks one), +1 name, +2 data JSON, +3 stored opts JSON,
--   +4 timestamp (ms), +5 delay (ms), +6 priority, +7 lifo "1"/"0",
--   +8 deduplication id ("" = none), +9 its ttl in ms ("" = none), +10 its mode letters
--   (e extend, r replace, s reschedule, k keep last if active),
--   +11 parent key ("" = none), +12 parent JSON ({id, queueKey, fpof?, ...})
local JOB_ARGS = 13

-- A queue adds write to: its keys, its meta, and what the batch leaves for finishTarget.
local function addTarget(base, k)
  local q = {base = base, wait = k.wait, active = k.active, prioritized = k.prioritized,
    pc = k.pc, delayed = k.delayed, events = k.events, marker = k.marker, id = k.id,
    back = {}, front = {}, ready = false, hasDelayed = false, added = 0}
  q.meta = readMeta(k.meta)
  q.maxEvents = eventsLen(q.meta)
  return q
end

-- The target for the queue whose keys start with `base`.
local function addTargetAt(base)
  local function key(suffix) return base .. suffix end
  return addTarget(base, {wait = key("wait"), active = key("active"),
    prioritized = key("prioritized"), pc = key("pc"), delayed = key("delayed"),
    events = key("events"), marker = key("marker"), id = key("id"), meta = key("meta")})
end

-- Pushes the batch's ready jobs onto wait and wakes the queue's workers.
local function finishTarget(q)
  if #q.back > 0 then rcall("LPUSH", q.wait, unpack(q.back)) end
  if #q.front > 0 then rcall("RPUSH", q.wait, unpack(q.front)) end
  if q.ready and not metaPausedOrMaxed(q.meta, q.active) then markReady(q.marker) end
  if q.hasDelayed then markNextDelayed(q.marker, q.delayed) end
end

-- Whether the job at `at` names a parent that does not exist (BullMQ's -5).
local function parentMissing(at)
  local parentKey = ARGV[at + 11]
  return parentKey ~= "" and rcall("EXISTS", parentKey) == 0
end

-- The deduplication request of the job at `at`, or nil.
local function dedupRequest(q, at)
  local id = ARGV[at + 8]
  if id == "" then return nil end
  local mode = ARGV[at + 10]
  local has = function(letter) return string.find(mode, letter, 1, true) ~= nil end
  return {id = id, key = q.base .. "de:" .. id, nextKey = q.base .. "dn:" .. id,
    ttl = tonumber(ARGV[at + 9]), extend = has("e"), replace = has("r"),
    reschedule = has("s"), keepLast = has("k")}
end

-- Makes `jobId` the owner of the id: without expiry in keep-last mode or without a ttl.
local function claim(d, jobId)
  if d.ttl and not d.keepLast then
    rcall("SET", d.key, jobId, "PX", d.ttl)
  else
    rcall("SET", d.key, jobId)
  end
end

local function emitDeduplicated(q, d, jobId, droppedId)
  rcall("XADD", q.events, "MAXLEN", "~", q.maxEvents, "*", "event", "deduplicated",
    "jobId", jobId, "deduplicationId", d.id, "deduplicatedJobId", droppedId)
end

-- An owner without expiry whose job hash is gone (lost in an outage) is stale: the new
-- job takes the id over. Returns true when it did.
local function takeOverStale(q, d, owner, jobId)
  if rcall("PTTL", d.key) ~= -1 or rcall("EXISTS", q.base .. owner) == 1 then return false end
  rcall("DEL", d.key, d.nextKey)
  claim(d, jobId)
  return true
end

-- Keep-last mode with the owner active: keeps this add as the job to enqueue when the
-- owner finishes (the latest add wins). Returns true when it did.
local function keepForLater(q, d, owner, jobId, at)
  if not d.keepLast or not rcall("LPOS", q.active, owner) then return false end
  rcall("DEL", d.nextKey)
  rcall("HSET", d.nextKey, "name", ARGV[at + 1], "data", ARGV[at + 2], "opts", ARGV[at + 3],
    "jid", jobId)
  rcall("PERSIST", d.key)
  emitDeduplicated(q, d, owner, jobId)
  return true
end

-- Replace mode: a delayed owner is removed and the new job takes its place.
-- Returns true when it did.
local function replaceDelayed(q, d, owner, jobId)
  if rcall("ZREM", q.delayed, owner) == 0 then return false end
  deleteJobKeys(q.base .. owner)
  rcall("XADD", q.events, "*", "event", "removed", "jobId", owner, "prev", "delayed")
  emitDeduplicated(q, d, jobId, owner)
  rcall("DEL", d.nextKey)
  if d.ttl and not d.extend and not d.keepLast then
    rcall("SET", d.key, jobId, "KEEPTTL")
  else
    claim(d, jobId)
  end
  return true
end

-- Gives a still-delayed owner the delay of the dropped add, from that add's timestamp.
local function reschedule(q, owner, timestamp, delay)
  if not rcall("ZSCORE", q.delayed, owner) then return end
  rcall("HSET", q.base .. owner, "delay", delay)
  local due = delay > 0 and timestamp + delay or timestamp
  rcall("ZADD", q.delayed, delayedScore(q.delayed, due), owner)
  rcall("XADD", q.events, "MAXLEN", "~", q.maxEvents, "*", "event", "delayed", "jobId", owner,
    "delay", due)
  q.hasDelayed = true
end

-- Applies deduplication to the job `jobId`; returns the owner's id when the add is
-- dropped, nil when the job is to be stored.
local function deduplicate(q, d, jobId, at)
  local owner = rcall("GET", d.key)
  if not owner then
    claim(d, jobId)
    return nil
  end
  if d.replace then
    if replaceDelayed(q, d, owner, jobId) or takeOverStale(q, d, owner, jobId) then return nil end
    keepForLater(q, d, owner, jobId, at)
    return owner
  end
  if takeOverStale(q, d, owner, jobId) then return nil end
  if keepForLater(q, d, owner, jobId, at) then return owner end
  if d.extend and d.ttl then claim(d, owner) end
  emitDeduplicated(q, d, owner, jobId)
  if d.reschedule then
    reschedule(q, owner, tonumber(ARGV[at + 4]), tonumber(ARGV[at + 5]))
  end
  return owner
end

-- Links an existing job that an add names again to the add's parent, as BullMQ's
-- duplicate handling does: a completed job counts as processed for that parent
-- (released at once unless `deferRelease`, a flow's own release step), any other becomes
-- one of its pending children.
local function linkExisting(q, jobKey, jobId, at, deferRelease)
  local parentKey = ARGV[at + 11]
  if rcall("ZSCORE", q.base .. "completed", jobId) then
    rcall("HSET", parentKey .. ":processed", jobKey, rcall("HGET", jobKey, "returnvalue"))
    if not deferRelease and rcall("SCARD", parentKey .. ":dependencies") == 0 then
      releaseIfWaiting(parentKey, ARGV[at + 4])
    end
  else
    rcall("SADD", parentKey .. ":dependencies", jobKey)
  end
  rcall("HSET", jobKey, "parentKey", parentKey, "parent", ARGV[at + 12])
end

-- An add whose custom id exists already: the existing job stays as it is (`duplicated`),
-- but for its parent link. A job already linked to another existing parent cannot move:
-- -7 (with `deferRelease`, the flow's parent is marked so its release step skips it).
local function addDuplicate(q, jobKey, jobId, at, deferRelease)
  local parentKey = ARGV[at + 11]
  if parentKey ~= "" then
    local current = rcall("HGET", jobKey, "parentKey")
    if current and current ~= parentKey and rcall("EXISTS", current) == 1 then
      if deferRelease then rcall("HSET", parentKey, "flowAttachmentFailed", "1") end
      return -7
    end
    linkExisting(q, jobKey, jobId, at, deferRelease)
  end
  rcall("XADD", q.events, "MAXLEN", "~", q.maxEvents, "*", "event", "duplicated", "jobId", jobId)
  return jobId
end

-- Puts a stored job where it waits: waiting-children (`asParent`), delayed, prioritized
-- or wait (the pushes onto wait are left to finishTarget).
local function enqueueAdded(q, jobId, at, asParent)
  local delay, priority = tonumber(ARGV[at + 5]), tonumber(ARGV[at + 6])
  if asParent then
    rcall("ZADD", q.base .. "waiting-children", ARGV[at + 4], jobId)
    rcall("XADD", q.events, "MAXLEN", "~", q.maxEvents, "*", "event", "waiting-children",
      "jobId", jobId)
    return
  end
  if delay > 0 then
    local due = tonumber(ARGV[at + 4]) + delay
    rcall("ZADD", q.delayed, delayedScore(q.delayed, due), jobId)
    rcall("XADD", q.events, "MAXLEN", "~", q.maxEvents, "*", "event", "delayed", "jobId", jobId,
      "delay", due)
    q.hasDelayed = true
    return
  end
  if priority > 0 then
    rcall("ZADD", q.prioritized, priorityScore(q.pc, priority), jobId)
  elseif ARGV[at + 7] == "1" then
    q.front[#q.front + 1] = jobId
  else
    q.back[#q.back + 1] = jobId
  end
  rcall("XADD", q.events, "MAXLEN", "~", q.maxEvents, "*", "event", "waiting", "jobId", jobId)
  q.ready = true
end

-- Adds the job at `at` to `q` under `jobId` (its parent checked to exist already);
-- `asParent` adds it waiting for children. Returns the id the add answers (the job's,
-- or the one that deduplicated it) or a negative code.
local function addJob(q, at, jobId, asParent, deferRelease)
  local jobKey = q.base .. jobId
  q.added = q.added + 1
  if ARGV[at] ~= "" and rcall("EXISTS", jobKey) == 1 then
    return addDuplicate(q, jobKey, jobId, at, deferRelease)
  end
  local d = dedupRequest(q, at)
  if d then
    local owner = deduplicate(q, d, jobId, at)
    if owner then return owner end
  end
  local name, parentKey = ARGV[at + 1], ARGV[at + 11]
  rcall("HSET", jobKey, "name", name, "data", ARGV[at + 2], "opts", ARGV[at + 3],
    "timestamp", ARGV[at + 4], "delay", ARGV[at + 5], "priority", ARGV[at + 6])
  if parentKey ~= "" then rcall("HSET", jobKey, "parentKey", parentKey, "parent", ARGV[at + 12]) end
  if d then rcall("HSET", jobKey, "deid", d.id) end
  rcall("XADD", q.events, "*", "event", "added", "jobId", jobId, "name", name)
  enqueueAdded(q, jobId, at, asParent)
  if parentKey ~= "" then rcall("SADD", parentKey .. ":dependencies", jobKey) end
  return jobId
end
