-- drain: removes every job that has not started (wait, legacy paused, when asked delayed,
-- then prioritized), sparing each job scheduler's current iteration. A removed child's
-- parent goes too when it was the last pending child of a parent in this queue, or is
-- released to its own queue's wait (see parent.lua). Emits no events.
-- KEYS: 1 wait, 2 paused, 3 prioritized, 4 delayed, 5 repeat
-- ARGV: 1 base key, 2 include delayed "1"/"0"
-- Returns the number of jobs removed.
local baseKey = ARGV[1]
local spared = {}
local schedulers = rcall("ZRANGE", KEYS[5], 0, -1, "WITHSCORES")
for i = 1, #schedulers, 2 do
  spared["repeat:" .. schedulers[i] .. ":" .. schedulers[i + 1]] = true
end
local removed = 0

local function dropJob(jobId)
  removeJob(baseKey, jobId)
  removed = removed + 1
end

local function drainList(key)
  local kept = {}
  for _, jobId in ipairs(rcall("LRANGE", key, 0, -1)) do
    if spared[jobId] then kept[#kept + 1] = jobId else dropJob(jobId) end
  end
  rcall("DEL", key)
  for from = 1, #kept, 7000 do
    rcall("RPUSH", key, unpack(kept, from, math.min(from + 6999, #kept)))
  end
end

local function drainSet(key)
  local members = rcall("ZRANGE", key, 0, -1, "WITHSCORES")
  rcall("DEL", key)
  for i = 1, #members, 2 do
    if spared[members[i]] then
      rcall("ZADD", key, members[i + 1], members[i])
    else
      dropJob(members[i])
    end
  end
end

drainList(KEYS[1])
drainList(KEYS[2])
if ARGV[2] == "1" then drainSet(KEYS[4]) end
drainSet(KEYS[3])
return removed
