/** The cross-process lease lock: SET NX PX with an owner token, compare-and-delete release, compare-and-PEXPIRE renewal. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCacheParts } from '../../src/cache/create-cache.js';
import type { RepriseCache } from '../../src/cache/reprise-cache.js';
import type { RedisGateway } from '../../src/redis/gateway.js';
import { LeaseLock } from '../../src/redis/lease-lock.js';
import { BACKEND_NAMES, startBackend, type Backend } from '../harness/backends.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';
import { freePort, hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { pollForRenewal } from '../moods/helpers.js';

interface Process {
  cache: RepriseCache;
  gateway: RedisGateway;
  logger: RecordingLogger;
}

const caches: RepriseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

/** Stands for one process: its own connection (or none), as createCacheParts gives it. */
async function processOn(redisUrl: string | null, connectTimeoutMs = 10_000): Promise<Process> {
  const logger = recordingLogger();
  const { cache, gateway } = createCacheParts({
    ...(redisUrl ? { redisUrl } : {}),
    logger,
    redisCommandTimeoutMs: 2_000,
    redisConnectTimeoutMs: connectTimeoutMs,
    env: {},
  });
  caches.push(cache);
  if (redisUrl) await gateway.waitUntilReady(connectTimeoutMs);
  return { cache, gateway, logger };
}

describe.skipIf(!hasRedisServer).each(BACKEND_NAMES)('lease lock on %s Redis', (backendName) => {
  let backend: Backend;
  let keyCounter = 0;

  beforeAll(async () => {
    backend = await startBackend(backendName);
  });
  afterAll(async () => {
    await backend?.destroy();
  });

  function lockFor(process: Process, key: string, leaseMs = 10_000) {
    return new LeaseLock({ gateway: process.gateway, key, leaseMs, logger: process.logger });
  }

  it('lets one process hold it at a time, with its token in Redis, until it releases', async () => {
    const key = `lock-test:${++keyCounter}`;
    const [a, b] = [await processOn(backend.url), await processOn(backend.url)];
    const lockA = lockFor(a, key);
    const lockB = lockFor(b, key);

    const lease = await lockA.acquire('token-a');
    expect(lease).toMatchObject({ token: 'token-a', scope: 'redis', released: false });
    expect(backend.cli('GET', key)).toBe('token-a');
    const pttl = Number(backend.cli('PTTL', key));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(10_000);

    expect(await lockB.acquire('token-b')).toBeNull();
    expect(await lockA.acquire('token-a2')).toBeNull();
    expect(await lockB.holder()).toBe('token-a');

    await lease!.release();
    expect(lease!.released).toBe(true);
    expect(backend.cli('EXISTS', key)).toBe('0');
    expect(await lockB.holder()).toBeNull();
    const next = await lockB.acquire('token-b');
    expect(next?.token).toBe('token-b');
    await next!.release();
  });

  it('never deletes a lock someone else owns now (compare-and-delete), and notices the loss at renewal', async () => {
    const key = `lock-test:${++keyCounter}`;
    const a = await processOn(backend.url);
    const lock = new LeaseLock({ gateway: a.gateway, key, leaseMs: 3_000, renewEveryMs: 100, logger: a.logger });
    const lease = await lock.acquire('mine');
    // The lease lapsed and another process took the lock.
    backend.cli('SET', key, 'theirs', 'PX', '60000');

    await pollUntil(() => lease!.signal.aborted, 'the renewal to notice the lost lease');
    expect(a.logger.lines.some((line) => line.includes('lease lost'))).toBe(true);
    await lease!.release();
    expect(backend.cli('GET', key)).toBe('theirs');
    expect(await lock.holder()).toBe('theirs');
  });

  it('writes other keys only while it owns the lock, and can release with final writes in one step', async () => {
    const tag = `{lock-test-${++keyCounter}}`;
    const [key, record, marker] = [`${tag}:lock`, `${tag}:record`, `${tag}:marker`];
    const a = await processOn(backend.url);
    const lock = lockFor(a, key);

    const lease = await lock.acquire('owner');
    expect(await lease!.write(record, 'step 1', 60_000)).toBe(true);
    expect(backend.cli('GET', record)).toBe('step 1');
    await lease!.release([
      { key: record, value: 'final', ttlMs: 60_000 },
      { key: marker, value: 'done', ttlMs: 30_000 },
    ]);
    expect(backend.cli('GET', record)).toBe('final');
    expect(backend.cli('GET', marker)).toBe('done');
    expect(Number(backend.cli('PTTL', marker))).toBeLessThanOrEqual(30_000);
    expect(backend.cli('EXISTS', key)).toBe('0');
    expect(await lease!.write(record, 'late', 60_000)).toBe(false);

    // A lease that lost the lock writes nothing, not even on release.
    const second = await lock.acquire('second');
    backend.cli('SET', key, 'usurper', 'PX', '60000');
    expect(await second!.write(record, 'stale', 60_000)).toBe(false);
    await second!.release([{ key: record, value: 'stale final', ttlMs: 60_000 }]);
    expect(backend.cli('GET', record)).toBe('final');
    expect(backend.cli('GET', key)).toBe('usurper');
  });

  it('renews a held lease before it lapses', async () => {
    const key = `lock-test:${++keyCounter}`;
    const a = await processOn(backend.url);
    const lease = await lockFor(a, key, 1_200).acquire('slow-job');
    for (let renewal = 0; renewal < 3; renewal++) {
      await pollForRenewal(() => Number(backend.cli('PTTL', key)), `renewal ${renewal + 1}`);
      expect(backend.cli('GET', key)).toBe('slow-job');
    }
    expect(lease!.signal.aborted).toBe(false);
    await lease!.release();
    expect(backend.cli('EXISTS', key)).toBe('0');
  });

  it('expires when its holder dies without releasing, so another process can take it', async () => {
    const key = `lock-test:${++keyCounter}`;
    const [a, b] = [await processOn(backend.url), await processOn(backend.url)];
    const lease = await lockFor(a, key, 800).acquire('doomed');
    expect(lease).not.toBeNull();
    a.gateway.client!.disconnect();

    const lockB = lockFor(b, key, 800);
    expect(await lockB.acquire('survivor')).toBeNull();
    let taken = null as Awaited<ReturnType<LeaseLock['acquire']>>;
    await pollUntil(async () => (taken = await lockB.acquire('survivor')) !== null, 'the dead holder\'s lease to expire');
    expect(backend.cli('GET', key)).toBe('survivor');
    await taken!.release();
  });
  it('repairs a lock key that no lease left (no expiry, or not a string) instead of waiting on it forever', async () => {
    const [a] = [await processOn(backend.url)];
    const stuck = `lock-test:${++keyCounter}`;
    backend.cli('SET', stuck, 'left by hand');
    const lease = await lockFor(a, stuck).acquire('repairer');
    expect(lease?.scope).toBe('redis');
    expect(backend.cli('GET', stuck)).toBe('repairer');
    expect(Number(backend.cli('PTTL', stuck))).toBeGreaterThan(0);
    expect(a.logger.lines.some((line) => line.includes('had no expiry or was not a lock; replaced'))).toBe(true);
    await lease!.release();

    const wrongType = `lock-test:${++keyCounter}`;
    backend.cli('RPUSH', wrongType, 'x');
    const second = await lockFor(a, wrongType).acquire('second');
    expect(backend.cli('GET', wrongType)).toBe('second');
    await second!.release();

    // A live lease of someone else, with its expiry, is respected.
    const held = `lock-test:${++keyCounter}`;
    backend.cli('SET', held, 'someone', 'PX', '60000');
    expect(await lockFor(a, held).acquire('intruder')).toBeNull();
    expect(backend.cli('GET', held)).toBe('someone');
  });
});

