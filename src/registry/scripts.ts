/**
 * The Lua scripts behind the Redis store. Each runs on one shard (KEYS[1] is its meta hash; every key it touches
 * shares that hash tag), atomically, so concurrent writers, splits and sweeps never disagree about where an entry
 * lives or how many there are. Scripts only store and compare the bytes they are given; the client decodes.
 *
 * Meta hash fields, per space X (s: forward, r: reverse):
 *   X:level, X:split   linear hashing: buckets = 2^level + split; bucket = h mod 2^level, or h mod 2^(level+1)
 *                      when that lands below split (h: first 32 bits of SHA-1 of the field)
 *   n:v, n:m, n:r      live entries by kind (validated, missing, reverse); expired ones stay counted until swept
 *   X:cursor, t:<kind> an unfinished sweep pass: next bucket to visit, and the live entries tallied so far
 *   X:swept            when the last pass finished (registry seconds)
 * A finished pass replaces n:<kind> with its tally, which corrects any drift (keys deleted behind our back).
 */

const PRELUDE = `
local meta = KEYS[1]
local base = ARGV[1]
local function bucketKey(space, bucket) return base .. space .. string.format('%d', bucket) end
local function hashOf(field) return tonumber(string.sub(redis.sha1hex(field), 1, 8), 16) end
local function address(hash, level, split)
  local size = 2 ^ level
  local bucket = hash % size
  if bucket < split then bucket = hash % (size * 2) end
  return bucket
end
local function expiryOf(value)
  if #value < 4 then return 0 end
  return (struct.unpack('>I4', value))
end
local function kindOf(space, value)
  if space == 'r' then return 'r' end
  if #value == 20 then return 'v' end
  return 'm'
end
local function add(tally, key, delta) tally[key] = (tally[key] or 0) + delta end
local spaces = {}
local function stateOf(space)
  local state = spaces[space]
  if state then return state end
  local g = redis.call('HMGET', meta, space .. ':level', space .. ':split', space .. ':cursor')
  state = { level = tonumber(g[1]) or 0, split = tonumber(g[2]) or 0, cursor = tonumber(g[3]), ttl = {}, items = 0 }
  state.startLevel, state.startSplit = state.level, state.split
  spaces[space] = state
  return state
end
local counts, tallies = {}, {}
local function saveCounts()
  for kind, delta in pairs(counts) do
    if delta ~= 0 then redis.call('HINCRBY', meta, 'n:' .. kind, delta) end
  end
  for kind, delta in pairs(tallies) do
    if delta ~= 0 then redis.call('HINCRBY', meta, 't:' .. kind, delta) end
  end
end
`;

/** ARGV: base, space, field... -> the stored value of each field, or nil. */
export const READ_SCRIPT = `${PRELUDE}
local space = ARGV[2]
local state = stateOf(space)
local groups, order = {}, {}
for i = 3, #ARGV do
  local bucket = address(hashOf(ARGV[i]), state.level, state.split)
  local group = groups[bucket]
  if not group then
    group = {}
    groups[bucket] = group
    order[#order + 1] = bucket
  end
  group[#group + 1] = i
end
local out = {}
for _, bucket in ipairs(order) do
  local group = groups[bucket]
  local fields = {}
  for j, i in ipairs(group) do fields[j] = ARGV[i] end
  local values = redis.call('HMGET', bucketKey(space, bucket), unpack(fields))
  for j, i in ipairs(group) do out[i - 2] = values[j] end
end
return out
`;

/**
 * ARGV: base, now, grace, fill, then (op, field, value) triples; op v = validated mapping, m = missing mark (both in
 * the forward space), r = reverse mapping. A missing mark never replaces a live validated mapping. Returns
 * (item number, old partner) pairs for mappings that replaced one with another partner, so the caller can unlink
 * the stale other direction.
 */
