/**
 * The Lua side of the Bloom-filter missing marks (missing-filters.ts has the plan, bloom-geometry.ts the arithmetic).
 * Like every registry script, each runs on one shard and touches only keys carrying that shard's hash tag:
 *   <base>g<G>:<generation>      the generation's hash: f (filters), then per filter i: b<i> blocks, k<i> hashes,
 *                                c<i> capacity, n<i> IDs added
 *   <base>g<G>:<generation>:<i>  filter i: a plain string of b<i> blocks of 64 bytes
 * (G: generation length in seconds, so processes configured with another TTL never share a generation). Both carry an
 * EXPIRE at the generation's end (plus a minute), so Redis drops old generations by itself; nothing sweeps them.
 * The shard's meta hash holds `b:until`: the registry second until which some generation of the shard answers, so a
 * read of a shard that never had filters costs one HGET.
 *
 * An ID is hashed once (SHA-1 of its packed form; the first 8 hex digits pick its bucket, see scripts.ts, the next 24
 * its bits): h1 picks the block of each filter; h2 seeds, and h3 gives the odd increment of, a linear congruential
 * sequence mod 2^32 whose top 9 bits are the k bit positions in the block. (Positions in arithmetic progression,
 * the usual double hashing, collide far too often within 512 bits: ten times the expected false positives.) Testing
 * an ID in a filter reads 64 bytes; a read of many IDs reads a small filter whole instead.
 *
 * Damage (a generation hash or filter of another type, a count that is not a number, a geometry out of range) drops
 * the generation, counted as a repair: a filter is a cache of what ReccoBeats said, learnt again when asked again.
 */
import { LuaScript } from '../redis/lua-script.js';
import { BLOCK_BYTES, MAX_HASHES } from './bloom-geometry.js';
import { MAX_FILTERS_PER_GENERATION } from './missing-filters.js';
import { PRELUDE } from './scripts.js';

/** Keys of a generation outlive its end by this much: clocks of processes sharing a registry differ a little. */
export const GENERATION_GRACE_SECONDS = 60;

