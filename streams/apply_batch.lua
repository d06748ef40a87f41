-- Apply one batch of a partition's increments atomically, fenced by the partition's offset.
--
-- Exactly-once counting rests on this script: the increments, the ticket states and the partition's
-- high-water mark move together or not at all. A batch whose expected high-water mark is no longer
-- current (another worker took the partition, or this batch was applied before a crash) is refused,
-- and the caller re-reads and retries or drops it.
--
-- ARGV: ns, hwm_field, expected_hwm, new_hwm, watermark, now, lag_value,
--       n_incr, then n_incr triples (key_suffix, field, delta),
--       n_states, then pairs (state_key_suffix, ticket_id|encoded_state),
--       n_buckets, then triples (key_suffix, zset_suffix, start, ttl_seconds),
--       n_prune, then pairs (zset_suffix, oldest_start_to_keep),
--       n_groups, then quads (group_shard_suffix, group_key, expected_value, new_value),
--       n_examples, then pairs (list_suffix, ticket_id)
local ns = ARGV[1]
local hwm_key = ns .. ':hwm'
local current = redis.call('HGET', hwm_key, ARGV[2])
if current == false then current = '-1' end
if current ~= ARGV[3] then
  return {0, current}
end

-- Locate the repeat-group section (last) and check it before writing anything.
local i = 9
local n = tonumber(ARGV[8])
local j = i + 3 * n
j = j + 1 + 2 * tonumber(ARGV[j])
j = j + 1 + 4 * tonumber(ARGV[j])
j = j + 1 + 2 * tonumber(ARGV[j])
local ngroups = tonumber(ARGV[j])
local g = j + 1
for _ = 1, ngroups do
  local cur = redis.call('HGET', ns .. ':' .. ARGV[g], ARGV[g + 1])
  if cur == false then cur = '' end
  if cur ~= ARGV[g + 2] then return {0, 'group ' .. ARGV[g + 1]} end
  g = g + 4
end
g = j + 1
for _ = 1, ngroups do
  redis.call('HSET', ns .. ':' .. ARGV[g], ARGV[g + 1], ARGV[g + 3])
  g = g + 4
end
local nex = tonumber(ARGV[g]); g = g + 1
for _ = 1, nex do
  local key = ns .. ':' .. ARGV[g]
  redis.call('LPUSH', key, ARGV[g + 1])
  redis.call('LTRIM', key, 0, 19)
  g = g + 2
end

for _ = 1, n do
  redis.call('HINCRBY', ns .. ':' .. ARGV[i], ARGV[i + 1], ARGV[i + 2])
  i = i + 3
end

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local sep = string.find(ARGV[i + 1], '\t', 1, true)
  redis.call('HSET', ns .. ':' .. ARGV[i], string.sub(ARGV[i + 1], 1, sep - 1), string.sub(ARGV[i + 1], sep + 1))
  i = i + 2
end

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local key = ns .. ':' .. ARGV[i]
  redis.call('ZADD', ns .. ':' .. ARGV[i + 1], ARGV[i + 2], key)
  redis.call('EXPIRE', key, ARGV[i + 3])
  i = i + 4
end

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local idx = ns .. ':' .. ARGV[i]
  local old = redis.call('ZRANGEBYSCORE', idx, '-inf', '(' .. ARGV[i + 1])
  for _, key in ipairs(old) do redis.call('DEL', key) end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', idx, '-inf', '(' .. ARGV[i + 1]) end
  i = i + 2
end

redis.call('HSET', hwm_key, ARGV[2], ARGV[4])
redis.call('HSET', ns .. ':lag', ARGV[2], ARGV[7])
local meta = ns .. ':meta'
local wm = tonumber(redis.call('HGET', meta, 'watermark') or '0')
if tonumber(ARGV[5]) > wm then redis.call('HSET', meta, 'watermark', ARGV[5]) end
redis.call('HSET', meta, 'last_batch', ARGV[6])
return {1, ARGV[4]}
