-- add_jobs: stores a batch of new jobs and makes each ready, prioritized or delayed.
-- Leaves what one BullMQ add per job would (ids, hashes, events, list order,
-- deduplication keys); the batch shares the counter increment and the pushes onto wait.
-- KEYS: 1 wait, 2 active, 3 prioritized, 4 pc, 5 delayed, 6 events, 7 meta, 8 marker, 9 id
-- ARGV: 1 base key, 2 number of jobs, then 11 arguments per job:
--   custom id ("" = next counter value), name, data JSON, stored opts JSON,
--   timestamp (ms), delay (ms), priority, lifo "1"/"0",
--   deduplication id ("" = none), its ttl in ms ("" = none), its mode letters
--   (e extend, r replace, s reschedule, k keep last if active)
-- Returns the id of each job, in order. A custom id that already exists leaves that job
-- untouched and returns its id (BullMQ's `duplicated`); an add dropped by deduplication
-- returns the id of the job that owns the deduplication id.
local baseKey = ARGV[1]
local count = tonumber(ARGV[2])
local meta = readMeta(KEYS[7])
local maxEvents = eventsLen(meta)
local counter = rcall("INCRBY", KEYS[9], count) - count
local ids = {}
local back, front = {}, {}
local ready = false
local delayed = false

-- The deduplication request of the job whose arguments start at `at`, or nil.
local function dedupRequest(at)
  local id = ARGV[at + 8]
  if id == "" then return nil end
  local mode = ARGV[at + 10]
  local has = function(letter) return string.find(mode, letter, 1, true) ~= nil end
  return {id = id, key = baseKey .. "de:" .. id, nextKey = baseKey .. "dn:" .. id,
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

local function emitDeduplicated(d, jobId, droppedId)
  rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "deduplicated",
    "jobId", jobId, "deduplicationId", d.id, "deduplicatedJobId", droppedId)
end

-- An owner without expiry whose job hash is gone (lost in an outage) is stale: the new
-- job takes the id over. Returns true when it did.
local function takeOverStale(d, owner, jobId)
  if rcall("PTTL", d.key) ~= -1 or rcall("EXISTS", baseKey .. owner) == 1 then return false end
  rcall("DEL", d.key, d.nextKey)
  claim(d, jobId)
  return true
end

-- Keep-last mode with the owner active: keeps this add as the job to enqueue when the
-- owner finishes (the latest add wins). Returns true when it did.
local function keepForLater(d, owner, jobId, at)
  if not d.keepLast or not rcall("LPOS", KEYS[2], owner) then return false end
  rcall("DEL", d.nextKey)
  rcall("HSET", d.nextKey, "name", ARGV[at + 1], "data", ARGV[at + 2], "opts", ARGV[at + 3],
    "jid", jobId)
  rcall("PERSIST", d.key)
  emitDeduplicated(d, owner, jobId)
  return true
end

-- Replace mode: a delayed owner is removed and the new job takes its place.
-- Returns true when it did.
local function replaceDelayed(d, owner, jobId)
  if rcall("ZREM", KEYS[5], owner) == 0 then return false end
  deleteJobKeys(baseKey .. owner)
  rcall("XADD", KEYS[6], "*", "event", "removed", "jobId", owner, "prev", "delayed")
  emitDeduplicated(d, jobId, owner)
  rcall("DEL", d.nextKey)
  if d.ttl and not d.extend and not d.keepLast then
    rcall("SET", d.key, jobId, "KEEPTTL")
  else
    claim(d, jobId)
  end
  return true
end

-- Gives a still-delayed owner the delay of the dropped add, from that add's timestamp.
local function reschedule(owner, timestamp, delay)
  if not rcall("ZSCORE", KEYS[5], owner) then return end
  rcall("HSET", baseKey .. owner, "delay", delay)
  local due = delay > 0 and timestamp + delay or timestamp
  rcall("ZADD", KEYS[5], delayedScore(KEYS[5], due), owner)
  rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "delayed", "jobId", owner,
    "delay", due)
  delayed = true
end

-- Applies deduplication to the job `jobId`; returns the owner's id when the add is
-- dropped, nil when the job is to be stored.
local function deduplicate(d, jobId, at)
  local owner = rcall("GET", d.key)
  if not owner then
    claim(d, jobId)
    return nil
  end
  if d.replace then
    if replaceDelayed(d, owner, jobId) or takeOverStale(d, owner, jobId) then return nil end
    keepForLater(d, owner, jobId, at)
    return owner
  end
  if takeOverStale(d, owner, jobId) then return nil end
  if keepForLater(d, owner, jobId, at) then return owner end
  if d.extend and d.ttl then claim(d, owner) end
  emitDeduplicated(d, owner, jobId)
  if d.reschedule then
    reschedule(owner, tonumber(ARGV[at + 4]), tonumber(ARGV[at + 5]))
  end
  return owner
end

local function addOne(i, at)
  local custom = ARGV[at]
  local jobId = custom ~= "" and custom or tostring(counter + i)
  local jobKey = baseKey .. jobId
  if custom ~= "" and rcall("EXISTS", jobKey) == 1 then
    rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "duplicated", "jobId", jobId)
    return jobId
  end
  local d = dedupRequest(at)
  if d then
    local owner = deduplicate(d, jobId, at)
    if owner then return owner end
  end
  local name, timestamp = ARGV[at + 1], tonumber(ARGV[at + 4])
  local delay, priority = tonumber(ARGV[at + 5]), tonumber(ARGV[at + 6])
  rcall("HSET", jobKey, "name", name, "data", ARGV[at + 2], "opts", ARGV[at + 3],
    "timestamp", ARGV[at + 4], "delay", delay, "priority", priority)
  if d then rcall("HSET", jobKey, "deid", d.id) end
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
  ids[i] = addOne(i, 3 + (i - 1) * 11)
end
if #back > 0 then rcall("LPUSH", KEYS[1], unpack(back)) end
if #front > 0 then rcall("RPUSH", KEYS[1], unpack(front)) end
if ready and not metaPausedOrMaxed(meta, KEYS[2]) then markReady(KEYS[8]) end
if delayed then markNextDelayed(KEYS[8], KEYS[5]) end
return ids
