-- Apply one batch of a partition's increments atomically, fenced by the partition's offset.
--
-- Exactly-once counting rests on this script: the increments, the ticket states and the partition's
-- high-water mark move together or not at all. A batch whose expected high-water mark is no longer
-- current (another worker took the partition, or this batch was applied before a crash) is refused,
-- and the caller re-reads and retries or drops it. Repeat groups are shared across partitions, so
-- each is written only if it still holds what the batch read (optimistic check), else the whole
-- batch is refused and recomputed.
--
-- ARGV: ns, hwm_field, expected_hwm, new_hwm, watermark, now, lag, then six blobs. A blob is
-- records separated by \30 whose fields are separated by \31 (redis-py packs six strings far
-- faster than tens of thousands of arguments):
--   increments  key_suffix, field, delta
--   states      state_shard_suffix, ticket_id, encoded_state
--   buckets     key_suffix, index_zset_suffix, start, ttl_seconds
--   prune       index_zset_suffix, oldest_start_to_keep
--   groups      group_shard_suffix, group_key, expected_value, new_value
--   examples    list_suffix, ticket_id
local ns = ARGV[1]

local function records(blob)
  local out = {}
  if blob == nil or blob == '' then return out end
  for rec in string.gmatch(blob, '[^\30]+') do
    local fields, i = {}, 1
    while true do
      local j = string.find(rec, '\31', i, true)
      if not j then fields[#fields + 1] = string.sub(rec, i); break end
      fields[#fields + 1] = string.sub(rec, i, j - 1)
      i = j + 1
    end
    out[#out + 1] = fields
  end
  return out
end

local hwm_key = ns .. ':hwm'
local current = redis.call('HGET', hwm_key, ARGV[2])
if current == false then current = '-1' end
if current ~= ARGV[3] then
  return {0, current}
end

local groups = records(ARGV[12])
for _, g in ipairs(groups) do
  local cur = redis.call('HGET', ns .. ':' .. g[1], g[2])
  if cur == false then cur = '' end
  if cur ~= g[3] then return {0, 'group ' .. g[2]} end
end

for _, r in ipairs(records(ARGV[8])) do
  redis.call('HINCRBY', ns .. ':' .. r[1], r[2], r[3])
end
for _, r in ipairs(records(ARGV[9])) do
  redis.call('HSET', ns .. ':' .. r[1], r[2], r[3])
end
for _, r in ipairs(records(ARGV[10])) do
  local key = ns .. ':' .. r[1]
  redis.call('ZADD', ns .. ':' .. r[2], r[3], key)
  redis.call('EXPIRE', key, r[4])
end
for _, r in ipairs(records(ARGV[11])) do
  local idx = ns .. ':' .. r[1]
  local old = redis.call('ZRANGEBYSCORE', idx, '-inf', '(' .. r[2])
  for _, key in ipairs(old) do redis.call('DEL', key) end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', idx, '-inf', '(' .. r[2]) end
end
for _, g in ipairs(groups) do
  redis.call('HSET', ns .. ':' .. g[1], g[2], g[4])
end
for _, r in ipairs(records(ARGV[13])) do
  local key = ns .. ':' .. r[1]
  redis.call('LPUSH', key, r[2])
  redis.call('LTRIM', key, 0, 19)
end

redis.call('HSET', hwm_key, ARGV[2], ARGV[4])
redis.call('HSET', ns .. ':lag', ARGV[2], ARGV[7])
local meta = ns .. ':meta'
local wm = tonumber(redis.call('HGET', meta, 'watermark') or '0')
if tonumber(ARGV[5]) > wm then redis.call('HSET', meta, 'watermark', ARGV[5]) end
redis.call('HSET', meta, 'last_batch', ARGV[6])
return {1, ARGV[4]}
