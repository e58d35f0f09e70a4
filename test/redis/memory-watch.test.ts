/**
 * Redis memory figures: each master's used_memory, maxmemory, policy and evicted keys, read by INFO through the
 * gateway, shown in stats().tiers.redis.memory and the metrics, with the node's policy told once (a warning when it
 * will hurt reprise). A read that fails is housekeeping, never an outage and never an error out of the timer.
 */
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache, RepriseOptionsError, type RepriseCache } from '../../src/index.js';
import { parseMemory } from '../../src/redis/memory-watch.js';
import { collectUnhandledRejections, closeAfterEachTest, useRedisCluster, useRedisServer } from '../harness/lifecycle.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';
import { commandStats, hasRedisServer, pollUntil, startRedisServer, type RedisServer } from '../harness/redis-servers.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';

const MIB = 1024 * 1024;

interface Opened {
  cache: RepriseCache;
  logger: RecordingLogger;
  registry: Registry;
}

async function openCache(opened: RepriseCache[], redisUrl: string, options: { redisMemoryIntervalMs?: number } = {}): Promise<Opened> {
  const logger = recordingLogger();
  const registry = new Registry();
  const cache = await createCache({
    redisUrl,
    keyPrefix: 'mw:',
    logger,
    telemetry: new Telemetry({ registry }),
    redisCommandTimeoutMs: 5_000,
    redisConnectTimeoutMs: 15_000,
    redisMemoryIntervalMs: options.redisMemoryIntervalMs ?? 1_000,
  });
  opened.push(cache);
  return { cache, logger, registry };
}

const memoryOf = (cache: RepriseCache) => cache.stats().tiers.redis.memory;

/** Polls until a read newer than `after` (ISO) has come in for every node. */
async function nextRead(cache: RepriseCache, after: string): Promise<void> {
  await pollUntil(() => memoryOf(cache).nodes.length > 0 && memoryOf(cache).nodes.every((node) => node.readAt > after), 'a newer memory read');
}

describe('option', () => {
  it('takes 0 (off) or a whole number of milliseconds from 1000', async () => {
    for (const [value, code] of [[500, 'out_of_range'], [-1, 'out_of_range'], [1.5, 'out_of_range'], ['30s', 'invalid_type']] as const) {
      const error = await createCache({ redisMemoryIntervalMs: value as number }).catch((caught: unknown) => caught);
      expect(error, String(value)).toBeInstanceOf(RepriseOptionsError);
      expect(error, String(value)).toMatchObject({ code, option: 'redisMemoryIntervalMs' });
    }
    const memoryOnly = await createCache({ redisMemoryIntervalMs: 0 });
    expect(memoryOnly.stats().tiers.redis.memory).toEqual({ intervalMs: 0, nodes: [], failedReads: 0 });
    await memoryOnly.close();
  });
});

describe('reading INFO', () => {
  it('takes whole numbers only, and any policy it does not know as unknown', () => {
    const info = 'used_memory:1000\r\nmaxmemory:4000\r\nmaxmemory_policy:volatile-lru\r\nevicted_keys:7\r\n';
    expect(parseMemory('n:1', info, 't')).toMatchObject({ usedBytes: 1000, maxBytes: 4000, usedRatio: 0.25, policy: 'volatile-lru', verdict: 'by_use', evictedKeys: 7 });
    expect(parseMemory('n:1', info.replace('maxmemory:4000', 'maxmemory:0'), 't')).toMatchObject({ usedRatio: null, verdict: 'unbounded' });
    expect(parseMemory('n:1', info.replace('volatile-lru', 'evict-everything'), 't')).toMatchObject({ policy: 'unknown', verdict: 'unknown' });
    for (const broken of ['used_memory:1e9', 'used_memory:-5', 'used_memory:nan', 'used_memory:']) {
      expect(parseMemory('n:1', info.replace('used_memory:1000', broken), 't'), broken).toBeNull();
    }
    expect(parseMemory('n:1', info.replace('evicted_keys:7\r\n', ''), 't')).toBeNull();
    expect(parseMemory('n:1', 'ERR', 't')).toBeNull();
  });
});

