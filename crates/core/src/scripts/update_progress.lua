-- update_progress: stores a job's progress and announces it.
-- KEYS: 1 job hash, 2 events, 3 meta
-- ARGV: 1 job id, 2 progress JSON
-- Returns 0, or -1 when the job does not exist.
if rcall("EXISTS", KEYS[1]) == 0 then return -1 end
rcall("HSET", KEYS[1], "progress", ARGV[2])
rcall("XADD", KEYS[2], "MAXLEN", "~", eventsMaxLen(KEYS[3]), "*", "event", "progress",
  "jobId", ARGV[1], "data", ARGV[2])
return 0
