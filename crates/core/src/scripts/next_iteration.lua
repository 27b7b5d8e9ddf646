-- next_iteration: adds the iteration after ARGV[3], the one a worker just took, as any
-- worker that takes an iteration does (see iteration.lua). Only the scheduler's current
-- iteration produces the next, so two takers never add two; a scheduler removed
-- meanwhile adds nothing.
-- KEYS: as iteration.lua
-- ARGV: 1 base key, 2 scheduler id, 3 id of the iteration taken, 4 now (ms), 5 next ms of
--   a pattern ("" for `every`, computed here), 6 the next iteration's options JSON
-- Returns the id of the iteration added, or nil when none was.
local k = iterationKeys()
local base, schedulerId, now = ARGV[1], ARGV[2], tonumber(ARGV[4])
local prevMillis = rcall("ZSCORE", k.repeatKey, schedulerId)
if not prevMillis or ARGV[3] ~= iterationId(schedulerId, prevMillis) then return nil end

local schedulerKey = k.repeatKey .. ":" .. schedulerId
local attrs = rcall("HMGET", schedulerKey, "name", "data", "every", "startDate", "offset")
local opts = cjson.decode(ARGV[6])
local repeatOpts = type(opts["repeat"]) == "table" and opts["repeat"] or {}
local every = tonumber(attrs[3]) or tonumber(repeatOpts["every"])
local nextMillis = tonumber(ARGV[5])
if every then
  local offset = attrs[5] or repeatOpts["offset"] or 0
  nextMillis = everyNextMillis(tonumber(prevMillis), every, now, offset, attrs[4])
end
if not nextMillis then return nil end

local jobId = iterationId(schedulerId, nextMillis)
if rcall("EXISTS", base .. jobId) == 1 then
  rcall("XADD", k.events, "MAXLEN", "~", eventsMaxLen(k.meta), "*", "event", "duplicated",
    "jobId", jobId)
  return nil
end
rcall("ZADD", k.repeatKey, nextMillis, schedulerId)
rcall("HINCRBY", schedulerKey, "ic", 1)
rcall("INCR", k.id)
addIteration(k, base, schedulerId, jobId, attrs[1], attrs[2] or "{}", opts, now,
  math.max(nextMillis - now, 0))
return jobId
