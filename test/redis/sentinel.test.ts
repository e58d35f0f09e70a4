/**
 * A Sentinel-managed master (`redis+sentinel://`), against real processes: a master, a replica and three sentinels.
 * A failover under steady load, forced (SENTINEL FAILOVER) or by killing the master, fails no call; the instance
 * follows the new master and its writes land there. READONLY replies are error replies, never an outage.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createCacheParts, waitForRedis } from '../../src/cache/create-cache.js';
import { createCache } from '../../src/index.js';
import { createReprise, type Reprise } from '../../src/reprise.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';
import { hasRedisServer, pollUntil, startRedisServer, type RedisServer } from '../harness/redis-servers.js';
import { startRedisSentinelGroup, type RedisSentinelGroup } from '../harness/redis-sentinel.js';
import { hasOpenssl, makeTlsFiles } from '../harness/redis-tls.js';

const PASSWORD = 'master-pw-b7c1';
const SENTINEL_PASSWORD = 'sentinel-pw-9f2e';

describe.skipIf(!hasRedisServer)('a Sentinel-managed master', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function group(): Promise<RedisSentinelGroup> {
    const started = await startRedisSentinelGroup({ password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
    cleanups.push(() => started.destroy());
    return started;
  }

  async function reprise(url: string, logger: RecordingLogger): Promise<Reprise> {
    const created = await createReprise({ redisUrl: url, redisSentinelPassword: SENTINEL_PASSWORD, logger, env: {}, warmSchedule: false });
    cleanups.push(() => created.close());
    return created;
  }

  it('finds the master through the sentinels, and shows the target without passwords', async () => {
    const sentinelGroup = await group();
    const logger = recordingLogger();
    const { cache } = await reprise(sentinelGroup.url(2), logger);
    await cache.set('recommendations', 'k', { tracks: [1] });

    const master = sentinelGroup.master();
    expect(master.cli('-n', '2', 'EXISTS', 'reprise:recommendations:k')).toBe('1');
    const redis = cache.stats().tiers.redis;
    expect(redis).toMatchObject({ mode: 'sentinel', connection: 'ready', breaker: 'closed' });
    const sentinelList = sentinelGroup.sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',');
    expect(redis.target).toBe(`sentinel ${sentinelList} master ${sentinelGroup.masterName} at 127.0.0.1:${master.port}/2`);
    expect(cache.stats().cacheType).toBe('redis');

    await cache.close();
    const everything = `${logger.lines.join('\n')}\n${JSON.stringify(cache.stats())}`;
    expect(everything).toContain(`cache: Redis sentinel at redis+sentinel://:***@${sentinelList}/${sentinelGroup.masterName}/2`);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(SENTINEL_PASSWORD);
  });

  it('logs in to the sentinels as an ACL user of their own (redisSentinelUsername)', async () => {
    const sentinelGroup = await group();
    const watcherPassword = 'watcher-pw-42d7';
    // Each sentinel gets the user; its default user keeps the other password, so only the user's login can work.
    for (const sentinel of sentinelGroup.sentinels) {
      expect(sentinel.cli('ACL', 'SETUSER', 'watcher', 'on', `>${watcherPassword}`, 'allchannels', '+@all')).toBe('OK');
    }
    const logger = recordingLogger();
    const asUser = await createReprise({
      redisUrl: sentinelGroup.url(0), redisSentinelUsername: 'watcher', redisSentinelPassword: watcherPassword, logger, env: {}, warmSchedule: false,
    });
    cleanups.push(() => asUser.close());
    await asUser.cache.set('recommendations', 'as-user', { ok: true });
    expect(sentinelGroup.master().cli('EXISTS', 'reprise:recommendations:as-user')).toBe('1');
    expect(asUser.cache.stats().tiers.redis).toMatchObject({ mode: 'sentinel', connection: 'ready' });

    // The same password as the default user's is refused: the user name is what made the login above.
    const asDefault = await createCache({
      redisUrl: sentinelGroup.url(0), redisSentinelPassword: watcherPassword, logger: recordingLogger(), env: {}, redisConnectTimeoutMs: 500,
    });
    cleanups.push(() => asDefault.close());
    expect(asDefault.stats().cacheType).toBe('memory');
    expect(`${logger.lines.join('\n')}\n${JSON.stringify(asUser.cache.stats())}`).not.toContain(watcherPassword);
  });

  for (const how of ['SENTINEL FAILOVER', 'killing the master'] as const) {
    it(`fails no call during a failover by ${how}, follows the new master, and writes land there`, async () => {
      const sentinelGroup = await group();
      const logger = recordingLogger();
      const instance = await reprise(sentinelGroup.url(), logger);
      const { cache, idRegistry } = instance;
      // Another instance, to hear invalidations: its subscriber connection has to follow the master too.
      const other = (await reprise(sentinelGroup.url(), recordingLogger())).cache;
      const oldMaster = sentinelGroup.master();
      const newMaster = sentinelGroup.servers.find((server) => server !== oldMaster)!;

      const load = steadyLoad(instance);
      await pollUntil(() => load.calls >= 200, 'the load to run against the first master');
      if (how === 'SENTINEL FAILOVER') expect(sentinelGroup.sentinels[0]!.cli('SENTINEL', 'FAILOVER', sentinelGroup.masterName)).toBe('OK');
      else await oldMaster.kill();
      await sentinelGroup.waitForMaster(newMaster.port);
      const onNewMaster = (instance: typeof cache) =>
        instance.stats().cacheType === 'redis' && instance.stats().tiers.redis.target!.endsWith(`at 127.0.0.1:${newMaster.port}/0`);
      await pollUntil(
        () => onNewMaster(cache) && onNewMaster(other),
        'both instances to follow the new master',
        () => false,
        30_000,
      );
      const callsAtSwitch = load.calls;
      await pollUntil(() => load.calls >= callsAtSwitch + 200, 'the load to run against the new master');
      await load.stop();

      expect(load.rejections).toEqual([]);
      // After the switch, writes go to the new master: read back there through a plain client.
      await cache.set('recommendations', 'after-failover', 'new-master');
      await idRegistry.markValidated('4uLU6hMCjMI75M1A2tKUQC', '0f7c2a35-1c3a-4f7e-9d0b-5f0a1a2b3c4d');
      expect(newMaster.cli('GET', 'reprise:recommendations:after-failover')).toMatch(/new-master/);
      expect(await idRegistry.getValidatedId('4uLU6hMCjMI75M1A2tKUQC')).toBe('0f7c2a35-1c3a-4f7e-9d0b-5f0a1a2b3c4d');
      expect(await cache.get('recommendations', 'after-failover')).toBe('new-master');
      // The other instance keeps a copy in memory; a write here is announced through the new master and drops it.
      expect(await other.get('recommendations', 'after-failover')).toBe('new-master');
      await cache.set('recommendations', 'after-failover', 'replaced');
      await pollUntil(async () => (await other.get('recommendations', 'after-failover')) === 'replaced', 'the other instance to hear the write');

      const redis = cache.stats().tiers.redis;
      // What failed in Redis was calls on a connection that closed under them, and READONLY replies from a demoted
      // master (if a write reached it): no other error reply.
      const unexpected = Object.entries(redis.errorsByReason).filter(([reason, count]) => count > 0 && reason !== 'connection' && reason !== 'readonly');
      expect(unexpected).toEqual([]);
      expect(redis.breaker).toBe('closed');
      // A forced failover is a switch: no outage, whatever READONLY replies came. A killed master is one until the
      // sentinels promote the replica.
      if (how === 'SENTINEL FAILOVER') expect(redis.circuitOpenings).toBe(0);
      else expect(redis.circuitOpenings).toBeGreaterThanOrEqual(1);
      expect(logger.lines.some((line) => line.startsWith('info Redis master switched: ') && line.endsWith(`:${newMaster.port}/0`))).toBe(true);
    }, 90_000);
  }
});

describe.skipIf(!hasRedisServer || !hasOpenssl)('a Sentinel-managed master over TLS (rediss+sentinel://)', () => {
  it('talks TLS to the sentinels and the master, trusting redisTlsCaFile, and follows a failover', async () => {
    const files = makeTlsFiles();
    const sentinelGroup = await startRedisSentinelGroup({ password: PASSWORD, tls: files });
    const logger = recordingLogger();
    const cache = await createCache({ redisUrl: sentinelGroup.url(), redisTlsCaFile: files.ca, logger, env: {} });
    try {
      const oldMaster = sentinelGroup.master();
      const newMaster = sentinelGroup.servers.find((server) => server !== oldMaster)!;
      await cache.set('recommendations', 'before', 1);
      expect(oldMaster.cli('EXISTS', 'reprise:recommendations:before')).toBe('1');
      expect(sentinelGroup.sentinels[0]!.cli('SENTINEL', 'FAILOVER', sentinelGroup.masterName)).toBe('OK');
      await sentinelGroup.waitForMaster(newMaster.port);
      await pollUntil(() => cache.stats().tiers.redis.target!.endsWith(`:${newMaster.port}/0`), 'the cache to follow', () => false, 30_000);
      await cache.set('recommendations', 'after', 2);
      expect(newMaster.cli('EXISTS', 'reprise:recommendations:after')).toBe('1');
    } finally {
      await cache.close();
      await sentinelGroup.destroy();
      files.remove();
    }
    expect(logger.lines.join('\n')).toContain('cache: Redis sentinel at rediss+sentinel://:***@');
    expect(logger.lines.join('\n')).not.toContain(PASSWORD);
  }, 60_000);
});

describe.skipIf(!hasRedisServer)('a Sentinel client that ioredis ends mid-reconnection', () => {
  it('is started again: a failover notice during its sentinel query does not leave it ended for good', async () => {
    const sentinelGroup = await startRedisSentinelGroup();
    const parts = createCacheParts({ redisUrl: sentinelGroup.url(), logger: recordingLogger(), env: {} });
    try {
      await waitForRedis(parts);
      const client = parts.gateway.client as Redis;
      const connector = (client as unknown as { connector: { disconnect(): void } }).connector;
      const oldMaster = sentinelGroup.master();
      const newMaster = sentinelGroup.servers.find((server) => server !== oldMaster)!;
      // While it reconnects (asking the sentinels where the master is), do what ioredis's failover detector does on
      // +switch-master: close the connector. ioredis then rejects that connection attempt and ends the client.
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      client.once('connecting', () => connector.disconnect());
      await oldMaster.kill();
      await ended;
      await sentinelGroup.waitForMaster(newMaster.port);
      await pollUntil(() => client.status === 'ready' && parts.gateway.status().target!.endsWith(`:${newMaster.port}/0`), 'the client to reach the new master', () => false, 30_000);
      expect(await parts.cache.set('recommendations', 'k', 'v')).toBe(true);
      expect(newMaster.cli('EXISTS', 'reprise:recommendations:k')).toBe('1');
    } finally {
      await parts.cache.close();
      await sentinelGroup.destroy();
    }
  }, 60_000);
});

describe.skipIf(!hasRedisServer)('READONLY replies', () => {
  const servers: RedisServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.destroy()));
  });

  it('are error replies of their call (reason readonly): the circuit stays closed and reads keep coming from Redis', async () => {
    const master = await startRedisServer();
    servers.push(master);
    const replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
    servers.push(replica);
    master.cli('SET', 'reprise:recommendations:seen', 'r1:"from-master"');
    await pollUntil(() => replica.cli('GET', 'reprise:recommendations:seen') !== '', 'the replica to sync');

    const cache = await createCache({ redisUrl: replica.url, logger: recordingLogger(), env: {} });
    try {
      for (let i = 0; i < 5; i++) await cache.set('recommendations', `w${i}`, i);
      const redis = cache.stats().tiers.redis;
      expect(redis.errorsByReason.readonly).toBe(5);
      expect(redis).toMatchObject({ breaker: 'closed', circuitOpenings: 0, connection: 'ready' });
      expect(cache.stats().cacheType).toBe('redis');
      // The refused writes are served from memory; what the replica holds is read from it.
      expect(await cache.get('recommendations', 'w3')).toBe(3);
      expect(replica.cli('EXISTS', 'reprise:recommendations:w3')).toBe('0');
    } finally {
      await cache.close();
    }
  });
});

/**
 * Cache get/set and registry lookups, a few at a time, until stopped. Each step yields to the event loop, so the
 * load runs steadily whether calls go to Redis or are answered from memory at once.
 */
function steadyLoad({ cache, idRegistry }: Reprise) {
  const state = { calls: 0, rejections: [] as unknown[], running: true };
  const worker = async (id: number) => {
    for (let i = 0; state.running; i++) {
      const key = `load:${id}:${i % 64}`;
      try {
        await cache.set('recommendations', key, { id, i });
        await cache.get('recommendations', key);
        await idRegistry.getValidatedId(`${id}${i % 64}`.padEnd(22, 'x'));
        state.calls += 3;
      } catch (error) {
        state.rejections.push(error);
      }
      await delay(1);
    }
  };
  const workers = [0, 1, 2, 3].map(worker);
  return {
    get calls() {
      return state.calls;
    },
    get rejections() {
      return state.rejections;
    },
    async stop() {
      state.running = false;
      await Promise.all(workers);
    },
  };
}
