-- reprocess_job: sends a completed or failed job back to wait to run again.
-- A job with a priority goes back to prioritized, any other to wait; a child is pending
-- again for its parent.
-- KEYS: 1 job hash, 2 events, 3 completed or failed set, 4 wait, 5 meta, 6 active, 7 marker,
--       8 prioritized, 9 priority counter
-- ARGV: 1 job id, 2 lifo "1"/"0", 3 the state name ("completed" or "failed"),
--       4 reset attempts made "1"/"0", 5 reset attempts started "1"/"0"
-- Returns 1, or -1 when the job does not exist, -3 when it is not in that state.
if rcall("EXISTS", KEYS[1]) == 0 then return -1 end
if rcall("ZREM", KEYS[3], ARGV[1]) == 0 then return -3 end
local field = ARGV[3] == "failed" and "failedReason" or "returnvalue"
rcall("HDEL", KEYS[1], "finishedOn", "processedOn", field)
if ARGV[4] == "1" then rcall("HDEL", KEYS[1], "atm") end
if ARGV[5] == "1" then rcall("HDEL", KEYS[1], "ats") end
local priority = tonumber(rcall("HGET", KEYS[1], "priority")) or 0
enqueueReady(KEYS[4], KEYS[8], KEYS[9], ARGV[1], priority, ARGV[2] == "1")
if not isPausedOrMaxed(KEYS[5], KEYS[6]) then markReady(KEYS[7]) end
rejoinParent(KEYS[1], ARGV[3])
rcall("XADD", KEYS[2], "MAXLEN", "~", eventsMaxLen(KEYS[5]), "*", "event", "waiting",
  "jobId", ARGV[1], "prev", ARGV[3])
return 1
