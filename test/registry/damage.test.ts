/**
 * Damaged registry data in a real Redis is repaired, not propagated: counts that are not numbers are reported as
 * whole numbers and recounted, impossible geometries and sweep progress are rebuilt, keys of the wrong Redis type are
 * replaced without failing the shard (or any other), sweep runs are bounded in time, and close() returns promptly
 * while a sweep runs. The data is damaged with raw commands, the way a stray script or a person at redis-cli would.
 */
import express from 'express';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/redis/connection.js';
import { createReprise } from '../../src/reprise.js';
import { silentLogger } from '../../src/logger.js';
import { encodeForward, relativeSeconds } from '../../src/registry/entries.js';
import { canonicalReccobeatsId, packReccobeatsId, packSpotifyId } from '../../src/registry/ids.js';
import { RegistryLayout, type Shard } from '../../src/registry/layout.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { closeAfterEachTest, restoreServer, useBackend, useRedisServer } from '../harness/lifecycle.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { TestClock, freshPairs, freshSpotifyIds, openRegistry, type OpenRegistry, type RegistryOverrides } from './helpers.js';
import { fieldsIn, inspectRegistry, storedField } from './inspect.js';

/** A whole number >= 0, as every count the registry reports must be. */
function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * Makes a shard's forward space as large as a shard at `level` would be: the level in its meta hash, and its last
 * bucket present (holding one live missing mark). A pass over it walks 2^level buckets, 64 per step.
 */
async function inflate(client: RedisClient, layout: RegistryLayout, shard: Shard, level: number): Promise<void> {
  await client.hset(shard.metaKey, 's:level', level, 's:split', 0);
  const entry = encodeForward({ kind: 'missing', reason: 'manual', expiresAtMs: Date.now() + 3_600_000 });
  await client.hset(layout.bucketKey(shard, 's', 2 ** level - 1), packSpotifyId(freshSpotifyIds(1)[0]!), entry);
}

