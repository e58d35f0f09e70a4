/**
 * The Lua scripts behind the Redis store. Each runs on one shard (KEYS[1] is its meta hash; every key it touches
 * shares that hash tag), atomically, so concurrent writers, splits and sweeps never disagree about where an entry
 * lives or how many there are. Scripts only store and compare the bytes they are given; the client decodes.
 *
 * An entry's field is not its ID but the first bytes of the SHA-1 of the packed ID the client sends: 8 in the
 * forward space, 7 in the reverse one, instead of 17 and 16. That is what brings a mapping under 80 bytes of Redis
 * memory. Two IDs share a field only if their SHA-1s agree on those 64 (56) bits: for 10 million live Spotify IDs,
 * odds of about 1 in 370 000 that any two do (for ReccoBeats IDs, 1 in 1 400); the later write then holds the field.
 * Registries written before this format used the packed ID itself as the field, in the same bucket (the address
 * comes from the same SHA-1): such "legacy" entries are still found while a space may hold them, every write
 * replaces the one it meets, and sweeps rewrite the rest. While older processes still run beside newer ones, an
 * older split rehashes every field as a packed ID and may leave a newer entry in a bucket its field does not address:
 * that entry is not found (its ID is learnt again) and is removed when it expires.
 *
 * Meta hash fields, per space X (s: forward, r: reverse):
 *   X:level, X:split   linear hashing: buckets = 2^level + split; bucket = h mod 2^level, or h mod 2^(level+1)
 *                      when that lands below split (h: first 32 bits of SHA-1 of the packed ID)
 *   X:format           2 once the space holds no legacy entry: set on its first write, or when a sweep pass ends
 *   n:v, n:m, n:r      live entries by kind (validated, missing, reverse); expired ones stay counted until swept
 *   X:cursor, t:<kind> an unfinished sweep pass: next bucket to visit, and the live entries tallied so far
 *   X:swept            when the last pass finished (registry seconds)
 *   b:until            until when some missing-mark filter generation of the shard answers (filter-scripts.ts)
 * A finished pass replaces n:<kind> with its tally, which corrects any drift (keys deleted behind our back).
 *
 * Damaged data is repaired, never propagated (the registry is a cache: what damage destroyed is learnt again):
 *   - every stored number must be a whole number of at most 15 digits; anything else ('nan', '-3', '1.5') is damage;
 *   - a damaged count is reset to 0 and its space's next sweep pass is not skipped: that pass recounts it;
 *   - a damaged or lost geometry (level above MAX_LEVEL, split not below 2^level, fields gone while buckets remain,
 *     or, seen by sweeps and stats, a bucket count whose last PROBE_WINDOW buckets do not exist) is rebuilt from
 *     the bucket keys that exist, and the space's sweep pass starts again;
 *   - a damaged cursor or tally starts the pass again; a damaged or far-future X:swept is dropped;
 *   - a bucket or meta key holding another Redis type (a string, a list) is deleted and rebuilt.
 * Each repair is counted in the script's reply, so the client can log it and recount the shard at once.
 */

import { LuaScript } from '../redis/lua-script.js';

