-- remove_orphaned_jobs: deletes the keys of candidate jobs that no state of the queue
-- holds (left behind by a crash or a hand-made deletion), each job checked atomically.
-- ARGV: 1 base key, 2 number of state key suffixes, then the suffixes (their type says
--   how to look a job up in them), then the number of job sub-key suffixes, then those
--   suffixes, then the candidate job ids.
-- Returns how many jobs were deleted.
local baseKey = ARGV[1]
local stateCount = tonumber(ARGV[2])
local states = {}
for i = 1, stateCount do
  local key = baseKey .. ARGV[2 + i]
  states[#states + 1] = {key = key, kind = rcall("TYPE", key)["ok"]}
end
local subCount = tonumber(ARGV[3 + stateCount])
local firstCandidate = 4 + stateCount + subCount

local function isHeld(jobId)
  for _, state in ipairs(states) do
    if state.kind == "list" and rcall("LPOS", state.key, jobId) then return true end
    if state.kind == "zset" and rcall("ZSCORE", state.key, jobId) then return true end
    if state.kind == "set" and rcall("SISMEMBER", state.key, jobId) == 1 then return true end
  end
  return false
end

local removed = 0
for c = firstCandidate, #ARGV do
  local jobId = ARGV[c]
  if not isHeld(jobId) then
    local jobKey = baseKey .. jobId
    local doomed = {jobKey}
    for i = 1, subCount do doomed[#doomed + 1] = jobKey .. ":" .. ARGV[3 + stateCount + i] end
    rcall("DEL", unpack(doomed))
    removed = removed + 1
  end
end
return removed
