-- change_delay: reschedules a delayed job to become due `delay` ms after now.
-- KEYS: 1 job hash, 2 delayed, 3 events, 4 meta, 5 marker
-- ARGV: 1 job id, 2 delay (ms), 3 now (ms)
-- Returns 0, -1 when the job does not exist, -3 when it is not delayed.
if rcall("EXISTS", KEYS[1]) == 0 then return -1 end
local jobId, delay, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local due = delay > 0 and now + delay or now
-- Scored while the job is still in the set, as BullMQ does: within one due ms it goes
-- after every job there, itself included.
local score = delayedScore(KEYS[2], due)
if rcall("ZREM", KEYS[2], jobId) == 0 then return -3 end
rcall("HSET", KEYS[1], "delay", ARGV[2])
rcall("ZADD", KEYS[2], score, jobId)
rcall("XADD", KEYS[3], "MAXLEN", "~", eventsMaxLen(KEYS[4]), "*", "event", "delayed",
  "jobId", jobId, "delay", due)
markNextDelayed(KEYS[5], KEYS[2])
return 0
