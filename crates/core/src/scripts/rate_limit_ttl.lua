-- rate_limit_ttl: how long the queue stays rate limited, in ms. With a max (the given
-- one, else meta `max`): the limiter's PTTL once its counter has reached that max, else
-- 0 (a counter whose PTTL is 0 is deleted). With no max anywhere: the limiter's raw PTTL
-- (-2 when missing, -1 without expiry).
-- KEYS: 1 limiter, 2 meta
-- ARGV: 1 max jobs ("" = none given)
-- Returns the ttl in ms.
local maxJobs = tonumber(ARGV[1]) or tonumber(rcall("HGET", KEYS[2], "max"))
if not maxJobs then return rcall("PTTL", KEYS[1]) end
if maxJobs > (tonumber(rcall("GET", KEYS[1])) or 0) then return 0 end
local ttl = rcall("PTTL", KEYS[1])
if ttl == 0 then rcall("DEL", KEYS[1]) end
if ttl > 0 then return ttl end
return 0
