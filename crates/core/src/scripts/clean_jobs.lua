-- clean_jobs: removes the jobs of one state that are older than a cutoff, at most `limit`
-- of them, and emits `cleaned` with how many went. A scheduler's current iteration is
-- spared; an active job is only removed when no worker holds its lock.
--   completed, failed: members scored (finishedOn) at or before the cutoff.
--   wait, paused, active: the last `limit` entries of the list (the oldest), each judged
--     by its first present field of finishedOn, processedOn, timestamp.
--   delayed: the first `limit` members by score, judged by processedOn, else timestamp.
--   prioritized: the first `limit` members by score, judged by timestamp.
-- A job with none of the fields it is judged by is removed.
-- KEYS: 1 the state's list or sorted set, 2 events, 3 repeat
-- ARGV: 1 base key, 2 cutoff (ms), 3 limit (0 = none), 4 state name
-- Returns the removed ids.
local baseKey, stateName = ARGV[1], ARGV[4]
local cutoff = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])

local judgedBy = {
  wait = {"finishedOn", "processedOn", "timestamp"},
  paused = {"finishedOn", "processedOn", "timestamp"},
  active = {"finishedOn", "processedOn", "timestamp"},
  delayed = {"processedOn", "timestamp"},
  prioritized = {"timestamp"},
}

-- Whether a job of this state is old enough to go (and not spared).
local function expired(jobId)
  local fields = judgedBy[stateName]
  local values = rcall("HMGET", baseKey .. jobId, "rjk", unpack(fields))
  if isCurrentIteration(KEYS[3], jobId, values[1]) then return false end
  for i = 2, #values do
    if values[i] then return (tonumber(values[i]) or 0) <= cutoff end
  end
  return true
end

-- Lists: removed entries are blanked in place, then all blanks are dropped at once.
local function cleanList()
  local first = limit > 0 and -limit or 0
  local ids = rcall("LRANGE", KEYS[1], first, -1)
  local removed = {}
  for i, jobId in ipairs(ids) do
    local locked = stateName == "active" and rcall("EXISTS", baseKey .. jobId .. ":lock") == 1
    if not locked and expired(jobId) then
      rcall("LSET", KEYS[1], i - 1 - #ids, "")
      removeJob(baseKey, jobId)
      removed[#removed + 1] = jobId
    end
  end
  rcall("LREM", KEYS[1], 0, "")
  return removed
end

local function cleanSet()
  local finished = stateName == "completed" or stateName == "failed"
  local upTo = finished and ARGV[2] or "+inf"
  local ids
  if limit > 0 then
    ids = rcall("ZRANGEBYSCORE", KEYS[1], 0, upTo, "LIMIT", 0, limit)
  else
    ids = rcall("ZRANGEBYSCORE", KEYS[1], 0, upTo)
  end
  local removed = {}
  for _, jobId in ipairs(ids) do
    if finished or expired(jobId) then
      removeJob(baseKey, jobId)
      removed[#removed + 1] = jobId
    end
  end
  for from = 1, #removed, 7000 do
    rcall("ZREM", KEYS[1], unpack(removed, from, math.min(from + 6999, #removed)))
  end
  return removed
end

local isList = {wait = true, paused = true, active = true}
local removed = isList[stateName] and cleanList() or cleanSet()
rcall("XADD", KEYS[2], "*", "event", "cleaned", "count", #removed)
return removed
