-- Shared helpers, prepended to every script by scripts.rs.
-- Nothing here runs on its own; each script's header names its keys and arguments.

local rcall = redis.call
-- Numbers handed to redis.call are formatted with printf on every call; hot paths pass
-- the text they were given (ARGV) instead wherever the value is unchanged.
local PRIORITY_SHIFT = 4294967296

-- The MAXLEN of the events stream, writing the default into meta when it is missing.
local function eventsMaxLen(metaKey)
  local len = rcall("HGET", metaKey, "opts.maxLenEvents")
  if len then return tonumber(len) end
  rcall("HSET", metaKey, "opts.maxLenEvents", 10000)
  return 10000
end

-- The meta fields the hot scripts need, read in one call: paused, concurrency, max,
-- duration and the events MAXLEN (see eventsLen).
local function readMeta(metaKey)
  local m = rcall("HMGET", metaKey, "paused", "concurrency", "max", "duration", "opts.maxLenEvents")
  return {key = metaKey, paused = m[1], concurrency = tonumber(m[2]), max = tonumber(m[3]),
    duration = tonumber(m[4]), maxLenEvents = m[5]}
end

-- The events MAXLEN from readMeta's result, as text, writing the default into meta when
-- missing (only once something is about to be emitted, as BullMQ does).
local function eventsLen(meta)
  if not meta.maxLenEvents then
    meta.maxLenEvents = "10000"
    rcall("HSET", meta.key, "opts.maxLenEvents", "10000")
  end
  return meta.maxLenEvents
end

-- True when meta says paused, or the global concurrency is used up.
local function metaPausedOrMaxed(meta, activeKey)
  if meta.paused then return true end
  return meta.concurrency ~= nil and rcall("LLEN", activeKey) >= meta.concurrency
end

-- True when the queue is paused, or its global concurrency is used up.
local function isPausedOrMaxed(metaKey, activeKey)
  local meta = rcall("HMGET", metaKey, "paused", "concurrency")
  if meta[1] then return true end
  if meta[2] then
    return rcall("LLEN", activeKey) >= tonumber(meta[2])
  end
  return false
end

-- Wakes blocked workers: "0" means a job is ready now.
local function markReady(markerKey)
  rcall("ZADD", markerKey, "0", "0")
end

-- Points marker "1" at the earliest due time of the delayed set, if any.
local function markNextDelayed(markerKey, delayedKey)
  local first = rcall("ZRANGE", delayedKey, 0, 0, "WITHSCORES")
  if first[2] then
    rcall("ZADD", markerKey, tonumber(first[2]) / 4096, "1")
  end
end

-- The delayed-set score for a job due at `due` ms: after every job already due then.
local function delayedScore(delayedKey, due)
  local low = due * 4096
  local high = low + 4095
  local last = rcall("ZREVRANGEBYSCORE", delayedKey, high, low, "WITHSCORES", "LIMIT", 0, 1)
  if last[2] then
    return math.min(tonumber(last[2]) + 1, high)
  end
  return low
end

-- The prioritized-set score: priority first, then arrival order through the counter.
local function priorityScore(pcKey, priority)
  return priority * PRIORITY_SHIFT + (rcall("INCR", pcKey) % PRIORITY_SHIFT)
end

-- Puts a ready job where workers take it: `wait` (back, or front with lifo) or `prioritized`.
local function enqueueReady(waitKey, prioritizedKey, pcKey, jobId, priority, lifo)
  if priority > 0 then
    rcall("ZADD", prioritizedKey, priorityScore(pcKey, priority), jobId)
  elseif lifo then
    rcall("RPUSH", waitKey, jobId)
  else
    rcall("LPUSH", waitKey, jobId)
  end
end

