/**
 * Known-missing marks in Bloom filters (the default `missing: 'bloom'`) on a real standalone Redis and a real
 * 3-master Cluster: shared between instances, beaten by validated mappings and exact marks, expiring with their
 * generation, growing without losing a mark, read in one round trip per node, honoured across a change of mode, and
 * repaired when damaged. The false-positive rate is measured over large samples on a standalone server.
 */
import { describe, expect, it } from 'vitest';
import { relativeSeconds } from '../../src/registry/entries.js';
import { SHARD_COUNT } from '../../src/registry/layout.js';
import { DEFAULT_BLOOM_CAPACITY } from '../../src/registry/missing-filters.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { closeAfterEachTest, useBackend, useRedisServer } from '../harness/lifecycle.js';
import { hasRedisServer } from '../harness/redis-servers.js';
import { GENERATION_GRACE_SECONDS } from '../../src/registry/filter-scripts.js';
import { TestClock, freshPairs, freshSpotifyIds, openRegistry, type OpenRegistry, type RegistryOverrides } from './helpers.js';
import { countRoundTrips, inspectFilters, inspectRegistry } from './inspect.js';

const DAY = 24 * 60 * 60;
const WEEK = 7 * DAY;

/** Known-missing IDs among `ids`, asked in bulk calls of 1000. */
async function knownMissingAmong(registry: OpenRegistry['registry'], ids: readonly string[]): Promise<number> {
  let found = 0;
  for (let start = 0; start < ids.length; start += 1_000) found += (await registry.bulkCheckMissing(ids.slice(start, start + 1_000)))[1].length;
  return found;
}

async function markInBulk(registry: OpenRegistry['registry'], ids: readonly string[]): Promise<void> {
  for (let start = 0; start < ids.length; start += 1_000) await registry.bulkMarkMissing(ids.slice(start, start + 1_000));
}

