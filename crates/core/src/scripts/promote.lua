-- promote: makes a delayed job ready now (wait, or prioritized when it has a priority).
-- KEYS: 1 delayed, 2 wait, 3 prioritized, 4 pc, 5 meta, 6 active, 7 events, 8 marker
-- ARGV: 1 base key, 2 job id
-- Returns 0, or -3 when the job is not delayed.
local jobId = ARGV[2]
if rcall("ZREM", KEYS[1], jobId) == 0 then return -3 end
local jobKey = ARGV[1] .. jobId
local priority = tonumber(rcall("HGET", jobKey, "priority")) or 0
local pausedOrMaxed = isPausedOrMaxed(KEYS[5], KEYS[6])
-- A legacy "0:" wake-up entry at the head of wait is dropped: the job replaces it.
local head = rcall("LINDEX", KEYS[2], 0)
if head and string.sub(head, 1, 2) == "0:" then rcall("LPOP", KEYS[2]) end
enqueueReady(KEYS[2], KEYS[3], KEYS[4], jobId, priority, false)
if not pausedOrMaxed then markReady(KEYS[8]) end
rcall("XADD", KEYS[7], "*", "event", "waiting", "jobId", jobId, "prev", "delayed")
rcall("HSET", jobKey, "delay", 0)
return 0
