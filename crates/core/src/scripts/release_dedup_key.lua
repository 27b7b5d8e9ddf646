-- release_dedup_key: frees a deduplication id, but only while the given job owns it.
-- KEYS: 1 the deduplication key
-- ARGV: 1 job id
-- Returns 1 when the key was deleted, 0 when another job (or nobody) owns the id.
if rcall("GET", KEYS[1]) ~= ARGV[1] then return 0 end
return rcall("DEL", KEYS[1])
