-- pause: stops every worker of the queue from fetching; waiting jobs stay in wait.
-- KEYS: 1 meta, 2 marker, 3 events
-- ARGV: none
-- Returns 0.
rcall("HSET", KEYS[1], "paused", 1)
rcall("DEL", KEYS[2])
rcall("XADD", KEYS[3], "*", "event", "paused")
return 0
