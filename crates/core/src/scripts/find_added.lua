-- find_added: after an add call whose reply was lost, tells whether it was stored. An
-- add call of jobs without parents or deduplication takes one block of consecutive
-- counter values, one per job, and stores each job without a custom id under its
-- value; the call landed when, among the latest values, such a block holds the batch's
-- jobs (by name, timestamp and data, in order).
-- KEYS: 1 id counter
-- ARGV: 1 queue key base (`<prefix>:<name>:`), 2 how many of the latest counter values to look through, then
--       per job of the batch: its custom id ("" for none), name, timestamp, data
-- Returns the counter value of the batch's first job, or 0 when the batch is not stored.
local base = ARGV[1]
local window = tonumber(ARGV[2])
local count = (#ARGV - 2) / 4
local last = tonumber(rcall("GET", KEYS[1]) or "0")

-- Whether the job stored under counter value `id` is the batch's job `i` (a job with a
-- custom id proves nothing either way).
local function matches(id, i)
  local at = 3 + (i - 1) * 4
  if ARGV[at] ~= "" then return true end
  local stored = rcall("HMGET", base .. id, "name", "timestamp", "data")
  return stored[1] == ARGV[at + 1] and stored[2] == ARGV[at + 2] and stored[3] == ARGV[at + 3]
end

local first = last - count + 1
local lowest = math.max(1, last - window)
while first >= lowest do
  local all = true
  for i = 1, count do
    if not matches(first + i - 1, i) then
      all = false
      break
    end
  end
  if all then return first end
  first = first - 1
end
return 0