export const PRELUDE = `
local meta = KEYS[1]
local base = ARGV[1]
-- Largest level a space may reach: almost 2^25 buckets per shard and space, over a billion entries at BUCKET_FILL.
local MAX_LEVEL = 24
local MAX_BUCKETS = 2 ^ (MAX_LEVEL + 1) - 1
-- Buckets looked at together when a geometry is rebuilt or checked.
local PROBE_WINDOW = 16
local repairs = 0
local sweeping = false
local function bucketKey(space, bucket) return base .. space .. string.format('%d', bucket) end
-- A digest is 8 bytes (forward) or 7 (reverse); a legacy field is a packed ID, 17 bytes (Spotify) or 16 (ReccoBeats).
-- A field of any other length was written by nothing of ours: it is kept and counted, never rewritten.
local function isDigest(field) return #field == 7 or #field == 8 end
local function isLegacy(field) return #field == 16 or #field == 17 end
-- The field (8 bytes forward, 7 reverse) and address hash of a packed ID in a space.
local function fieldOf(space, id)
  local hex = redis.sha1hex(id)
  local hash = tonumber(string.sub(hex, 1, 8), 16)
  if space == 's' then return struct.pack('>I4I4', hash, tonumber(string.sub(hex, 9, 16), 16)), hash end
  return struct.pack('>I4I2B', hash, tonumber(string.sub(hex, 9, 12), 16), tonumber(string.sub(hex, 13, 14), 16)), hash
end
-- The address hash of a stored field: a digest's first 4 bytes, or for a legacy field (the packed ID) the same,
-- recomputed; a stray field is hashed like a legacy one.
local function hashOf(field)
  if isDigest(field) then return (struct.unpack('>I4', field)) end
  return tonumber(string.sub(redis.sha1hex(field), 1, 8), 16)
end
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
local function kindsOf(space)
  if space == 'r' then return { 'r' } end
  return { 'v', 'm' }
end
local function add(tally, key, delta) tally[key] = (tally[key] or 0) + delta end
local function failed(reply) return type(reply) == 'table' and reply.err ~= nil end
-- A stored number: digits only, at most 15 of them (nil for anything else: 'nan', 'inf', '-3', '1.5', '1e9').
local function whole(text)
  if type(text) ~= 'string' or #text > 15 or not string.match(text, '^%d+$') then return nil end
  return tonumber(text)
end
local spaces = {}
local counts, tallies = {}, {}

-- Forgets a space's unfinished pass and when the last one finished: the next sweep starts a pass that recounts it.
local function restartPass(space)
  local fields = { space .. ':cursor', space .. ':swept' }
  for _, kind in ipairs(kindsOf(space)) do
    fields[#fields + 1] = 't:' .. kind
    tallies[kind] = nil
  end
  redis.call('HDEL', meta, unpack(fields))
  local state = spaces[space]
  if state then state.cursor, state.swept = nil, nil end
end

-- A command on a bucket. A bucket key of another type (a string, a list) holds no entry of ours: it is deleted and
-- the command run again on nothing; outside a sweep (which tallies the bucket it repairs) the space is recounted.
local function bucketCall(space, command, key, ...)
  local reply = redis.pcall(command, key, ...)
  if failed(reply) then
    local kind = redis.call('TYPE', key)['ok']
    if kind == 'hash' or kind == 'none' then error(reply) end
    redis.call('DEL', key)
    repairs = repairs + 1
    if not sweeping then restartPass(space) end
    reply = redis.call(command, key, ...)
  end
  return reply
end

-- Where an ID's entry is and what it holds: its bucket, key and field, the value under that field, and while the
-- space may hold legacy entries, the value stored under the ID itself.
local function entryOf(space, state, id)
  local field, hash = fieldOf(space, id)
  local bucket = address(hash, state.level, state.split)
  local entry = { bucket = bucket, key = bucketKey(space, bucket), field = field }
  if state.legacy then
    local found = bucketCall(space, 'HMGET', entry.key, field, id)
    entry.value, entry.legacy = found[1], found[2]
  else
    entry.value = bucketCall(space, 'HGET', entry.key, field)
  end
  return entry
end

local function anyBucket(space, from)
  local keys = {}
  for i = from, from + PROBE_WINDOW - 1 do keys[#keys + 1] = bucketKey(space, i) end
  return redis.call('EXISTS', unpack(keys)) > 0
end

-- Rebuilds a space's geometry from the buckets that exist: one past the last bucket found before PROBE_WINDOW
-- missing ones in a row (empty buckets do not exist). Taking fewer buckets than there were only undoes splits of
-- buckets found empty, which moves no entry; the pass starts again, so counts follow.
local function rebuild(space, state)
  local lo, hi = 0, PROBE_WINDOW
  while hi < MAX_BUCKETS and anyBucket(space, hi) do lo, hi = hi, hi * 2 end
  while hi - lo > PROBE_WINDOW do
    local mid = math.floor((lo + hi) / 2)
    if anyBucket(space, mid) then lo = mid else hi = mid end
  end
  local buckets = 1
  for i = lo, math.min(hi + PROBE_WINDOW, MAX_BUCKETS) - 1 do
    if redis.call('EXISTS', bucketKey(space, i)) == 1 then buckets = i + 1 end
  end
  local level = 0
  while 2 ^ (level + 1) <= buckets do level = level + 1 end
  state.level, state.split = level, buckets - 2 ^ level
  redis.call('HSET', meta, space .. ':level', state.level, space .. ':split', state.split)
  restartPass(space)
  repairs = repairs + 1
end

-- Sweeps and stats also check that the last buckets of the geometry exist: a level that is well formed but far too
-- large would otherwise have every pass walk millions of buckets that were never created.
local function checkGeometry(space, state)
  local buckets = 2 ^ state.level + state.split
  if buckets > 2 * PROBE_WINDOW and not anyBucket(space, buckets - PROBE_WINDOW) then rebuild(space, state) end
end

-- A space's geometry, counts and sweep progress, read once per script and repaired first if damaged.
local function stateOf(space)
  local state = spaces[space]
  if state then return state end
  local kinds = kindsOf(space)
  local names = { space .. ':level', space .. ':split', space .. ':cursor', space .. ':swept' }
  for _, kind in ipairs(kinds) do names[#names + 1] = 'n:' .. kind end
  for _, kind in ipairs(kinds) do names[#names + 1] = 't:' .. kind end
  names[#names + 1] = space .. ':format'
  local g = redis.pcall('HMGET', meta, unpack(names))
  if failed(g) then
    -- Not a hash: deleted; its geometry is rebuilt below and its counts by the next pass.
    redis.call('DEL', meta)
    repairs = repairs + 1
    g = {}
  end
  state = { ttl = {}, items = 0, counts = {} }
  spaces[space] = state
  -- Until X:format says otherwise, a space that has buckets may hold legacy entries.
  state.formatted = g[#names] == '2'
  state.legacy = not state.formatted
  local swept = whole(g[4])
  if g[4] and swept == nil then
    redis.call('HDEL', meta, space .. ':swept')
    repairs = repairs + 1
  end
  state.swept = swept
  for i, kind in ipairs(kinds) do
    local text = g[4 + i]
    local n = whole(text)
    if text and n == nil then
      redis.call('HSET', meta, 'n:' .. kind, 0)
      redis.call('HDEL', meta, space .. ':swept')
      state.swept = nil
      repairs = repairs + 1
    end
    state.counts[kind] = n or 0
  end
  local level, split = whole(g[1]), whole(g[2])
  -- Never split: both fields absent and no bucket from 1 on (a space grows into bucket 1 by its first split). Two
  -- windows are looked at, not bucket 1 alone: after an eviction took the meta hash and bucket 1, the buckets left
  -- above it must still be found (rebuilt below), not orphaned under a geometry of one bucket.
  if not g[1] and not g[2] and not anyBucket(space, 1) and not anyBucket(space, 1 + PROBE_WINDOW) then
    level, split = 0, 0
    if state.legacy and redis.call('EXISTS', bucketKey(space, 0)) == 0 then state.legacy = false end
  end
  if level == nil or split == nil or level > MAX_LEVEL or split >= 2 ^ level then
    rebuild(space, state)
    return state
  end
  state.level, state.split = level, split
  if g[3] then
    local cursor = whole(g[3])
    local sound = cursor ~= nil and cursor < 2 ^ level + split
    for i = 1, #kinds do
      if whole(g[4 + #kinds + i]) == nil then sound = false end
    end
    if sound then
      state.cursor = cursor
    else
      restartPass(space)
      repairs = repairs + 1
    end
  end
  return state
end

local function saveCounts()
  for kind, delta in pairs(counts) do
    if delta ~= 0 then
      local n = redis.call('HINCRBY', meta, 'n:' .. kind, delta)
      if n < 0 then
        -- Fewer than none: the count was reset after damage; the next pass recounts it.
        redis.call('HSET', meta, 'n:' .. kind, 0)
        redis.call('HDEL', meta, (kind == 'r' and 'r' or 's') .. ':swept')
      end
    end
  end
  for kind, delta in pairs(tallies) do
    if delta ~= 0 then redis.call('HINCRBY', meta, 't:' .. kind, delta) end
  end
end
`;

