/** Read-through: a fresh precomputed result at once, else one computation for concurrent callers, stored for popular moods. */
import { describe, expect, it } from 'vitest';
import { ComputeNotConfiguredError } from '../../src/moods/popular-moods.js';
import type { ComputeContext } from '../../src/moods/types.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { sample } from '../harness/prometheus.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { controlledCompute, countingCompute, resultFor, useInstances, type InstanceOptions, type MoodsInstance } from './helpers.js';

const HOUR_MS = 60 * 60 * 1_000;

for (const mode of ['memory', ...BACKEND_NAMES] as const) {
  describe.skipIf(mode !== 'memory' && !hasRedisServer)(`read-through (${mode})`, () => {
    const suite = useInstances(mode, 'rt');
    const { backend } = suite;

    function open(options: InstanceOptions = {}, prefix?: string): Promise<MoodsInstance> {
      return suite.open({ moods: ['party vibes', 'calm'], ...options }, prefix);
    }

    it('computes once for 100 concurrent callers of a popular mood, stores it, then serves it precomputed', async () => {
      const workflow = controlledCompute();
      const instance = await open({ computeRecommendations: workflow.compute });
      const callers = Array.from({ length: 100 }, (_, i) => instance.moods.getOrCompute(i % 2 ? 'Party Vibes!' : 'party  vibes'));
      await pollUntil(() => workflow.calls.length === 1, 'the computation to start');
      expect(workflow.calls[0]!.mood).toBe('party vibes');
      expect(workflow.calls[0]!.ctx.reason).toBe('read-through');
      workflow.answer('party vibes');

      const results = await Promise.all(callers);
      expect(workflow.calls).toHaveLength(1);
      for (const result of results) {
        expect(result).toMatchObject({ ...resultFor('party vibes'), source: 'computed' });
      }
      expect(await instance.moods.getPrecomputedRecommendations('party vibes')).toMatchObject(resultFor('party vibes'));

      const again = await instance.moods.getOrCompute('party vibes');
      expect(again).toMatchObject({ ...resultFor('party vibes'), source: 'precomputed' });
      expect(workflow.calls).toHaveLength(1);
      const metrics = await instance.telemetry.metrics.registry.metrics();
      expect(sample(metrics, 'reprise_upstream_calls_avoided_total', { reason: 'shared_in_flight' })).toBe(99);
      expect(sample(metrics, 'reprise_upstream_calls_avoided_total', { reason: 'precomputed' })).toBe(1);
    });

    // Only where workers share a Redis: in memory mode each worker is on its own by design.
    if (mode !== 'memory') it('computes a popular mood once across three workers sharing Redis', async () => {
      const prefix = suite.freshPrefix();
      const workflow = countingCompute();
      const workers = await Promise.all([1, 2, 3].map(() => open({ computeRecommendations: workflow.compute }, prefix)));
      const results = await Promise.all(workers.flatMap((worker) => Array.from({ length: 10 }, () => worker.moods.getOrCompute('party vibes'))));
      expect(workflow.calls).toHaveLength(1);
      for (const result of results) expect(result).toMatchObject(resultFor('party vibes'));
    });

    it('answers but does not store a computation its mood was invalidated during', async () => {
      const workflow = controlledCompute();
      const instance = await open({ computeRecommendations: workflow.compute });
      const caller = instance.moods.getOrCompute('calm');
      await pollUntil(() => workflow.calls.length === 1, 'the computation to start');
      await instance.moods.invalidateMood('calm');
      workflow.answer('calm');
      expect(await caller).toMatchObject({ ...resultFor('calm'), source: 'computed' });
      expect(await instance.moods.getPrecomputedRecommendations('calm')).toBeNull();
    });

    it('serves what a warm run (or another worker) stored without computing, and recomputes an entry about to expire', async () => {
      const workflow = countingCompute();
      const writer = await open({ computeRecommendations: workflow.compute });
      const reader = backend() ? await open({ computeRecommendations: workflow.compute }, writer.cache.keyPrefix) : writer;
      await writer.moods.warm({ moods: ['calm'] });
      expect(workflow.calls).toEqual(['calm']);
      expect(await reader.moods.getOrCompute('Calm')).toMatchObject({ source: 'precomputed', ...resultFor('calm') });
      expect(workflow.calls).toEqual(['calm']);

      // 10% of its TTL left: not fresh, so computed and stored again.
      const now = Date.now();
      await writer.cache.set('popular_mood_cache', 'calm', {
        recommendations: [{ id: 'stale' }],
        moodAnalysis: null,
        computedAt: new Date(now - 1.8 * HOUR_MS),
        expiresAt: new Date(now + 0.2 * HOUR_MS),
      });
      // Other workers drop their memory copy when the invalidation message arrives.
      await pollUntil(async () => {
        const entry = await reader.moods.getPrecomputedRecommendations('calm');
        return (entry?.recommendations[0] as { id?: string } | undefined)?.id === 'stale';
      }, 'the reader to see the aged entry');
      expect(await reader.moods.getOrCompute('calm')).toMatchObject({ source: 'computed', ...resultFor('calm') });
      expect(workflow.calls).toEqual(['calm', 'calm']);
      await pollUntil(async () => {
        const entry = await writer.moods.getPrecomputedRecommendations('calm');
        return (entry?.recommendations[0] as { id?: string } | undefined)?.id === 'track-for-calm';
      }, 'every worker to see the recomputed entry');
    });

    it('does not store a mood that is not popular, and uses the compute given to the call', async () => {
      const configured = countingCompute();
      const instance = await open({ computeRecommendations: configured.compute });
      const own: string[] = [];
      const compute = async (mood: string, ctx: ComputeContext) => {
        own.push(`${mood}/${ctx.reason}`);
        return resultFor(mood);
      };
      expect(await instance.moods.getOrCompute('Stormy night', compute)).toMatchObject({ source: 'computed', ...resultFor('stormy night') });
      expect(await instance.moods.getOrCompute('stormy night', compute)).toMatchObject({ source: 'computed' });
      expect(own).toEqual(['stormy night/read-through', 'stormy night/read-through']);
      expect(configured.calls).toEqual([]);
      expect(await instance.moods.getPrecomputedRecommendations('stormy night')).toBeNull();
    });

    it('hands a workflow error to every waiting caller and stores nothing', async () => {
      const workflow = controlledCompute();
      const instance = await open({ computeRecommendations: workflow.compute });
      const callers = Array.from({ length: 5 }, () => instance.moods.getOrCompute('calm').catch((error: Error) => error.message));
      await pollUntil(() => workflow.calls.length === 1, 'the computation');
      workflow.calls[0]!.answer.reject(new Error('LLM quota exceeded'));
      expect(await Promise.all(callers)).toEqual(Array(5).fill('LLM quota exceeded'));
      expect(await instance.moods.getPrecomputedRecommendations('calm')).toBeNull();

      const retry = instance.moods.getOrCompute('calm');
      await pollUntil(() => workflow.calls.length === 2, 'a new computation');
      workflow.calls[1]!.answer.resolve(resultFor('calm'));
      expect((await retry).source).toBe('computed');
    });

    it('rejects an unusable result and a missing workflow clearly', async () => {
      const instance = await open({ computeRecommendations: async () => ({ songs: [] }) as never });
      await expect(instance.moods.getOrCompute('calm')).rejects.toThrow(/recommendations must be given/);
      expect(await instance.moods.getPrecomputedRecommendations('calm')).toBeNull();
      const without = await open();
      await expect(without.moods.getOrCompute('calm')).rejects.toThrow(ComputeNotConfiguredError);
      await expect(without.moods.getOrCompute('!!!', countingCompute().compute)).rejects.toThrow(/has no words/);
    });
  });
}
