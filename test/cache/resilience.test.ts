/**
 * Redis killed, hung (SIGSTOP) or absent at start: every cache call still answers, from memory, and the cache moves
 * back to Redis by itself. Latency is asserted loosely here (a hang would take forever; fail-fast takes one command
 * deadline); the 100 ms bar itself is measured by `npm run bench:outage`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type RepriseCache } from '../../src/index.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';
import { collectUnhandledRejections, restoreServer, useRedisCluster, useRedisServer } from '../harness/lifecycle.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';

/** Far above one 50 ms command deadline, far below a hang. */
const NO_HANG_MS = 1_000;

const unhandled = collectUnhandledRejections();

/** Runs a mixed workload and returns the slowest call; any rejection fails the test. */
async function mixedWorkload(cache: RepriseCache, rounds: number, tag: string): Promise<number> {
  let slowest = 0;
  const timed = async (call: () => Promise<unknown>) => {
    const started = performance.now();
    await call();
    slowest = Math.max(slowest, performance.now() - started);
  };
  for (let i = 0; i < rounds; i++) {
    await timed(() => cache.set('recommendations', `${tag}-${i}`, { i }));
    await timed(() => cache.get('recommendations', `${tag}-${i}`));
    await timed(() => cache.get('recommendations', `${tag}-absent-${i}`));
    await timed(() => cache.getOrSet('mood_analysis', `${tag}-${i}`, () => ({ computed: i })));
    await timed(() => cache.delete('top_tracks', `${tag}-${i}`));
  }
  await timed(() => cache.invalidate('top_tracks'));
  return slowest;
}

describe.skipIf(!hasRedisServer)('resilience on standalone Redis', () => {
  const server = useRedisServer();
  let cache: RepriseCache | undefined;
  let logger: RecordingLogger;

  afterEach(async () => {
    await restoreServer(server());
    await cache?.close();
    cache = undefined;
  });

  async function open(): Promise<RepriseCache> {
    logger = recordingLogger();
    cache = await createCache({ redisUrl: server().url, keyPrefix: 'res:', logger, redisConnectTimeoutMs: 300 });
    return cache;
  }

  it('answers every call from memory while Redis is killed, then returns to Redis after a restart', async () => {
    const cache = await open();
    await cache.set('recommendations', 'before', 'stored in Redis');
    expect(cache.stats().cacheType).toBe('redis');

    await server().kill();
    const slowest = await mixedWorkload(cache, 40, 'killed');
    expect(slowest).toBeLessThan(NO_HANG_MS);
    const during = cache.stats();
    expect(during.cacheType).toBe('memory');
    // ioredis hears of the closed socket on its own schedule; the breaker had already moved calls to memory.
    await pollUntil(() => cache.stats().tiers.redis.connection !== 'ready', 'ioredis to notice the killed server');
    // Values written during the outage are served from memory.
    expect(await cache.get('recommendations', 'killed-3')).toEqual({ i: 3 });
    expect(await cache.get('recommendations', 'before')).toBe('stored in Redis');

    await server().start();
    await pollUntil(() => cache.stats().cacheType === 'redis', 'the cache to move back to Redis');
    await cache.set('recommendations', 'after', 'back in Redis');
    expect(server().cli('EXISTS', 'res:recommendations:after')).toBe('1');
    expect(logger.lines.some((line) => /serving from memory/.test(line))).toBe(true);
    expect(logger.lines.some((line) => /available again/.test(line))).toBe(true);
    expect(unhandled).toEqual([]);
  });

  it('opens the circuit when Redis hangs (SIGSTOP), so later calls skip Redis, and closes it after SIGCONT', async () => {
    const cache = await open();
    await cache.set('recommendations', 'warm', 1);
    server().pause();
    const slowest = await mixedWorkload(cache, 40, 'paused');
    expect(slowest).toBeLessThan(NO_HANG_MS);
    const during = cache.stats().tiers.redis;
    // A hung Redis is an outage: the call that found it stopped opened the circuit, and only probes waited since.
    expect(during.timeouts).toBeGreaterThanOrEqual(1);
    expect(during.circuitOpenings).toBe(1);
    expect(during.timeouts).toBeLessThan(15);
    expect(during.skipped).toBeGreaterThan(150);
    expect(cache.stats().cacheType).toBe('memory');
    expect(await cache.get('recommendations', 'paused-7')).toEqual({ i: 7 });

    server().resume();
    await pollUntil(async () => {
      await cache.get('recommendations', 'probe');
      return cache.stats().cacheType === 'redis';
    }, 'the circuit to close after the server resumes');
    await cache.set('recommendations', 'resumed', true);
    expect(server().cli('GET', 'res:recommendations:resumed')).toMatch(/^r1:/);
    expect(unhandled).toEqual([]);
  });

  it('lets a workflow helper of several steps wait on a hung Redis once, not once per step', async () => {
    const cache = await open();
    await cache.setWorkflowArtifacts({ userId: 'u', moodPrompt: 'rainy sunday coding', artifacts: { seeds: [1] } });
    server().pause();
    try {
      const timeouts = () => cache.stats().tiers.redis.timeouts;
      const before = timeouts();
      await cache.setWorkflowArtifacts({ userId: 'u', moodPrompt: 'late night drive', artifacts: { seeds: [2] } });
      expect(timeouts()).toBe(before + 1);
      const found = await cache.findWorkflowArtifacts({ userId: 'u', moodPrompt: 'rainy sunday coding music', similar: true });
      expect(found).toMatchObject({ moodPrompt: 'rainy sunday coding', artifacts: { seeds: [1] } });
      // The first stall opened the circuit: the next call did not wait on the hung Redis at all.
      expect(timeouts()).toBe(before + 1);
    } finally {
      server().resume();
    }
  });

  it('starts in memory mode when Redis is unreachable and moves to Redis when it appears', async () => {
    await server().stop();
    const cache = await open();
    expect(cache.stats().cacheType).toBe('memory');
    await cache.set('user_profile', 'u1', { name: 'memory only' });
    expect(await cache.get('user_profile', 'u1')).toEqual({ name: 'memory only' });
    expect(await cache.getOrSet('user_profile', 'u2', () => 'computed')).toBe('computed');

    await server().start();
    await pollUntil(() => cache.stats().cacheType === 'redis', 'the cache to connect once Redis is up', undefined, 10_000);
    await cache.set('user_profile', 'u3', 'in Redis');
    expect(server().cli('EXISTS', 'res:user_profile:u3')).toBe('1');

    // It also hears the other instances once Redis is there, though its first SUBSCRIBE failed.
    await pollUntil(async () => (await Promise.race([cache.listening, Promise.resolve('pending')])) !== 'pending', 'the first SUBSCRIBE to settle');
    const other = await createCache({ redisUrl: server().url, keyPrefix: 'res:', logger: recordingLogger(), env: {} });
    try {
      await other.set('user_profile', 'shared', { v: 1 });
      expect(await cache.get('user_profile', 'shared')).toEqual({ v: 1 });
      await other.set('user_profile', 'shared', { v: 2 });
      await pollUntil(async () => (await cache.get<{ v: number }>('user_profile', 'shared'))?.v === 2, 'the late starter to drop its stale copy');
    } finally {
      await other.close();
    }
    expect(unhandled).toEqual([]);
  });
});

