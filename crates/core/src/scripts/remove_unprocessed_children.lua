-- remove_unprocessed_children: removes a job's pending children and, below them, their
-- pending descendants, skipping locked and failed ones (see remove_tree.lua). Each
-- removed job emits `removed` on its own queue.
-- ARGV: 1 the job's key
-- Returns nothing.
removeChildren(ARGV[1], {withChildren = true, pendingOnly = true, skipLocked = true})
