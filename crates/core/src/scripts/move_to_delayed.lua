-- move_to_delayed: the holder of an active job's lock sends it to the delayed set
-- (BullMQ's job.moveToDelayed); the lock is released.
-- KEYS: 1 active, 2 delayed, 3 events, 4 meta, 5 marker, 6 stalled
-- ARGV: 1 job key, 2 job id, 3 lock token ("0" = no lock), 4 now (ms), 5 delay (ms),
--       6 "1" to count the attempt in atm, "0" not to
-- Returns 0, or -1 (missing job), -2 (missing lock), -3 (not active), -6 (lock mismatch).
local jobKey, jobId = ARGV[1], ARGV[2]
if rcall("EXISTS", jobKey) == 0 then return -1 end
local code = releaseLock(jobKey, KEYS[6], jobId, ARGV[3])
if code < 0 then return code end
if rcall("LREM", KEYS[1], -1, jobId) == 0 then return -3 end
local due = tonumber(ARGV[4]) + tonumber(ARGV[5])
if ARGV[6] == "1" then rcall("HINCRBY", jobKey, "atm", 1) end
rcall("HSET", jobKey, "delay", ARGV[5])
rcall("ZADD", KEYS[2], delayedScore(KEYS[2], due), jobId)
rcall("XADD", KEYS[3], "MAXLEN", "~", eventsLen(readMeta(KEYS[4])), "*", "event", "delayed",
  "jobId", jobId, "delay", due)
markNextDelayed(KEYS[5], KEYS[2])
return 0
