/**
 * SPEC "What counts as Redis failed", against a real redis-server: a busy, full or damaged Redis, or a late event loop
 * in this process, is not a dead Redis. Only a connection loss or a Redis that stopped making progress opens the
 * circuit. Everything here is asserted by counts and order of events, never by elapsed time.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type RepriseCache } from '../../src/index.js';
import { runPerNode } from '../../src/redis/per-node.js';
import { RedisGateway } from '../../src/redis/gateway.js';
import { LeaseLock } from '../../src/redis/lease-lock.js';
import { closeAfterEachTest, collectUnhandledRejections, restoreServer, useRedisServer } from '../harness/lifecycle.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';
import { commandStats, hasRedisServer, pollUntil } from '../harness/redis-servers.js';

const unhandled = collectUnhandledRejections();

/** Keeps this process's event loop busy, as a host's own synchronous work would. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe.skipIf(!hasRedisServer)('failure detection on a real Redis', () => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<{ close(): unknown }>();
  let prefixCounter = 0;
  let logger: RecordingLogger;

  afterEach(async () => {
    await restoreServer(server());
    server().cli('CONFIG', 'SET', 'maxmemory', '0');
  });

  async function open(options: Parameters<typeof createCache>[0] = {}, prefix = `fd${++prefixCounter}:`): Promise<RepriseCache> {
    logger = recordingLogger();
    const cache = await createCache({ redisUrl: server().url, keyPrefix: prefix, logger, redisConnectTimeoutMs: 15_000, env: {}, ...options });
    opened.push(cache);
    return cache;
  }

  function raw(): Redis {
    const client = new Redis({ host: '127.0.0.1', port: server().port, lazyConnect: false });
    opened.push({ close: () => client.disconnect() });
    return client;
  }

  it('never blames Redis for this process being late: a 300 ms busy loop with 200 reads outstanding opens nothing', async () => {
    const cache = await open();
    for (let i = 0; i < 200; i++) await cache.set('recommendations', `k${i}`, { i });
    const reader = await open({}, cache.keyPrefix);
    const reads = Array.from({ length: 200 }, (_, i) => reader.get('recommendations', `k${i}`));
    busyFor(300); // six times the 50 ms silence that would mean Redis stopped
    const values = await Promise.all(reads);
    expect(values.filter((value) => value !== undefined)).toHaveLength(200);
    // The event loop may read the replies before it runs the watch's late tick: the lateness is counted just after.
    await pollUntil(() => reader.stats().tiers.redis.eventLoopDelays >= 1, 'the late tick to be counted');
    const redis = reader.stats().tiers.redis;
    expect(redis.circuitOpenings).toBe(0);
    expect(redis.timeouts).toBe(0);
    expect(redis.errors).toBe(0);
    expect(reader.stats().categories.recommendations.redis.hits).toBe(200);
  });

  it('absorbs a burst: 5,000 concurrent sets land with no timeout, in few announcements, and the other instance drops its copies', async () => {
    const writer = await open();
    const other = await open({}, writer.keyPrefix);
    for (let i = 0; i < 50; i++) await writer.set('top_tracks', `k${i}`, 'old');
    for (let i = 0; i < 50; i++) expect(await other.get('top_tracks', `k${i}`)).toBe('old');
    const publishedBefore = writer.stats().tiers.redis.invalidations.published;

    await Promise.all(Array.from({ length: 5_000 }, (_, i) => writer.set('top_tracks', `k${i}`, `new ${i}`)));

    const redis = writer.stats().tiers.redis;
    expect(redis.timeouts).toBe(0);
    expect(redis.circuitOpenings).toBe(0);
    expect(redis.errors).toBe(0);
    expect(Number(server().cli('EVAL', `return #redis.call('KEYS', ARGV[1])`, '0', `${writer.keyPrefix}top_tracks:*`))).toBe(5_000);
    // Announcements follow the writes (the last of them at the next turn) and coalesce: far fewer messages than writes.
    await pollUntil(async () => (await other.get('top_tracks', 'k49')) === 'new 49', 'the other instance to drop its copy');
    const announcements = writer.stats().tiers.redis.invalidations.published - publishedBefore;
    expect(announcements).toBeGreaterThan(0);
    expect(announcements).toBeLessThan(500);
    for (let i = 0; i < 50; i++) expect(await other.get('top_tracks', `k${i}`)).toBe(`new ${i}`);
  });

  it('waits for a busy Redis: 5,000 concurrent reads on a fresh instance are all hits', async () => {
    const writer = await open();
    await Promise.all(Array.from({ length: 5_000 }, (_, i) => writer.set('track_details', `t${i}`, { i })));
    const reader = await open({}, writer.keyPrefix);
    const values = await Promise.all(Array.from({ length: 5_000 }, (_, i) => reader.get('track_details', `t${i}`)));
    expect(values.filter((value) => value !== undefined)).toHaveLength(5_000);
    expect(reader.stats().tiers.redis.timeouts).toBe(0);
    expect(reader.stats().tiers.redis.circuitOpenings).toBe(0);
  });

  it('keeps reading from a full Redis (OOM, noeviction): refused writes are counted, logged once, and never open the circuit', async () => {
    const cache = await open();
    await cache.set('user_profile', 'stored', { name: 'kept' });
    server().cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    server().cli('CONFIG', 'SET', 'maxmemory', '1');
    for (let i = 0; i < 20; i++) await cache.set('user_profile', `refused-${i}`, { i });

    const redis = cache.stats().tiers.redis;
    expect(redis.errorsByReason.oom).toBe(20);
    expect(redis.refusedWrites).toBe(20);
    expect(redis.circuitOpenings).toBe(0);
    expect(cache.stats().cacheType).toBe('redis');
    expect(logger.lines.filter((line) => line.includes('(oom)'))).toHaveLength(1);
    // A refused write still answers from this process's memory.
    expect(await cache.get('user_profile', 'refused-3')).toEqual({ i: 3 });

    // Reads keep coming from Redis: a fresh instance finds what was stored before Redis filled up.
    const reader = await open({}, cache.keyPrefix);
    expect(await reader.get('user_profile', 'stored')).toEqual({ name: 'kept' });
    expect(reader.stats().categories.user_profile.redis.hits).toBe(1);
  });

  it('treats one wrong-type key as a miss for its calls only, and getOrSet repairs it', async () => {
    const cache = await open();
    await cache.set('mood_analysis', 'good', 'fine');
    server().cli('RPUSH', `${cache.keyPrefix}mood_analysis:bad`, 'a list, not a reprise value');
    const reader = await open({}, cache.keyPrefix);
    for (let i = 0; i < 10; i++) expect(await reader.get('mood_analysis', 'bad')).toBeUndefined();

    const redis = reader.stats().tiers.redis;
    expect(redis.errorsByReason.wrongtype).toBe(10);
    expect(redis.circuitOpenings).toBe(0);
    expect(reader.stats().cacheType).toBe('redis');
    expect(await reader.get('mood_analysis', 'good')).toBe('fine');
    expect(reader.stats().categories.mood_analysis.redis.hits).toBe(1);

    expect(await reader.getOrSet('mood_analysis', 'bad', () => 'recomputed')).toBe('recomputed');
    const third = await open({}, cache.keyPrefix);
    expect(await third.get('mood_analysis', 'bad')).toBe('recomputed');
  });

  it('fails only the command that got an error reply, not the rest of its pipeline', async () => {
    const client = new Redis({ host: '127.0.0.1', port: server().port });
    const gateway = new RedisGateway({ client, owned: true, commandTimeoutMs: 50, logger: recordingLogger() });
    opened.push(gateway);
    await gateway.waitUntilReady(15_000);
    server().cli('SET', 'pipe:a', '1');
    server().cli('RPUSH', 'pipe:b', 'x');
    server().cli('SET', 'pipe:c', '3');
    const commands = ['pipe:a', 'pipe:b', 'pipe:c'].map((key) => ({ key, slot: 0, add: (pipeline: { get(key: string): unknown }) => pipeline.get(key) }));
    const report = await runPerNode(gateway, 'get', commands);
    expect(report.replies.get(commands[0]!)).toBe('1');
    expect(report.replies.has(commands[1]!)).toBe(false);
    expect(report.replies.get(commands[2]!)).toBe('3');
    expect(gateway.status().errorsByReason.wrongtype).toBe(1);
    expect(gateway.status().circuitOpenings).toBe(0);
  });

  it('takes a 20,000-command pipeline that lasts far longer than the silence bar for work, not a stall', async () => {
    const client = new Redis({ host: '127.0.0.1', port: server().port });
    const gateway = new RedisGateway({ client, owned: true, commandTimeoutMs: 50, logger: recordingLogger() });
    opened.push(gateway);
    await gateway.waitUntilReady(15_000);
    // It settles only with its last reply; meanwhile reply bytes keep arriving and this process keeps parsing them.
    const outcome = await gateway.attempt('get', async (connection) => {
      const pipeline = connection.pipeline();
      for (let i = 0; i < 20_000; i++) pipeline.get(`bulk:${i}`);
      return pipeline.exec();
    });
    expect(outcome.ok).toBe(true);
    expect(outcome.ok && outcome.value).toHaveLength(20_000);
    expect(gateway.status()).toMatchObject({ timeouts: 0, circuitOpenings: 0, errors: 0 });
  });

  it('detects a stall (a busy script of another client), answers without waiting it out, and closes the circuit when Redis answers', async () => {
    const cache = await open();
    await cache.set('recommendations', 'x', 1);
    const reader = await open({}, cache.keyPrefix);
    const blocker = raw();
    await blocker.ping();
    let scriptDone = false;
    const script = blocker
      .eval(`local start = redis.call('TIME'); repeat local now = redis.call('TIME') until (now[1] - start[1]) * 1000000 + (now[2] - start[2]) > 1500000; return 1`, 0)
      .then(() => (scriptDone = true));
    // The first read that reaches Redis after the script started finds it stopped.
    let probe = 0;
    await pollUntil(async () => {
      await reader.get('recommendations', `absent-${probe++}`);
      return reader.stats().tiers.redis.timeouts > 0;
    }, 'a read to find Redis stalled');
    expect(scriptDone).toBe(false);
    expect(reader.stats().tiers.redis.circuitOpenings).toBe(1);
    expect(reader.stats().cacheType).toBe('memory');
    await script;
    // The reply that arrives once the script ends is progress: the circuit closes without waiting for a probe.
    await pollUntil(() => reader.stats().cacheType === 'redis', 'the circuit to close once Redis answers');
    expect(await reader.get('recommendations', 'x')).toBe(1);
  });

  it('answers calls waiting on a connection that closes at once, as connection failures, not after a silence', async () => {
    // A silence of 10 s would mean a stall: anything answered sooner was answered because the connection closed.
    const cache = await open({ redisCommandTimeoutMs: 10_000 });
    await cache.set('recommendations', 'kept', 'in memory too');
    server().pause();
    const reads = Array.from({ length: 20 }, (_, i) => cache.get('recommendations', `waiting-${i}`));
    await server().kill();
    expect(await Promise.all(reads)).toEqual(new Array(20).fill(undefined));
    const redis = cache.stats().tiers.redis;
    expect(redis.errorsByReason.connection).toBeGreaterThanOrEqual(20);
    expect(redis.errorsByReason.stalled).toBe(0);
    expect(await cache.get('recommendations', 'kept')).toBe('in memory too');
    expect(cache.stats().cacheType).toBe('memory');
  });

  it('settles a lock whose SET NX was given up: the running lease adopts it, a finished one releases it', async () => {
    const client = new Redis({ host: '127.0.0.1', port: server().port, enableOfflineQueue: false });
    const lockLogger = recordingLogger();
    const gateway = new RedisGateway({ client, owned: true, commandTimeoutMs: 50, logger: lockLogger });
    opened.push(gateway);
    await gateway.waitUntilReady(15_000);
    const lock = new LeaseLock({ gateway, key: 'late:lock', leaseMs: 60_000, logger: lockLogger, name: 'warm' });

    server().pause();
    const running = await lock.acquire('job-running');
    expect(running?.scope).toBe('memory');
    server().resume();
    await pollUntil(() => running!.scope === 'redis', 'the running lease to adopt the late SET NX');
    expect(server().cli('GET', 'late:lock')).toBe('job-running');
    await running!.release();
    expect(server().cli('EXISTS', 'late:lock')).toBe('0');

    await pollUntil(() => gateway.available, 'the circuit to close');
    const setsBefore = commandStats(server()).set ?? 0;
    server().pause();
    const finished = await lock.acquire('job-finished');
    expect(finished?.scope).toBe('memory');
    await finished!.release();
    server().resume();
    await pollUntil(() => (commandStats(server()).set ?? 0) > setsBefore, 'the late SET NX to land');
    await pollUntil(() => server().cli('EXISTS', 'late:lock') === '0', 'the late SET NX of a finished job to be released');
    expect(unhandled).toEqual([]);
  });
});
