-- finish_jobs: settles a batch of attempts that left a worker's hands, then fetches more.
-- Each outcome is one of: completed, failed (final), retry (back to wait now),
-- delay (back to delayed for a backoff), wait (rate limited: back to the front of wait,
-- the attempt not counted). Per job it leaves exactly what one BullMQ moveToFinished /
-- retryJob / moveToDelayed / moveJobFromActiveToWait call would; the batch shares the commands
-- that can be shared (lock reads, active removal, set inserts). A finished child updates
-- its parent (see parent.lua) before its own event, as BullMQ's moveToFinished does.
-- KEYS: 1 wait, 2 active, 3 prioritized, 4 pc, 5 delayed, 6 events, 7 meta, 8 marker,
--       9 stalled, 10 limiter, 11 completed, 12 failed
-- ARGV: 1 base key, 2 now (ms), 3 lock token for fetched jobs, 4 lock duration (ms),
--       5 how many jobs to fetch afterwards (0 = none), 6 worker limiter max ("" = none),
--       7 worker limiter duration ("" = none), 8 worker name ("" = none),
--       9 number of outcomes, 10 metrics data points kept ("" = no metrics),
--       then 13 arguments per outcome:
--         jobId, lock token, kind, value (returnvalue JSON or failedReason),
--         stacktrace JSON ("" = leave), keep count (-1 = all), keep age s ("" = none),
--         keep limit ("" = 1000), attempts, delay ms (delay kind), lifo "1"/"0" (retry kind),
--         attempts made with this one, deduplication id ("" = none)
--   A completion under a lock trusts the last two (the lock holder is the only writer of
--   them) and reads only the parent key (a producer may link an active job to a parent);
--   every other outcome reads them from the job hash.
-- After a rate-limited job went back to wait, nothing is fetched while the limiter key
-- lives (BullMQ's worker waits out its ttl), and rateLimitTtl is that ttl.
-- Returns {codes, jobs, rateLimitTtl, nextDelayedDue}: codes[i] is 0 for a settled outcome
-- or BullMQ's negative code (-1 missing job, -2 missing lock, -3 not active,
-- -4 pending dependencies, -6 lock mismatch, -9 failed children). A completion refused
-- for its children (-4, -9) stays with the worker, which fails it instead (as BullMQ's
-- does), so no job is fetched in its place.
local baseKey = ARGV[1]
local nowText = ARGV[2]
local now = tonumber(nowText)
local count = tonumber(ARGV[9])
local codes = {}
local meta = readMeta(KEYS[7])

local function arg(i, offset)
  return ARGV[11 + (i - 1) * 13 + offset]
end

