/**
 * Redis over maxmemory with an evicting policy (volatile-lru, the one README "Sizing Redis" chooses, and
 * allkeys-lru): Redis really evicts (the server is filled until evicted_keys grows) while the cache, the ID registry
 * and a warm run keep working, and afterwards what eviction took is repaired: the registry's counts by the next
 * sweep, its meta hashes and geometry from the buckets that remain, a lost lock by the next acquire. Every key reprise
 * writes carries a TTL, which is what lets volatile-lru evict any of them. The registry's buckets and meta hashes are
 * exercised with exact missing marks (they live in the buckets); Bloom filters, evicted whole, are the last case.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReprise, type Reprise } from '../../src/index.js';
import { startDemo } from '../../examples/demo/server.js';
import { keyUsage } from '../../bench/lib/key-usage.js';
import { closeAfterEachTest, collectUnhandledRejections } from '../harness/lifecycle.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';
import { hasRedisServer, pollUntil, startRedisServer, type RedisServer } from '../harness/redis-servers.js';
import { inspectRegistry } from '../registry/inspect.js';
import { freshPairs, freshSpotifyIds } from '../registry/helpers.js';
import { controlledCompute, openInstance } from '../moods/helpers.js';
import { SHARD_COUNT } from '../../src/registry/layout.js';

const KIB = 1024;

function infoField(server: RedisServer, section: string, field: string): number {
  const line = server.cli('INFO', section).split('\n').find((candidate) => candidate.startsWith(`${field}:`));
  return Number(line?.slice(field.length + 1).trim());
}

async function openReprise(
  server: RedisServer,
  keyPrefix: string,
  missing: 'exact' | 'bloom' = 'exact',
): Promise<{ reprise: Reprise; logger: RecordingLogger }> {
  const logger = recordingLogger();
  const reprise = await createReprise({
    redisUrl: server.url,
    keyPrefix,
    idRegistry: { missing },
    logger,
    env: {},
    warmSchedule: false,
    computeRecommendations: async (moodPrompt) => ({ recommendations: [{ moodPrompt, tracks: 'x'.repeat(2 * KIB) }] }),
    // Behaviour under eviction, not detection: a busy 2-core machine must not push a call into memory-only mode.
    redisCommandTimeoutMs: 5_000,
    redisConnectTimeoutMs: 15_000,
    redisMemoryIntervalMs: 1_000,
  });
  return { reprise, logger };
}

/** Runs sweep passes until one completes (a run stops after sweepMaxRunMs and the next resumes). */
async function sweepToTheEnd(reprise: Reprise): Promise<void> {
  for (let run = 0; run < 20; run++) if ((await reprise.idRegistry.sweep()).complete) return;
  throw new Error('no sweep completed in 20 runs');
}

