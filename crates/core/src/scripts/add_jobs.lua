-- add_jobs: stores a batch of new jobs and makes each ready, prioritized or delayed.
-- Leaves what one BullMQ add per job would (ids, hashes, events, list order); the batch
-- shares the counter increment and the pushes onto wait.
-- KEYS: 1 wait, 2 active, 3 prioritized, 4 pc, 5 delayed, 6 events, 7 meta, 8 marker, 9 id
-- ARGV: 1 base key, 2 number of jobs, then 8 arguments per job:
--   custom id ("" = next counter value), name, data JSON, stored opts JSON,
--   timestamp (ms), delay (ms), priority, lifo "1"/"0"
-- Returns the id of each job, in order; for a custom id that already exists,
-- that job is left untouched and its id is returned (BullMQ's `duplicated`).
local baseKey = ARGV[1]
local count = tonumber(ARGV[2])
local meta = readMeta(KEYS[7])
local maxEvents = eventsLen(meta)
local counter = rcall("INCRBY", KEYS[9], count) - count
local ids = {}
local back, front = {}, {}
local ready = false
local delayed = false

local function addOne(i, at)
  local custom = ARGV[at]
  local jobId = custom ~= "" and custom or tostring(counter + i)
  local jobKey = baseKey .. jobId
  if custom ~= "" and rcall("EXISTS", jobKey) == 1 then
    rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "duplicated", "jobId", jobId)
    return jobId
  end
  local name, timestamp = ARGV[at + 1], tonumber(ARGV[at + 4])
  local delay, priority = tonumber(ARGV[at + 5]), tonumber(ARGV[at + 6])
  rcall("HSET", jobKey, "name", name, "data", ARGV[at + 2], "opts", ARGV[at + 3],
    "timestamp", ARGV[at + 4], "delay", delay, "priority", priority)
  rcall("XADD", KEYS[6], "*", "event", "added", "jobId", jobId, "name", name)
  if delay > 0 then
    local due = timestamp + delay
    rcall("ZADD", KEYS[5], delayedScore(KEYS[5], due), jobId)
    rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "delayed", "jobId", jobId,
      "delay", due)
    delayed = true
    return jobId
  end
  if priority > 0 then
    rcall("ZADD", KEYS[3], priorityScore(KEYS[4], priority), jobId)
  elseif ARGV[at + 7] == "1" then
    front[#front + 1] = jobId
  else
    back[#back + 1] = jobId
  end
  rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId)
  ready = true
  return jobId
end

for i = 1, count do
  ids[i] = addOne(i, 3 + (i - 1) * 8)
end
if #back > 0 then rcall("LPUSH", KEYS[1], unpack(back)) end
if #front > 0 then rcall("RPUSH", KEYS[1], unpack(front)) end
if ready and not metaPausedOrMaxed(meta, KEYS[2]) then markReady(KEYS[8]) end
if delayed then markNextDelayed(KEYS[8], KEYS[5]) end
return ids