export const WRITE_SCRIPT = `${PRELUDE}
local now, grace, fill = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local conflicts = {}
local metaTtl = 0
for i = 5, #ARGV, 3 do
  local op, field, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local space = op == 'r' and 'r' or 's'
  local state = stateOf(space)
  state.items = state.items + 1
  local bucket = address(hashOf(field), state.level, state.split)
  local key = bucketKey(space, bucket)
  local visited = state.cursor ~= nil and bucket < state.cursor
  local kind = kindOf(space, value)
  local old = redis.call('HGET', key, field)
  local keep = false
  if old then
    local oldKind = kindOf(space, old)
    keep = kind == 'm' and oldKind == 'v' and expiryOf(old) > now
    if not keep then
      add(counts, oldKind, -1)
      if visited then add(tallies, oldKind, -1) end
      if kind ~= 'm' and oldKind ~= 'm' and string.sub(old, 5) ~= string.sub(value, 5) then
        conflicts[#conflicts + 1] = (i - 5) / 3 + 1
        conflicts[#conflicts + 1] = string.sub(old, 5)
      end
    end
  end
  if not keep then
    redis.call('HSET', key, field, value)
    add(counts, kind, 1)
    if visited then add(tallies, kind, 1) end
    local ttl = expiryOf(value) - now + grace
    if (state.ttl[bucket] or 0) < ttl then state.ttl[bucket] = ttl end
    if ttl > metaTtl then metaTtl = ttl end
  end
end

-- Key-level TTLs are only a backstop (entries expire by their own timestamps); they never shorten.
for space, state in pairs(spaces) do
  for bucket, ttl in pairs(state.ttl) do
    local key = bucketKey(space, bucket)
    if redis.call('TTL', key) < ttl then redis.call('EXPIRE', key, ttl) end
  end
end
if metaTtl > 0 and redis.call('TTL', meta) < metaTtl then redis.call('EXPIRE', meta, metaTtl) end
saveCounts()
counts, tallies = {}, {}

local function total(space)
  if space == 'r' then return tonumber(redis.call('HGET', meta, 'n:r')) or 0 end
  local c = redis.call('HMGET', meta, 'n:v', 'n:m')
  return (tonumber(c[1]) or 0) + (tonumber(c[2]) or 0)
end

-- Moves the entries of bucket 'split' that belong to its new sibling at the next level.
local function splitNext(space, state)
  local size = 2 ^ state.level
  local from, to = state.split, state.split + size
  local source, target = bucketKey(space, from), bucketKey(space, to)
  local all = redis.call('HGETALL', source)
  local moved, movedPairs, movedKinds = {}, {}, {}
  for i = 1, #all, 2 do
    if hashOf(all[i]) % (size * 2) == to then
      moved[#moved + 1] = all[i]
      movedPairs[#movedPairs + 1] = all[i]
      movedPairs[#movedPairs + 1] = all[i + 1]
      add(movedKinds, kindOf(space, all[i + 1]), 1)
    end
  end
  if #moved > 0 then
    local ttl = redis.call('TTL', source)
    for j = 1, #movedPairs, 200 do redis.call('HSET', target, unpack(movedPairs, j, math.min(j + 199, #movedPairs))) end
    for j = 1, #moved, 100 do redis.call('HDEL', source, unpack(moved, j, math.min(j + 99, #moved))) end
    if ttl > 0 then redis.call('EXPIRE', target, ttl) end
    -- Entries leaving a bucket this sweep pass has tallied for one it has not: they will be tallied again there.
    if state.cursor ~= nil and from < state.cursor and to >= state.cursor then
      for kind, n in pairs(movedKinds) do add(tallies, kind, -n) end
    end
  end
  state.split = state.split + 1
  if state.split >= size then
    state.level = state.level + 1
    state.split = 0
  end
end

for space, state in pairs(spaces) do
  local budget = 4 + math.ceil(2 * state.items / fill)
  local entries = total(space)
  while budget > 0 and entries > fill * (2 ^ state.level + state.split) do
    splitNext(space, state)
    budget = budget - 1
  end
  if state.level ~= state.startLevel or state.split ~= state.startSplit then
    redis.call('HSET', meta, space .. ':level', state.level, space .. ':split', state.split)
  end
end
saveCounts()
return conflicts
`;