describe.skipIf(!hasRedisServer).each(['volatile-lru', 'allkeys-lru'])('Redis full under %s', (policy) => {
  let server: RedisServer;
  let client: Redis;
  const opened = closeAfterEachTest<Reprise>();
  const unhandled = collectUnhandledRejections();
  beforeAll(async () => {
    server = await startRedisServer({ extraArgs: ['--maxmemory-policy', policy] });
    client = new Redis(server.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.destroy();
    expect(unhandled).toEqual([]);
  });

  it('evicts for real while every call keeps answering, and the next sweep reconciles the registry with what is left', async () => {
    const keyPrefix = 'evict:';
    const { reprise, logger } = await openReprise(server, keyPrefix);
    opened.push(reprise);
    const { cache, idRegistry, popularMoods } = reprise;

    // Old data, as eviction finds it: a registry, cached profiles and warmed moods, idle for a few seconds.
    const pairs = freshPairs(3_000);
    const missing = freshSpotifyIds(1_000);
    await idRegistry.bulkMarkValidated(pairs);
    await idRegistry.bulkMarkMissing(missing);
    for (let i = 0; i < 300; i++) await cache.set('user_profile', `user-${i}`, { name: `user ${i}`, bio: 'b'.repeat(KIB) });
    expect(await popularMoods.warm()).toMatchObject({ status: 'succeeded', failed: 0 });
    const anyMeta = `${keyPrefix}id_registry:{0}meta`;
    // Redis's LRU clock ticks once a second: the old keys must be visibly older than what comes next.
    await pollUntil(() => Number(server.cli('OBJECT', 'IDLETIME', anyMeta)) >= 2, 'the old keys to be idle for 2 s', () => false, 20_000);
    const storedBefore = await inspectRegistry(client, keyPrefix);
    expect(storedBefore).toMatchObject({ validated: 3_000, missing: 1_000, reverse: 3_000 });

    // Full: maxmemory a little above what is used now, then writes until Redis has evicted the registry's share too.
    server.cli('CONFIG', 'SET', 'maxmemory', String(infoField(server, 'memory', 'used_memory') + 512 * KIB));
    const calls: Array<Promise<unknown>> = [popularMoods.warm({ force: true })];
    const written = { pairs: [...pairs], missing: [...missing] };
    let fill = 0;
    const registryLost = async () => {
      const stored = await inspectRegistry(client, keyPrefix);
      return stored.validated + stored.missing < written.pairs.length + written.missing.length;
    };
    while (infoField(server, 'stats', 'evicted_keys') < 200 || !(await registryLost())) {
      if (fill > 20_000) throw new Error('Redis evicted too little after 20 000 writes');
      for (let i = 0; i < 50; i++, fill++) calls.push(cache.set('track_details', `fill-${fill}`, 'x'.repeat(4 * KIB)));
      // Everything else reprise does, meanwhile.
      const newPairs = freshPairs(20);
      const newMissing = freshSpotifyIds(10);
      written.pairs.push(...newPairs);
      written.missing.push(...newMissing);
      calls.push(
        cache.get('user_profile', `user-${fill % 300}`),
        cache.get('track_details', `fill-${fill - 1}`),
        cache.getOrSet('mood_analysis', `mood-${fill}`, async () => ({ fill }), { acrossWorkers: true }),
        idRegistry.bulkMarkValidated(newPairs),
        idRegistry.bulkMarkMissing(newMissing),
        idRegistry.bulkLookup(pairs.slice(fill % 2_900, (fill % 2_900) + 100).map(([spotifyId]) => spotifyId)),
        idRegistry.bulkCheckMissing(missing.slice(0, 100)),
        popularMoods.getPrecomputedRecommendations('party vibes'),
      );
      await Promise.all(calls.slice(-60));
    }

    const settled = await Promise.allSettled(calls);
    expect(settled.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    expect(await calls[0]).toMatchObject({ failed: 0 });
    // Evictions made room for every write: no error of any kind, no refused write, Redis in use throughout.
    const redis = cache.stats().tiers.redis;
    expect(redis).toMatchObject({ errors: 0, refusedWrites: 0, circuitOpenings: 0, backend: 'redis' });
    await pollUntil(() => (cache.stats().tiers.redis.memory.nodes[0]?.evictedKeys ?? 0) >= 200, 'reprise to read the evictions');
    expect(cache.stats().tiers.redis.memory.nodes[0]).toMatchObject({ policy, verdict: 'by_use' });
    expect(logger.lines.filter((line) => line.startsWith('warn') && line.includes('maxmemory-policy'))).toEqual([]);

    // Room again; what eviction left is the truth the registry's counts must come back to.
    server.cli('CONFIG', 'SET', 'maxmemory', '0');
    const stored = await inspectRegistry(client, keyPrefix);
    expect(stored.validated + stored.missing).toBeLessThan(written.pairs.length + written.missing.length);
    await sweepToTheEnd(reprise);
    const counts = await idRegistry.stats();
    expect({ validated: counts.validated, missing: counts.missing, reverse: counts.redis!.reverse })
      .toEqual({ validated: stored.validated, missing: stored.missing, reverse: stored.reverse });
    // And its answers are Redis's: what survived is found, what was evicted is unknown (asked upstream again).
    const found = await idRegistry.bulkLookup([...written.pairs.map(([spotifyId]) => spotifyId), ...written.missing]);
    expect(found.validated.size).toBe(stored.validated);
    expect(found.missing.length).toBe(stored.missing);
    for (let i = 0; i < SHARD_COUNT; i++) expect(server.cli('EXISTS', `${keyPrefix}id_registry:{${i}}meta`)).toBe('1');
  });
});

describe.skipIf(!hasRedisServer)('what eviction may take, one key at a time', () => {
  let server: RedisServer;
  let client: Redis;
  const opened = closeAfterEachTest<{ close(): Promise<void> }>();
  beforeAll(async () => {
    server = await startRedisServer({ extraArgs: ['--maxmemory-policy', 'volatile-lru'] });
    client = new Redis(server.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.destroy();
  });

  it('rebuilds the registry\'s meta hashes (geometry and counts) from the buckets when every one of them is gone', async () => {
    const keyPrefix = 'meta:';
    const { reprise } = await openReprise(server, keyPrefix);
    opened.push(reprise);
    const pairs = freshPairs(6_000);
    await reprise.idRegistry.bulkMarkValidated(pairs);
    const metas = Array.from({ length: SHARD_COUNT }, (_, i) => `${keyPrefix}id_registry:{${i}}meta`);
    expect(Number(server.cli('DEL', ...metas))).toBe(SHARD_COUNT);

    // Every mapping is still found: each shard's linear-hashing geometry is rebuilt from the buckets that exist.
    const found = await reprise.idRegistry.bulkGetValidated(pairs.map(([spotifyId]) => spotifyId));
    expect(found.size).toBe(6_000);
    expect(await reprise.idRegistry.getSpotifyId(pairs[17]![1])).toBe(pairs[17]![0]);
    await sweepToTheEnd(reprise);
    const stats = await reprise.idRegistry.stats();
    expect(stats).toMatchObject({ validated: 6_000, missing: 0 });
    expect(stats.repaired).toBeGreaterThan(0);
    // Written again, each meta hash is back with a TTL like every registry key.
    await reprise.idRegistry.bulkMarkValidated(freshPairs(200));
    for (const meta of metas) expect(Number(server.cli('PTTL', meta)), meta).toBeGreaterThan(0);
    expect(await inspectRegistry(client, keyPrefix)).toMatchObject({ validated: 6_200, withoutTtl: 0 });
  });

  it('still finds the buckets above bucket 1 when a shard lost its meta hash and bucket 1 together', async () => {
    const keyPrefix = 'orphan:';
    const { reprise } = await openReprise(server, keyPrefix);
    opened.push(reprise);
    const pairs = freshPairs(4_000);
    await reprise.idRegistry.bulkMarkValidated(pairs);
    const shard = `${keyPrefix}id_registry:{5}`;
    expect(server.cli('EXISTS', `${shard}s4`)).toBe('1');
    expect(server.cli('DEL', `${shard}meta`, `${shard}s1`, `${shard}r1`)).toBe('3');
    const stored = await inspectRegistry(client, keyPrefix);
    const found = await reprise.idRegistry.bulkGetValidated(pairs.map(([spotifyId]) => spotifyId));
    expect(found.size).toBe(stored.validated);
    await sweepToTheEnd(reprise);
    expect(await reprise.idRegistry.stats()).toMatchObject({ validated: stored.validated, redis: { reverse: stored.reverse } });
  });

  it('counts what a lost bucket held out at the next sweep, and keeps answering meanwhile', async () => {
    const keyPrefix = 'bucket:';
    const { reprise } = await openReprise(server, keyPrefix);
    opened.push(reprise);
    await reprise.idRegistry.bulkMarkValidated(freshPairs(2_000));
    await reprise.idRegistry.bulkMarkMissing(freshSpotifyIds(500));
    expect(await reprise.idRegistry.stats()).toMatchObject({ validated: 2_000, missing: 500 });
    const bucket = `${keyPrefix}id_registry:{3}s0`;
    expect(server.cli('DEL', bucket)).toBe('1');
    const stored = await inspectRegistry(client, keyPrefix);
    expect(stored.validated + stored.missing).toBeLessThan(2_500);
    await sweepToTheEnd(reprise);
    expect(await reprise.idRegistry.stats()).toMatchObject({ validated: stored.validated, missing: stored.missing });
  });

  it('answers on when Bloom filters of missing marks are evicted: their IDs are unknown again, and marked again', async () => {
    const keyPrefix = 'filters:';
    const { reprise } = await openReprise(server, keyPrefix, 'bloom');
    opened.push(reprise);
    const ids = freshSpotifyIds(500);
    await reprise.idRegistry.bulkMarkMissing(ids);
    expect((await reprise.idRegistry.bulkCheckMissing(ids))[1]).toHaveLength(500);
    const filterKeys = server.cli('--scan', '--pattern', `${keyPrefix}id_registry:*g*`).split('\n').filter(Boolean);
    expect(filterKeys.length).toBeGreaterThan(0);
    server.cli('DEL', ...filterKeys);

    const [toCheck, knownMissing] = await reprise.idRegistry.bulkCheckMissing(ids);
    expect(knownMissing).toEqual([]);
    expect(toCheck).toHaveLength(500);
    await reprise.idRegistry.bulkMarkMissing(ids);
    expect((await reprise.idRegistry.bulkCheckMissing(ids))[1]).toHaveLength(500);
    expect(reprise.cache.stats().tiers.redis).toMatchObject({ errors: 0, circuitOpenings: 0 });
  });

  it('starts a generation again when its filter strings were evicted without its hash: every filter key keeps a TTL', async () => {
    const keyPrefix = 'filters-alone:';
    const { reprise } = await openReprise(server, keyPrefix, 'bloom');
    opened.push(reprise);
    await reprise.idRegistry.bulkMarkMissing(freshSpotifyIds(300));
    const keys = () => server.cli('--scan', '--pattern', `${keyPrefix}id_registry:*g*`).split('\n').filter(Boolean);
    // <prefix>id_registry:{<shard>}g<G>:<generation> is the generation's hash; `:<i>` after it, its filter strings.
    const filterStrings = keys().filter((key) => /\}g\d+:\d+:\d+$/.test(key));
    expect(filterStrings.length).toBeGreaterThan(0);
    server.cli('DEL', ...filterStrings);

    const later = freshSpotifyIds(300);
    await reprise.idRegistry.bulkMarkMissing(later);
    expect((await reprise.idRegistry.bulkCheckMissing(later))[1]).toHaveLength(300);
    const withoutTtl = keys().filter((key) => Number(server.cli('TTL', key)) < 0);
    expect(withoutTtl).toEqual([]);
  });

  it('lets a warm run that lost its lock stop, and the next run take the lock anew', async () => {
    const workflow = controlledCompute();
    const instance = await openInstance(server.url, 'lock:', { computeRecommendations: workflow.compute, warmLeaseMs: 600, warmConcurrency: 1 });
    opened.push(instance);
    const lockKey = 'lock:@warm-popular-moods:{lock:warm-popular-moods}:lock';
    const warming = instance.moods.warm({ moods: ['calm', 'focus', 'party'] });
    await pollUntil(() => workflow.calls.length === 1, 'the first mood');
    expect(Number(server.cli('PTTL', lockKey))).toBeGreaterThan(0);
    expect(server.cli('DEL', lockKey)).toBe('1');
    await pollUntil(() => instance.logger.lines.some((line) => line.includes('lease lost')), 'the run to notice at its next renewal');
    workflow.answerAll();
    expect(await warming).toMatchObject({ status: 'partial', failed: 2 });

    const again = instance.moods.warm({ moods: ['calm', 'focus', 'party'], force: true });
    await pollUntil(() => workflow.calls.length === 2, 'the next run to compute');
    expect(Number(server.cli('PTTL', lockKey))).toBeGreaterThan(0);
    let finished = false;
    void again.finally(() => {
      finished = true;
    });
    await pollUntil(() => {
      workflow.answerAll();
      return finished;
    }, 'the next run to finish');
    expect(await again).toMatchObject({ status: 'succeeded', failed: 0 });
  });

  it('gives every key the demo writes a TTL, so volatile-lru can evict any of them', async () => {
    const demo = await startDemo({ redisUrl: server.url, keyPrefix: 'ttl:', warmSchedule: false, latencyScale: 0, quiet: true, env: {} });
    opened.push(demo);
    for (const [userId, moodPrompt] of [['ada', 'rainy sunday coding'], ['ada', 'rainy sunday coding music'], ['linus', 'party vibes']]) {
      const response = await fetch(`${demo.url}/api/playlists`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId, moodPrompt }) });
      expect(response.status).toBe(200);
    }
    await demo.reprise.popularMoods.warm();
    const keys = await keyUsage(client, 'ttl:');
    const groups = new Set(keys.map((key) => key.group));
    for (const group of ['id_registry (meta)', 'id_registry (buckets)', 'top_tracks', 'workflow_artifacts', 'recommendations', 'popular_mood_cache', '@mood-usage']) {
      expect(groups, group).toContain(group);
    }
    expect(keys.filter((key) => key.ttlMs <= 0).map((key) => key.key)).toEqual([]);
  });
});
