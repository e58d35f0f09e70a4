/** createReprise as a host calls it: options and environment, errors at start, and a close() that leaves nothing behind. */
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createReprise } from '../src/reprise.js';
import { recordingLogger } from './harness/logger.js';
import { useRedisServer } from './harness/lifecycle.js';
import { hasRedisServer } from './harness/redis-servers.js';

/** Timers, sockets and handles this process holds, by kind. */
function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe('createReprise options', () => {
  it('refuses unknown options with a suggestion, and options of the wrong kind', async () => {
    await expect(createReprise({ redisURL: 'redis://x' } as never)).rejects.toThrow(/unknown option "redisURL"; did you mean redisUrl\?/);
    await expect(createReprise({ popularMoods: 'happy' } as never)).rejects.toThrow(/popularMoods must be a list/);
    await expect(createReprise({ computeRecommendations: 'yes' } as never)).rejects.toThrow(/computeRecommendations must be a function/);
    await expect(createReprise({ warmSchedule: true } as never)).rejects.toThrow(/warmSchedule/);
    await expect(createReprise({ registry: {} } as never)).rejects.toThrow(/prom-client Registry/);
    await expect(createReprise({ ttls: { recommendations: -1 }, env: {} })).rejects.toThrow(/ttls.recommendations/);
    await expect(createReprise({ keyPrefix: 'bad prefix*', env: {} })).rejects.toThrow(/keyPrefix/);
    // Nested options too: a misspelt name or an impossible value is an error, not a silent default.
    await expect(createReprise({ memory: { maxEntires: 10 } } as never)).rejects.toThrow(/unknown option memory.maxEntires \(allowed/);
    await expect(createReprise({ circuitBreaker: { failureTreshold: 2 } } as never)).rejects.toThrow(/circuitBreaker.failureTreshold/);
    await expect(createReprise({ circuitBreaker: { failureThreshold: 0 }, env: {} })).rejects.toThrow(/circuitBreaker.failureThreshold must be a positive whole number/);
    await expect(createReprise({ circuitBreaker: { openMs: 5_000, maxOpenMs: 1_000 }, env: {} })).rejects.toThrow(/maxOpenMs must be a whole number >= 5000/);
    await expect(createReprise({ reccobeats: { batchsize: 10 } } as never)).rejects.toThrow(/did you mean reccobeats.batchSize\?/);
    await expect(createReprise({ redisSentinelUsername: 5 } as never)).rejects.toThrow(/redisSentinelUsername/);
    await expect(createReprise({ redisAutoPipelining: 'yes' } as never)).rejects.toThrow(/redisAutoPipelining/);
  });

  it("hands the cache's options to the cache", async () => {
    const reprise = await createReprise({ logger: recordingLogger(), env: {}, warmSchedule: false, memory: { maxEntries: 7, maxBytes: 9_999 }, similarityThreshold: 0.8 });
    try {
      expect(reprise.cache.stats().tiers.memory).toMatchObject({ maxEntries: 7, maxBytes: 9_999 });
      expect(reprise.cache.similarityThreshold).toBe(0.8);
    } finally {
      await reprise.close();
    }
  });

  it('refuses an invalid cron expression at start, clearly', async () => {
    await expect(createReprise({ warmSchedule: 'every morning', logger: recordingLogger(), env: {} })).rejects.toThrow(/cron/i);
    await expect(createReprise({ logger: recordingLogger(), env: { REPRISE_WARM_CRON: '61 * * * *' } })).rejects.toThrow(/cron/i);
  });

  it('keeps the password of a malformed Redis URL out of the error', async () => {
    const error = (await createReprise({ redisUrl: 'redis://:s3cret-pw@host:notaport', env: {} }).then(() => null, (e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).not.toContain('s3cret-pw');
  });

  it('reads the environment, and an option wins over its variable', async () => {
    const env = {
      REPRISE_KEY_PREFIX: 'from-env:',
      REPRISE_TTL_RECOMMENDATIONS: '60',
      REPRISE_WARM_CRON: '*/5 * * * *',
      RECCOBEATS_BASE_URL: 'http://127.0.0.1:9/',
      REPRISE_ADMIN_TOKEN: 'a-token-from-the-environment',
    };
    const reprise = await createReprise({ logger: recordingLogger(), env, ttls: { mood_analysis: 30 } });
    try {
      expect(reprise.cache.keyPrefix).toBe('from-env:');
      expect(reprise.cache.ttls.recommendations).toBe(60);
      expect(reprise.cache.ttls.mood_analysis).toBe(30);
      expect(reprise.reccobeats.baseUrl).toBe('http://127.0.0.1:9');
      expect(reprise.popularMoods.schedule.expression).toBe('*/5 * * * *');
    } finally {
      await reprise.close();
    }
    const overridden = await createReprise({ logger: recordingLogger(), env, keyPrefix: 'opt:', warmSchedule: false });
    try {
      expect(overridden.cache.keyPrefix).toBe('opt:');
      expect(overridden.popularMoods.schedule.enabled).toBe(false);
    } finally {
      await overridden.close();
    }
  });

  it('clears the ID registry, its copy in memory included, when the id_registry category is invalidated', async () => {
    const reprise = await createReprise({ warmSchedule: false, logger: recordingLogger(), env: {} });
    try {
      await reprise.idRegistry.markValidated('4uLU6hMCjMI75M1A2tKUQC', '0b7b1d2c-3f4e-4a5b-8c6d-7e8f9a0b1c2d');
      await reprise.idRegistry.markMissing('1A2B3C4D5E6F7G8H9I0J1K');
      await reprise.cache.invalidate('top_tracks');
      expect(await reprise.idRegistry.getValidatedId('4uLU6hMCjMI75M1A2tKUQC')).not.toBeNull();
      expect(await reprise.cache.invalidate('id_registry')).toBe(2); // entries, not keys
      expect(await reprise.idRegistry.getValidatedId('4uLU6hMCjMI75M1A2tKUQC')).toBeNull();
      expect(await reprise.idRegistry.isKnownMissing('1A2B3C4D5E6F7G8H9I0J1K')).toBe(false);
      expect(await reprise.idRegistry.stats()).toMatchObject({ validated: 0, missing: 0 });
    } finally {
      await reprise.close();
    }
  });

  it('lets two instances share the host registry without crashing the host', async () => {
    const registry = new Registry();
    const first = await createReprise({ registry, warmSchedule: false, logger: recordingLogger(), env: {} });
    const second = await createReprise({ registry, warmSchedule: false, logger: recordingLogger(), env: {} });
    await first.cache.set('user_profile', 'u', 1);
    await second.cache.get('user_profile', 'u');
    expect(await registry.metrics()).toContain('reprise_cache_requests_total');
    await Promise.all([first.close(), second.close()]);
  });
});

describe.skipIf(!hasRedisServer)('createReprise with Redis', () => {
  const server = useRedisServer();

  it('close() leaves no timer, socket or cron task behind', async () => {
    const before = activeResources();
    const reprise = await createReprise({
      redisUrl: server().url, warmSchedule: '0 3 * * *', computeRecommendations: async () => ({ recommendations: [] }),
      logger: recordingLogger(), env: {},
    });
    await reprise.cache.set('recommendations', 'x', [1]);
    await reprise.idRegistry.markMissing('1A2B3C4D5E6F7G8H9I0J1K');
    expect(reprise.cache.stats().cacheType).toBe('redis');
    await reprise.close();
    await reprise.close();
    // Nothing new may linger: every kind of resource is back to at most what it was before (the harness's own come and go).
    await expect.poll(() => Object.entries(activeResources()).filter(([kind, count]) => count > (before[kind] ?? 0))).toEqual([]);
  });

  it('closes what it had opened when a later option is refused', async () => {
    const before = activeResources();
    await expect(createReprise({ redisUrl: server().url, warmSchedule: 'not a cron', logger: recordingLogger(), env: {} })).rejects.toThrow(/cron/i);
    await expect(createReprise({ redisUrl: server().url, popularMoods: ['?!'], logger: recordingLogger(), env: {} })).rejects.toThrow(/no words/);
    await expect(createReprise({ redisUrl: server().url, similarityThreshold: 2, logger: recordingLogger(), env: {} })).rejects.toThrow(/similarityThreshold/);
    await expect.poll(() => Object.entries(activeResources()).filter(([kind, count]) => count > (before[kind] ?? 0))).toEqual([]);
  });

  it('makes every instance forget its copy of the ID registry when one invalidates it', async () => {
    const first = await createReprise({ redisUrl: server().url, keyPrefix: 'follow:', warmSchedule: false, logger: recordingLogger(), env: {} });
    const second = await createReprise({ redisUrl: server().url, keyPrefix: 'follow:', warmSchedule: false, logger: recordingLogger(), env: {} });
    try {
      await second.idRegistry.markValidated('4uLU6hMCjMI75M1A2tKUQC', '0b7b1d2c-3f4e-4a5b-8c6d-7e8f9a0b1c2d');
      expect((await second.idRegistry.stats()).memory.validated).toBe(1);
      await second.idRegistry.markMissing('1A2B3C4D5E6F7G8H9I0J1K');
      await first.cache.set('top_tracks', 'u', [1]);
      // Entries, not the hashes that hold them: two registry entries and one cache key.
      expect(await first.cache.invalidate()).toBe(3);
      await expect.poll(async () => (await second.idRegistry.stats()).memory.validated).toBe(0);
      expect(await second.idRegistry.getValidatedId('4uLU6hMCjMI75M1A2tKUQC')).toBeNull();
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('never closes an injected client', async () => {
    const client = new Redis(server().port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    await new Promise((resolve) => client.once('ready', resolve));
    const reprise = await createReprise({ redis: client, warmSchedule: false, logger: recordingLogger(), env: {} });
    await reprise.cache.set('top_tracks', 'u', [1]);
    await reprise.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});
