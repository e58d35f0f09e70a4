/** getMany: many entries of one category in one call, memory first, then one round trip per Redis node. */
import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { createCache, type RepriseCache } from '../../src/index.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { closeAfterEachTest, useBackend } from '../harness/lifecycle.js';
import { recordingLogger } from '../harness/logger.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';

describe('getMany in memory mode', () => {
  const opened = closeAfterEachTest<RepriseCache>();

  it('answers in the order asked, repeats included, with undefined for misses', async () => {
    const cache = await createCache({ env: {}, logger: recordingLogger() });
    opened.push(cache);
    await cache.set('track_details', 'a', { title: 'A' });
    await cache.set('track_details', 'c', []);
    expect(await cache.getMany('track_details', ['c', 'b', 'a', 'c'])).toEqual([[], undefined, { title: 'A' }, []]);
    expect(await cache.getMany('track_details', [])).toEqual([]);
    await expect(cache.getMany('nope' as never, ['a'])).rejects.toThrow(/unknown cache category/);
    const stats = cache.stats().categories.track_details;
    expect(stats).toMatchObject({ hits: 2, misses: 1 });
  });
});

describe.skipIf(!hasRedisServer).each(BACKEND_NAMES)('getMany on %s Redis', (backendName) => {
  const backend = useBackend(backendName);
  const opened = closeAfterEachTest<RepriseCache>();
  let prefixes = 0;

  async function open(prefix: string, options: Parameters<typeof createCache>[0] = {}) {
    const cache = await createCache({ redisUrl: backend().url, keyPrefix: prefix, env: {}, logger: recordingLogger(), redisCommandTimeoutMs: 2_000, redisConnectTimeoutMs: 15_000, ...options });
    opened.push(cache);
    return cache;
  }

  it('reads what memory lacks from Redis in one MGET per slot, one pipeline per node, and keeps it in memory', async () => {
    const prefix = `many${++prefixes}:`;
    const writer = await open(prefix);
    const reader = await open(prefix);
    const keys = Array.from({ length: 300 }, (_, i) => `track-${i}`);
    for (const key of keys.slice(0, 200)) await writer.set('track_details', key, { key, at: new Date(0) });
    await reader.set('track_details', 'track-0', { key: 'track-0', at: new Date(0), local: true });
    // Reads overtaken by the writer's announcements are served but not kept: let them all land first. Closing the
    // writer sends the last of them (they coalesce, so there are at most 200).
    await writer.close();
    const announced = writer.stats().tiers.redis.invalidations.published;
    expect(announced).toBeGreaterThan(0);
    await pollUntil(() => reader.stats().tiers.redis.invalidations.received >= announced, "the writer's announcements to arrive");

    const mgetsBefore = backend().calls('mget');
    const getsBefore = backend().calls('get');
    const values = await reader.getMany<{ key: string; at: Date }>('track_details', keys);
    expect(values.slice(1, 200).every((value, index) => value?.key === keys[index + 1] && value?.at instanceof Date)).toBe(true);
    expect(values[0]).toMatchObject({ local: true });
    expect(values.slice(200).every((value) => value === undefined)).toBe(true);
    expect(backend().calls('get')).toBe(getsBefore);
    const slots = new Set(keys.slice(1).map((key) => calculateSlot(`${prefix}track_details:${key}`))).size;
    expect(backend().calls('mget') - mgetsBefore).toBe(backendName === 'cluster' ? slots : 1);

    // Now in memory: no command at all.
    const again = backend().calls('mget');
    expect((await reader.getMany('track_details', keys.slice(0, 200))).every((value) => value !== undefined)).toBe(true);
    expect(backend().calls('mget')).toBe(again);
    expect(reader.stats().categories.track_details).toMatchObject({ hits: 400, misses: 100 });
  });

  it('answers from memory alone while Redis hangs, and never rejects', async () => {
    const prefix = `manyhang${++prefixes}:`;
    const cache = await open(prefix, { redisCommandTimeoutMs: 100 });
    await cache.set('top_tracks', 'kept', [1]);
    for (const server of backend().servers) server.pause();
    try {
      expect(await cache.getMany('top_tracks', ['kept', 'elsewhere'])).toEqual([[1], undefined]);
    } finally {
      for (const server of backend().servers) server.resume();
    }
  });
});
