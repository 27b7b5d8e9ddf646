-- job_finished: tells whether a job has finished, with its result.
-- KEYS: 1 job hash, 2 completed, 3 failed
-- ARGV: 1 job id
-- Returns {-1} when the job is missing, {0} while unfinished,
-- {1, returnvalue} when completed, {2, failedReason} when failed.
if rcall("EXISTS", KEYS[1]) == 0 then return {-1} end
if rcall("ZSCORE", KEYS[2], ARGV[1]) then
  return {1, rcall("HGET", KEYS[1], "returnvalue") or "null"}
end
if rcall("ZSCORE", KEYS[3], ARGV[1]) then
  return {2, rcall("HGET", KEYS[1], "failedReason") or ""}
end
return {0}
