-- add_flow: stores whole flows (trees of jobs spanning queues and prefixes) in one step.
-- Nodes come parents first (breadth first, as BullMQ's FlowProducer orders them); each is
-- stored as one BullMQ add would (see add.lua), a node with children waiting for them. A
-- child whose parent is missing (the root's own parent, and so everything below it) is
-- not stored (-5). Once every node is in, each parent the flow linked children to is
-- released if nothing is pending for it (its children all existed and had completed),
-- unless linking a child to it failed (-7).
-- ARGV: 1 now (ms), 2 number of queues, then each queue's base key (`<prefix>:<queue>:`),
--   then per node: its queue's number (from 1), "p" for a node with children or "j",
--   and the 13 job arguments of add.lua (the id is always given).
-- Returns, per node in order, its id (or the id that deduplicated it) or a negative code.
local nowText = ARGV[1]
local queueCount = tonumber(ARGV[2])
local targets = {}
local results = {}
local parents, parentOrder = {}, {}

local function target(n)
  if not targets[n] then targets[n] = addTargetAt(ARGV[2 + n]) end
  return targets[n]
end

local first = 3 + queueCount
for at = first, #ARGV, JOB_ARGS + 2 do
  local jobAt = at + 2
  if parentMissing(jobAt) then
    results[#results + 1] = -5
  else
    local q = target(tonumber(ARGV[at]))
    results[#results + 1] = addJob(q, jobAt, ARGV[jobAt], ARGV[at + 1] == "p", true)
    local parentKey = ARGV[jobAt + 11]
    if parentKey ~= "" and not parents[parentKey] then
      parents[parentKey] = true
      parentOrder[#parentOrder + 1] = parentKey
    end
  end
end

for _, parentKey in ipairs(parentOrder) do
  if rcall("HGET", parentKey, "flowAttachmentFailed") then
    rcall("HDEL", parentKey, "flowAttachmentFailed")
  elseif rcall("SCARD", parentKey .. ":dependencies") == 0 then
    releaseIfWaiting(parentKey, nowText)
  end
end
for n = 1, queueCount do
  local q = targets[n]
  if q then
    rcall("INCRBY", q.id, q.added)
    finishTarget(q)
  end
end
return results
