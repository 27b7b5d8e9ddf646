-- change_priority: gives a job a new priority; a waiting or prioritized job is queued
-- again under it (lifo: at the front of its priority, or of wait for priority 0).
-- KEYS: 1 job hash, 2 wait, 3 prioritized, 4 pc, 5 meta, 6 active, 7 marker
-- ARGV: 1 job id, 2 priority, 3 lifo "1"/"0"
-- Returns 0, or -1 when the job does not exist.
if rcall("EXISTS", KEYS[1]) == 0 then return -1 end
local jobId, priority, lifo = ARGV[1], tonumber(ARGV[2]), ARGV[3] == "1"
if rcall("ZREM", KEYS[3], jobId) > 0 or rcall("LREM", KEYS[2], -1, jobId) > 0 then
  local pausedOrMaxed = isPausedOrMaxed(KEYS[5], KEYS[6])
  if priority > 0 and lifo then
    -- Front of its priority: the counter part of the score is 0. No wake-up, as BullMQ.
    rcall("ZADD", KEYS[3], priority * PRIORITY_SHIFT, jobId)
  else
    enqueueReady(KEYS[2], KEYS[3], KEYS[4], jobId, priority, lifo)
    if not pausedOrMaxed then markReady(KEYS[7]) end
  end
end
rcall("HSET", KEYS[1], "priority", ARGV[2])
return 0
