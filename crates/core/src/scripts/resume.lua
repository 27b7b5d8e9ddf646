-- resume: lets workers fetch again, first moving any legacy (v5) paused list into wait.
-- KEYS: 1 meta, 2 wait, 3 paused, 4 prioritized, 5 delayed, 6 marker, 7 events
-- ARGV: none
-- Returns 0.
rcall("HDEL", KEYS[1], "paused")
if rcall("EXISTS", KEYS[3]) == 1 then
  if rcall("EXISTS", KEYS[2]) == 0 then
    rcall("RENAME", KEYS[3], KEYS[2])
  else
    local chunk = rcall("LRANGE", KEYS[3], 0, 6999)
    while #chunk > 0 do
      rcall("RPUSH", KEYS[2], unpack(chunk))
      rcall("LTRIM", KEYS[3], #chunk, -1)
      chunk = rcall("LRANGE", KEYS[3], 0, 6999)
    end
  end
end
if rcall("LLEN", KEYS[2]) + rcall("ZCARD", KEYS[4]) > 0 then
  markReady(KEYS[6])
else
  markNextDelayed(KEYS[6], KEYS[5])
end
rcall("XADD", KEYS[7], "*", "event", "resumed")
return 0