describe.skipIf(!hasRedisServer).each(BACKEND_NAMES)('missing marks in Bloom filters on %s Redis', (backendName) => {
  const backend = useBackend(backendName);
  const opened = closeAfterEachTest<OpenRegistry>();
  let prefixes = 0;

  async function open(options: RegistryOverrides = {}, keyPrefix = `blm${++prefixes}:`): Promise<OpenRegistry & { keyPrefix: string }> {
    const registry = await openRegistry(backend().url, keyPrefix, options);
    opened.push(registry);
    return { ...registry, keyPrefix };
  }

  it('keeps not_found marks in filters shared between instances; other reasons stay exact; a validated mapping wins', async () => {
    const writer = await open();
    // One entry in memory: the reader's answers come from Redis.
    const reader = await open({ memoryMaxEntries: 1 }, writer.keyPrefix);
    const missing = freshSpotifyIds(500);
    const invalid = freshSpotifyIds(20);
    const pairs = freshPairs(50);
    await writer.registry.bulkMarkMissing(missing);
    await writer.registry.bulkMarkMissing(invalid, 'invalid');
    await writer.registry.bulkMarkValidated(pairs);
    const unseen = freshSpotifyIds(200);

    const [toCheck, knownMissing] = await reader.registry.bulkCheckMissing([...missing, ...invalid, ...pairs.map(([id]) => id), ...unseen]);
    expect(knownMissing).toEqual([...missing, ...invalid]);
    expect(toCheck).toEqual([...pairs.map(([id]) => id), ...unseen]);
    expect(await reader.registry.getMissingReason(missing[0]!)).toBe('not_found');
    expect(await reader.registry.getMissingReason(invalid[0]!)).toBe('invalid');
    // Only the marks with another reason are entries; the rest are bits.
    expect(await inspectRegistry(writer.gateway.client!, writer.keyPrefix)).toMatchObject({ validated: 50, missing: 20 });
    const stored = await inspectFilters(writer.gateway.client!, writer.keyPrefix);
    expect(stored.generations).toBe(SHARD_COUNT);
    expect(stored.filters).toBe(SHARD_COUNT);
    expect(stored.withoutTtl).toBe(0);
    expect(stored.longestTtl).toBeLessThanOrEqual(WEEK + DAY + GENERATION_GRACE_SECONDS);
    expect(stored.longestTtl).toBeGreaterThanOrEqual(WEEK);

    // A live mapping is not overwritten by a mark, and a mapping made after a mark wins over the filter.
    await writer.registry.markMissing(pairs[0]![0]);
    expect(await reader.registry.getValidatedId(pairs[0]![0])).toBe(pairs[0]![1]);
    const [newId] = freshPairs(1);
    await writer.registry.markValidated(missing[1]!, newId![1]);
    expect(await reader.registry.isKnownMissing(missing[1]!)).toBe(false);
    expect((await reader.registry.bulkLookup([missing[1]!])).validated).toEqual(new Map([[missing[1]!, newId![1]]]));

    const stats = await reader.registry.stats();
    expect(stats.missingMarks).toMatchObject({ mode: 'bloom', exact: 20, inFilters: 500 });
    expect(stats.missing).toBe(520);
    const generation = stats.missingMarks.filters!.generations[0]!;
    expect(stats.missingMarks.filters!.generations).toHaveLength(1);
    expect(generation).toMatchObject({ filters: SHARD_COUNT, estimatedCount: 500, capacity: DEFAULT_BLOOM_CAPACITY });
    expect(generation.fillRatio).toBeGreaterThan(0);
    expect(generation.fillRatio).toBeLessThan(0.1);
    expect(generation.expectedFalsePositiveRate).toBeGreaterThan(0);
    expect(generation.expectedFalsePositiveRate).toBeLessThan(1e-6);
    expect(generation.bytes).toBe(stored.bytes);
    expect(Date.parse(generation.expiresAt) - Date.parse(generation.startsAt)).toBe((DAY + WEEK) * 1_000);
    expect(await reader.registry.counts()).toEqual({ validated: 51, missing: 520 });
    expect(reader.gateway.status().errors).toBe(0);
  });

  it('checks 1000 IDs against every live generation in one round trip per node', async () => {
    const clock = new TestClock();
    const writer = await open({ now: clock.now });
    const reader = await open({ now: clock.now, memoryMaxEntries: 1 }, writer.keyPrefix);
    const marked: string[] = [];
    // A mark every day for a week: eight live generations.
    for (let day = 0; day <= 7; day++) {
      const ids = freshSpotifyIds(100);
      await writer.registry.bulkMarkMissing(ids);
      marked.push(...ids);
      clock.advance(DAY);
    }
    clock.advance(-DAY);
    const pairs = freshPairs(200);
    await writer.registry.bulkMarkValidated(pairs);
    const ids = [...marked.slice(0, 600), ...pairs.map(([id]) => id), ...freshSpotifyIds(200)];
    const nodes = backendName === 'cluster' ? 3 : 1;
    const scriptsBefore = backend().calls('evalsha');
    const rangesBefore = backend().calls('getrange');
    const { result, perNode } = await countRoundTrips(reader.gateway.client!, writer.keyPrefix, () => reader.registry.bulkCheckMissing(ids));
    expect(result[1]).toEqual(marked.slice(0, 600));
    expect(perNode).toHaveLength(nodes);
    expect(Math.max(...perNode)).toBe(1);
    expect(backend().calls('evalsha') - scriptsBefore).toBeLessThanOrEqual(2 * SHARD_COUNT);
    // Small filters are read whole, not 64 bytes per ID.
    expect(backend().calls('getrange') - rangesBefore).toBe(0);
    expect((await reader.registry.stats()).missingMarks.filters!.generations).toHaveLength(8);
  });

  it('lets a mark answer at least its TTL and at most one generation longer; Redis drops old generations itself', async () => {
    const clock = new TestClock();
    const ttl = 700;
    const writer = await open({ now: clock.now, ttls: { missingSeconds: ttl } });
    const reader = await open({ now: clock.now, ttls: { missingSeconds: ttl }, memoryMaxEntries: 1 }, writer.keyPrefix);
    const slice = ttl / 7;
    // Marked in the middle of a generation.
    clock.ms = (Math.floor(clock.ms / 1_000 / slice) * slice + slice / 2) * 1_000;
    const ids = freshSpotifyIds(300);
    await writer.registry.bulkMarkMissing(ids);
    clock.advance(ttl - 1);
    expect((await reader.registry.bulkCheckMissing(ids))[1]).toHaveLength(300);
    expect(await writer.registry.isKnownMissing(ids[0]!)).toBe(true);
    clock.advance(slice / 2); // past its TTL, still within its generation's end
    expect((await reader.registry.bulkCheckMissing(ids))[1]).toHaveLength(300);
    clock.advance(1); // the generation's end
    expect((await reader.registry.bulkCheckMissing(ids))[1]).toEqual([]);
    expect(await writer.registry.isKnownMissing(ids[0]!)).toBe(false);
    const stats = await reader.registry.stats();
    expect(stats.missingMarks.filters!.generations).toEqual([]);
    expect(stats.missing).toBe(0);
    const stored = await inspectFilters(writer.gateway.client!, writer.keyPrefix);
    expect(stored.withoutTtl).toBe(0);
    expect(stored.longestTtl).toBeLessThanOrEqual(ttl + slice + GENERATION_GRACE_SECONDS);
  });

  it('grows a full generation by adding filters: every mark is still found and the rate stays bounded', async () => {
    const { registry, gateway, keyPrefix } = await open({ bloom: { capacity: 320 } });
    const ids = freshSpotifyIds(4_000);
    await markInBulk(registry, ids);
    expect(await knownMissingAmong(registry, ids)).toBe(4_000);
    const { filters } = (await registry.stats()).missingMarks;
    const generation = filters!.generations[0]!;
    // 20 per shard, then 40, 80, 160: about 250 IDs per shard need four filters, some five.
    expect(generation.filters).toBeGreaterThanOrEqual(4 * SHARD_COUNT);
    expect(generation.estimatedCount).toBeGreaterThan(3_990);
    expect(generation.estimatedCount).toBeLessThanOrEqual(4_000);
    expect(generation.capacity).toBeGreaterThanOrEqual(4_000);
    expect(generation.expectedFalsePositiveRate).toBeLessThan(filters!.falsePositiveRate / 8);
    expect((await inspectFilters(gateway.client!, keyPrefix)).filters).toBe(generation.filters);
    expect(await knownMissingAmong(registry, freshSpotifyIds(20_000))).toBeLessThanOrEqual(20);
  });

  it('honours marks made in the other mode until they expire: nothing is lost by a change of mode', async () => {
    const clock = new TestClock();
    const exact = await open({ now: clock.now, missing: 'exact' });
    const bloom = await open({ now: clock.now, missing: 'bloom', memoryMaxEntries: 1 }, exact.keyPrefix);
    const before = freshSpotifyIds(300);
    await exact.registry.bulkMarkMissing(before);
    await exact.registry.bulkMarkMissing(freshSpotifyIds(5), 'unavailable');
    expect(await inspectRegistry(exact.gateway.client!, exact.keyPrefix)).toMatchObject({ missing: 305 });

    // After the change: the exact marks answer, new marks go into filters, and both count.
    expect((await bloom.registry.bulkCheckMissing(before))[1]).toEqual(before);
    const after = freshSpotifyIds(300);
    await bloom.registry.bulkMarkMissing(after);
    expect(await inspectRegistry(bloom.gateway.client!, bloom.keyPrefix)).toMatchObject({ missing: 305 });
    expect((await bloom.registry.stats()).missingMarks).toMatchObject({ exact: 305, inFilters: 300 });
    // And back: a registry in exact mode still answers for the filters.
    const exactAgain = await open({ now: clock.now, missing: 'exact', memoryMaxEntries: 1 }, exact.keyPrefix);
    expect((await exactAgain.registry.bulkCheckMissing([...before, ...after]))[1]).toEqual([...before, ...after]);

    // The exact marks expire at their own time, and a sweep removes them; the filters' marks stay until theirs.
    clock.advance(WEEK);
    expect((await bloom.registry.bulkCheckMissing(before))[1]).toEqual([]);
    expect((await bloom.registry.bulkCheckMissing(after))[1]).toEqual(after);
    expect((await bloom.registry.sweep()).removed.missing).toBe(305);
    expect((await bloom.registry.stats()).missingMarks).toMatchObject({ exact: 0, inFilters: 300 });
  });

  it('drops a damaged generation, counts the repair and keeps answering from the others', async () => {
    const clock = new TestClock();
    const { registry, gateway, keyPrefix } = await open({ now: clock.now, memoryMaxEntries: 1 });
    const old = freshSpotifyIds(200);
    await registry.bulkMarkMissing(old);
    clock.advance(DAY);
    const recent = freshSpotifyIds(200);
    await registry.bulkMarkMissing(recent);

    const { generationSeconds } = (await registry.stats()).missingMarks.filters!;
    const oldGeneration = Math.floor(relativeSeconds(clock.ms - DAY * 1_000) / generationSeconds);
    const client = gateway.client!;
    const base = (shard: number) => `${keyPrefix}id_registry:{${shard}}g${generationSeconds}:${oldGeneration}`;
    // Shard 0: a filter of the wrong type. Shard 1: a count that is not a number. Shard 2: its horizon damaged.
    await client.del(`${base(0)}:0`);
    await client.rpush(`${base(0)}:0`, 'x');
    await client.hset(base(1), 'n0', 'nan');
    await client.hset(`${keyPrefix}id_registry:{2}meta`, 'b:until', '-5');

    expect((await registry.bulkCheckMissing(recent))[1]).toEqual(recent);
    const found = (await registry.bulkCheckMissing(old))[1].length;
    // The dropped generations of shards 0 and 1 lost their marks (learnt again when ReccoBeats is asked again).
    expect(found).toBeLessThan(200);
    expect(found).toBeGreaterThan(100);
    const stats = await registry.stats();
    expect(stats.repaired).toBeGreaterThanOrEqual(3);
    expect(stats.missingMarks.filters!.generations.map((generation) => generation.filters)).toEqual([SHARD_COUNT, SHARD_COUNT - 2]);
    expect(await client.type(`${base(0)}:0`)).toBe('none');
    expect(gateway.status().errors).toBe(0);
  });

  it('forgets filtered marks on demand, on every instance, keeping exact marks and mappings', async () => {
    const writer = await open();
    const reader = await open({ memoryMaxEntries: 1 }, writer.keyPrefix);
    const filtered = freshSpotifyIds(100);
    const exact = freshSpotifyIds(10);
    const pairs = freshPairs(10);
    await writer.registry.bulkMarkMissing(filtered);
    await writer.registry.bulkMarkMissing(exact, 'manual');
    await writer.registry.bulkMarkValidated(pairs);
    expect(await writer.registry.clearMissingFilters()).toBe(2 * SHARD_COUNT);
    // Even the writer, which remembers its own marks, hears from Redis that they are gone.
    expect((await writer.registry.bulkCheckMissing([...filtered, ...exact]))[1]).toEqual(exact);
    expect((await reader.registry.bulkCheckMissing(filtered))[1]).toEqual([]);
    expect((await reader.registry.bulkGetValidated(pairs.map(([id]) => id))).size).toBe(10);
    expect((await reader.registry.stats()).missingMarks).toMatchObject({ exact: 10, inFilters: 0 });
  });

  it('is cleared with the registry by cache.invalidate("id_registry")', async () => {
    const { registry, cache, gateway, keyPrefix } = await open();
    await registry.bulkMarkMissing(freshSpotifyIds(100));
    expect((await inspectFilters(gateway.client!, keyPrefix)).filters).toBe(SHARD_COUNT);
    await cache.invalidate('id_registry');
    registry.forgetLocal();
    expect(await inspectFilters(gateway.client!, keyPrefix)).toMatchObject({ generations: 0, filters: 0 });
    expect((await registry.stats()).missing).toBe(0);
  });
});