describe.skipIf(!hasRedisServer).each(BACKEND_NAMES)('damaged registry data on %s Redis', (backendName) => {
  const backend = useBackend(backendName);
  const opened = closeAfterEachTest<OpenRegistry>();
  let prefixes = 0;

  async function open(options: RegistryOverrides = {}, keyPrefix = `dmg${++prefixes}:`): Promise<OpenRegistry & { keyPrefix: string; layout: RegistryLayout }> {
    // Missing marks as exact entries: this suite is about the packed layout (filters.test.ts covers the filters).
    const registry = await openRegistry(backend().url, keyPrefix, { missing: 'exact', ...options });
    opened.push(registry);
    return { ...registry, keyPrefix, layout: new RegistryLayout(keyPrefix) };
  }

  it('reports whole counts while meta counts are damaged, and recounts the damaged shards by itself', async () => {
    const { registry, gateway, layout } = await open();
    await registry.bulkMarkValidated(freshPairs(400));
    await registry.bulkMarkMissing(freshSpotifyIds(200));
    expect(await registry.stats()).toMatchObject({ validated: 400, missing: 200, redis: { reverse: 400 }, repaired: 0 });

    const client = gateway.client!;
    await client.hset(layout.shards[1]!.metaKey, 'n:v', 'nan');
    await client.hset(layout.shards[2]!.metaKey, 'n:m', '-5');
    await client.hset(layout.shards[3]!.metaKey, 'n:r', '1.5');
    await client.hset(layout.shards[4]!.metaKey, 'n:v', '1e999');
    await client.hset(layout.shards[5]!.metaKey, 'n:m', 'inf');

    const during = await registry.stats();
    for (const count of [during.validated, during.missing, during.redis!.reverse]) expect(isCount(count)).toBe(true);
    // Numbers, not null, once in JSON (what the admin routes send).
    const json = JSON.parse(JSON.stringify(during)) as Record<string, unknown>;
    expect(isCount(json.validated) && isCount(json.missing)).toBe(true);
    expect(during.repaired).toBe(5);

    // The repaired shards are recounted at once, without waiting for the sweep timer (off here).
    await pollUntil(async () => {
      const stats = await registry.stats();
      return stats.validated === 400 && stats.missing === 200 && stats.redis!.reverse === 400;
    }, 'the damaged shards to be recounted');
    // Writing on top of a repaired count keeps it right.
    await registry.bulkMarkMissing(freshSpotifyIds(50));
    expect(await registry.stats()).toMatchObject({ validated: 400, missing: 250, repaired: 5 });
    expect(gateway.status().errors).toBe(0);
  });

  it('rebuilds an impossible or lost geometry from the buckets that exist: every entry stays reachable', async () => {
    const writer = await open();
    const pairs = freshPairs(3_000);
    await writer.registry.bulkMarkValidated(pairs);
    const client = writer.gateway.client!;
    const shard = writer.layout.shards[5]!;
    const geometry = () => client.hmget(shard.metaKey, 's:level', 's:split', 'r:level', 'r:split');
    const original = await geometry();
    expect(Number(original[0])).toBeGreaterThan(1);
    const inShard = pairs.filter(([, uuid]) => writer.layout.shardOf(packReccobeatsId(uuid)) === shard);

    const damage: [field: string, value: string][] = [
      ['s:level', 'nan'], ['s:level', '99'], ['s:level', '-1'], ['s:level', '1000000000'],
      ['s:split', '2.5'], ['s:split', '100000'], ['r:level', 'inf'], ['r:split', ''],
    ];
    for (const [field, value] of damage) {
      await client.hset(shard.metaKey, field, value);
      // A process that never saw these IDs: only Redis can answer.
      const reader = await open({}, writer.keyPrefix);
      expect(await reader.registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map(pairs));
      for (const [spotifyId, uuid] of inShard.slice(0, 20)) expect(await reader.registry.getSpotifyId(uuid)).toBe(spotifyId);
      expect(await geometry()).toEqual(original);
      expect(reader.gateway.status().errors).toBe(0);
    }

    // A level that is well formed but far too large (its last buckets were never created) is rebuilt by a sweep,
    // which then completes, instead of walking 2^22 buckets.
    await client.hset(shard.metaKey, 's:level', '22', 's:split', '0');
    expect((await writer.registry.sweep()).complete).toBe(true);
    expect(await geometry()).toEqual(original);
    // ... or by stats().
    await client.hset(shard.metaKey, 'r:level', '20');
    expect((await writer.registry.stats()).redis!.reverseBuckets).toBeLessThan(2 ** 20);
    expect(await geometry()).toEqual(original);

    // The meta hash lost altogether: the geometry is rebuilt, the counts recounted.
    await client.del(shard.metaKey);
    const reader = await open({}, writer.keyPrefix);
    expect(await reader.registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map(pairs));
    expect(await geometry()).toEqual(original);
    await pollUntil(async () => {
      const stats = await reader.registry.stats();
      return stats.validated === 3_000 && stats.redis!.reverse === 3_000;
    }, 'the shard to be recounted');
  });

  it('starts a pass again when its cursor or tally is damaged, and a sweep over damaged progress completes with exact counts', async () => {
    const clock = new TestClock(Date.now());
    const { registry, gateway, keyPrefix, layout } = await open({ now: clock.now, ttls: { missingSeconds: 60 } });
    await registry.bulkMarkValidated(freshPairs(2_000));
    await registry.bulkMarkMissing(freshSpotifyIds(1_000));
    clock.advance(61);

    const client = gateway.client!;
    const meta = (index: number) => layout.shards[index]!.metaKey;
    await client.hset(meta(1), 's:cursor', 'nan');
    await client.hset(meta(2), 's:cursor', '999999');
    await client.hset(meta(3), 's:cursor', '1', 't:v', 'x', 't:m', '3');
    await client.hset(meta(4), 'r:cursor', '-2');
    await client.hset(meta(6), 's:swept', 'garbage');
    // A pass "finished" years ahead would have every later pass skipped.
    await client.hset(meta(7), 's:swept', String(relativeSeconds(clock.ms) + 100_000_000));

    const sweep = await registry.sweep();
    expect(sweep).toMatchObject({ complete: true, removed: { validated: 0, missing: 1_000, reverse: 0 } });
    expect(await registry.stats()).toMatchObject({ validated: 2_000, missing: 0, redis: { reverse: 2_000 } });
    expect(await inspectRegistry(client, keyPrefix, clock.ms)).toMatchObject({ validated: 2_000, missing: 0, reverse: 2_000, expired: 0 });
    for (const shard of layout.shards) expect(await client.hmget(shard.metaKey, 's:cursor', 'r:cursor')).toEqual([null, null]);
    expect((await registry.stats()).repaired).toBeGreaterThanOrEqual(6);
    expect(gateway.status().errors).toBe(0);
  });

  it('keeps stray fields of any length in a bucket through splits and sweeps, and answers for every ID', async () => {
    const { registry, gateway, keyPrefix, layout } = await open();
    const client = gateway.client!;
    const shard = layout.shards[5]!;
    // Fields no version of the registry writes: shorter than an address hash, and between digest and ID lengths.
    const strays = ['x', 'ab', 'abcdefghij'];
    const live = encodeForward({ kind: 'missing', reason: 'manual', expiresAtMs: Date.now() + 3_600_000 });
    for (const field of strays) await client.hset(layout.bucketKey(shard, 's', 0), field, live);
    await client.expire(layout.bucketKey(shard, 's', 0), 3_600);

    // Enough mappings in that shard to split its bucket 0 several times.
    const pairs = freshPairs(4_000).filter(([id]) => layout.shardOf(packSpotifyId(id)) === shard).slice(0, 200);
    expect(pairs.length).toBeGreaterThan(150);
    await registry.bulkMarkValidated(pairs);
    expect(await registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map(pairs));
    expect((await registry.stats()).redis!.forwardBuckets).toBeGreaterThan(1);
    expect(await registry.sweep()).toMatchObject({ complete: true });

    const stored = await inspectRegistry(client, keyPrefix);
    expect(stored).toMatchObject({ validated: pairs.length, missing: strays.length });
    expect(await registry.stats()).toMatchObject({ validated: pairs.length, missing: strays.length });
    expect(gateway.status().errors).toBe(0);
  });

  it('replaces bucket and meta keys of the wrong Redis type; the rest of the registry answers throughout', async () => {
    const writer = await open();
    const pairs = freshPairs(2_000);
    const missing = freshSpotifyIds(500);
    await writer.registry.bulkMarkValidated(pairs);
    await writer.registry.bulkMarkMissing(missing);
    const client = writer.gateway.client!;
    const { layout } = writer;

    // A forward bucket replaced by a string, a reverse bucket by a list: what they held is lost.
    const forwardBucket = layout.bucketKey(layout.shards[7]!, 's', 0);
    const reverseBucket = layout.bucketKey(layout.shards[9]!, 'r', 1);
    const forwardFields = await fieldsIn(client, forwardBucket);
    const reverseFields = await fieldsIn(client, reverseBucket);
    const lostForward = new Set([...pairs.map(([id]) => id), ...missing].filter((id) => forwardFields.has(storedField('s', packSpotifyId(id)))));
    const lostReverse = new Set(pairs.map(([, uuid]) => canonicalReccobeatsId(uuid)).filter((uuid) => reverseFields.has(storedField('r', packReccobeatsId(uuid)))));
    expect(lostForward.size).toBe(forwardFields.size);
    expect(lostReverse.size).toBe(reverseFields.size);
    expect(lostForward.size).toBeGreaterThan(0);
    expect(lostReverse.size).toBeGreaterThan(0);
    await client.set(forwardBucket, 'not a hash');
    await client.del(reverseBucket);
    await client.rpush(reverseBucket, 'not', 'a', 'hash');
    // A meta hash replaced by a list: the geometry and counts it held are rebuilt.
    const listMeta = layout.shards[8]!.metaKey;
    await client.del(listMeta);
    await client.rpush(listMeta, 'x', 'y');

    const reader = await open({}, writer.keyPrefix);
    const kept = pairs.filter(([id]) => !lostForward.has(id));
    expect(await reader.registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map(kept));
    expect((await reader.registry.bulkCheckMissing(missing))[1]).toEqual(missing.filter((id) => !lostForward.has(id)));
    for (const [spotifyId, uuid] of pairs.filter(([, uuid]) => layout.shardOf(packReccobeatsId(uuid)) === layout.shards[9]).slice(0, 40)) {
      expect(await reader.registry.getSpotifyId(uuid)).toBe(lostReverse.has(canonicalReccobeatsId(uuid)) ? null : spotifyId);
    }
    expect(['hash', 'none']).toContain(await client.type(forwardBucket));
    expect(['hash', 'none']).toContain(await client.type(reverseBucket));
    expect(await client.type(listMeta)).toBe('hash');
    expect(reader.gateway.status().errors).toBe(0);

    // The damaged shards take writes again, and their counts are recounted to what is stored.
    await reader.registry.bulkMarkValidated(pairs.filter(([id]) => lostForward.has(id)));
    expect(await reader.registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map(pairs));
    await reader.registry.sweep();
    const stored = await inspectRegistry(client, writer.keyPrefix);
    expect(await reader.registry.stats()).toMatchObject({ validated: stored.validated, missing: stored.missing, redis: { reverse: stored.reverse } });
    expect(stored.validated).toBe(2_000);
    expect((await reader.registry.stats()).repaired).toBeGreaterThanOrEqual(3);
    expect(reader.gateway.status().errors).toBe(0);
  });

  it('bounds a sweep run in time: a pass too long for one run goes on from its cursor in the next runs', async () => {
    const { registry, gateway, keyPrefix, layout } = await open({ sweepMaxRunMs: 5 });
    await registry.bulkMarkMissing(freshSpotifyIds(300));
    const client = gateway.client!;
    const shard = layout.shards[0]!;
    // 2^14 buckets: 256 steps of 64, many more than 5 ms' worth.
    await inflate(client, layout, shard, 14);

    expect((await registry.sweep()).complete).toBe(false);
    let cursor = Number(await client.hget(shard.metaKey, 's:cursor'));
    expect(cursor).toBeGreaterThan(0);
    let runs = 1;
    for (; runs < 1_000; runs++) {
      const report = await registry.sweep();
      const next = await client.hget(shard.metaKey, 's:cursor');
      // Each run goes on where the last one stopped: the cursor only moves forward until the pass finishes.
      if (next !== null) {
        expect(Number(next)).toBeGreaterThanOrEqual(cursor);
        cursor = Number(next);
      }
      if (report.complete) break;
    }
    expect(runs).toBeGreaterThan(1);
    expect(await client.hget(shard.metaKey, 's:cursor')).toBeNull();
    const stored = await inspectRegistry(client, keyPrefix);
    expect(stored.missing).toBe(301);
    expect(await registry.stats()).toMatchObject({ missing: 301, redis: { forwardBuckets: expect.any(Number) } });
  });

  it('close() returns within a second while a sweep is running, and the sweep stops', async () => {
    const { registry, gateway, layout } = await open({ sweepMaxRunMs: 600_000 });
    await registry.bulkMarkMissing(freshSpotifyIds(100));
    const client = gateway.client!;
    const shard = layout.shards[0]!;
    await inflate(client, layout, shard, 22);
    const sweep = registry.sweep();
    await pollUntil(async () => (await client.hget(shard.metaKey, 's:cursor')) !== null, 'the sweep to be under way');

    const started = performance.now();
    await registry.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect((await sweep).complete).toBe(false);
    const cursor = await client.hget(shard.metaKey, 's:cursor');
    expect(Number(cursor)).toBeLessThan(2 ** 22);
  });
});

