/**
 * reprise end to end on a 3-master Redis Cluster as the least-privilege ACL user README gives, with the permissions
 * README says a Cluster adds: no master refuses anything it sends (a missing permission would be a NOPERM reply,
 * counted as an error and recorded in that master's ACL LOG).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createReprise, type Reprise } from '../../src/reprise.js';
import type { ComputeRecommendations } from '../../src/moods/types.js';
import { useRedisCluster } from '../harness/lifecycle.js';
import { recordingLogger } from '../harness/logger.js';
import { readmeAclLine, readmeClusterAdditions } from '../harness/readme-acl.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';

const ACL_PASSWORD = 'cluster-acl-pw-81c4';

describe.skipIf(!hasRedisServer)('a least-privilege ACL user on a Redis Cluster', () => {
  const cluster = useRedisCluster(3);
  beforeAll(() => {
    // ACL users are per node: every master gets the same one.
    for (const master of cluster().masters) {
      expect(master.cli('ACL', ...readmeAclLine(ACL_PASSWORD), ...readmeClusterAdditions())).toBe('OK');
      master.cli('ACL', 'LOG', 'RESET');
    }
  });

  /** The Cluster's node list, the first node carrying the user's credentials. */
  const url = () => cluster().url.replace('redis://', `redis://reprise:${ACL_PASSWORD}@`);

  it('runs reprise end to end as the README ACL user; no master refuses any of its commands', async () => {
    const compute: ComputeRecommendations = async (mood) => ({ recommendations: [{ id: `track-for-${mood}` }], moodAnalysis: { mood } });
    const logger = recordingLogger();
    const common = { warmSchedule: false as const, computeRecommendations: compute, popularMoods: ['rainy day', 'deep focus'], env: {} };
    const instances: Reprise[] = [];
    try {
      const a = await createReprise({ ...common, redisUrl: url(), logger, redisConnectTimeoutMs: 10_000 });
      instances.push(a);
      const b = await createReprise({ ...common, redisUrl: url(), logger: recordingLogger(), redisConnectTimeoutMs: 10_000 });
      instances.push(b);
      for (const instance of [a, b]) {
        await pollUntil(() => instance.cache.stats().cacheType === 'redis', 'the Cluster to be ready');
        expect(instance.cache.stats().tiers.redis).toMatchObject({ mode: 'cluster', connection: 'ready' });
      }

      // The cache, with keys in many slots: reads, writes, bulk reads across slots, the shared lease, invalidation.
      const keys = Array.from({ length: 30 }, (_, i) => `user-${i}`);
      for (const key of keys) await a.cache.set('track_details', key, { key });
      expect(await b.cache.getMany('track_details', keys)).toEqual(keys.map((key) => ({ key })));
      await a.cache.set('recommendations', ['ada', 'calm'], { tracks: [3] });
      await pollUntil(async () => JSON.stringify(await b.cache.get('recommendations', ['ada', 'calm'])) === '{"tracks":[3]}', 'b to read the write');
      expect(await a.cache.getOrSet('mood_analysis', 'calm', () => ({ energy: 0.2 }), { acrossWorkers: true })).toEqual({ energy: 0.2 });
      expect(await b.cache.getOrSet('mood_analysis', 'calm', () => ({ energy: 0.9 }), { acrossWorkers: true })).toEqual({ energy: 0.2 });
      expect(await a.cache.delete('track_details', keys[0]!)).toBe(true);
      expect(await a.cache.invalidate('track_details')).toBe(29);

      // The ID registry: its shards spread over every master (Lua on packed hashes and filters).
      const spotify = ['4uLU6hMCjMI75M1A2tKUQC', '7ouMYWpwJ422jRcDASZB7P', '0VjIjW4GlUZAMYd2vXMi3b', '3n3Ppam7vgaVa1iaRUc9Lp'];
      await a.idRegistry.bulkMarkValidated([
        [spotify[0]!, 'a1b2c3d4-0000-4000-8000-000000000001'],
        [spotify[1]!, 'a1b2c3d4-0000-4000-8000-000000000002'],
      ]);
      await a.idRegistry.markMissing(spotify[2]!);
      await a.idRegistry.markMissing(spotify[3]!, 'invalid');
      const lookup = await b.idRegistry.bulkLookup(spotify);
      expect(lookup.validated.size).toBe(2);
      expect(lookup.missing.sort()).toEqual([spotify[2], spotify[3]].sort());
      expect(await b.idRegistry.getSpotifyId('a1b2c3d4-0000-4000-8000-000000000002')).toBe(spotify[1]);
      expect(await a.idRegistry.stats()).toMatchObject({ validated: 2 });
      await a.idRegistry.sweep();

      // Popular moods: a warm under the shared lock, usage counts, the scheduled slot.
      expect(await a.popularMoods.warm()).toMatchObject({ total: 2, done: 2, failed: 0 });
      expect(await b.popularMoods.getPrecomputedRecommendations('deep focus')).toMatchObject({ recommendations: [{ id: 'track-for-deep focus' }] });
      await b.popularMoods.getOrCompute('late night drive');
      expect((await a.popularMoods.topMoods(5)).map((entry) => entry.mood)).toContain('late night drive');
      expect(await b.popularMoods.runScheduledNow()).toMatchObject({ ran: true });
      expect(await a.cache.invalidate()).toBeGreaterThan(0);

      for (const instance of [a, b]) {
        const redis = instance.cache.stats().tiers.redis;
        expect(redis.errorsByReason, JSON.stringify(redis.errorsByReason)).toMatchObject({ other: 0, script: 0, connection: 0 });
        expect(redis.errors).toBe(0);
      }
      // Each master records every command it refused a user: none.
      for (const master of cluster().masters) expect(master.cli('ACL', 'LOG')).toBe('');
    } finally {
      for (const instance of instances) await instance.close();
    }
    expect(logger.lines.join('\n')).not.toContain(ACL_PASSWORD);
  }, 90_000);
});