/** ARGV: base, space, packed ID... -> the stored value for each ID (or nil), then the number of repairs made. */
export const READ_SCRIPT = new LuaScript(`${PRELUDE}
local space = ARGV[2]
local state = stateOf(space)
-- Per bucket, the fields to ask for: each ID's field, then (while the space may hold legacy entries) the ID itself.
local groups, order = {}, {}
for i = 3, #ARGV do
  local field, hash = fieldOf(space, ARGV[i])
  local bucket = address(hash, state.level, state.split)
  local group = groups[bucket]
  if not group then
    group = { items = {}, fields = {} }
    groups[bucket] = group
    order[#order + 1] = bucket
  end
  group.items[#group.items + 1] = i
  group.fields[#group.fields + 1] = field
  if state.legacy then group.fields[#group.fields + 1] = ARGV[i] end
end
local perItem = state.legacy and 2 or 1
local out = {}
for _, bucket in ipairs(order) do
  local group = groups[bucket]
  local values = bucketCall(space, 'HMGET', bucketKey(space, bucket), unpack(group.fields))
  for j, i in ipairs(group.items) do
    local at = (j - 1) * perItem + 1
    out[i - 2] = values[at] or (state.legacy and values[at + 1]) or false
  end
end
out[#ARGV - 1] = repairs
return out
`);