describe.skipIf(!hasRedisServer)('resilience on a 3-master Redis Cluster', () => {
  const cluster = useRedisCluster(3);
  let cache: RepriseCache | undefined;

  afterEach(async () => {
    for (const master of cluster().masters) master.resume();
    await cache?.close();
    cache = undefined;
  });

  it('answers every call while one master hangs, then returns to Redis', async () => {
    cache = await createCache({ redisUrl: cluster().url, keyPrefix: 'cres:', logger: recordingLogger(), redisConnectTimeoutMs: 1_000 });
    const open = cache;
    // createCache waits 1 s for the Cluster at most; on a loaded machine it may be ready a little later.
    await pollUntil(() => open.stats().cacheType === 'redis', 'the Cluster to be ready');
    cluster().masters[1]!.pause();
    const slowest = await mixedWorkload(open, 40, 'hung-master');
    expect(slowest).toBeLessThan(NO_HANG_MS);
    expect(open.stats().tiers.redis.timeouts).toBeGreaterThanOrEqual(1);
    expect(await open.get('recommendations', 'hung-master-5')).toEqual({ i: 5 });

    cluster().masters[1]!.resume();
    await pollUntil(async () => {
      await open.get('recommendations', 'probe');
      return open.stats().cacheType === 'redis';
    }, 'the circuit to close after the master resumes');
    await open.set('recommendations', 'after', 1);
    expect(cluster().masters[0]!.cli('-c', 'EXISTS', 'cres:recommendations:after')).toBe('1');
    expect(unhandled).toEqual([]);
  });

  it('invalidates on every master that answers while another hangs, and says the rest remains', async () => {
    const logger = recordingLogger();
    cache = await createCache({ redisUrl: cluster().url, keyPrefix: 'cinv:', logger, redisConnectTimeoutMs: 1_000 });
    const open = cache;
    await pollUntil(() => open.stats().cacheType === 'redis', 'the Cluster to be ready');
    for (let i = 0; i < 60; i++) await open.set('recommendations', `k${i}`, { i });
    const held = () => cluster().masters.map((master) => master.cli('--scan', '--pattern', 'cinv:recommendations:*').split('\n').filter(Boolean).length);
    const before = held();
    expect(before.every((count) => count > 0)).toBe(true);

    cluster().masters[1]!.pause();
    await open.invalidate('recommendations');
    cluster().masters[1]!.resume();
    // The masters that answered were walked to the end, whatever the order of the walk; the hung one kept its keys.
    expect(held()).toEqual([0, before[1], 0]);
    expect(logger.lines.some((line) => line.includes('could not reach Redis'))).toBe(true);
    expect(unhandled).toEqual([]);
  });

  it('answers every call while a master is killed, and recovers when it restarts', async () => {
    cache = await createCache({ redisUrl: cluster().url, keyPrefix: 'ckill:', logger: recordingLogger(), redisConnectTimeoutMs: 1_000 });
    const open = cache;
    await cluster().masters[2]!.kill();
    const slowest = await mixedWorkload(open, 40, 'killed-master');
    expect(slowest).toBeLessThan(NO_HANG_MS);
    expect(await open.get('recommendations', 'killed-master-9')).toEqual({ i: 9 });

    await cluster().masters[2]!.start();
    await pollUntil(() => /cluster_state:ok/.test(cluster().masters[0]!.cli('CLUSTER', 'INFO')), 'the cluster to heal');
    await pollUntil(async () => {
      await open.set('recommendations', 'healed', 1);
      return open.stats().cacheType === 'redis' && cluster().masters[0]!.cli('-c', 'EXISTS', 'ckill:recommendations:healed') === '1';
    }, 'writes to reach the cluster again');
    expect(unhandled).toEqual([]);
  });
});
