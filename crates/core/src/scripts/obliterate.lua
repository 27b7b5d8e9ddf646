-- obliterate: deletes a paused queue and all its jobs, a bounded number of jobs per call.
-- Parents of removed children are handled as drain does (see parent.lua); jobs waiting
-- for children are left alone, as BullMQ leaves them.
-- KEYS: 1 meta, 2 active, 3 delayed, 4 repeat, 5 completed, 6 wait, 7 paused,
--       8 prioritized, 9 failed
-- ARGV: 1 base key, 2 force "1"/"0", 3 how many jobs at most in this call
-- Returns 0 when the queue is gone, 1 when jobs remain (call again),
-- -1 when the queue is not paused, -2 when it has active jobs and force is not set.
local baseKey = ARGV[1]
if rcall("HEXISTS", KEYS[1], "paused") == 0 then return -1 end
if ARGV[2] ~= "1" and rcall("LLEN", KEYS[2]) > 0 then return -2 end
local budget = tonumber(ARGV[3])

local function dropJob(jobId, withLock)
  if withLock then rcall("DEL", baseKey .. jobId .. ":lock") end
  removeJob(baseKey, jobId)
end

local function dropFromList(key, withLock)
  local ids = rcall("LRANGE", key, 0, budget - 1)
  for _, jobId in ipairs(ids) do dropJob(jobId, withLock) end
  rcall("LTRIM", key, #ids, -1)
  budget = budget - #ids
end

local function dropFromSet(key)
  local ids = rcall("ZRANGE", key, 0, budget - 1)
  for _, jobId in ipairs(ids) do dropJob(jobId, false) end
  if #ids > 0 then rcall("ZREMRANGEBYRANK", key, 0, #ids - 1) end
  budget = budget - #ids
end

local function dropSchedulers()
  local ids = rcall("ZRANGE", KEYS[4], 0, budget - 1)
  for _, id in ipairs(ids) do rcall("DEL", KEYS[4] .. ":" .. id) end
  if #ids > 0 then rcall("ZREMRANGEBYRANK", KEYS[4], 0, #ids - 1) end
  budget = budget - #ids
end

dropFromList(KEYS[2], true)
if budget > 0 then dropFromSet(KEYS[3]) end
if budget > 0 then dropSchedulers() end
if budget > 0 then dropFromSet(KEYS[5]) end
if budget > 0 then dropFromList(KEYS[6], false) end
if budget > 0 then dropFromList(KEYS[7], false) end
if budget > 0 then dropFromSet(KEYS[8]) end
if budget > 0 then dropFromSet(KEYS[9]) end
if budget <= 0 then return 1 end

local function key(suffix) return baseKey .. suffix end
rcall("DEL", key("events"), key("delay"), key("stalled-check"), key("stalled"), key("id"),
  key("pc"), key("marker"), KEYS[1], key("metrics:completed"), key("metrics:completed:data"),
  key("metrics:failed"), key("metrics:failed:data"))
return 0