/**
 * ARGV: base, now, grace, fill, then (op, packed ID, value) triples; op v = validated mapping, m = missing mark (both
 * in the forward space), r = reverse mapping. A missing mark never replaces a live validated mapping. Returns
 * (item number, old partner) pairs for mappings that replaced one with another partner, so the caller can unlink
 * the stale other direction, then the number of repairs made.
 */
export const WRITE_SCRIPT = new LuaScript(`${PRELUDE}
local now, grace, fill = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local conflicts = {}
local metaTtl = 0
for i = 5, #ARGV, 3 do
  local op, id, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local space = op == 'r' and 'r' or 's'
  local state = stateOf(space)
  state.items = state.items + 1
  local entry = entryOf(space, state, id)
  local key, old, legacy = entry.key, entry.value, entry.legacy
  local kind = kindOf(space, value)
  local current = old or legacy
  local visited = state.cursor ~= nil and entry.bucket < state.cursor
  local keep = false
  if current then
    local currentKind = kindOf(space, current)
    keep = kind == 'm' and currentKind == 'v' and expiryOf(current) > now
    if not keep and kind ~= 'm' and currentKind ~= 'm' and string.sub(current, 5) ~= string.sub(value, 5) then
      conflicts[#conflicts + 1] = (i - 5) / 3 + 1
      conflicts[#conflicts + 1] = string.sub(current, 5)
    end
  end
  if not keep then
    -- The entry (and a legacy one for the same ID) gives way to the new one.
    for _, replaced in ipairs({ old or false, legacy or false }) do
      if replaced then
        add(counts, kindOf(space, replaced), -1)
        if visited then add(tallies, kindOf(space, replaced), -1) end
      end
    end
    if legacy then redis.call('HDEL', key, id) end
    redis.call('HSET', key, entry.field, value)
    add(counts, kind, 1)
    if visited then add(tallies, kind, 1) end
    local ttl = expiryOf(value) - now + grace
    if (state.ttl[entry.bucket] or 0) < ttl then state.ttl[entry.bucket] = ttl end
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
saveCounts()
counts, tallies = {}, {}

local function total(space)
  if space == 'r' then return whole(redis.call('HGET', meta, 'n:r')) or 0 end
  local c = redis.call('HMGET', meta, 'n:v', 'n:m')
  return (whole(c[1]) or 0) + (whole(c[2]) or 0)
end

-- Moves the entries of bucket 'split' that belong to its new sibling at the next level.
local function splitNext(space, state)
  local size = 2 ^ state.level
  local from, to = state.split, state.split + size
  local source, target = bucketKey(space, from), bucketKey(space, to)
  local all = bucketCall(space, 'HGETALL', source)
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
    for j = 1, #movedPairs, 200 do bucketCall(space, 'HSET', target, unpack(movedPairs, j, math.min(j + 199, #movedPairs))) end
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
  -- A space that had no bucket before this write holds no legacy entry.
  if not state.legacy and not state.formatted then redis.call('HSET', meta, space .. ':format', 2) end
  local budget = 4 + math.ceil(2 * state.items / fill)
  local entries = total(space)
  local startLevel, startSplit = state.level, state.split
  while budget > 0 and entries > fill * (2 ^ state.level + state.split) and 2 ^ state.level + state.split < MAX_BUCKETS do
    splitNext(space, state)
    budget = budget - 1
  end
  if state.level ~= startLevel or state.split ~= startSplit then
    redis.call('HSET', meta, space .. ':level', state.level, space .. ':split', state.split)
  end
end
saveCounts()
-- Last, once the meta hash surely exists (a shard's first write creates it above): it outlives its entries.
if metaTtl > 0 and redis.call('TTL', meta) < metaTtl then redis.call('EXPIRE', meta, metaTtl) end
conflicts[#conflicts + 1] = repairs
return conflicts
`);