describe.skipIf(!hasRedisServer)('closing during a sweep when Redis hangs', () => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<OpenRegistry>();
  afterEach(() => restoreServer(server()));

  it('close() returns within a second while the sweep step in flight waits on a hung Redis', async () => {
    const keyPrefix = 'hung-sweep:';
    const open = await openRegistry(server().url, keyPrefix, { missing: 'exact', sweepMaxRunMs: 600_000 });
    opened.push(open);
    const { registry, gateway } = open;
    const layout = new RegistryLayout(keyPrefix);
    const shard = layout.shards[0]!;
    await registry.bulkMarkMissing(freshSpotifyIds(100));
    await inflate(gateway.client!, layout, shard, 22);
    const sweep = registry.sweep();
    await pollUntil(() => server().cli('HGET', shard.metaKey, 's:cursor') !== '', 'the sweep to be under way');

    server().pause();
    const started = performance.now();
    await registry.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    server().resume();
    expect((await sweep).complete).toBe(false);
  });
});

describe.skipIf(!hasRedisServer)('a whole reprise instance with damaged registry data', () => {
  const backend = useBackend('standalone');
  const TOKEN = 'damage-test-admin-token-0123';

  it('answers numbers from stats and invalidate, and close() returns within a second during a sweep', async () => {
    const keyPrefix = 'whole:';
    const reprise = await createReprise({
      redisUrl: backend().url, keyPrefix, adminToken: TOKEN, warmSchedule: false, logger: silentLogger, env: {},
      redisCommandTimeoutMs: 5_000,
    });
    let closed = false;
    try {
      const app = express();
      app.use('/admin', reprise.router);
      const auth = { Authorization: `Bearer ${TOKEN}` };
      await reprise.idRegistry.bulkMarkValidated(freshPairs(200));
      await reprise.idRegistry.bulkMarkMissing(freshSpotifyIds(100));
      const layout = new RegistryLayout(keyPrefix);

      backend().cli('HSET', layout.shards[2]!.metaKey, 'n:v', 'nan');
      const stats = await request(app).get('/admin/id-registry/stats').set(auth);
      expect(stats.status).toBe(200);
      expect(isCount(stats.body.validated) && isCount(stats.body.missing)).toBe(true);
      const cacheStats = await request(app).get('/admin/cache/stats').set(auth);
      expect(isCount(cacheStats.body.idRegistry.validated)).toBe(true);

      backend().cli('HSET', layout.shards[3]!.metaKey, 'n:m', 'nan');
      const invalidated = await request(app).post('/admin/cache/invalidate').set(auth);
      expect(invalidated.status).toBe(200);
      expect(isCount(invalidated.body.invalidated)).toBe(true);
      expect(invalidated.body.invalidated).toBeGreaterThan(0);

      // A sweep under way on a large shard when the host shuts down.
      await reprise.idRegistry.bulkMarkMissing(freshSpotifyIds(100));
      const shard = layout.shards[0]!;
      backend().cli('HSET', shard.metaKey, 's:level', '22', 's:split', '0');
      backend().cli('HSET', layout.bucketKey(shard, 's', 2 ** 22 - 1), 'field', 'zzzzz');
      const sweep = reprise.idRegistry.sweep();
      await pollUntil(() => backend().cli('HGET', shard.metaKey, 's:cursor') !== '', 'the sweep to be under way');
      const started = performance.now();
      closed = true;
      await reprise.close();
      expect(performance.now() - started).toBeLessThan(1_000);
      expect((await sweep).complete).toBe(false);
    } finally {
      if (!closed) await reprise.close();
    }
  });
});
