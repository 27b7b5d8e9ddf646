-- move_jobs_to_wait: sends up to `count` finished jobs (retryJobs) or delayed jobs
-- (promoteJobs) with a score up to a bound to the back of wait, oldest first, whatever
-- their priority. Finished jobs lose finishedOn, processedOn and their result or reason,
-- and rejoin their parent's pending children. Each emits `waiting` with prev = the state.
-- KEYS: 1 the source set (completed, failed or delayed), 2 wait, 3 events, 4 meta,
--       5 active, 6 marker
-- ARGV: 1 base key, 2 count, 3 highest score moved ("+inf" = all), 4 the state's name
-- Returns 1 when `count` jobs moved (there may be more), else 0.
local baseKey, stateName = ARGV[1], ARGV[4]
local count = tonumber(ARGV[2])
local ids = rcall("ZRANGEBYSCORE", KEYS[1], 0, ARGV[3], "LIMIT", 0, count)
if #ids == 0 then return 0 end

if stateName ~= "delayed" then
  local result = stateName == "failed" and "failedReason" or "returnvalue"
  for _, jobId in ipairs(ids) do
    local jobKey = baseKey .. jobId
    rcall("HDEL", jobKey, "finishedOn", "processedOn", result)
    rejoinParent(jobKey, stateName)
  end
end

local maxLen = eventsMaxLen(KEYS[4])
for _, jobId in ipairs(ids) do
  rcall("XADD", KEYS[3], "MAXLEN", "~", maxLen, "*", "event", "waiting", "jobId", jobId,
    "prev", stateName)
end
for from = 1, #ids, 7000 do
  local to = math.min(from + 6999, #ids)
  rcall("ZREM", KEYS[1], unpack(ids, from, to))
  rcall("LPUSH", KEYS[2], unpack(ids, from, to))
end
if not isPausedOrMaxed(KEYS[4], KEYS[5]) then markReady(KEYS[6]) end
if #ids >= count then return 1 end
return 0
