-- move_to_wait: the holder of an active job's lock puts it back where it is taken next
-- (BullMQ's job.moveToWait, used after a rate limit): the front of wait, or ahead of
-- its priority; the attempt is not counted and the lock is released.
-- KEYS: 1 active, 2 wait, 3 prioritized, 4 events, 5 meta, 6 marker, 7 stalled, 8 limiter
-- ARGV: 1 job key, 2 job id, 3 lock token ("0" = no lock)
-- Returns the limiter's remaining ttl in ms (0 when not limited), or -1 (missing job),
-- -2 (missing lock), -6 (lock mismatch).
local jobKey, jobId = ARGV[1], ARGV[2]
if rcall("EXISTS", jobKey) == 0 then return -1 end
local code = releaseLock(jobKey, KEYS[7], jobId, ARGV[3])
if code < 0 then return code end
if rcall("LREM", KEYS[1], 1, jobId) > 0 then
  local meta = readMeta(KEYS[5])
  local priority = tonumber(rcall("HGET", jobKey, "priority")) or 0
  if priority > 0 then
    rcall("ZADD", KEYS[3], priority * PRIORITY_SHIFT, jobId)
  else
    rcall("RPUSH", KEYS[2], jobId)
    if not metaPausedOrMaxed(meta, KEYS[1]) then markReady(KEYS[6]) end
  end
  rcall("XADD", KEYS[4], "MAXLEN", "~", eventsLen(meta), "*", "event", "waiting", "jobId", jobId,
    "prev", "active")
end
local ttl = rcall("PTTL", KEYS[8])
return ttl > 0 and ttl or 0
