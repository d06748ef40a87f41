-- Apply one batch of a partition's increments atomically, fenced by the partition's offset.
--
-- Exactly-once counting rests on this script: the increments, the ticket states and the partition's
-- high-water mark move together or not at all. A batch whose expected high-water mark is no longer
-- current (another worker took the partition, or this batch was applied before a crash) is refused,
-- and the caller re-reads and retries or drops it. Every key is the partition's (one hash tag, one
-- slot of a Redis Cluster): KEYS[1] is its `part` hash, the others share its prefix. Repeat groups
-- live only on partitions of the members topic, whose one consumer owns them; each is still written
-- only if it holds what the batch read (a second writer would be a bug, refused loudly).
--
-- Defence in depth: besides the compare-and-set on the expected fence, a batch whose first offset
-- is at or below the fence is refused whatever the caller expected, so no record is applied twice.
-- A batch that starts beyond fence + 1, and offsets missing inside a batch, are gaps: Kafka leaves
-- them only for transaction markers and compaction, so they are counted (`gap`) for an alert.
--
-- KEYS: the partition's part hash. ARGV: prefix, expected_hwm, first_offset, new_hwm, watermark, now,
-- lag, partition_clock, inner_gaps, then one JSON document (decoded by Redis' cjson, in C; parsing
-- separator-delimited blobs in Lua cost more than the writes themselves), its lists:
--   incr      {key_suffix: [field, delta, field, delta, ...]} (deltas as decimal strings: see encode_batch)
--   states    [state_shard_suffix, ticket_id, encoded_state]
--   buckets   [key_suffix, index_zset_suffix, start, ttl_seconds]
--   prune     [index_zset_suffix, oldest_start_to_keep]
--   groups    [group_shard_suffix, group_key, expected_value, new_value]
--   examples  [list_suffix, entry]
--   waiting   [state_shard_suffix, ticket_id, earliest parked time ('' removes it)]
local part = KEYS[1]
local p = ARGV[1] .. ':'
local found = redis.call('HGET', part, 'hwm')
local current = found or '-1'
if current ~= ARGV[2] then
  return {0, current}
end
local first = tonumber(ARGV[3])
if first <= tonumber(current) or tonumber(ARGV[4]) < first then
  return {0, current}
end
local gap = tonumber(ARGV[9])
if found and first > tonumber(current) + 1 then gap = gap + first - tonumber(current) - 1 end

local batch = cjson.decode(ARGV[10])
local groups = batch.groups
for _, g in ipairs(groups) do
  local cur = redis.call('HGET', p .. g[1], g[2])
  if cur == false then cur = '' end
  if cur ~= g[3] then return {0, 'group ' .. g[2]} end
end

-- A hash this batch opens (a replay's batch opens most of its hourly buckets) takes all its fields
-- in one HSET, which leaves what the HINCRBYs would: one call instead of one a field, and Redis sizes
-- the hash once instead of scanning a growing listpack for each new field. 200,000 records of the
-- year, 2 workers: bench/RESULTS.md (2026-12-06, second session).
for suffix, deltas in pairs(batch.incr) do
  local key = p .. suffix
  if redis.call('EXISTS', key) == 0 then
    for i = 1, #deltas, 4000 do  -- unpack stays well inside Lua's C stack (8,000 values)
      redis.call('HSET', key, unpack(deltas, i, math.min(i + 3999, #deltas)))
    end
  else
    for i = 1, #deltas, 2 do
      redis.call('HINCRBY', key, deltas[i], deltas[i + 1])
    end
  end
end
if gap > 0 then redis.call('HINCRBY', p .. 'pipe', 'gap', gap) end
for _, r in ipairs(batch.states) do
  redis.call('HSET', p .. r[1], r[2], r[3])
end
for _, r in ipairs(batch.buckets) do
  local key = p .. r[1]
  redis.call('ZADD', p .. r[2], r[3], key)
  redis.call('EXPIRE', key, r[4])
end
for _, r in ipairs(batch.prune) do
  local idx = p .. r[1]
  local old = redis.call('ZRANGEBYSCORE', idx, '-inf', '(' .. r[2])
  for _, key in ipairs(old) do redis.call('DEL', key) end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', idx, '-inf', '(' .. r[2]) end
end
for _, g in ipairs(groups) do
  redis.call('HSET', p .. g[1], g[2], g[4])
end
for _, r in ipairs(batch.examples) do
  local key = p .. r[1]
  redis.call('LPUSH', key, r[2])
  redis.call('LTRIM', key, 0, 19)
end
local wait_key = p .. 'wait'
for _, r in ipairs(batch.waiting) do
  local member = r[1] .. '\31' .. r[2]
  if r[3] == nil or r[3] == '' then
    redis.call('ZREM', wait_key, member)
  else
    redis.call('ZADD', wait_key, r[3], member)
  end
end

local wm = tonumber(redis.call('HGET', part, 'wm') or '0')
if tonumber(ARGV[5]) > wm then wm = tonumber(ARGV[5]) end
redis.call('HSET', part, 'hwm', ARGV[4], 'lag', ARGV[7], 'pwm', ARGV[8], 'wm', wm, 'last_batch', ARGV[6])
return {1, ARGV[4]}
