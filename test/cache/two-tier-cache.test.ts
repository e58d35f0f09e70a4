import { describe, expect, it } from 'vitest';
import { createCache, type RepriseCache } from '../../src/index.js';
import { createCacheParts, waitForRedis } from '../../src/cache/create-cache.js';
import { masterConnections } from '../../src/redis/keyspace.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { closeAfterEachTest, useBackend } from '../harness/lifecycle.js';
import { recordingLogger } from '../harness/logger.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';

describe.skipIf(!hasRedisServer).each(BACKEND_NAMES)('two-tier cache on %s Redis', (backendName) => {
  const backend = useBackend(backendName);
  const opened = closeAfterEachTest<RepriseCache>();
  let prefixCounter = 0;

  /**
   * Each test gets its own key prefix so tests never see each other's keys. The command deadline is generous here:
   * these tests are about behaviour, and a busy 2-core machine must not push a write into memory-only mode.
   */
  async function open(options: Parameters<typeof createCache>[0] = {}, prefix = `t${++prefixCounter}:`): Promise<RepriseCache> {
    const cache = await createCache({ redisUrl: backend().url, keyPrefix: prefix, logger: recordingLogger(), redisCommandTimeoutMs: 2_000, redisConnectTimeoutMs: 15_000, ...options });
    opened.push(cache);
    return cache;
  }

  it('connects and reports Redis as its backend and mode', async () => {
    const cache = await open();
    const stats = cache.stats();
    expect(stats.cacheType).toBe('redis');
    expect(stats.tiers.redis.mode).toBe(backendName);
    expect(stats.tiers.redis.connection).toBe('ready');
  });

  it('round-trips Date, Map, Set and BigInt through Redis, and an empty list or object is a hit', async () => {
    const writer = await open({}, 'shared-values:');
    const reader = await open({}, 'shared-values:');
    const value = { at: new Date('2026-01-02T03:04:05.678Z'), byId: new Map([['a', 1]]), tags: new Set(['x']), big: 2n ** 70n, nested: { list: [] } };
    await writer.set('track_details', 'track-1', value);
    await writer.set('top_tracks', 'empty-list', []);
    await writer.set('top_artists', 'empty-object', {});
    await writer.set('user_profile', 'nothing', null);

    const read = await reader.get<typeof value>('track_details', 'track-1');
    expect(read).toEqual(value);
    expect(read!.at).toBeInstanceOf(Date);
    expect(read!.byId).toBeInstanceOf(Map);
    expect(read!.tags).toBeInstanceOf(Set);
    expect(typeof read!.big).toBe('bigint');
    expect(await reader.get('top_tracks', 'empty-list')).toEqual([]);
    expect(await reader.get('top_artists', 'empty-object')).toEqual({});
    expect(await reader.get('user_profile', 'nothing')).toBeNull();
    expect(await reader.get('user_profile', 'never-set')).toBeUndefined();
    const stats = reader.stats();
    expect(stats.tiers.redis.hits).toBe(4);
    expect(stats.misses).toBe(1);
  });

  it('answers a memory hit without a Redis round trip and fills memory from Redis with the remaining TTL', async () => {
    const writer = await open({}, 'l1:');
    const reader = await open({}, 'l1:');
    await writer.set('recommendations', 'mood', { ok: true }, { ttlSeconds: 120 });
    // The writer's announcement may still be on its way (a Cluster relays it between nodes); a read overtaken by it
    // is served but not kept, so wait for it to land first.
    await pollUntil(() => reader.stats().tiers.redis.invalidations.received === 1, "the writer's announcement to arrive");
    const getsBefore = backend().calls('get');
    expect(await reader.get('recommendations', 'mood')).toEqual({ ok: true });
    expect(backend().calls('get')).toBe(getsBefore + 1);
    for (let i = 0; i < 50; i++) expect(await reader.get('recommendations', 'mood')).toEqual({ ok: true });
    expect(backend().calls('get')).toBe(getsBefore + 1);
    expect(reader.stats().tiers.memory.hits).toBe(50);

    const pttl = Number(backend().cli('PTTL', 'l1:recommendations:mood'));
    expect(pttl).toBeGreaterThan(100_000);
    expect(pttl).toBeLessThanOrEqual(120_000);
  });

  it('applies per-category TTLs from defaults, options and REPRISE_TTL_<CATEGORY>', async () => {
    const cache = await open({ ttls: { mood_analysis: 42 }, env: { REPRISE_TTL_WORKFLOW_STATE: '77' } }, 'ttl:');
    await cache.set('mood_analysis', 'a', 1);
    await cache.set('workflow_state', 'b', 2);
    await cache.set('popular_mood_cache', 'c', 3);
    const ttl = (key: string) => Number(backend().cli('TTL', key));
    expect(ttl('ttl:mood_analysis:a')).toBeGreaterThan(40);
    expect(ttl('ttl:mood_analysis:a')).toBeLessThanOrEqual(42);
    expect(ttl('ttl:workflow_state:b')).toBeLessThanOrEqual(77);
    expect(ttl('ttl:workflow_state:b')).toBeGreaterThan(70);
    expect(ttl('ttl:popular_mood_cache:c')).toBeGreaterThan(7_100);
    expect(cache.ttls.id_registry).toBe(30 * 24 * 3600);
  });

  it('counts a corrupt or foreign value in Redis as a miss and never throws or evaluates it', async () => {
    const cache = await open({}, 'corrupt:');
    (globalThis as Record<string, unknown>).__repriseEvaluated = false;
    backend().cli('SET', 'corrupt:track_details:foreign', 'hello from another app');
    backend().cli('SET', 'corrupt:track_details:broken', 'r1:9999999999999:{"json":');
    backend().cli('SET', 'corrupt:track_details:evil', 'r1:9999999999999:{"json":{"a":1},"meta":{"values":{"a":["class","Function"]}}}');
    backend().cli('SET', 'corrupt:track_details:proto', 'r1:9999999999999:{"json":{},"meta":{"values":{"__proto__.polluted":["Date"]}}}');
    backend().cli('SET', 'corrupt:track_details:code', 'r1:9999999999999:{"json":"globalThis.__repriseEvaluated = true"}');
    for (const key of ['foreign', 'broken', 'evil', 'proto']) {
      expect(await cache.get('track_details', key)).toBeUndefined();
    }
    // A string that looks like code is only ever data.
    expect(await cache.get('track_details', 'code')).toBe('globalThis.__repriseEvaluated = true');
    expect((globalThis as Record<string, unknown>).__repriseEvaluated).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const stats = cache.stats();
    expect(stats.tiers.redis.decodeErrors).toBe(4);
    expect(stats.categories.track_details.misses).toBe(4);
  });

  it('keeps keys with separators in user input apart and inside the prefix', async () => {
    const cache = await open({}, 'keys:');
    await cache.set('validated_seeds', ['a:b', 'c'], 'first');
    await cache.set('validated_seeds', ['a', 'b:c'], 'second');
    await cache.set('validated_seeds', ['{tag}', '*'], 'third');
    expect(await cache.get('validated_seeds', ['a:b', 'c'])).toBe('first');
    expect(await cache.get('validated_seeds', ['a', 'b:c'])).toBe('second');
    const keys = backend().name === 'cluster'
      ? backend().servers.flatMap((server) => server.cli('--scan', '--pattern', 'keys:*').split('\n'))
      : backend().cli('--scan', '--pattern', 'keys:*').split('\n');
    expect(keys.filter(Boolean).sort()).toEqual(['keys:validated_seeds:%7Btag%7D:*', 'keys:validated_seeds:a%3Ab:c', 'keys:validated_seeds:a:b%3Ac']);
  });

  it('never lets a read that was in flight bring back a value a newer write replaced', async () => {
    const writer = await open({}, 'race:');
    const reader = await open({}, 'race:');
    await writer.set('user_profile', 'u', { v: 1 });
    const inFlight = reader.get('user_profile', 'u'); // sent to Redis before the write below
    await reader.set('user_profile', 'u', { v: 2 });
    expect(await inFlight).toEqual({ v: 1 });
    expect(await reader.get('user_profile', 'u')).toEqual({ v: 2 });
    await pollUntil(async () => (await writer.get<{ v: number }>('user_profile', 'u'))?.v === 2, 'the other instance to drop its copy');
  });

  it('does not cache what getOrSet computed while its key was set, deleted or its category invalidated', async () => {
    const cache = await open();
    for (const change of [
      () => cache.set('mood_analysis', 'k', 'newer'),
      () => cache.delete('mood_analysis', 'k'),
      () => cache.invalidate('mood_analysis'),
    ]) {
      await cache.delete('mood_analysis', 'k');
      let release!: () => void;
      const loading = cache.getOrSet('mood_analysis', 'k', async () => {
        await new Promise<void>((resolve) => (release = resolve));
        return 'computed before the change';
      });
      await pollUntil(() => release !== undefined, 'the factory to start');
      await change();
      release();
      expect(await loading).toBe('computed before the change');
      expect(await cache.get('mood_analysis', 'k')).not.toBe('computed before the change');
    }
    expect(await cache.get('mood_analysis', 'k')).toBeUndefined();
  });

  it('makes one factory call for 1000 concurrent getOrSet callers, and shares a factory error without caching it', async () => {
    const cache = await open({}, 'storm:');
    let calls = 0;
    const results = await Promise.all(
      Array.from({ length: 1000 }, () =>
        cache.getOrSet('recommendations', 'storm', async () => {
          calls += 1;
          await new Promise((resolve) => setImmediate(resolve));
          return { tracks: ['t1'] };
        }),
      ),
    );
    expect(calls).toBe(1);
    expect(results.every((result) => result.tracks[0] === 't1')).toBe(true);
    expect(cache.stats().coalesced).toBe(999);

    let failingCalls = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, () =>
        cache.getOrSet('recommendations', 'failing', async () => {
          failingCalls += 1;
          await new Promise((resolve) => setImmediate(resolve));
          throw new Error('upstream down');
        }),
      ),
    );
    expect(failingCalls).toBe(1);
    expect(outcomes.every((outcome) => outcome.status === 'rejected' && (outcome.reason as Error).message === 'upstream down')).toBe(true);
    expect(await cache.get('recommendations', 'failing')).toBeUndefined();
    expect(backend().cli('EXISTS', 'storm:recommendations:failing')).toBe('0');
    const retried = await cache.getOrSet('recommendations', 'failing', () => 'recovered');
    expect(retried).toBe('recovered');
    expect(failingCalls).toBe(1);
  });

  it('serves getOrSet from Redis when another worker already computed the value', async () => {
    const first = await open({}, 'shared-storm:');
    const second = await open({}, 'shared-storm:');
    await first.getOrSet('mood_analysis', 'calm', () => ({ energy: 0.2 }));
    let calls = 0;
    const value = await second.getOrSet('mood_analysis', 'calm', () => {
      calls += 1;
      return { energy: 1 };
    });
    expect(value).toEqual({ energy: 0.2 });
    expect(calls).toBe(0);
  });

  it('invalidates one category in both tiers and returns the count, leaving other categories and foreign keys', async () => {
    const cache = await open({}, 'inv:');
    for (let i = 0; i < 30; i++) await cache.set('recommendations', `r${i}`, i);
    for (let i = 0; i < 5; i++) await cache.set('mood_analysis', `m${i}`, i);
    backend().cli('SET', 'inv:recommendationsX', 'not ours: no separator after the category');
    backend().cli('SET', 'other-app:recommendations:r1', 'foreign');
    const scansBefore = backend().calls('scan');

    expect(await cache.invalidate('recommendations')).toBe(30);
    expect(backend().calls('keys')).toBe(0);
    expect(backend().calls('scan')).toBeGreaterThanOrEqual(scansBefore + backend().servers.length);
    expect(await cache.get('recommendations', 'r1')).toBeUndefined();
    expect(await cache.get('mood_analysis', 'm1')).toBe(1);
    expect(backend().cli('GET', 'inv:recommendationsX')).toBe('not ours: no separator after the category');
    expect(backend().cli('GET', 'other-app:recommendations:r1')).toBe('foreign');
    await expect(cache.invalidate('nope' as never)).rejects.toThrow(/valid categories: workflow_artifacts/);
  });

  it('invalidate() removes every reprise key and nothing else in the database', async () => {
    const cache = await open({}, 'all:');
    await cache.set('recommendations', 'a', 1);
    await cache.set('workflow_state', 'b', 2);
    await cache.setArtistEnrichment({ artistIds: ['x', 'y'], enrichmentData: { genres: [] } });
    backend().cli('SET', 'all:other:thing', 'an app sharing the prefix root');
    backend().cli('SET', 'unrelated', 'keep me');
    const before = backend().dbsize();
    const removed = await cache.invalidate();
    expect(removed).toBe(3);
    expect(backend().dbsize()).toBe(before - 3);
    expect(backend().cli('GET', 'all:other:thing')).toBe('an app sharing the prefix root');
    expect(backend().cli('GET', 'unrelated')).toBe('keep me');
    expect(await cache.get('recommendations', 'a')).toBeUndefined();
    expect(await cache.getArtistEnrichment(['y', 'x'])).toBeUndefined();
  });

  it('shares writes between two workers and drops the other worker\'s memory copy on delete, set and invalidate', async () => {
    const workerA = await open({}, 'bus:');
    const workerB = await open({}, 'bus:');
    await workerA.set('user_profile', 'u1', { name: 'old' });
    await pollUntil(() => workerB.stats().tiers.redis.invalidations.received === 1, "worker A's announcement to arrive");
    expect(await workerB.get('user_profile', 'u1')).toEqual({ name: 'old' });
    const getsAfterFill = backend().calls('get');
    expect(await workerB.get('user_profile', 'u1')).toEqual({ name: 'old' });
    expect(backend().calls('get')).toBe(getsAfterFill);

    await workerA.set('user_profile', 'u1', { name: 'new' });
    await pollUntil(async () => (await workerB.get<{ name: string }>('user_profile', 'u1'))?.name === 'new', 'worker B to see the new value');

    await workerA.delete('user_profile', 'u1');
    await pollUntil(async () => (await workerB.get('user_profile', 'u1')) === undefined, 'worker B to drop the deleted entry');

    await workerA.set('top_tracks', 't', [1]);
    expect(await workerB.get('top_tracks', 't')).toEqual([1]);
    backend().cli('SET', 'bus:top_tracks:t', 'not reprise');
    await workerA.invalidate('top_tracks');
    await pollUntil(async () => (await workerB.get('top_tracks', 't')) === undefined, 'worker B to drop the invalidated category');
    expect(workerB.stats().tiers.redis.invalidations.received).toBeGreaterThanOrEqual(3);
  });

  it('sends each announcement with the next write: a writer going key after key makes one socket write per set (not on a Cluster)', async () => {
    const parts = createCacheParts({ redisUrl: backend().url, keyPrefix: 'carry:', logger: recordingLogger(), redisCommandTimeoutMs: 2_000, redisConnectTimeoutMs: 15_000 });
    opened.push(parts.cache);
    await waitForRedis(parts);
    const reader = await open({}, 'carry:');
    await reader.listening;
    for (let i = 0; i < 20; i++) await reader.set('top_tracks', `k${i}`, 'old');
    for (let i = 0; i < 20; i++) expect(await reader.get('top_tracks', `k${i}`)).toBe('old');
    // What reaches the socket: a Writable hands its buffered chunks to _write one at a time, or to _writev together.
    let socketWrites = 0;
    const client = parts.gateway.client!;
    for (const connection of masterConnections(client)) {
      const stream = connection.stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
      for (const method of ['_write', '_writev'] as const) {
        const original = stream[method];
        stream[method] = function (this: unknown, ...args: unknown[]) {
          socketWrites += 1;
          return original.apply(this, args);
        };
      }
    }

    for (let i = 0; i < 100; i++) await parts.cache.set('top_tracks', `k${i}`, `new ${i}`);
    // The first set goes alone; each later one carries the announcement of the one before in the same write. On a
    // Cluster nothing rides along (the next write goes to its slot's node, on a connection of its own): a PUBLISH per turn.
    if (backendName === 'cluster') expect(socketWrites).toBeGreaterThan(100);
    else expect(socketWrites).toBe(100);
    // The last announcement goes at the next turn; every key is announced, one message per write (a Cluster may
    // coalesce two writes' keys into one message).
    if (backendName !== 'cluster') {
      await pollUntil(() => parts.cache.stats().tiers.redis.invalidations.published === 100, 'the last announcement to go out');
    }
    for (let i = 0; i < 20; i++) {
      await pollUntil(async () => (await reader.get('top_tracks', `k${i}`)) === `new ${i}`, `the reader to drop its copy of k${i}`);
    }
  });

  it('keeps writing when Redis refuses the announcements: each refusal is counted, no set fails, nothing is left unhandled', async () => {
    // A user that may write keys but not publish on the invalidation channel: every PUBLISH is answered NOPERM.
    for (const server of backend().servers) expect(server.cli('ACL', 'SETUSER', 'nopublish', 'on', '>nopublish-pw', '~*', '+@all', 'resetchannels')).toBe('OK');
    const logger = recordingLogger();
    const cache = await createCache({
      redisUrl: backend().url.replace('redis://', 'redis://nopublish:nopublish-pw@'),
      keyPrefix: 'refused:',
      logger,
      redisCommandTimeoutMs: 2_000,
      redisConnectTimeoutMs: 15_000,
    });
    opened.push(cache);
    for (let i = 0; i < 10; i++) expect(await cache.set('top_tracks', `k${i}`, i)).toBe(true);
    // Every set's keys were offered for announcement; ten refusals at most (announcements coalesce), at least one.
    await pollUntil(() => cache.stats().tiers.redis.errorsByReason.other >= 1, 'a refused announcement to be counted');
    await cache.delete('top_tracks', 'k0');
    const { tiers } = cache.stats();
    expect(tiers.redis.invalidations.published).toBe(0);
    expect(tiers.redis.breaker).toBe('closed');
    expect(tiers.redis.errorsByReason.connection).toBe(0);
    expect(logger.lines.some((line) => /publish failed \(other\).*NOPERM/.test(line))).toBe(true);
    for (let i = 1; i < 10; i++) expect(backend().cli('GET', `refused:top_tracks:k${i}`)).not.toBe('');
  });

  it('keeps serving when a socket reports an error twice (as a TLS socket may), on every node', async () => {
    const parts = createCacheParts({ redisUrl: backend().url, keyPrefix: 'twice:', logger: recordingLogger(), redisCommandTimeoutMs: 2_000, redisConnectTimeoutMs: 15_000 });
    opened.push(parts.cache);
    await waitForRedis(parts);
    await parts.cache.set('top_tracks', 'before', 1);
    // ioredis listens once per socket: without a listener of reprise's own, the second emit throws right here.
    for (const connection of masterConnections(parts.gateway.client!)) {
      const stream = connection.stream as unknown as NodeJS.EventEmitter;
      expect(() => {
        stream.emit('error', new Error('tlsv1 alert decode error'));
        stream.emit('error', new Error('write EPIPE'));
      }).not.toThrow();
    }
    await parts.cache.set('top_tracks', 'after', 2);
    expect(await parts.cache.get('top_tracks', 'after')).toBe(2);
  });

  it('reports stats per category and per tier', async () => {
    const cache = await open({ memory: { maxEntries: 10, maxBytes: 10_000 } }, 'stats:');
    await cache.set('recommendations', 'a', { x: 'y' });
    await cache.get('recommendations', 'a');
    await cache.get('recommendations', 'missing');
    const stats = cache.stats();
    expect(stats).toMatchObject({
      cacheType: 'redis',
      hits: 1,
      misses: 1,
      hitRate: 0.5,
      categories: { recommendations: { hits: 1, misses: 1, memory: { hits: 1, misses: 1 }, redis: { hits: 0, misses: 1 } } },
      tiers: { memory: { entries: 1, maxEntries: 10, maxBytes: 10_000 }, redis: { mode: backendName, connection: 'ready', breaker: 'closed' } },
    });
    expect(stats.tiers.memory.bytes).toBeGreaterThan(0);
  });
});
