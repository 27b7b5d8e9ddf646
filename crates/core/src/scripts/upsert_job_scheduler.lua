-- upsert_job_scheduler: creates or replaces job scheduler ARGV[2] and adds its next
-- iteration (see iteration.lua). A replaced scheduler's pending iteration (delayed,
-- prioritized or waiting) is removed first and, for an unchanged `every`, its slot is
-- kept; an iteration already taken by a worker stays and the next slot follows it.
-- KEYS: as iteration.lua
-- ARGV: 1 base key, 2 scheduler id, 3 now (ms), 4 template name, 5 next ms of a pattern
--   ("" for `every`), 6 every ("" for a pattern), 7 offset asked for ("" = none),
--   8 start date ms ("" = none), 9 template data JSON, 10 template opts JSON ("" = none),
--   11 the iteration's options JSON, 12.. the optional scheduler fields as name/value
--   pairs (tz, limit, pattern, startDate, endDate)
-- Returns {iteration id, delay}, or -10 when a pattern's iteration id is taken by a job
-- that is not pending, -11 when 32 `every` slots in a row are taken.
local k = iterationKeys()
local base, schedulerId, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local schedulerKey = k.repeatKey .. ":" .. schedulerId
local every = tonumber(ARGV[6])
local askedOffset = tonumber(ARGV[7])
local prevMillis = rcall("ZSCORE", k.repeatKey, schedulerId)

local nextMillis = tonumber(ARGV[5])
local offset = askedOffset or 0
local everyChanged = false
if every then
  local from = prevMillis and tonumber(prevMillis)
  if prevMillis and tonumber(rcall("HGET", schedulerKey, "every")) ~= every then
    from = nil
    everyChanged = true
  end
  local startDate = ARGV[8] ~= "" and ARGV[8] or nil
  nextMillis, offset = everyNextMillis(from, every, now, offset, startDate)
end

-- Removes the pending iteration `jobId`; true when it was pending. A waiting one is looked
-- for in `paused` while the queue is paused, as BullMQ does (so it stays, in `wait`).
local function removePending(jobId)
  local list = rcall("HEXISTS", k.meta, "paused") == 1 and base .. "paused" or k.wait
  local removed = rcall("ZREM", k.delayed, jobId) == 1 or rcall("ZREM", k.prioritized, jobId) == 1
    or rcall("LREM", list, 1, jobId) > 0
  if removed then
    releaseDedupKey(base, base .. jobId, jobId)
    deleteJobKeys(base .. jobId)
  end
  return removed
end

local replaced = false
if prevMillis then
  local currentId = iterationId(schedulerId, prevMillis)
  if rcall("EXISTS", base .. currentId) == 1 then replaced = removePending(currentId) end
end
local storedOffset = askedOffset
if replaced then
  if every and not everyChanged then nextMillis = tonumber(prevMillis) end
else
  storedOffset = offset
end

-- A slot taken by a job that stays (active or finished): `every` moves on to the next
-- free slot; a pattern refuses, unless it replaced its pending iteration.
local jobId = iterationId(schedulerId, nextMillis)
if rcall("EXISTS", base .. jobId) == 1 then
  if every then
    local scans = 0
    repeat
      nextMillis = nextMillis + every
      jobId = iterationId(schedulerId, nextMillis)
      scans = scans + 1
    until rcall("EXISTS", base .. jobId) == 0 or scans >= 32
    if rcall("EXISTS", base .. jobId) == 1 then return -11 end
  elseif not replaced then
    return -10
  end
end

local fields = {"name", ARGV[4]}
for i = 12, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
if every then
  fields[#fields + 1] = "every"
  fields[#fields + 1] = every
end
storedOffset = storedOffset or rcall("HGET", schedulerKey, "offset")
if storedOffset then
  fields[#fields + 1] = "offset"
  fields[#fields + 1] = storedOffset
end
if ARGV[10] ~= "" then
  fields[#fields + 1] = "opts"
  fields[#fields + 1] = ARGV[10]
end
if ARGV[9] ~= "{}" then
  fields[#fields + 1] = "data"
  fields[#fields + 1] = ARGV[9]
end
fields[#fields + 1] = "ic"
fields[#fields + 1] = rcall("HGET", schedulerKey, "ic") or 1
rcall("ZADD", k.repeatKey, nextMillis, schedulerId)
rcall("DEL", schedulerKey)
rcall("HSET", schedulerKey, unpack(fields))
rcall("INCR", k.id)

local delay = math.max(nextMillis - now, 0)
addIteration(k, base, schedulerId, jobId, ARGV[4], ARGV[9], cjson.decode(ARGV[11]), now, delay)
return {jobId, delay}