const FILTER_PRELUDE = `${PRELUDE}
local BLOCK_BYTES = ${BLOCK_BYTES}
-- Positions are the top bits of a 32-bit state: one in BLOCK_BYTES * 8.
local POSITION_UNIT = 4294967296 / (BLOCK_BYTES * 8)
local MAX_FILTERS = ${MAX_FILTERS_PER_GENERATION}
local MAX_HASHES = ${MAX_HASHES}
local MAX_BLOCKS = 8388608
local slice = 0
local generations = {}

local function generationKey(g) return base .. 'g' .. string.format('%d', slice) .. ':' .. string.format('%d', g) end
local function filterKey(g, i) return generationKey(g) .. ':' .. i end

-- h1 picks the block; a seeds and b (odd) steps the sequence whose top bits are the positions in it.
local function bitsOf(field)
  local hex = redis.sha1hex(field)
  local h1 = tonumber(string.sub(hex, 9, 16), 16)
  local a = tonumber(string.sub(hex, 17, 24), 16)
  local b = 2 * (tonumber(string.sub(hex, 25, 32), 16) % 1000000) + 1
  return h1, a, b
end

-- The next state and bit position: x * 69069 + b stays below 2^53, so Lua's doubles keep it exact. (The loops that
-- test bits, run per ID and filter, inline it.)
local function nextPosition(x, b)
  x = (x * 69069 + b) % 4294967296
  return x, math.floor(x / POSITION_UNIT)
end

local function dropGeneration(g)
  local keys = { generationKey(g) }
  for i = 0, MAX_FILTERS - 1 do keys[#keys + 1] = filterKey(g, i) end
  redis.call('DEL', unpack(keys))
  generations[g] = false
  repairs = repairs + 1
end

-- A generation's filters, read once per script; false when it has none (or was dropped as damaged).
local function generationOf(g)
  local known = generations[g]
  if known ~= nil then return known end
  local all = redis.pcall('HGETALL', generationKey(g))
  if failed(all) then
    dropGeneration(g)
    return false
  end
  if #all == 0 then
    generations[g] = false
    return false
  end
  local fields = {}
  for i = 1, #all, 2 do fields[all[i]] = all[i + 1] end
  local count = whole(fields.f)
  local sound = count ~= nil and count >= 1 and count <= MAX_FILTERS
  local filters = {}
  if sound then
    for i = 0, count - 1 do
      local blocks, hashes, capacity, n = whole(fields['b' .. i]), whole(fields['k' .. i]), whole(fields['c' .. i]), whole(fields['n' .. i])
      if not blocks or blocks < 1 or blocks > MAX_BLOCKS or not hashes or hashes < 1 or hashes > MAX_HASHES or not capacity or not n then
        sound = false
        break
      end
      filters[i] = { blocks = blocks, hashes = hashes, capacity = capacity, n = n }
    end
  end
  if not sound then
    dropGeneration(g)
    return false
  end
  local generation = { g = g, count = count, filters = filters }
  generations[g] = generation
  return generation
end

-- Whether the bits of an ID are all set in 'data' (a block, or a whole filter with the block at 'offset').
-- Library functions as locals (global lookups are slow in Lua), for the loops run per ID and filter.
local byteAt, band, floor = string.byte, bit.band, math.floor
local MASKS = {}
for i = 0, 7 do MASKS[i] = 2 ^ (7 - i) end
local function allSet(data, offset, a, b, hashes)
  local x = a
  for _ = 1, hashes do
    x = (x * 69069 + b) % 4294967296
    local position = floor(x / POSITION_UNIT)
    local value = byteAt(data, offset + floor(position / 8) + 1)
    if not value or band(value, MASKS[position % 8]) == 0 then return false end
  end
  return true
end

-- Whether filter i of a generation holds the ID; nil when the filter was damaged (the generation is then dropped).
local function filterHolds(generation, i, h1, a, b)
  local filter = generation.filters[i]
  local offset = (h1 % filter.blocks) * BLOCK_BYTES
  local block = redis.pcall('GETRANGE', filterKey(generation.g, i), offset, offset + BLOCK_BYTES - 1)
  if failed(block) then
    dropGeneration(generation.g)
    return nil
  end
  return allSet(block, 0, a, b, filter.hashes)
end

local function generationHolds(generation, h1, a, b)
  for i = generation.count - 1, 0, -1 do
    local holds = filterHolds(generation, i, h1, a, b)
    if holds == nil then return false end
    if holds then return true end
  end
  return false
end
`;

/**
 * ARGV: base, now, first generation, last generation, generation seconds, then fields (packed Spotify IDs). Returns,
 * per field, the newest live generation holding it or -1, then the number of repairs made.
 */