describe.skipIf(!hasRedisServer)('false-positive rate of the missing-mark filters, measured', () => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<OpenRegistry>();

  it('stays within 0.1% over a full window of eight generations, each filled to three times its capacity', async () => {
    const clock = new TestClock();
    const capacity = 1_600;
    const writer = await openRegistry(server().url, 'fpw:', { now: clock.now, bloom: { capacity } });
    const reader = await openRegistry(server().url, 'fpw:', { now: clock.now, memoryMaxEntries: 1 });
    opened.push(writer, reader);
    const marked: string[] = [];
    for (let day = 0; day <= 7; day++) {
      const ids = freshSpotifyIds(3 * capacity);
      await markInBulk(writer.registry, ids);
      marked.push(...ids);
      clock.advance(DAY);
    }
    clock.advance(-DAY);
    expect(await knownMissingAmong(reader.registry, marked)).toBe(marked.length);
    const { filters } = (await writer.registry.stats()).missingMarks;
    expect(filters!.generations).toHaveLength(8);
    expect(filters!.expectedFalsePositiveRate).toBeLessThan(0.001);

    const sample = 200_000;
    const falsePositives = await knownMissingAmong(reader.registry, freshSpotifyIds(sample));
    expect(falsePositives / sample).toBeLessThanOrEqual(0.001);
    // The measured rate agrees with what stats() expects (a Poisson count, so a wide band).
    const expected = filters!.expectedFalsePositiveRate * sample;
    expect(falsePositives).toBeLessThanOrEqual(2 * expected + 10);
    expect(falsePositives).toBeGreaterThanOrEqual(expected / 3 - 5);
  }, 120_000);

  it(`stays within its share at the default capacity (${DEFAULT_BLOOM_CAPACITY.toLocaleString('en')} IDs in one generation)`, async () => {
    const writer = await openRegistry(server().url, 'fpd:');
    const reader = await openRegistry(server().url, 'fpd:', { memoryMaxEntries: 1 });
    opened.push(writer, reader);
    await markInBulk(writer.registry, freshSpotifyIds(DEFAULT_BLOOM_CAPACITY));
    const { filters } = (await writer.registry.stats()).missingMarks;
    expect(filters!.generations[0]!.estimatedCount).toBeGreaterThan(DEFAULT_BLOOM_CAPACITY - 20);
    const sample = 100_000;
    const falsePositives = await knownMissingAmong(reader.registry, freshSpotifyIds(sample));
    // One generation's share is an eighth of 0.1%.
    expect(falsePositives / sample).toBeLessThanOrEqual(0.001 / 8);
    expect(falsePositives).toBeLessThanOrEqual(2 * filters!.expectedFalsePositiveRate * sample + 10);
  }, 120_000);
});
