/** Precomputed entries: keyed by normalised mood in popular_mood_cache (2 h), invalidation, coverage, defaults. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POPULAR_MOODS } from '../../src/moods/defaults.js';
import { InvalidRecommendationsError } from '../../src/moods/precomputed-store.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { sample } from '../harness/prometheus.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { openInstance, useInstances } from './helpers.js';

const TWO_HOURS_MS = 2 * 60 * 60 * 1_000;

for (const mode of ['memory', ...BACKEND_NAMES] as const) {
  describe.skipIf(mode !== 'memory' && !hasRedisServer)(`precomputed recommendations (${mode})`, () => {
    const { backend, open } = useInstances(mode, 'pre');

    it('stores an entry under the normalised mood for 2 hours; every spelling of the mood reads it', async () => {
      const writer = await open();
      const recommendations = [{ id: 'track-1' }, { id: 'track-2' }];
      const stored = await writer.moods.cachePrecomputedRecommendations({
        moodPrompt: 'Happy & Energetic!',
        recommendations,
        moodAnalysis: { valence: 0.9 },
      });
      expect(stored.expiresAt.getTime() - stored.computedAt.getTime()).toBe(TWO_HOURS_MS);

      const read = await writer.moods.getPrecomputedRecommendations('  happy   AND energetic ');
      expect(read).toEqual(stored);
      expect(read!.computedAt).toBeInstanceOf(Date);
      expect(await writer.cache.get('popular_mood_cache', 'happy and energetic')).toEqual(stored);

      const redis = backend();
      if (redis) {
        const pttl = Number(redis.cli('PTTL', `${writer.cache.keyPrefix}popular_mood_cache:happy%20and%20energetic`));
        expect(pttl).toBeGreaterThan(TWO_HOURS_MS - 60_000);
        expect(pttl).toBeLessThanOrEqual(TWO_HOURS_MS);
        // Another worker on the same Redis reads it too.
        const other = await open({}, writer.cache.keyPrefix);
        expect(await other.moods.getPrecomputedRecommendations('Happy and energetic')).toEqual(stored);
      }
    });

    it('keeps a missing moodAnalysis as null and answers null for a mood never stored', async () => {
      const instance = await open();
      await instance.moods.cachePrecomputedRecommendations({ moodPrompt: 'rainy day', recommendations: [] });
      const entry = await instance.moods.getPrecomputedRecommendations('rainy day');
      expect(entry).toMatchObject({ recommendations: [], moodAnalysis: null });
      expect(await instance.moods.getPrecomputedRecommendations('sunny day')).toBeNull();
    });

    it('invalidateMood removes the entry for every worker and says whether there was one', async () => {
      const first = await open();
      const second = backend() ? await open({}, first.cache.keyPrefix) : first;
      await first.moods.cachePrecomputedRecommendations({ moodPrompt: 'party vibes', recommendations: [{ id: 'x' }] });
      expect(await second.moods.getPrecomputedRecommendations('party vibes')).not.toBeNull();

      expect(await first.moods.invalidateMood('Party Vibes!')).toBe(true);
      expect(await first.moods.getPrecomputedRecommendations('party vibes')).toBeNull();
      // Other workers drop their memory copy when the invalidation message reaches them.
      await pollUntil(async () => (await second.moods.getPrecomputedRecommendations('party vibes')) === null, 'the other worker to drop it');
      expect(await first.moods.invalidateMood('party vibes')).toBe(false);
    });

    it('coverage counts the configured moods that have an entry and updates the gauges', async () => {
      const instance = await open();
      expect(instance.moods.moods).toEqual(DEFAULT_POPULAR_MOODS);
      for (const moodPrompt of ['Calm & Relaxing', 'party vibes', 'Morning energy!']) {
        await instance.moods.cachePrecomputedRecommendations({ moodPrompt, recommendations: [{ id: moodPrompt }] });
      }
      // A mood outside the configured list does not count.
      await instance.moods.cachePrecomputedRecommendations({ moodPrompt: 'polka', recommendations: [] });

      expect(await instance.moods.coverage()).toEqual({ total: 10, cached: 3, coverage: 0.3 });
      const metrics = await instance.telemetry.metrics.registry.metrics();
      expect(sample(metrics, 'reprise_popular_moods_cached')).toBe(3);
      expect(sample(metrics, 'reprise_popular_moods_configured')).toBe(10);
    });

    it('rejects malformed input with a clear error and stores nothing', async () => {
      const instance = await open({ moods: ['calm'] });
      await expect(
        instance.moods.cachePrecomputedRecommendations({ moodPrompt: 'calm', recommendations: 'not a list' as never }),
      ).rejects.toThrow(InvalidRecommendationsError);
      await expect(
        instance.moods.cachePrecomputedRecommendations({ moodPrompt: 'calm', recommendations: [], moodAnalysis: 'x' as never }),
      ).rejects.toThrow(/moodAnalysis must be an object/);
      await expect(instance.moods.cachePrecomputedRecommendations({ moodPrompt: '?!', recommendations: [] })).rejects.toThrow(/has no words/);
      expect(await instance.moods.getPrecomputedRecommendations('calm')).toBeNull();
      expect(() => instance.moods.isPopular('Calm!')).not.toThrow();
      expect(instance.moods.isPopular('Calm!')).toBe(true);
      expect(instance.moods.isPopular('stormy')).toBe(false);
    });

    it('treats a value of another shape in the mood entry as missing', async () => {
      const instance = await open();
      await instance.cache.set('popular_mood_cache', 'chill evening', { something: 'else' });
      expect(await instance.moods.getPrecomputedRecommendations('chill evening')).toBeNull();
      expect((await instance.moods.coverage()).cached).toBe(0);
    });
  });
}

describe('popular mood configuration', () => {
  it('normalises and de-duplicates configured moods and rejects unusable ones', async () => {
    const instance = await openInstance(null, 'config:', { moods: ['Party Vibes!', 'party vibes', 'Rainy & Grey'] });
    try {
      expect(instance.moods.moods).toEqual(['party vibes', 'rainy and grey']);
    } finally {
      await instance.close();
    }
    await expect(openInstance(null, 'config:', { moods: [] })).rejects.toThrow(/popularMoods must be a non-empty array/);
    await expect(openInstance(null, 'config:', { moods: ['ok', '...'] })).rejects.toThrow(/has no words/);
    await expect(openInstance(null, 'config:', { warmConcurrency: 0 })).rejects.toThrow(/warmConcurrency must be a positive whole number/);
    await expect(openInstance(null, 'config:', { computeRecommendations: 'nope' as never })).rejects.toThrow(/computeRecommendations must be a function/);
  });
});
