-- Read what a batch needs in one call: the partition's fence, the watermark, and the values of
-- many hash fields (ticket states, repeat groups). One EVALSHA with a blob costs redis-py far less
-- than a pipeline of thousands of HGETs.
-- ARGV: ns, hwm_field, blob of records "hash_suffix \31 field" separated by \30
local ns = ARGV[1]
local out = {redis.call('HGET', ns .. ':hwm', ARGV[2]) or '', redis.call('HGET', ns .. ':meta', 'watermark') or ''}
local blob = ARGV[3]
if blob ~= '' then
  for rec in string.gmatch(blob, '[^\30]+') do
    local sep = string.find(rec, '\31', 1, true)
    out[#out + 1] = redis.call('HGET', ns .. ':' .. string.sub(rec, 1, sep - 1), string.sub(rec, sep + 1)) or ''
  end
end
return out
