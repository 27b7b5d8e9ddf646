-- Job scheduler iterations, shared by upsert_job_scheduler.lua and next_iteration.lua,
-- prepended after common.lua. Both scripts take the same keys:
--   KEYS: 1 repeat, 2 delayed, 3 wait, 4 meta, 5 prioritized, 6 marker, 7 id, 8 events,
--         9 pc, 10 active
-- An iteration is the job `repeat:<scheduler id>:<ms>`, stored under `<repeat key>:<id>:<ms>`
-- (the same key, since the repeat key is `<base>repeat`), with `rjk` naming its scheduler.

local function iterationKeys()
  return {repeatKey = KEYS[1], delayed = KEYS[2], wait = KEYS[3], meta = KEYS[4],
    prioritized = KEYS[5], marker = KEYS[6], id = KEYS[7], events = KEYS[8], pc = KEYS[9],
    active = KEYS[10]}
end

-- The iteration id of scheduler `schedulerId` due at `millis`.
local function iterationId(schedulerId, millis)
  return "repeat:" .. schedulerId .. ":" .. millis
end

-- The next slot of an `every` scheduler after `prevMillis` (nil for its first one), and
-- the offset of its slots from multiples of `every`. A slot missed while nobody took
-- iterations is skipped: the next one is the first aligned slot after `now`.
local function everyNextMillis(prevMillis, every, now, offset, startDate)
  offset = tonumber(offset)
  local nextMillis
  if prevMillis then
    nextMillis = prevMillis + every
    if nextMillis < now then
      nextMillis = math.floor(now / every) * every + (offset or 0)
      if nextMillis <= now then nextMillis = nextMillis + every end
    end
  elseif startDate then
    nextMillis = math.max(tonumber(startDate), now)
  elseif offset and offset > 0 then
    nextMillis = math.floor(now / every) * every + offset
    if nextMillis <= now then nextMillis = nextMillis + every end
  else
    nextMillis = now
  end
  if not offset or offset == 0 then
    offset = nextMillis - math.floor(nextMillis / every) * every
  end
  return math.floor(nextMillis), math.floor(offset)
end

-- Stores iteration `jobId` (options `opts`, a decoded table that gets its `delay` and
-- `jobId`) and puts it in delayed, prioritized or wait with the events BullMQ emits.
local function addIteration(k, base, schedulerId, jobId, name, data, opts, now, delay)
  opts["delay"] = delay
  opts["jobId"] = jobId
  local priority = tonumber(opts["priority"]) or 0
  local maxEvents = eventsMaxLen(k.meta)
  rcall("HSET", base .. jobId, "name", name, "data", data, "opts", cjson.encode(opts),
    "timestamp", now, "delay", delay, "priority", priority, "rjk", schedulerId)
  rcall("XADD", k.events, "*", "event", "added", "jobId", jobId, "name", name)
  if delay > 0 then
    local due = now + delay
    rcall("ZADD", k.delayed, delayedScore(k.delayed, due), jobId)
    rcall("XADD", k.events, "MAXLEN", "~", maxEvents, "*", "event", "delayed", "jobId", jobId,
      "delay", due)
    markNextDelayed(k.marker, k.delayed)
    return
  end
  local held = isPausedOrMaxed(k.meta, k.active)
  if priority > 0 then
    rcall("ZADD", k.prioritized, priorityScore(k.pc, priority), jobId)
  elseif opts["lifo"] then
    rcall("RPUSH", k.wait, jobId)
  else
    rcall("LPUSH", k.wait, jobId)
  end
  if not held then markReady(k.marker) end
  rcall("XADD", k.events, "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId)
end
