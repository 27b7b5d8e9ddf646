-- The fetch step shared by fetch_jobs.lua and finish_jobs.lua.
-- Expects the queue keys in the order both scripts declare them:
--   KEYS[1] wait, KEYS[2] active, KEYS[3] prioritized, KEYS[4] pc, KEYS[5] delayed,
--   KEYS[6] events, KEYS[7] meta, KEYS[8] marker, KEYS[9] stalled, KEYS[10] limiter

-- Locks one job for a worker and returns {jobId, flat job hash} as it is after the start.
local function takeJob(baseKey, jobId, nowText, token, lockDuration, workerName)
  local jobKey = baseKey .. jobId
  if token ~= "0" then
    rcall("SET", jobKey .. ":lock", token, "PX", lockDuration)
  end
  rcall("XADD", KEYS[6], "*", "event", "active", "jobId", jobId, "prev", "waiting")
  local hash = rcall("HGETALL", jobKey)
  local started, sawStarted, sawProcessedOn, sawName = "1", false, false, false
  for i = 1, #hash, 2 do
    local field = hash[i]
    if field == "ats" then
      started = tostring((tonumber(hash[i + 1]) or 0) + 1)
      hash[i + 1] = started
      sawStarted = true
    elseif field == "processedOn" then
      hash[i + 1] = nowText
      sawProcessedOn = true
    elseif field == "pb" and workerName then
      hash[i + 1] = workerName
      sawName = true
    end
  end
  if not sawStarted then
    hash[#hash + 1] = "ats"
    hash[#hash + 1] = "1"
  end
  if not sawProcessedOn then
    hash[#hash + 1] = "processedOn"
    hash[#hash + 1] = nowText
  end
  if workerName then
    if not sawName then
      hash[#hash + 1] = "pb"
      hash[#hash + 1] = workerName
    end
    rcall("HSET", jobKey, "processedOn", nowText, "ats", started, "pb", workerName)
  else
    rcall("HSET", jobKey, "processedOn", nowText, "ats", started)
  end
  return {jobId, hash}
end

-- Moves up to `count` ready ids into active: from the tail of wait first, then the lowest
-- prioritized scores, as repeated single moves would. Legacy "0:" marker ids are dropped.
local function popReady(count)
  local ids = {}
  if count == 1 then
    local jobId = rcall("RPOPLPUSH", KEYS[1], KEYS[2])
    if jobId and string.sub(jobId, 1, 2) ~= "0:" then return {jobId} end
    if jobId then rcall("LREM", KEYS[2], 1, jobId) end
  end
  while #ids < count do
    local popped = rcall("RPOP", KEYS[1], count - #ids)
    if not popped then break end
    local legacy = false
    for _, jobId in ipairs(popped) do
      if string.sub(jobId, 1, 2) == "0:" then legacy = true else ids[#ids + 1] = jobId end
    end
    if not legacy then break end
  end
  if #ids < count then
    local wanted = count - #ids
    local popped = rcall("ZPOPMIN", KEYS[3], wanted)
    for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
    if #popped / 2 < wanted then rcall("DEL", KEYS[4]) end
  end
  if #ids > 0 then rcall("LPUSH", KEYS[2], unpack(ids)) end
  return ids
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
-- `meta` is what readMeta returned. Returns: jobs ({jobId, hash} each), rate-limit ttl ms,
-- next delayed due ms, and whether the queue is paused, maxed or rate limited.
local function fetchJobs(meta, baseKey, nowText, token, lockDuration, count, limiterMax, limiterDuration, workerName)
  local now = tonumber(nowText)
  local concurrency = meta.concurrency
  local activeCount = concurrency and rcall("LLEN", KEYS[2])
  local pausedOrMaxed = meta.paused or (concurrency and activeCount >= concurrency)
  if promoteDueJobs(baseKey, KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], now) > 0 and not pausedOrMaxed then
    markReady(KEYS[8])
  end
  local maxJobs = meta.max or limiterMax
  local room = count
  if maxJobs then
    local allowed, ttl = limiterRoom(maxJobs)
    if ttl > 0 then return {}, ttl, 0, true end
    room = math.min(room, allowed)
  end
  if pausedOrMaxed then return {}, 0, 0, true end
  if concurrency then room = math.min(room, concurrency - activeCount) end

  local ids = popReady(room)
  if #ids > 0 and maxJobs then
    local duration = limiterDuration or meta.duration
    if rcall("INCRBY", KEYS[10], #ids) == #ids and duration then
      rcall("PEXPIRE", KEYS[10], math.floor(math.abs(duration)))
    end
  end
  local jobs = {}
  for i, jobId in ipairs(ids) do
    jobs[i] = takeJob(baseKey, jobId, nowText, token, lockDuration, workerName)
  end

  if #jobs > 0 then
    -- A full take may have left jobs behind: wake the other workers.
    if #jobs == room then markReady(KEYS[8]) end
    return jobs, 0, 0, false
  end
  local first = rcall("ZRANGE", KEYS[5], 0, 0, "WITHSCORES")
  local nextDue = first[2] and math.floor(tonumber(first[2]) / 4096) or 0
  return jobs, 0, nextDue, false
end
