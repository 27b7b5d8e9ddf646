-- add_log: appends a line to a job's log, keeping only the newest lines when asked.
-- KEYS: 1 job hash, 2 job logs
-- ARGV: 1 log line, 2 how many lines to keep ("" = all)
-- Returns the number of lines kept, or -1 when the job does not exist.
if rcall("EXISTS", KEYS[1]) == 0 then return -1 end
local count = rcall("RPUSH", KEYS[2], ARGV[1])
local keep = tonumber(ARGV[2])
if keep then
  rcall("LTRIM", KEYS[2], -keep, -1)
  return math.min(keep, count)
end
return count
