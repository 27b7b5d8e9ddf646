-- finish_jobs: settles a batch of attempts that left a worker's hands, then fetches more.
-- Each outcome is one of: completed, failed (final), retry (back to wait now),
-- delay (back to delayed for a backoff).
-- KEYS: 1 wait, 2 active, 3 prioritized, 4 pc, 5 delayed, 6 events, 7 meta, 8 marker,
--       9 stalled, 10 limiter, 11 completed, 12 failed
-- ARGV: 1 base key, 2 now (ms), 3 lock token for fetched jobs, 4 lock duration (ms),
--       5 how many jobs to fetch afterwards (0 = none), 6 worker limiter max ("" = none),
--       7 worker limiter duration ("" = none), 8 worker name ("" = none),
--       9 number of outcomes, then 11 arguments per outcome:
--         jobId, lock token, kind, value (returnvalue JSON or failedReason),
--         stacktrace JSON ("" = leave), keep count (-1 = all), keep age s ("" = none),
--         keep limit ("" = 1000), attempts, delay ms (delay kind), lifo "1"/"0" (retry kind)
-- Returns {codes, jobs, rateLimitTtl, nextDelayedDue}: codes[i] is 0 for a settled outcome
-- or BullMQ's negative code (-1 missing job, -2 missing lock, -3 not active,
-- -4 pending dependencies, -6 lock mismatch, -9 failed children).
local baseKey = ARGV[1]
local now = tonumber(ARGV[2])
local count = tonumber(ARGV[9])
local codes = {}
local finished = false
local readyMoved = false
local delayedMoved = false
local maxEvents

local function keepOnly(setKey, keepCount, keepAge, keepLimit)
  if keepAge then
    local old = rcall("ZRANGEBYSCORE", setKey, 0, now - keepAge * 1000, "LIMIT", 0, keepLimit)
    for _, id in ipairs(old) do
      deleteJobKeys(baseKey .. id)
      rcall("ZREM", setKey, id)
    end
  end
  if keepCount > 0 then
    local extra = rcall("ZRANGE", setKey, 0, -(keepCount + 1))
    for _, id in ipairs(extra) do
      deleteJobKeys(baseKey .. id)
    end
    if #extra > 0 then rcall("ZREMRANGEBYRANK", setKey, 0, #extra - 1) end
  end
end

local function releaseDedupOnFinish(jobKey, jobId)
  local deid = rcall("HGET", jobKey, "deid")
  if not deid then return end
  local deKey = baseKey .. "de:" .. deid
  local ttl = rcall("PTTL", deKey)
  if ttl == 0 or (ttl == -1 and rcall("GET", deKey) == jobId) then
    rcall("DEL", deKey)
  end
end

local function finish(jobId, jobKey, kind, value, keepCount, keepAge, keepLimit, attempts)
  if not maxEvents then
    maxEvents = eventsMaxLen(KEYS[7])
    rcall("XTRIM", KEYS[6], "MAXLEN", "~", maxEvents)
  end
  finished = true
  releaseDedupOnFinish(jobKey, jobId)
  local attemptsMade = rcall("HINCRBY", jobKey, "atm", 1)
  local setKey = kind == "completed" and KEYS[11] or KEYS[12]
  local field = kind == "completed" and "returnvalue" or "failedReason"
  if keepCount ~= 0 then
    rcall("ZADD", setKey, now, jobId)
    rcall("HSET", jobKey, field, value, "finishedOn", now)
    if kind == "failed" then rcall("HDEL", jobKey, "defa") end
    keepOnly(setKey, keepCount, keepAge, keepLimit)
  else
    deleteJobKeys(jobKey)
  end
  rcall("XADD", KEYS[6], "*", "event", kind, "jobId", jobId, field, value, "prev", "active")
  if kind == "failed" and attemptsMade >= attempts then
    rcall("XADD", KEYS[6], "*", "event", "retries-exhausted", "jobId", jobId,
      "attemptsMade", attemptsMade)
  end
end

local function settle(i)
  local at = 10 + (i - 1) * 11
  local jobId, token, kind = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local jobKey = baseKey .. jobId
  if rcall("EXISTS", jobKey) == 0 then return -1 end
  if kind == "completed" then
    if rcall("SCARD", jobKey .. ":dependencies") ~= 0 then return -4 end
    if rcall("ZCARD", jobKey .. ":unsuccessful") ~= 0 then return -9 end
  end
  local lockCode = releaseLock(jobKey, KEYS[9], jobId, token)
  if lockCode ~= 0 then return lockCode end
  if kind ~= "completed" and ARGV[at + 4] ~= "" then
    rcall("HSET", jobKey, "failedReason", ARGV[at + 3], "stacktrace", ARGV[at + 4])
  end
  if rcall("LREM", KEYS[2], -1, jobId) == 0 then return -3 end

  if kind == "retry" then
    local priority = tonumber(rcall("HGET", jobKey, "priority")) or 0
    enqueueReady(KEYS[1], KEYS[3], KEYS[4], jobId, priority, ARGV[at + 10] == "1")
    rcall("HINCRBY", jobKey, "atm", 1)
    maxEvents = maxEvents or eventsMaxLen(KEYS[7])
    rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId,
      "prev", "active")
    readyMoved = true
  elseif kind == "delay" then
    local delay = tonumber(ARGV[at + 9])
    local due = now + delay
    rcall("HINCRBY", jobKey, "atm", 1)
    rcall("HSET", jobKey, "delay", delay)
    rcall("ZADD", KEYS[5], delayedScore(KEYS[5], due), jobId)
    maxEvents = maxEvents or eventsMaxLen(KEYS[7])
    rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "delayed", "jobId", jobId,
      "delay", due)
    delayedMoved = true
  else
    local keepAge = ARGV[at + 6] ~= "" and tonumber(ARGV[at + 6]) or nil
    local keepLimit = tonumber(ARGV[at + 7]) or 1000
    finish(jobId, jobKey, kind, ARGV[at + 3], tonumber(ARGV[at + 5]), keepAge, keepLimit,
      tonumber(ARGV[at + 8]) or 0)
  end
  return 0
end

for i = 1, count do
  codes[i] = settle(i)
end
if readyMoved and not isPausedOrMaxed(KEYS[7], KEYS[2]) then markReady(KEYS[8]) end
if delayedMoved then markNextDelayed(KEYS[8], KEYS[5]) end

local fetchCount = tonumber(ARGV[5])
local jobs, ttl, nextDue, blocked = {}, 0, 0, false
if fetchCount > 0 then
  jobs, ttl, nextDue, blocked = fetchJobs(baseKey, now, ARGV[3], ARGV[4], fetchCount,
    tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8] ~= "" and ARGV[8] or nil)
end
if finished and #jobs == 0 and not blocked and nextDue == 0
  and rcall("LLEN", KEYS[1]) == 0 and rcall("LLEN", KEYS[2]) == 0
  and rcall("ZCARD", KEYS[3]) == 0 then
  rcall("XADD", KEYS[6], "*", "event", "drained")
end
return {codes, jobs, ttl, nextDue}