/** ARGV: base, then (space, field, partner) triples: removes each entry whose partner is still the given one. */
export const UNLINK_SCRIPT = `${PRELUDE}
local removed = 0
for i = 2, #ARGV, 3 do
  local space, field, partner = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local state = stateOf(space)
  local bucket = address(hashOf(field), state.level, state.split)
  local key = bucketKey(space, bucket)
  local old = redis.call('HGET', key, field)
  if old and kindOf(space, old) ~= 'm' and string.sub(old, 5) == partner then
    redis.call('HDEL', key, field)
    local kind = kindOf(space, old)
    add(counts, kind, -1)
    if state.cursor ~= nil and bucket < state.cursor then add(tallies, kind, -1) end
    removed = removed + 1
  end
end
saveCounts()
return removed
`;

/**
 * ARGV: base, space, now, bucket budget, min gap. Visits up to 'budget' buckets of one space from the shared cursor,
 * removes expired entries and tallies live ones. Returns { status, removed validated/missing/reverse, drift }, status
 * 'more' (call again), 'done' (pass finished, counts replaced by the tally) or 'skipped' (a pass finished less than
 * 'min gap' seconds ago, or the shard is empty).
 */
export const SWEEP_SCRIPT = `${PRELUDE}
local space, now, budget, minGap = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local kinds = space == 'r' and { 'r' } or { 'v', 'm' }
if redis.call('EXISTS', meta) == 0 then return { 'skipped', 0, 0, 0, 0 } end
local state = stateOf(space)
local cursor = state.cursor
if cursor == nil then
  local swept = tonumber(redis.call('HGET', meta, space .. ':swept'))
  if swept ~= nil and now - swept < minGap then return { 'skipped', 0, 0, 0, 0 } end
  cursor = 0
  for _, kind in ipairs(kinds) do redis.call('HSET', meta, 't:' .. kind, 0) end
end
local buckets = 2 ^ state.level + state.split
local removed, seen = {}, {}
local visited = 0
while cursor < buckets and visited < budget do
  local key = bucketKey(space, cursor)
  local all = redis.call('HGETALL', key)
  local dead = {}
  for i = 1, #all, 2 do
    local kind = kindOf(space, all[i + 1])
    if expiryOf(all[i + 1]) <= now then
      dead[#dead + 1] = all[i]
      add(removed, kind, 1)
    else
      add(seen, kind, 1)
    end
  end
  for j = 1, #dead, 100 do redis.call('HDEL', key, unpack(dead, j, math.min(j + 99, #dead))) end
  cursor = cursor + 1
  visited = visited + 1
end
for kind, n in pairs(removed) do add(counts, kind, -n) end
for kind, n in pairs(seen) do add(tallies, kind, n) end
saveCounts()
local result = { 'more', removed.v or 0, removed.m or 0, removed.r or 0, 0 }
if cursor >= buckets then
  local drift = 0
  for _, kind in ipairs(kinds) do
    local c = redis.call('HMGET', meta, 'n:' .. kind, 't:' .. kind)
    local tally = tonumber(c[2]) or 0
    drift = drift + math.abs((tonumber(c[1]) or 0) - tally)
    redis.call('HSET', meta, 'n:' .. kind, tally)
    redis.call('HDEL', meta, 't:' .. kind)
  end
  redis.call('HDEL', meta, space .. ':cursor')
  redis.call('HSET', meta, space .. ':swept', now)
  result[1] = 'done'
  result[5] = drift
else
  redis.call('HSET', meta, space .. ':cursor', cursor)
end
return result
`;

/** Meta fields read by stats(), in this order. */
export const META_STAT_FIELDS = ['n:v', 'n:m', 'n:r', 's:level', 's:split', 'r:level', 'r:split'] as const;