/**
 * ARGV: base, then (space, packed ID, partner) triples: removes each entry whose partner is still the given one.
 * Returns { entries removed, repairs made }.
 */
export const UNLINK_SCRIPT = new LuaScript(`${PRELUDE}
local removed = 0
for i = 2, #ARGV, 3 do
  local space, id, partner = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local state = stateOf(space)
  local entry = entryOf(space, state, id)
  for field, old in pairs({ [entry.field] = entry.value or false, [id] = entry.legacy or false }) do
    if old and kindOf(space, old) ~= 'm' and string.sub(old, 5) == partner then
      redis.call('HDEL', entry.key, field)
      local kind = kindOf(space, old)
      add(counts, kind, -1)
      if state.cursor ~= nil and entry.bucket < state.cursor then add(tallies, kind, -1) end
      removed = removed + 1
    end
  end
end
saveCounts()
return { removed, repairs }
`);

/**
 * ARGV: base, space, now, bucket budget, min gap. Visits up to 'budget' buckets of one space from the shared cursor,
 * removes expired entries and tallies live ones. Returns { status, removed validated/missing/reverse, drift,
 * repairs }, status 'more' (call again), 'done' (pass finished, counts replaced by the tally) or 'skipped' (a pass
 * finished less than 'min gap' seconds ago, or the space is empty).
 */