-- Lock checks for the whole batch, from one MGET; returns the ids cleared to leave active.
local function checkLocks(fields)
  local lockKeys, childKeys = {}, {}
  for i = 1, count do
    local jobKey = baseKey .. arg(i, 0)
    lockKeys[i] = jobKey .. ":lock"
    if arg(i, 2) == "completed" then
      childKeys[#childKeys + 1] = jobKey .. ":dependencies"
      childKeys[#childKeys + 1] = jobKey .. ":unsuccessful"
    end
  end
  local owners = rcall("MGET", unpack(lockKeys))
  local anyChildren = #childKeys > 0 and rcall("EXISTS", unpack(childKeys)) > 0
  local released, releasedIds = {}, {}
  for i = 1, count do
    local token = arg(i, 1)
    if not fields[i].exists then
      codes[i] = -1
    elseif anyChildren and arg(i, 2) == "completed"
      and rcall("EXISTS", baseKey .. arg(i, 0) .. ":dependencies", baseKey .. arg(i, 0) .. ":unsuccessful") > 0 then
      codes[i] = rcall("SCARD", baseKey .. arg(i, 0) .. ":dependencies") > 0 and -4 or -9
    elseif token ~= "0" and owners[i] ~= token then
      codes[i] = owners[i] and -6 or -2
    else
      codes[i] = 0
      if token ~= "0" then
        released[#released + 1] = lockKeys[i]
        releasedIds[#releasedIds + 1] = arg(i, 0)
      end
    end
  end
  if #released > 0 then
    rcall("DEL", unpack(released))
    rcall("SREM", KEYS[9], unpack(releasedIds))
  end
end

-- Takes the cleared jobs out of active (-3 for those not there): one LREM each, or one
-- rewrite of the list when the batch is a large share of it.
local function leaveActive()
  local wanted, n = {}, 0
  for i = 1, count do
    if codes[i] == 0 then
      wanted[arg(i, 0)] = i
      n = n + 1
    end
  end
  if n == 0 then return end
  if n >= 8 and rcall("LLEN", KEYS[2]) <= n * 4 then
    local kept, found = {}, {}
    for _, jobId in ipairs(rcall("LRANGE", KEYS[2], 0, -1)) do
      if wanted[jobId] and not found[jobId] then found[jobId] = true else kept[#kept + 1] = jobId end
    end
    rcall("DEL", KEYS[2])
    for from = 1, #kept, 7000 do
      rcall("RPUSH", KEYS[2], unpack(kept, from, math.min(from + 6999, #kept)))
    end
    for jobId, i in pairs(wanted) do
      if not found[jobId] then codes[i] = -3 end
    end
    return
  end
  for jobId, i in pairs(wanted) do
    if rcall("LREM", KEYS[2], -1, jobId) == 0 then codes[i] = -3 end
  end
end

-- The keys enqueueKeptDuplicate needs.
local dedupKeys = {wait = KEYS[1], active = KEYS[2], prioritized = KEYS[3], pc = KEYS[4],
  delayed = KEYS[5], events = KEYS[6], marker = KEYS[8]}

local function releaseDedupOnFinish(deid, jobId)
  local deKey = baseKey .. "de:" .. deid
  local ttl = rcall("PTTL", deKey)
  if ttl == 0 or (ttl == -1 and rcall("GET", deKey) == jobId) then
    rcall("DEL", deKey)
  end
end

-- Completed jobs kept (score, id, ...), the keep policies they met, and job keys to
-- delete.
local completedKept = {}
local completedPolicies = {}
local doomed = {}
local readyMoved, delayedMoved, finished, rateLimited = false, false, false, false

local function dropJobKeys(jobKey)
  local n = #doomed
  doomed[n + 1] = jobKey
  doomed[n + 2] = jobKey .. ":logs"
  doomed[n + 3] = jobKey .. ":dependencies"
  doomed[n + 4] = jobKey .. ":processed"
  doomed[n + 5] = jobKey .. ":failed"
  doomed[n + 6] = jobKey .. ":unsuccessful"
end

-- Removes the oldest finished jobs of a set beyond a keep policy: older than `keepAge`
-- seconds (at most `keepLimit` of them), then all but the newest `keepCount`. Removed
-- failed jobs leave their parent's pending children (completed ones already did when
-- they completed).
local function keepOnly(setKey, keepCount, keepAge, keepLimit)
  local unlink = setKey == KEYS[12]
  local function drop(id)
    if unlink then unlinkFromParent(baseKey .. id, nil, false, baseKey) end
    dropJobKeys(baseKey .. id)
  end
  if keepAge then
    local old = rcall("ZREVRANGEBYSCORE", setKey, now - keepAge * 1000, "-inf", "LIMIT", 0, keepLimit)
    for _, id in ipairs(old) do drop(id) end
    if #old > 0 then rcall("ZREM", setKey, unpack(old)) end
  end
  if keepCount > 0 then
    local extra = rcall("ZRANGE", setKey, 0, -(keepCount + 1))
    for _, id in ipairs(extra) do drop(id) end
    if #extra > 0 then rcall("ZREMRANGEBYRANK", setKey, 0, #extra - 1) end
  end
end

-- Tells the parent of a finished child how it ended.
local function updateParent(jobKey, kind, value, f)
  if not f.parentKey then return end
  if kind == "completed" then
    childCompleted(jobKey, f.parentKey, value, nowText)
  else
    childFailed(jobKey, f.parent, value, nowText)
  end
end

-- Keeps a finished job: completed ones join their set with the rest of the batch, a
-- failed one at once with its removals by the keep policy, so a parent those removals
-- release is announced before the failure, as in BullMQ.
local function keepFinished(i, jobId, jobKey, kind, f)
  local value, keepCount = arg(i, 3), tonumber(arg(i, 5))
  local policy = (keepCount > 0 or arg(i, 6) ~= "")
    and {keepCount, tonumber(arg(i, 6)), tonumber(arg(i, 7)) or 1000}
  if kind == "completed" then
    rcall("HSET", jobKey, "returnvalue", value, "finishedOn", nowText, "atm", f.made)
    completedKept[#completedKept + 1] = nowText
    completedKept[#completedKept + 1] = jobId
    if policy then completedPolicies[keepCount .. "|" .. arg(i, 6) .. "|" .. arg(i, 7)] = policy end
    return
  end
  rcall("ZADD", KEYS[12], nowText, jobId)
  rcall("HSET", jobKey, "failedReason", value, "stacktrace", arg(i, 4), "finishedOn", nowText, "atm", f.made)
  if f.defa then rcall("HDEL", jobKey, "defa") end
  if policy then keepOnly(KEYS[12], policy[1], policy[2], policy[3]) end
end

local function finish(i, jobId, jobKey, kind, f)
  finished = true
  if f.deid then
    releaseDedupOnFinish(f.deid, jobId)
    enqueueKeptDuplicate(baseKey, f.deid, nowText, meta, dedupKeys)
  end
  local value = arg(i, 3)
  local attemptsMade = f.made
  local field = kind == "completed" and "returnvalue" or "failedReason"
  updateParent(jobKey, kind, value, f)
  if tonumber(arg(i, 5)) ~= 0 then
    keepFinished(i, jobId, jobKey, kind, f)
  else
    dropJobKeys(jobKey)
    if f.parentKey then unlinkFromParent(jobKey, f.parentKey, false, baseKey) end
  end
  rcall("XADD", KEYS[6], "MAXLEN", "~", eventsLen(meta), "*", "event", kind, "jobId", jobId, field, value,
    "prev", "active")
  if kind == "failed" and tonumber(attemptsMade) >= (tonumber(arg(i, 8)) or 0) then
    rcall("XADD", KEYS[6], "*", "event", "retries-exhausted", "jobId", jobId,
      "attemptsMade", attemptsMade)
  end
end

local waitFront, waitBack = {}, {}

local function retry(i, jobId, jobKey, f)
  rcall("HSET", jobKey, "failedReason", arg(i, 3), "stacktrace", arg(i, 4), "atm", f.made)
  local priority = f.priority
  if priority > 0 then
    rcall("ZADD", KEYS[3], priorityScore(KEYS[4], priority), jobId)
  elseif arg(i, 10) == "1" then
    waitFront[#waitFront + 1] = jobId
  else
    waitBack[#waitBack + 1] = jobId
  end
  rcall("XADD", KEYS[6], "MAXLEN", "~", eventsLen(meta), "*", "event", "waiting", "jobId", jobId, "prev", "active")
  readyMoved = true
end

local function delay(i, jobId, jobKey, f)
  local ms = tonumber(arg(i, 9))
  local due = now + ms
  rcall("HSET", jobKey, "failedReason", arg(i, 3), "stacktrace", arg(i, 4), "atm", f.made, "delay", ms)
  rcall("ZADD", KEYS[5], delayedScore(KEYS[5], due), jobId)
  rcall("XADD", KEYS[6], "MAXLEN", "~", eventsLen(meta), "*", "event", "delayed", "jobId", jobId, "delay", due)
  delayedMoved = true
end

-- Puts a rate-limited job back where it is taken next: the front of wait, or ahead of
-- its priority.
local function backToWait(jobId, f)
  if f.priority > 0 then
    rcall("ZADD", KEYS[3], f.priority * PRIORITY_SHIFT, jobId)
  else
    waitFront[#waitFront + 1] = jobId
  end
  rcall("XADD", KEYS[6], "MAXLEN", "~", eventsLen(meta), "*", "event", "waiting", "jobId", jobId, "prev", "active")
  readyMoved = true
  rateLimited = true
end

-- The job facts settling needs: whether it exists, its deduplication id, `atm` with this
-- attempt, its priority, whether it holds a deferred failure, and its parent (key and
-- `parent` JSON).
local function jobFields(i)
  local jobKey = baseKey .. arg(i, 0)
  if arg(i, 2) == "completed" and arg(i, 1) ~= "0" then
    local deid = arg(i, 12)
    return {exists = true, deid = deid ~= "" and deid or nil, made = arg(i, 11),
      parentKey = rcall("HGET", jobKey, "parentKey") or nil}
  end
  local f = rcall("HMGET", jobKey, "name", "deid", "atm", "priority", "defa", "parentKey", "parent")
  return {exists = f[1] ~= false, deid = f[2] or nil, made = (tonumber(f[3]) or 0) + 1,
    priority = tonumber(f[4]) or 0, defa = f[5] ~= false, parentKey = f[6] or nil,
    parent = f[7] or nil}
end

local fields = {}
for i = 1, count do
  fields[i] = jobFields(i)
end
checkLocks(fields)
leaveActive()

-- As BullMQ's retryJob: delayed jobs already due go to wait ahead of the jobs retried now.
for i = 1, count do
  if codes[i] == 0 and arg(i, 2) == "retry" then
    if promoteDueJobs(baseKey, KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], now) > 0 then
      readyMoved = true
    end
    break
  end
end

for i = 1, count do
  if codes[i] == 0 then
    local jobId, kind = arg(i, 0), arg(i, 2)
    local jobKey = baseKey .. jobId
    if kind == "retry" then
      retry(i, jobId, jobKey, fields[i])
    elseif kind == "delay" then
      delay(i, jobId, jobKey, fields[i])
    elseif kind == "wait" then
      backToWait(jobId, fields[i])
    else
      finish(i, jobId, jobKey, kind, fields[i])
    end
  end
end

if ARGV[10] ~= "" then
  local settled = {completed = 0, failed = 0}
  for i = 1, count do
    local kind = arg(i, 2)
    if codes[i] == 0 and settled[kind] then settled[kind] = settled[kind] + 1 end
  end
  for kind, n in pairs(settled) do
    if n > 0 then recordMetrics(baseKey .. "metrics:" .. kind, n, tonumber(ARGV[10]), nowText) end
  end
end

if #completedKept > 0 then rcall("ZADD", KEYS[11], unpack(completedKept)) end
for _, p in pairs(completedPolicies) do keepOnly(KEYS[11], p[1], p[2], p[3]) end
if #waitBack > 0 then rcall("LPUSH", KEYS[1], unpack(waitBack)) end
if #waitFront > 0 then rcall("RPUSH", KEYS[1], unpack(waitFront)) end
for from = 1, #doomed, 6000 do
  rcall("DEL", unpack(doomed, from, math.min(from + 5999, #doomed)))
end
if readyMoved and not metaPausedOrMaxed(meta, KEYS[2]) then markReady(KEYS[8]) end
if delayedMoved then markNextDelayed(KEYS[8], KEYS[5]) end

local fetchCount = tonumber(ARGV[5])
for i = 1, count do
  if codes[i] == -4 or codes[i] == -9 then fetchCount = fetchCount - 1 end
end
local jobs, ttl, nextDue, blocked = {}, 0, 0, false
if rateLimited then
  ttl = math.max(rcall("PTTL", KEYS[10]), 0)
  if ttl > 0 then fetchCount = 0 end
end
if fetchCount > 0 then
  jobs, ttl, nextDue, blocked = fetchJobs(meta, baseKey, nowText, ARGV[3], ARGV[4], fetchCount,
    tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8] ~= "" and ARGV[8] or nil)
end
if finished and #jobs == 0 and not blocked and nextDue == 0
  and rcall("LLEN", KEYS[1]) == 0 and rcall("LLEN", KEYS[2]) == 0
  and rcall("ZCARD", KEYS[3]) == 0 then
  rcall("XADD", KEYS[6], "*", "event", "drained")
end
return {codes, jobs, ttl, nextDue}
