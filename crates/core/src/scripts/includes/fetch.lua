-- The fetch step shared by fetch_jobs.lua and finish_jobs.lua.
-- Expects the queue keys in the order both scripts declare them:
--   KEYS[1] wait, KEYS[2] active, KEYS[3] prioritized, KEYS[4] pc, KEYS[5] delayed,
--   KEYS[6] events, KEYS[7] meta, KEYS[8] marker, KEYS[9] stalled, KEYS[10] limiter

-- Locks one job for a worker and returns {jobId, flat job hash}.
local function takeJob(baseKey, jobId, now, token, lockDuration, workerName)
  local jobKey = baseKey .. jobId
  if token ~= "0" then
    rcall("SET", jobKey .. ":lock", token, "PX", lockDuration)
  end
  rcall("XADD", KEYS[6], "*", "event", "active", "jobId", jobId, "prev", "waiting")
  if workerName then
    rcall("HSET", jobKey, "processedOn", now, "pb", workerName)
  else
    rcall("HSET", jobKey, "processedOn", now)
  end
  rcall("HINCRBY", jobKey, "ats", 1)
  return {jobId, rcall("HGETALL", jobKey)}
end

-- Pops the next ready id into active: the tail of wait first, then the lowest prioritized score.
-- Returns the id, false when nothing is ready, or "" for a legacy marker id it dropped.
local function popReady()
  local jobId = rcall("RPOPLPUSH", KEYS[1], KEYS[2])
  if jobId then
    if string.sub(jobId, 1, 2) == "0:" then
      rcall("LREM", KEYS[2], 1, jobId)
      return ""
    end
    return jobId
  end
  local popped = rcall("ZPOPMIN", KEYS[3])
  if popped[1] then
    rcall("LPUSH", KEYS[2], popped[1])
    return popped[1]
  end
  rcall("DEL", KEYS[4])
  return false
end

-- How many more jobs the global rate limit lets through, or the ttl (ms) to wait first.
local function limiterRoom(maxJobs)
  local used = tonumber(rcall("GET", KEYS[10])) or 0
  if used < maxJobs then return maxJobs - used, 0 end
  local ttl = rcall("PTTL", KEYS[10])
  if ttl > 0 then return 0, ttl end
  if ttl == 0 then rcall("DEL", KEYS[10]) end
  return 1, 0
end

-- Takes up to `count` jobs into active for one worker, after promoting due delayed jobs.
-- Returns: jobs ({jobId, hash} each), rate-limit ttl ms, next delayed due ms, and whether
-- the queue is paused, maxed or rate limited.
local function fetchJobs(baseKey, now, token, lockDuration, count, limiterMax, limiterDuration, workerName)
  local meta = rcall("HMGET", KEYS[7], "paused", "concurrency", "max", "duration")
  local concurrency = tonumber(meta[2])
  local activeCount = concurrency and rcall("LLEN", KEYS[2])
  local pausedOrMaxed = meta[1] or (concurrency and activeCount >= concurrency)
  if promoteDueJobs(baseKey, KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], now) > 0 and not pausedOrMaxed then
    markReady(KEYS[8])
  end
  local maxJobs = tonumber(meta[3]) or limiterMax
  local room = count
  if maxJobs then
    local allowed, ttl = limiterRoom(maxJobs)
    if ttl > 0 then return {}, ttl, 0, true end
    room = math.min(room, allowed)
  end
  if pausedOrMaxed then return {}, 0, 0, true end
  if concurrency then room = math.min(room, concurrency - activeCount) end
  local duration = limiterDuration or tonumber(meta[4])

  local jobs = {}
  while #jobs < room do
    local jobId = popReady()
    if jobId == false then break end
    if jobId ~= "" then
      if maxJobs and rcall("INCR", KEYS[10]) == 1 and duration then
        rcall("PEXPIRE", KEYS[10], math.floor(math.abs(duration)))
      end
      jobs[#jobs + 1] = takeJob(baseKey, jobId, now, token, lockDuration, workerName)
    end
  end

  if #jobs > 0 then
    if rcall("LLEN", KEYS[1]) > 0 or rcall("ZCARD", KEYS[3]) > 0 then markReady(KEYS[8]) end
    return jobs, 0, 0, false
  end
  local first = rcall("ZRANGE", KEYS[5], 0, 0, "WITHSCORES")
  local nextDue = first[2] and math.floor(tonumber(first[2]) / 4096) or 0
  return jobs, 0, nextDue, false
end
