-- get_ranges: the ids (or ids and hashes) of the jobs in a range of each given state, in
-- BullMQ's orders: lists newest first, or oldest first with `asc` (indexes then count
-- from the tail); sorted sets by score, descending unless `asc`. A legacy "0:" marker
-- at the tail of wait or paused is popped first (a list holding only the marker reads
-- as empty).
-- With hashes, ids whose hash is gone are skipped, and a bounded range (start and end
-- >= 0) reads on past them, up to 5 more slices, to fill the page.
-- KEYS: the state keys, one per type
-- ARGV: 1 base key, 2 start, 3 end, 4 asc "1"/"0", 5 with hashes "1"/"0",
--       6... the state names (wait, paused, active, or a sorted set's name), one per key
-- Returns one array per state: ids, or {id, flat hash} pairs.
local baseKey = ARGV[1]
local rangeStart, rangeEnd = tonumber(ARGV[2]), tonumber(ARGV[3])
local asc, withHashes = ARGV[4] == "1", ARGV[5] == "1"
local MAX_SLICES = 5

local function isList(name)
  return name == "wait" or name == "paused" or name == "active"
end

-- False when the list holds nothing but a legacy marker.
local function dropLegacyMarker(key, name)
  if name ~= "wait" and name ~= "paused" then return true end
  local last = rcall("LINDEX", key, -1)
  if not last or string.sub(last, 1, 2) ~= "0:" then return true end
  if rcall("LLEN", key) <= 1 then return false end
  rcall("RPOP", key)
  return true
end

-- The index counted from the other end of a list (-1, the last, mirrors to 0, the first;
-- written out, as Lua would send -0, which Redis rejects).
local function mirrored(index)
  if index == -1 then return 0 end
  return -(index + 1)
end

local function slice(key, name, from, to)
  if isList(name) then
    if not asc then return rcall("LRANGE", key, from, to) end
    local ids = rcall("LRANGE", key, mirrored(to), mirrored(from))
    local reversed = {}
    for i = #ids, 1, -1 do reversed[#reversed + 1] = ids[i] end
    return reversed
  end
  if asc then return rcall("ZRANGE", key, from, to) end
  return rcall("ZREVRANGE", key, from, to)
end

local function withJobs(ids, entries, room)
  for _, jobId in ipairs(ids) do
    if #entries >= room then return end
    local hash = rcall("HGETALL", baseKey .. jobId)
    if #hash > 0 then entries[#entries + 1] = {jobId, hash} end
  end
end

local function jobsOf(key, name)
  local entries = {}
  if rangeStart < 0 or rangeEnd < 0 then
    withJobs(slice(key, name, rangeStart, rangeEnd), entries, math.huge)
    return entries
  end
  local needed = rangeEnd - rangeStart + 1
  local cursor = rangeStart
  for _ = 1, MAX_SLICES do
    if #entries >= needed then break end
    local ids = slice(key, name, cursor, cursor + needed - 1)
    if #ids == 0 then break end
    withJobs(ids, entries, needed)
    cursor = cursor + #ids
  end
  return entries
end

local results = {}
for i, key in ipairs(KEYS) do
  local name = ARGV[5 + i]
  if not dropLegacyMarker(key, name) then
    results[i] = {}
  elseif withHashes then
    results[i] = jobsOf(key, name)
  else
    results[i] = slice(key, name, rangeStart, rangeEnd)
  end
end
return results
