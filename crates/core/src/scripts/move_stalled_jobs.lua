-- move_stalled_jobs: puts back active jobs whose worker stopped renewing their lock.
-- Runs at most once per stalled interval across all workers of the queue.
-- KEYS: 1 stalled, 2 wait, 3 active, 4 stalled-check, 5 meta, 6 events, 7 marker, 8 repeat
-- ARGV: 1 max stalled count, 2 base key, 3 now (ms), 4 stalled interval (ms)
-- Returns the ids moved back to wait.
if rcall("EXISTS", KEYS[4]) == 1 then return {} end
rcall("SET", KEYS[4], ARGV[3], "PX", ARGV[4])
rcall("XTRIM", KEYS[6], "MAXLEN", "~", eventsMaxLen(KEYS[5]))

local baseKey = ARGV[2]
local maxStalled = tonumber(ARGV[1])
local moved = {}

local function isSchedulerJob(jobKey)
  local rjk = rcall("HGET", jobKey, "rjk")
  if not rjk then return false end
  return rcall("EXISTS", KEYS[8] .. ":" .. rjk) == 1 or rcall("ZSCORE", KEYS[8], rjk) ~= false
end

for _, jobId in ipairs(rcall("SMEMBERS", KEYS[1])) do
  local jobKey = baseKey .. jobId
  if string.sub(jobId, 1, 2) == "0:" then
    rcall("LREM", KEYS[3], 1, jobId)
  elseif rcall("EXISTS", jobKey .. ":lock") == 0 and rcall("LREM", KEYS[3], 1, jobId) > 0 then
    local stalls = rcall("HINCRBY", jobKey, "stc", 1)
    if stalls > maxStalled and not isSchedulerJob(jobKey) then
      rcall("HSET", jobKey, "defa", "job stalled more than allowable limit")
    end
    rcall("RPUSH", KEYS[2], jobId)
    rcall("XADD", KEYS[6], "*", "event", "waiting", "jobId", jobId, "prev", "active")
    rcall("XADD", KEYS[6], "*", "event", "stalled", "jobId", jobId)
    moved[#moved + 1] = jobId
  end
end
rcall("DEL", KEYS[1])
if #moved > 0 and not isPausedOrMaxed(KEYS[5], KEYS[3]) then markReady(KEYS[7]) end

local active = rcall("LRANGE", KEYS[3], 0, -1)
for from = 1, #active, 7000 do
  rcall("SADD", KEYS[1], unpack(active, from, math.min(from + 6999, #active)))
end
return moved