-- Moves up to 1000 due delayed jobs to wait or prioritized; returns how many moved.
local function promoteDueJobs(baseKey, waitKey, prioritizedKey, pcKey, delayedKey, eventsKey, now)
  local due = rcall("ZRANGEBYSCORE", delayedKey, 0, (now + 1) * 4096 - 1, "LIMIT", 0, 1000)
  for _, jobId in ipairs(due) do
    rcall("ZREM", delayedKey, jobId)
    local jobKey = baseKey .. jobId
    local priority = tonumber(rcall("HGET", jobKey, "priority")) or 0
    enqueueReady(waitKey, prioritizedKey, pcKey, jobId, priority, false)
    rcall("XADD", eventsKey, "*", "event", "waiting", "jobId", jobId, "prev", "delayed")
    rcall("HSET", jobKey, "delay", 0)
  end
  return #due
end

-- Deletes a job's hash and every key hanging off it (the lock is left to expire);
-- returns how many keys existed.
local function deleteJobKeys(jobKey)
  return rcall("DEL", jobKey, jobKey .. ":logs", jobKey .. ":dependencies",
    jobKey .. ":processed", jobKey .. ":failed", jobKey .. ":unsuccessful")
end

-- Releases the deduplication id a removed or finished job owns.
local function releaseDedupKey(baseKey, jobKey, jobId)
  local deid = rcall("HGET", jobKey, "deid")
  if not deid then return end
  local deKey = baseKey .. "de:" .. deid
  if rcall("GET", deKey) == jobId then
    rcall("DEL", deKey, baseKey .. "dn:" .. deid)
  end
end

-- Once the job owning deduplication id `deid` has finished, stores and enqueues the add a
-- keep-last deduplication kept for later (hash `dn:<deid>`), as its own add would have:
-- it becomes the id's new owner. `k` names the keys: wait, active, prioritized, pc,
-- delayed, events, marker; `meta` is readMeta's result.
local function enqueueKeptDuplicate(baseKey, deid, nowText, meta, k)
  local keptKey = baseKey .. "dn:" .. deid
  local kept = rcall("HMGET", keptKey, "name", "data", "opts", "jid")
  if not kept[1] then return end
  local counter = rcall("INCR", baseKey .. "id")
  local jobId = kept[4] or tostring(counter)
  local opts = cjson.decode(kept[3])
  local de = type(opts["de"]) == "table" and opts["de"] or {}
  local ttl = tonumber(de["ttl"])
  if ttl and ttl > 0 and not de["keepLastIfActive"] then
    rcall("SET", baseKey .. "de:" .. deid, jobId, "PX", ttl)
  else
    rcall("SET", baseKey .. "de:" .. deid, jobId)
  end
  local delay, priority = tonumber(opts["delay"]) or 0, tonumber(opts["priority"]) or 0
  local jobKey = baseKey .. jobId
  rcall("HSET", jobKey, "name", kept[1], "data", kept[2], "opts", kept[3], "timestamp", nowText,
    "delay", delay, "priority", priority)
  if de["id"] then rcall("HSET", jobKey, "deid", de["id"]) end
  rcall("XADD", k.events, "*", "event", "added", "jobId", jobId, "name", kept[1])
  if delay ~= 0 then
    local due = tonumber(nowText) + delay
    rcall("ZADD", k.delayed, delayedScore(k.delayed, due), jobId)
    rcall("XADD", k.events, "MAXLEN", "~", eventsLen(meta), "*", "event", "delayed",
      "jobId", jobId, "delay", due)
    markNextDelayed(k.marker, k.delayed)
  else
    enqueueReady(k.wait, k.prioritized, k.pc, jobId, priority, opts["lifo"])
    if not metaPausedOrMaxed(meta, k.active) then markReady(k.marker) end
    rcall("XADD", k.events, "MAXLEN", "~", eventsLen(meta), "*", "event", "waiting",
      "jobId", jobId)
  end
  rcall("DEL", keptKey)
end

-- Checks and drops the lock of a job leaving active; returns 0, or -2 (missing) / -6 (mismatch).
local function releaseLock(jobKey, stalledKey, jobId, token)
  if token == "0" then return 0 end
  local lockKey = jobKey .. ":lock"
  local owner = rcall("GET", lockKey)
  if owner == token then
    rcall("DEL", lockKey)
    rcall("SREM", stalledKey, jobId)
    return 0
  end
  if owner then return -6 end
  return -2
end