export const SWEEP_SCRIPT = new LuaScript(`${PRELUDE}
sweeping = true
local space, now, budget, minGap = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local kinds = kindsOf(space)
local state = stateOf(space)
checkGeometry(space, state)
if redis.call('EXISTS', meta, bucketKey(space, 0)) == 0 then return { 'skipped', 0, 0, 0, 0, repairs } end
local cursor = state.cursor
if cursor == nil then
  local swept = state.swept
  -- A pass finished in the future (beyond any clock skew between processes) would skip every pass from now on.
  if swept ~= nil and swept > now + 3600 then
    redis.call('HDEL', meta, space .. ':swept')
    repairs = repairs + 1
    swept = nil
  end
  if swept ~= nil and now - swept < minGap then return { 'skipped', 0, 0, 0, 0, repairs } end
  cursor = 0
  for _, kind in ipairs(kinds) do redis.call('HSET', meta, 't:' .. kind, 0) end
end
local buckets = 2 ^ state.level + state.split
local removed, seen = {}, {}
local visited = 0
local longestTtl = 0
while cursor < buckets and visited < budget do
  local key = bucketKey(space, cursor)
  local all = bucketCall(space, 'HGETALL', key)
  local ttl = redis.call('TTL', key)
  if ttl > longestTtl then longestTtl = ttl end
  local live = {}
  for i = 1, #all, 2 do
    if isDigest(all[i]) and expiryOf(all[i + 1]) > now then live[all[i]] = true end
  end
  local dead, rewritten = {}, {}
  for i = 1, #all, 2 do
    local field, value = all[i], all[i + 1]
    local kind = kindOf(space, value)
    if expiryOf(value) <= now then
      dead[#dead + 1] = field
      add(removed, kind, 1)
    elseif not isLegacy(field) then
      add(seen, kind, 1)
    else
      -- A legacy entry is rewritten under its field (in this same bucket), unless that ID has an entry there already.
      local target = fieldOf(space, field)
      dead[#dead + 1] = field
      if live[target] then
        add(counts, kind, -1)
      else
        live[target] = true
        rewritten[#rewritten + 1] = target
        rewritten[#rewritten + 1] = value
        add(seen, kind, 1)
      end
    end
  end
  for j = 1, #dead, 100 do redis.call('HDEL', key, unpack(dead, j, math.min(j + 99, #dead))) end
  for j = 1, #rewritten, 200 do redis.call('HSET', key, unpack(rewritten, j, math.min(j + 199, #rewritten))) end
  cursor = cursor + 1
  visited = visited + 1
end
for kind, n in pairs(removed) do add(counts, kind, -n) end
for kind, n in pairs(seen) do add(tallies, kind, n) end
saveCounts()
-- A meta hash this sweep recreated (the old one lost to eviction) gets a TTL again: every registry key has one.
if longestTtl > 0 and redis.call('TTL', meta) < longestTtl then redis.call('EXPIRE', meta, longestTtl) end
local result = { 'more', removed.v or 0, removed.m or 0, removed.r or 0, 0, repairs }
if cursor >= buckets then
  local drift = 0
  for _, kind in ipairs(kinds) do
    local c = redis.call('HMGET', meta, 'n:' .. kind, 't:' .. kind)
    local tally = whole(c[2]) or 0
    drift = drift + math.abs((whole(c[1]) or 0) - tally)
    redis.call('HSET', meta, 'n:' .. kind, tally)
    redis.call('HDEL', meta, 't:' .. kind)
  end
  redis.call('HDEL', meta, space .. ':cursor')
  -- Every bucket has been visited, so every legacy entry rewritten.
  redis.call('HSET', meta, space .. ':swept', now, space .. ':format', 2)
  result[1] = 'done'
  result[5] = drift
  result[6] = repairs
else
  redis.call('HSET', meta, space .. ':cursor', cursor)
end
return result
`);

/**
 * ARGV: base. The shard's counts and geometry, repaired first if damaged: { validated, missing, reverse, forward
 * buckets, reverse buckets, repairs }. Writes nothing unless something needed repair.
 */
export const STATS_SCRIPT = new LuaScript(`${PRELUDE}
local forward, reverse = stateOf('s'), stateOf('r')
checkGeometry('s', forward)
checkGeometry('r', reverse)
return { forward.counts.v, forward.counts.m, reverse.counts.r, 2 ^ forward.level + forward.split, 2 ^ reverse.level + reverse.split, repairs }
`);
