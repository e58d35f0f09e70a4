/**
 * getOrSet(..., { acrossWorkers: true }): one factory call across every instance sharing Redis. Each cache instance
 * here stands for a worker process: it has its own memory tier, in-flight table and connections, and shares only
 * Redis with the others.
 */
import { describe, expect, it } from 'vitest';
import { createCache, type RepriseCache } from '../../src/index.js';
import { closeAfterEachTest, restoreServer, useRedisServer } from '../harness/lifecycle.js';
import { recordingLogger } from '../harness/logger.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';

describe.skipIf(!hasRedisServer)('getOrSet across workers', () => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<RepriseCache>();
  let prefixCounter = 0;

  async function workers(count: number, prefix = `aw${++prefixCounter}:`): Promise<RepriseCache[]> {
    const caches = await Promise.all(
      Array.from({ length: count }, () => createCache({ redisUrl: server().url, keyPrefix: prefix, logger: recordingLogger(), redisConnectTimeoutMs: 15_000, env: {} })),
    );
    opened.push(...caches);
    return caches;
  }

  it('computes a missing key once across three workers, each asked 20 times at once', async () => {
    const caches = await workers(3);
    let calls = 0;
    const factory = async () => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 50)); // an upstream call
      return { computedBy: calls };
    };
    const results = await Promise.all(
      caches.flatMap((cache) => Array.from({ length: 20 }, () => cache.getOrSet('recommendations', 'happy', factory, { acrossWorkers: true }))),
    );
    expect(calls).toBe(1);
    expect(new Set(results.map((result) => JSON.stringify(result)))).toEqual(new Set(['{"computedBy":1}']));
    const stats = caches.map((cache) => cache.stats().acrossWorkers);
    expect(stats.reduce((sum, s) => sum + s.computed, 0)).toBe(1);
    expect(stats.reduce((sum, s) => sum + s.received, 0)).toBe(2);
    // The lease is gone once the value is stored.
    expect(server().cli('EXISTS', `${caches[0]!.keyPrefix}@compute:${caches[0]!.keyPrefix}recommendations:happy`)).toBe('0');
  });

  it("takes over the lease of a worker that crashed while computing", async () => {
    const [cache] = await workers(1);
    const fullKey = `${cache!.keyPrefix}recommendations:calm`;
    // What a worker that died mid-computation leaves behind: its lease, expiring on its own.
    server().cli('SET', `${cache!.keyPrefix}@compute:${fullKey}`, 'crashed-worker', 'PX', '300');
    let calls = 0;
    const value = await cache!.getOrSet('recommendations', 'calm', () => ++calls, { acrossWorkers: true });
    expect(value).toBe(1);
    expect(calls).toBe(1);
    expect(cache!.stats().acrossWorkers).toMatchObject({ computed: 1, tookOver: 1 });
  });

  it('does not cache a factory error: a waiting worker computes instead', async () => {
    const [first, second] = await workers(2);
    const leaseKey = `${first!.keyPrefix}@compute:${first!.keyPrefix}mood_analysis:storm`;
    let fail!: () => void;
    const failing = first!.getOrSet('mood_analysis', 'storm', () => new Promise<string>((_, reject) => {
      fail = () => reject(new Error('upstream 503'));
    }), { acrossWorkers: true });
    await pollUntil(() => server().cli('EXISTS', leaseKey) === '1', 'the first worker to take the lease');
    let secondCalls = 0;
    const waiting = second!.getOrSet('mood_analysis', 'storm', async () => `computed ${++secondCalls}`, { acrossWorkers: true });
    await pollUntil(() => fail !== undefined, 'the first factory to start');
    fail();
    await expect(failing).rejects.toThrow('upstream 503');
    expect(await waiting).toBe('computed 1');
    expect(secondCalls).toBe(1);
    expect(await first!.get('mood_analysis', 'storm')).toBe('computed 1');
  });

  it('degrades to one computation per worker while Redis is down', async () => {
    const caches = await workers(2);
    await server().kill();
    try {
      let calls = 0;
      const results = await Promise.all(
        caches.flatMap((cache) => Array.from({ length: 10 }, () => cache.getOrSet('top_tracks', 'u1', async () => ++calls, { acrossWorkers: true }))),
      );
      expect(calls).toBe(2);
      expect(results.every((result) => result === 1 || result === 2)).toBe(true);
    } finally {
      await restoreServer(server());
    }
  });

  it('refuses a malformed acrossWorkers option before doing anything', async () => {
    const [cache] = await workers(1);
    let calls = 0;
    await expect(cache!.getOrSet('recommendations', 'x', () => ++calls, { acrossWorkers: { waitMs: -1 } })).rejects.toThrow(/acrossWorkers.waitMs/);
    await expect(cache!.getOrSet('recommendations', 'x', () => ++calls, { acrossWorkers: { wait: 5 } as never })).rejects.toThrow(/unknown option acrossWorkers.wait/);
    expect(calls).toBe(0);
  });
});
