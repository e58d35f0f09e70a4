/**
 * `rediss://user:password@host:port` against a real redis-server on its TLS port, with certificates made by openssl:
 * the CA of `redisTlsCaFile` / REDIS_TLS_CA_FILE is trusted, another CA is a clear warning and memory. And reprise
 * end to end as the least-privilege ACL user README gives: Redis refuses none of what it sends (a missing permission
 * is a NOPERM reply, counted as an error and recorded in ACL LOG).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { createCacheParts, waitForRedis } from '../../src/cache/create-cache.js';
import { createReprise, type Reprise } from '../../src/reprise.js';
import type { ComputeRecommendations } from '../../src/moods/types.js';
import { recordingLogger } from '../harness/logger.js';
import { readmeAclLine } from '../harness/readme-acl.js';
import { hasRedisServer, pollUntil, startRedisServer, type RedisServer } from '../harness/redis-servers.js';
import { hasOpenssl, makeTlsFiles, type TlsFiles } from '../harness/redis-tls.js';

const ACL_PASSWORD = 'acl-user-pw-5d1a';

describe.skipIf(!hasRedisServer || !hasOpenssl)('TLS, and a least-privilege ACL user', () => {
  let files: TlsFiles;
  let server: RedisServer;
  beforeAll(async () => {
    files = makeTlsFiles();
    server = await startRedisServer({ tls: files });
    expect(server.cli('ACL', ...readmeAclLine(ACL_PASSWORD))).toBe('OK');
  });
  afterAll(async () => {
    await server?.destroy();
    files?.remove();
  });

  const url = () => `rediss://reprise:${ACL_PASSWORD}@127.0.0.1:${server.port}`;

  it('runs reprise end to end over TLS as the README ACL user; Redis refuses none of its commands', async () => {
    const compute: ComputeRecommendations = async (mood) => ({ recommendations: [{ id: `track-for-${mood}` }], moodAnalysis: { mood } });
    const logger = recordingLogger();
    const common = { warmSchedule: false as const, computeRecommendations: compute, popularMoods: ['rainy day', 'deep focus'] };
    const instances: Reprise[] = [];
    try {
      // One instance through options, one through the environment.
      const a = await createReprise({ ...common, redisUrl: url(), redisTlsCaFile: files.ca, logger, env: {} });
      instances.push(a);
      const b = await createReprise({ ...common, logger: recordingLogger(), env: { REDIS_URL: url(), REDIS_TLS_CA_FILE: files.ca } });
      instances.push(b);
      for (const instance of [a, b]) expect(instance.cache.stats()).toMatchObject({ cacheType: 'redis', tiers: { redis: { connection: 'ready' } } });

      // The cache: reads, writes, bulk reads, the shared lease of getOrSet, deletes, invalidation, announcements.
      await a.cache.set('recommendations', ['ada', 'calm'], { tracks: [1, 2] });
      expect(await b.cache.get('recommendations', ['ada', 'calm'])).toEqual({ tracks: [1, 2] });
      await a.cache.set('recommendations', ['ada', 'calm'], { tracks: [3] });
      await pollUntil(async () => JSON.stringify(await b.cache.get('recommendations', ['ada', 'calm'])) === '{"tracks":[3]}', 'b to hear the write');
      await a.cache.set('track_details', 't1', { name: 'one' });
      expect(await b.cache.getMany('track_details', ['t1', 't2'])).toEqual([{ name: 'one' }, undefined]);
      expect(await a.cache.getOrSet('mood_analysis', 'calm', () => ({ energy: 0.2 }), { acrossWorkers: true })).toEqual({ energy: 0.2 });
      expect(await b.cache.getOrSet('mood_analysis', 'calm', () => ({ energy: 0.9 }), { acrossWorkers: true })).toEqual({ energy: 0.2 });
      expect(await a.cache.peek('mood_analysis', 'calm')).toEqual({ energy: 0.2 });
      expect(await a.cache.delete('track_details', 't1')).toBe(true);
      expect(await a.cache.invalidate('mood_analysis')).toBe(1);

      // The ID registry: single and bulk marks and lookups, its stats and a sweep (all Lua on packed hashes).
      const spotify = ['4uLU6hMCjMI75M1A2tKUQC', '7ouMYWpwJ422jRcDASZB7P', '0VjIjW4GlUZAMYd2vXMi3b', '3n3Ppam7vgaVa1iaRUc9Lp'];
      await a.idRegistry.markValidated(spotify[0]!, 'a1b2c3d4-0000-4000-8000-000000000001');
      await a.idRegistry.bulkMarkValidated([[spotify[1]!, 'a1b2c3d4-0000-4000-8000-000000000002']]);
      await a.idRegistry.markMissing(spotify[2]!, 'invalid');
      await a.idRegistry.markMissing(spotify[3]!); // not_found: a Bloom filter bit, not an entry
      const lookup = await b.idRegistry.bulkLookup(spotify);
      expect(lookup.validated.size).toBe(2);
      expect(lookup.missing).toEqual([spotify[2], spotify[3]]);
      expect(await b.idRegistry.getSpotifyId('a1b2c3d4-0000-4000-8000-000000000001')).toBe(spotify[0]);
      expect(await b.idRegistry.getMissingReason(spotify[2]!)).toBe('invalid');
      expect(await a.idRegistry.stats()).toMatchObject({ validated: 2, missing: 2 });
      await a.idRegistry.sweep();

      // Popular moods: a warm under the shared lock, read-through with usage counts, the scheduled slot.
      const report = await a.popularMoods.warm();
      expect(report).toMatchObject({ total: 2, done: 2, failed: 0 });
      expect(await b.popularMoods.getPrecomputedRecommendations('rainy day')).toMatchObject({ recommendations: [{ id: 'track-for-rainy day' }] });
      await b.popularMoods.getOrCompute('late night drive');
      expect((await a.popularMoods.topMoods(5)).map((entry) => entry.mood)).toContain('late night drive');
      expect(await b.popularMoods.runScheduledNow()).toMatchObject({ ran: true });
      expect(await a.popularMoods.progress()).not.toBeNull();
      expect(await a.popularMoods.invalidateMood('rainy day')).toBe(true);
      expect(await a.cache.invalidate()).toBeGreaterThan(0);

      for (const instance of [a, b]) {
        const redis = instance.cache.stats().tiers.redis;
        expect(redis.errorsByReason, JSON.stringify(redis.errorsByReason)).toMatchObject({ other: 0, script: 0, connection: 0 });
        expect(redis.errors).toBe(0);
      }
      // Redis records every command it refused a user: none.
      expect(server.cli('ACL', 'LOG')).toBe('');
      expect(server.cli('KEYS', '*').split('\n').filter(Boolean).every((key) => key.startsWith('reprise:'))).toBe(true);
    } finally {
      for (const instance of instances) await instance.close();
    }
    expect(logger.lines.join('\n')).not.toContain(ACL_PASSWORD);
    expect(logger.lines.join('\n')).toContain(`cache: Redis standalone at rediss://reprise:***@127.0.0.1:${server.port} (TLS, trusting the CAs in ${files.ca})`);
  }, 60_000);

  it('refuses a server certificate another CA signed: a clear warning, memory, and no secret printed', async () => {
    const logger = recordingLogger();
    const cache = await createCache({ redisUrl: url(), redisTlsCaFile: files.otherCa, logger, env: {}, redisConnectTimeoutMs: 500 });
    try {
      await cache.set('recommendations', 'k', 'kept in memory');
      expect(await cache.get('recommendations', 'k')).toBe('kept in memory');
      expect(cache.stats().cacheType).toBe('memory');
      await pollUntil(() => logger.lines.some((line) => line.startsWith('warn') && line.includes('TLS certificate is not trusted')), 'the warning');
      const warning = logger.lines.find((line) => line.includes('TLS certificate is not trusted'))!;
      expect(warning).toMatch(/redisTlsCaFile \(REDIS_TLS_CA_FILE\)/);
    } finally {
      await cache.close();
    }
    const everything = `${logger.lines.join('\n')}\n${JSON.stringify(cache.stats())}`;
    expect(everything).not.toContain(ACL_PASSWORD);
    // Nothing reached Redis as that user: it never authenticated.
    expect(server.cli('GET', 'reprise:recommendations:k')).toBe('');
  });

  it('survives a TLS socket that reports an error twice (an alert after the handshake, then a failed write): no uncaught exception', async () => {
    const parts = createCacheParts({ redisUrl: url(), redisTlsCaFile: files.ca, logger: recordingLogger(), env: {}, keyPrefix: 'twice:' });
    try {
      await waitForRedis(parts);
      const client = parts.gateway.client!;
      expect(client.status).toBe('ready');
      // What Node's TLS socket does: it emits an alert it reads as an error, and emits again when a write then fails.
      // ioredis listens once per socket; without a listener of reprise's own, the second emit throws right here.
      const stream = (client as { stream: NodeJS.EventEmitter }).stream;
      expect(() => {
        stream.emit('error', new Error('tlsv1 alert decode error'));
        stream.emit('error', new Error('write EPIPE'));
      }).not.toThrow();
      await parts.cache.set('recommendations', 'after', 'still served');
      expect(await parts.cache.get('recommendations', 'after')).toBe('still served');
    } finally {
      await parts.cache.close();
    }
  });

  it('speaks only TLS on its port: a plain redis:// URL there never connects', async () => {
    const logger = recordingLogger();
    const cache = await createCache({ redisUrl: `redis://reprise:${ACL_PASSWORD}@127.0.0.1:${server.port}`, logger, env: {}, redisConnectTimeoutMs: 300 });
    try {
      await cache.set('recommendations', 'plain', 1);
      expect(cache.stats().cacheType).toBe('memory');
    } finally {
      await cache.close();
    }
    expect(logger.lines.join('\n')).not.toContain(ACL_PASSWORD);
  });
});
