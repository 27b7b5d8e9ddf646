-- fetch_jobs: moves up to N ready jobs into active for one worker, locking each.
-- KEYS: 1 wait, 2 active, 3 prioritized, 4 pc, 5 delayed, 6 events, 7 meta, 8 marker,
--       9 stalled, 10 limiter
-- ARGV: 1 base key, 2 now (ms), 3 lock token ("0" = no lock), 4 lock duration (ms),
--       5 how many jobs at most, 6 worker limiter max ("" = none),
--       7 worker limiter duration ("" = none), 8 worker name ("" = none)
-- Returns {jobs, rateLimitTtl, nextDelayedDue}, jobs being a list of {jobId, flat hash}.
local jobs, ttl, nextDue = fetchJobs(readMeta(KEYS[7]), ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8] ~= "" and ARGV[8] or nil)
return {jobs, ttl, nextDue}
