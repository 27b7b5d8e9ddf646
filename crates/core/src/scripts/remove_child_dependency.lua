-- remove_child_dependency: detaches a child from its parent: the parent stops waiting
-- for it (released to the front of its wait if that was the last pending child) and the
-- child forgets its parent.
-- ARGV: 1 the child's key, 2 the parent's key
-- Returns 0 when detached, 1 when the child was not pending for that parent, -1 when the
-- child does not exist, -5 when the parent does not exist.
local childKey, parentKey = ARGV[1], ARGV[2]
if rcall("EXISTS", childKey) == 0 then return -1 end
if rcall("EXISTS", parentKey) == 0 then return -5 end
if not unlinkFromParent(childKey, parentKey, false, nil) then return 1 end
rcall("HDEL", childKey, "parentKey", "parent")
return 0