export const FILTER_CHECK_SCRIPT = new LuaScript(`${FILTER_PRELUDE}
local now, first, last = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
slice = tonumber(ARGV[5])
local out = {}
for i = 6, #ARGV do out[i - 5] = -1 end
local fields = #ARGV - 5

-- No generation of this shard answers now: nothing to read.
local horizon = redis.pcall('HGET', meta, 'b:until')
if failed(horizon) or not horizon then
  out[fields + 1] = repairs
  return out
end
local answersUntil = whole(horizon)
if answersUntil == nil then
  -- Damaged: assume the longest a generation can live and read them.
  redis.call('HSET', meta, 'b:until', now + (last - first + 1) * slice)
  repairs = repairs + 1
  answersUntil = now + 1
end
if answersUntil <= now then
  out[fields + 1] = repairs
  return out
end

-- Every filter of every live generation, newest generation first, in one flat list: the loop below runs for every
-- ID and every filter, so it does its work inline. Testing many IDs in a small filter, one GET of it all costs less
-- than a GETRANGE per ID up to about 32 blocks per ID (measured: GET about 1 µs per kilobyte, GETRANGE about 1 µs).
local tests = {}
for g = last, first, -1 do
  local generation = generationOf(g)
  if generation then
    for i = generation.count - 1, 0, -1 do
      local filter = generation.filters[i]
      local test = { generation = generation, key = filterKey(g, i), blocks = filter.blocks, hashes = filter.hashes }
      if filter.blocks <= 32 * fields then
        local data = redis.pcall('GET', test.key)
        if failed(data) then
          dropGeneration(g)
          break
        end
        test.data = data or ''
      end
      tests[#tests + 1] = test
    end
  end
end

for i = 6, #ARGV do
  local h1, a, b = bitsOf(ARGV[i])
  for t = 1, #tests do
    local test = tests[t]
    local g = test.generation.g
    if generations[g] then
      local data, offset = test.data, (h1 % test.blocks) * BLOCK_BYTES
      if not data then
        data = redis.pcall('GETRANGE', test.key, offset, offset + BLOCK_BYTES - 1)
        offset = 0
        if failed(data) then
          dropGeneration(g)
          data = nil
        end
      end
      if data then
        local x, holds = a, true
        for _ = 1, test.hashes do
          x = (x * 69069 + b) % 4294967296
          local position = floor(x / POSITION_UNIT)
          local value = byteAt(data, offset + floor(position / 8) + 1)
          if not value or band(value, MASKS[position % 8]) == 0 then
            holds = false
            break
          end
        end
        if holds then
          out[i - 5] = g
          break
        end
      end
    end
  end
end
out[fields + 1] = repairs
return out
`);

/**
 * ARGV: base, now, generation seconds, TTL, grace, filter count, then (blocks, hashes, capacity) of each filter a
 * generation may grow, then (field, generation) pairs. Adds each ID to its generation unless a live validated
 * mapping holds it (that wins) or the generation has ended. An ID the generation already holds is not added again.
 * Returns { IDs added, repairs made }.
 */
export const FILTER_ADD_SCRIPT = new LuaScript(`${FILTER_PRELUDE}
local now, ttl, grace, plans = tonumber(ARGV[2]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
slice = tonumber(ARGV[3])
local plan = {}
for i = 0, plans - 1 do
  plan[i] = { blocks = tonumber(ARGV[7 + 3 * i]), hashes = tonumber(ARGV[8 + 3 * i]), capacity = tonumber(ARGV[9 + 3 * i]) }
end
local state = stateOf('s')
local added, horizon = 0, 0

-- A new filter at full size in one SETRANGE (Redis then allocates it exactly), expiring with its generation.
local function grow(generation, keyTtl)
  local i = generation.count
  local spec = plan[i]
  local key = filterKey(generation.g, i)
  redis.call('DEL', key)
  redis.call('SETRANGE', key, spec.blocks * BLOCK_BYTES - 1, '\\0')
  redis.call('EXPIRE', key, keyTtl)
  generation.filters[i] = { blocks = spec.blocks, hashes = spec.hashes, capacity = spec.capacity, n = 0 }
  generation.count = i + 1
  local gkey = generationKey(generation.g)
  redis.call('HSET', gkey, 'f', generation.count, 'b' .. i, spec.blocks, 'k' .. i, spec.hashes, 'c' .. i, spec.capacity, 'n' .. i, 0)
  if i == 0 then redis.call('EXPIRE', gkey, keyTtl) end
end

local function add(field, g, keyTtl)
  local h1, a, b = bitsOf(field)
  local generation = generationOf(g)
  if generation and generationHolds(generation, h1, a, b) then return false end
  if not generations[g] then
    generation = { g = g, count = 0, filters = {} }
    generations[g] = generation
  end
  local last = generation.filters[generation.count - 1]
  if not last or (last.n >= last.capacity and generation.count < plans) then
    grow(generation, keyTtl)
    last = generation.filters[generation.count - 1]
  end
  local key = filterKey(g, generation.count - 1)
  local offset = (h1 % last.blocks) * BLOCK_BYTES
  local block = redis.pcall('GETRANGE', key, offset, offset + BLOCK_BYTES - 1)
  if failed(block) then
    dropGeneration(g)
    return false
  end
  if block == '' then
    -- The filter string is gone while its generation's hash is not (evicted alone): writing into it would make a
    -- short string without a TTL. The generation starts again, its first filter made whole and expiring.
    dropGeneration(g)
    return add(field, g, keyTtl)
  end
  local bytes = { string.byte(block, 1, BLOCK_BYTES) }
  for j = #bytes + 1, BLOCK_BYTES do bytes[j] = 0 end
  local x, position = a, 0
  for _ = 1, last.hashes do
    x, position = nextPosition(x, b)
    local at = math.floor(position / 8) + 1
    bytes[at] = bit.bor(bytes[at], 2 ^ (7 - position % 8))
  end
  redis.call('SETRANGE', key, offset, string.char(unpack(bytes)))
  last.n = last.n + 1
  generation.changed = true
  return true
end

for i = 7 + 3 * plans, #ARGV, 2 do
  local field, g = ARGV[i], tonumber(ARGV[i + 1])
  local ends = (g + 1) * slice + ttl
  if ends > now then
    local entry = entryOf('s', state, field)
    local value = entry.value or entry.legacy
    local validated = value and kindOf('s', value) == 'v' and expiryOf(value) > now
    if not validated then
      if add(field, g, ends - now + grace) then added = added + 1 end
      if ends > horizon then horizon = ends end
    end
  end
end

for g, generation in pairs(generations) do
  if generation and generation.changed then
    local counts = {}
    for i = 0, generation.count - 1 do
      counts[#counts + 1] = 'n' .. i
      counts[#counts + 1] = generation.filters[i].n
    end
    redis.call('HSET', generationKey(g), unpack(counts))
  end
end
-- Readers skip a shard whose generations have all ended; the meta hash lives at least as long as they do.
if horizon > 0 then
  local known = whole(redis.call('HGET', meta, 'b:until'))
  if not known or known < horizon then redis.call('HSET', meta, 'b:until', horizon) end
  local keep = horizon - now + grace
  if redis.call('TTL', meta) < keep then redis.call('EXPIRE', meta, keep) end
end
return { added, repairs }
`);

