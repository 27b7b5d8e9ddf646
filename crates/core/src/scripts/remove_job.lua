-- remove_job: deletes one job that no worker holds, from whichever state has it, and with
-- `removeChildren` its descendants too (see remove_tree.lua); each removed job emits
-- `removed` on its own queue. A parent left without pending children by the removal is
-- released to the front of its wait.
-- KEYS: 1 repeat
-- ARGV: 1 base key, 2 job id, 3 remove children "1"/"0"
-- Returns 1 when removed, 0 when the job (or, with children, a pending descendant) is
-- locked, -8 for a scheduler's current iteration.
local baseKey, jobId = ARGV[1], ARGV[2]
local withChildren = ARGV[3] == "1"
local jobKey = baseKey .. jobId
local rjk = rcall("HGET", jobKey, "rjk")
if rjk then
  local score = rcall("ZSCORE", KEYS[1], rjk)
  if score and jobId == "repeat:" .. rjk .. ":" .. score then return -8 end
end
if isTreeLocked(jobKey, withChildren) then return 0 end
removeTree(jobKey, nil, {withChildren = withChildren})
return 1
