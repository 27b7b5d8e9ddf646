-- get_children_page: a page of a parent's children, from its pending set or its
-- processed hash, in scan order, with each child's job hash.
-- KEYS: 1 the set (`:dependencies`) or hash (`:processed`)
-- ARGV: 1 index of the first child, 2 index of the last one (-1 = to the end)
-- Returns {total, 1 for a hash / 0 for a set, items, jobs}: items are the child keys
-- (each followed by its value for a hash), jobs the child job hashes (flat; empty for a
-- job that is gone).
local key = KEYS[1]
local kind = rcall("TYPE", key)["ok"]
if kind == "none" then return {0, 0, {}, {}} end
if kind ~= "hash" and kind ~= "set" then
  return redis.error_reply("Pagination is only supported for sets and hashes.")
end
local isHash = kind == "hash"
local total = rcall(isHash and "HLEN" or "SCARD", key)
local first, last = tonumber(ARGV[1]), tonumber(ARGV[2])
if last < 0 then last = total end
local step = isHash and 2 or 1
local items, jobs = {}, {}
local index, cursor = 0, "0"
repeat
  local reply = rcall(isHash and "HSCAN" or "SSCAN", key, cursor, "COUNT", 100)
  cursor = reply[1]
  local members = reply[2]
  for i = 1, #members, step do
    if index >= first and index <= last then
      items[#items + 1] = members[i]
      if isHash then items[#items + 1] = members[i + 1] end
      jobs[#jobs + 1] = rcall("HGETALL", members[i])
    end
    index = index + 1
  end
until cursor == "0" or index > last
return {total, isHash and 1 or 0, items, jobs}
