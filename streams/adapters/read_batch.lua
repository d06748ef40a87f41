-- Read what a batch needs in one call: the partition's fence, the namespace's watermark, the
-- partition's window clock, the tickets whose parked follow-ups are past the orphan horizon, and
-- the values of many hash fields (ticket states, repeat groups, then the waiting tickets' states).
-- One EVALSHA with a blob costs redis-py far less than a pipeline of thousands of HGETs.
-- ARGV: ns, fence, blob of records "hash_suffix \31 field" separated by \30, orphan horizon (s)
local ns = ARGV[1]
local fence = ARGV[2]
local pwm = redis.call('HGET', ns .. ':pwm', fence) or ''
local waiting = {}
if pwm ~= '' then
  local wm = tonumber(string.match(pwm, '^(%d+)'))
  if wm and wm > 0 then
    waiting = redis.call('ZRANGEBYSCORE', ns .. ':wait:' .. fence, '-inf', '(' .. (wm - tonumber(ARGV[4])),
                         'LIMIT', 0, 500)
  end
end
local out = {redis.call('HGET', ns .. ':hwm', fence) or '', redis.call('HGET', ns .. ':meta', 'watermark') or '',
             pwm, table.concat(waiting, '\30')}
local function get(rec)
  local sep = string.find(rec, '\31', 1, true)
  out[#out + 1] = redis.call('HGET', ns .. ':' .. string.sub(rec, 1, sep - 1), string.sub(rec, sep + 1)) or ''
end
local blob = ARGV[3]
if blob ~= '' then
  for rec in string.gmatch(blob, '[^\30]+') do get(rec) end
end
for _, member in ipairs(waiting) do get(member) end
return out