describe('lease lock without Redis', () => {
  it('is held in this process in memory mode', async () => {
    const a = await processOn(null);
    const lock = new LeaseLock({ gateway: a.gateway, key: 'k', leaseMs: 1_000, logger: a.logger });
    const lease = await lock.acquire('one');
    expect(lease?.scope).toBe('memory');
    expect(await lock.acquire('two')).toBeNull();
    expect(await lock.holder()).toBe('one');
    await lease!.release();
    expect(await lock.holder()).toBeNull();
    expect((await lock.acquire('two'))?.token).toBe('two');
    expect(a.logger.lines.some((line) => line.includes('in this process only'))).toBe(false);
  });

  it('degrades to this process, saying so, when Redis is configured but unreachable', async () => {
    const a = await processOn(`redis://127.0.0.1:${await freePort()}`, 200);
    const lock = new LeaseLock({ gateway: a.gateway, key: 'k', leaseMs: 1_000, logger: a.logger, name: 'nightly job' });
    const lease = await lock.acquire('one');
    expect(lease?.scope).toBe('memory');
    expect(a.logger.lines).toContain('warn nightly job: Redis did not take the lock (unavailable); held in this process only, other processes may run at the same time');
    expect(await lock.acquire('two')).toBeNull();
    await lease!.release();
  });

  it('rejects bad settings', async () => {
    const a = await processOn(null);
    expect(() => new LeaseLock({ gateway: a.gateway, key: 'k', leaseMs: 0, logger: a.logger })).toThrow(/leaseMs must be a positive whole number/);
    expect(() => new LeaseLock({ gateway: a.gateway, key: 'k', leaseMs: 100, renewEveryMs: 100, logger: a.logger })).toThrow(/renewEveryMs must be shorter/);
    await expect(new LeaseLock({ gateway: a.gateway, key: 'k', leaseMs: 100, logger: a.logger }).acquire('')).rejects.toThrow(/non-empty string/);
  });
});