/**
 * ARGV: base, first generation, last generation, generation seconds, count bits (1 or 0). Per generation that has
 * filters: generation, filter count, then per filter: IDs added, capacity, blocks, hashes, bits set (BITCOUNT, or -1
 * when not asked); then the number of repairs made.
 */
export const FILTER_STATS_SCRIPT = new LuaScript(`${FILTER_PRELUDE}
local first, last, countBits = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[5] == '1'
slice = tonumber(ARGV[4])
local out = {}
for g = first, last do
  local generation = generationOf(g)
  if generation then
    local row = { g, generation.count }
    for i = 0, generation.count - 1 do
      local filter = generation.filters[i]
      local set = -1
      if countBits then
        set = redis.pcall('BITCOUNT', filterKey(g, i))
        if failed(set) then set = nil end
      end
      if set == nil then
        dropGeneration(g)
        row = nil
        break
      end
      for _, value in ipairs({ filter.n, filter.capacity, filter.blocks, filter.hashes, set }) do row[#row + 1] = value end
    end
    if row then
      for _, value in ipairs(row) do out[#out + 1] = value end
    end
  end
end
out[#out + 1] = repairs
return out
`);

/**
 * ARGV: base, first generation, last generation, generation seconds. Deletes those generations of the shard (every
 * filtered mark in them is forgotten; exact marks and mappings stay). Returns { generations deleted, repairs made }.
 */
export const FILTER_CLEAR_SCRIPT = new LuaScript(`${FILTER_PRELUDE}
local first, last = tonumber(ARGV[2]), tonumber(ARGV[3])
slice = tonumber(ARGV[4])
local deleted = 0
for g = first, last do
  local keys = { generationKey(g) }
  for i = 0, MAX_FILTERS - 1 do keys[#keys + 1] = filterKey(g, i) end
  deleted = deleted + redis.call('DEL', unpack(keys))
end
redis.call('HDEL', meta, 'b:until')
return { deleted, repairs }
`);
