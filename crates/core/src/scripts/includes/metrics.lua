-- Completed/failed metrics (a worker's `metrics` option), prepended to finish_jobs.lua.

-- Counts `n` jobs that finished at `nowText` ms into a metrics hash (count, prevTS,
-- prevCount) and its list of per-minute counts (newest first, at most `maxPoints`),
-- leaving what `n` single finishes at that ms would: the first starts the clock; once
-- minutes have passed since prevTS, the count since prevCount is pushed for the oldest
-- of them and 0 for each later one.
local function recordMetrics(metricsKey, n, maxPoints, nowText)
  local before = rcall("HINCRBY", metricsKey, "count", n) - n
  local prev = rcall("HMGET", metricsKey, "prevTS", "prevCount")
  if not prev[1] then
    rcall("HSET", metricsKey, "prevTS", nowText, "prevCount", 0)
    return
  end
  local minutes = math.min(math.floor(tonumber(nowText) / 60000) - math.floor(tonumber(prev[1]) / 60000),
    maxPoints)
  if minutes <= 0 then return end
  local points = {before - (tonumber(prev[2]) or 0)}
  for i = 2, minutes do points[i] = 0 end
  local dataKey = metricsKey .. ":data"
  for from = 1, #points, 7000 do
    rcall("LPUSH", dataKey, unpack(points, from, math.min(from + 6999, #points)))
  end
  rcall("LTRIM", dataKey, 0, maxPoints - 1)
  rcall("HSET", metricsKey, "prevCount", before, "prevTS", nowText)
end