describe.skipIf(!hasRedisServer)('a standalone Redis', () => {
  const server = useRedisServer({ extraArgs: ['--maxmemory', String(64 * MIB), '--maxmemory-policy', 'volatile-lru'] });
  const opened = closeAfterEachTest<RepriseCache>();
  const unhandled = collectUnhandledRejections();
  afterAll(() => expect(unhandled).toEqual([]));

  it('shows its figures in stats() and the metrics, labelled by host:port, and tells its policy once', async () => {
    const { cache, logger, registry } = await openCache(opened, server().url);
    await pollUntil(() => memoryOf(cache).nodes.length === 1, 'the first memory read');
    const node = `127.0.0.1:${server().port}`;
    const [figures] = memoryOf(cache).nodes;
    expect(figures).toMatchObject({ node, maxBytes: 64 * MIB, policy: 'volatile-lru', verdict: 'by_use', evictedKeys: 0 });
    expect(figures!.usedBytes).toBeGreaterThan(0);
    expect(figures!.usedRatio).toBeCloseTo(figures!.usedBytes / (64 * MIB), 6);

    const text = await registry.metrics();
    expect(text).toContain(`reprise_redis_memory_used_bytes{node="${node}"} `);
    expect(text).toContain(`reprise_redis_memory_max_bytes{node="${node}"} ${64 * MIB}`);
    expect(text).toContain(`reprise_redis_memory_policy_info{node="${node}",policy="volatile-lru"} 1`);
    expect(text).toContain(`reprise_redis_evicted_keys_total{node="${node}"} 0`);

    // Read again and again: the policy is told once, as information (reprise recovers from what LRU evicts).
    await nextRead(cache, figures!.readAt);
    await nextRead(cache, memoryOf(cache).nodes[0]!.readAt);
    const told = logger.lines.filter((line) => line.includes('maxmemory-policy'));
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/^info Redis 127\.0\.0\.1:\d+: maxmemory 67108864 bytes, maxmemory-policy volatile-lru: when full, Redis evicts the least used keys/);
    expect(commandStats(server()).info).toBeGreaterThanOrEqual(6);
  });

  it('warns once when the policy changes to one that refuses writes or evicts keys in use', async () => {
    const { cache, logger } = await openCache(opened, server().url);
    await pollUntil(() => memoryOf(cache).nodes.length === 1, 'the first memory read');
    try {
      for (const [policy, words] of [['noeviction', /Redis refuses writes \(OOM\)\. reprise then still reads from Redis/], ['volatile-ttl', /nearest expiry first: reprise's short locks and leases go before any cache entry/], ['allkeys-random', /evicts keys whatever their use, so a lock still held can go/]] as const) {
        server().cli('CONFIG', 'SET', 'maxmemory-policy', policy);
        await pollUntil(() => memoryOf(cache).nodes[0]?.policy === policy, `the policy ${policy} to be read`);
        await nextRead(cache, memoryOf(cache).nodes[0]!.readAt);
        const warnings = logger.lines.filter((line) => line.startsWith('warn') && line.includes(`maxmemory-policy ${policy}`));
        expect(warnings, policy).toHaveLength(1);
        expect(warnings[0], policy).toMatch(words);
      }
      // Without maxmemory nothing is evicted or refused: told as information, whatever the policy.
      server().cli('CONFIG', 'SET', 'maxmemory', '0');
      await pollUntil(() => memoryOf(cache).nodes[0]?.maxBytes === 0, 'maxmemory 0 to be read');
      expect(memoryOf(cache).nodes[0]).toMatchObject({ verdict: 'unbounded', usedRatio: null });
      expect(logger.lines.filter((line) => line.includes('maxmemory 0 (no limit)'))).toEqual([expect.stringMatching(/^info /)]);
    } finally {
      server().cli('CONFIG', 'SET', 'maxmemory-policy', 'volatile-lru');
      server().cli('CONFIG', 'SET', 'maxmemory', String(64 * MIB));
    }
  });

  it('counts what Redis evicts', async () => {
    const { cache, registry } = await openCache(opened, server().url);
    await pollUntil(() => memoryOf(cache).nodes.length === 1, 'the first memory read');
    const scratch = await startRedisServer({ extraArgs: ['--maxmemory-policy', 'allkeys-lru'] });
    try {
      const filled = await openCache(opened, scratch.url);
      await pollUntil(() => memoryOf(filled.cache).nodes.length === 1, 'the first memory read');
      const used = memoryOf(filled.cache).nodes[0]!.usedBytes;
      scratch.cli('CONFIG', 'SET', 'maxmemory', String(used + 2 * MIB));
      for (let i = 0; i < 400; i++) await filled.cache.set('track_details', `t${i}`, 'x'.repeat(16_384));
      await pollUntil(() => (memoryOf(filled.cache).nodes[0]?.evictedKeys ?? 0) > 0, 'evictions to be read');
      const evicted = memoryOf(filled.cache).nodes[0]!.evictedKeys;
      expect(evicted).toBeGreaterThan(0);
      expect(await filled.registry.metrics()).toMatch(new RegExp(`reprise_redis_evicted_keys_total\\{node="127\\.0\\.0\\.1:${scratch.port}"\\} [1-9]`));
      // The other cache watches another server: its figures are its own.
      expect(await registry.metrics()).toContain(`reprise_redis_evicted_keys_total{node="127.0.0.1:${server().port}"} 0`);
    } finally {
      await scratch.destroy();
    }
  });

  it('reads nothing with redisMemoryIntervalMs 0', async () => {
    const { cache, registry } = await openCache(opened, server().url, { redisMemoryIntervalMs: 0 });
    await cache.set('recommendations', 'k', 1);
    expect(memoryOf(cache)).toEqual({ intervalMs: 0, nodes: [], failedReads: 0 });
    expect(await registry.metrics()).not.toContain('reprise_redis_memory_used_bytes{');
  });
});

describe.skipIf(!hasRedisServer)('a read that fails', () => {
  let server: RedisServer;
  const opened = closeAfterEachTest<RepriseCache>();
  const unhandled = collectUnhandledRejections();
  afterAll(async () => {
    await server?.destroy();
    expect(unhandled).toEqual([]);
  });

  it('is counted, keeps the circuit closed and the cache on Redis, and never throws (INFO refused by an ACL)', async () => {
    server = await startRedisServer({ password: 'top-secret-pw' });
    server.cli('ACL', 'SETUSER', 'app', 'on', '>app-secret-pw', '~*', '&*', '+@all', '-info');
    const { cache, logger, registry } = await openCache(opened, `redis://app:app-secret-pw@127.0.0.1:${server.port}`);
    await pollUntil(() => memoryOf(cache).failedReads >= 2, 'two refused reads');
    await cache.set('recommendations', 'calm', [1]);
    expect(await cache.get('recommendations', 'calm')).toEqual([1]);
    const redis = cache.stats().tiers.redis;
    expect(redis).toMatchObject({ backend: 'redis', breaker: 'closed', circuitOpenings: 0, timeouts: 0 });
    expect(redis.errorsByReason.other).toBeGreaterThanOrEqual(2);
    expect(redis.memory.nodes).toEqual([]);
    const text = await registry.metrics();
    expect(text).toMatch(/reprise_cache_errors_total\{tier="redis",operation="info",reason="other"\} [2-9]/);
    expect(text).not.toContain('reprise_redis_memory_used_bytes{');
    for (const line of [...logger.lines, text]) expect(line).not.toMatch(/secret-pw/);
  });

  it('keeps the last figures while the node is away, and reads again once it is back', async () => {
    const { cache } = await openCache(opened, server.url);
    await pollUntil(() => memoryOf(cache).nodes.length === 1, 'the first memory read');
    const first = memoryOf(cache).nodes[0]!;
    await server.kill();
    const failed = memoryOf(cache).failedReads;
    await pollUntil(() => memoryOf(cache).failedReads > failed, 'a read while the node is away');
    expect(memoryOf(cache).nodes).toEqual([first]);
    await server.start();
    await nextRead(cache, first.readAt);
    expect(memoryOf(cache).nodes[0]!.node).toBe(first.node);
  });
});

describe.skipIf(!hasRedisServer)('a Redis Cluster', () => {
  const cluster = useRedisCluster(3);
  const opened = closeAfterEachTest<RepriseCache>();

  it('reads every master, each under its own address', async () => {
    const { cache, registry } = await openCache(opened, cluster().url);
    const addresses = cluster().masters.map((master) => `127.0.0.1:${master.port}`).sort();
    await pollUntil(() => memoryOf(cache).nodes.length === 3, 'a read of each master');
    expect(memoryOf(cache).nodes.map((node) => node.node)).toEqual(addresses);
    for (const node of memoryOf(cache).nodes) expect(node).toMatchObject({ policy: 'noeviction', maxBytes: 0, verdict: 'unbounded' });
    const text = await registry.metrics();
    for (const address of addresses) expect(text).toContain(`reprise_redis_memory_used_bytes{node="${address}"}`);
  });
});
