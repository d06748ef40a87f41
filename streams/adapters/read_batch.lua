-- Read what a batch needs in one call: the partition's fence, its newest window clock applied, its
-- window clock record, the tickets whose parked follow-ups may pass the orphan horizon in this batch, and the
-- values of many hash fields (ticket states, repeat groups, then the waiting tickets' states).
-- One EVALSHA with a blob costs redis-py far less than a pipeline of thousands of HGETs.
-- Every key shares the partition's hash tag (one slot of a Redis Cluster).
-- KEYS: the partition's part hash. ARGV: prefix, blob of records "hash_suffix \31 field" separated
-- by \30, orphan horizon (s), the batch's newest event time, at most how many waiting tickets to
-- read (the caller reads again with a larger limit when this one is reached: it needs all of them)
local part = KEYS[1]
local p = ARGV[1] .. ':'
local got = redis.call('HMGET', part, 'hwm', 'wm', 'pwm')
local pwm = got[3] or ''
local waiting = {}
-- The clock cannot pass the newest of its own value and the batch's event times (ARGV[4]).
local bound = tonumber(ARGV[4]) or 0
if pwm ~= '' then
  local wm = tonumber(string.match(pwm, '^(%d+)'))
  if wm and wm > bound then bound = wm end
end
if bound > 0 then
  waiting = redis.call('ZRANGEBYSCORE', p .. 'wait', '-inf', '(' .. (bound - tonumber(ARGV[3])), 'LIMIT', 0, tonumber(ARGV[5]))
end
local out = {got[1] or '', got[2] or '', pwm, table.concat(waiting, '\30')}
local function get(rec)
  local sep = string.find(rec, '\31', 1, true)
  out[#out + 1] = redis.call('HGET', p .. string.sub(rec, 1, sep - 1), string.sub(rec, sep + 1)) or ''
end
local blob = ARGV[2]
if blob ~= '' then
  for rec in string.gmatch(blob, '[^\30]+') do get(rec) end
end
for _, member in ipairs(waiting) do get(member) end
return out
