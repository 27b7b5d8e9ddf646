-- add_jobs: stores a batch of new jobs of one queue and makes each ready, prioritized or
-- delayed (see add.lua), each as one BullMQ add would; the batch shares the counter
-- increment and the pushes onto wait.
-- KEYS: 1 wait, 2 active, 3 prioritized, 4 pc, 5 delayed, 6 events, 7 meta, 8 marker, 9 id
-- ARGV: 1 base key, 2 number of jobs, then 13 arguments per job (see add.lua); an empty
--   id takes the next counter value.
-- Returns, per job in order, its id or a negative code: -5 its parent does not exist
-- (nothing stored, no counter taken), -7 its custom id exists and belongs to another
-- parent. A custom id that already exists otherwise leaves that job untouched (but for
-- its parent link) and returns its id (BullMQ's `duplicated`); an add dropped by
-- deduplication returns the id of the job that owns the deduplication id.
local baseKey = ARGV[1]
local count = tonumber(ARGV[2])
local results = {}
local valid = 0
for i = 1, count do
  if parentMissing(3 + (i - 1) * JOB_ARGS) then results[i] = -5 else valid = valid + 1 end
end
if valid == 0 then return results end

local q = addTarget(baseKey, {wait = KEYS[1], active = KEYS[2], prioritized = KEYS[3],
  pc = KEYS[4], delayed = KEYS[5], events = KEYS[6], meta = KEYS[7], marker = KEYS[8],
  id = KEYS[9]})
local counter = rcall("INCRBY", KEYS[9], valid) - valid
for i = 1, count do
  if not results[i] then
    local at = 3 + (i - 1) * JOB_ARGS
    counter = counter + 1
    local custom = ARGV[at]
    results[i] = addJob(q, at, custom ~= "" and custom or tostring(counter), false, false)
  end
end
finishTarget(q)
return results
