/** Usage-driven moods: every read-through counts its mood with a decaying weight; topMoods; warming the most requested. */
import { describe, expect, it } from 'vitest';
import { BACKEND_NAMES } from '../harness/backends.js';
import { hasRedisServer } from '../harness/redis-servers.js';
import { countingCompute, useInstances, type InstanceOptions, type MoodsInstance } from './helpers.js';

const HALF_LIFE_MS = 60 * 60 * 1_000;

for (const mode of ['memory', ...BACKEND_NAMES] as const) {
  describe.skipIf(mode !== 'memory' && !hasRedisServer)(`mood usage (${mode})`, () => {
    const suite = useInstances(mode, 'use');
    const { backend } = suite;

    /** A worker whose usage clock the test moves by hand. */
    function open(clock: { now: number }, options: InstanceOptions = {}, prefix?: string): Promise<MoodsInstance> {
      return suite.open({
        moods: ['calm'],
        computeRecommendations: countingCompute().compute,
        usageHalfLifeMs: HALF_LIFE_MS,
        now: () => clock.now,
        ...options,
      }, prefix);
    }

    async function ask(instance: MoodsInstance, moodPrompt: string, times: number) {
      for (let i = 0; i < times; i++) await instance.moods.getOrCompute(moodPrompt);
    }

    it('counts every read-through under its normalised mood and ranks the most requested first', async () => {
      const clock = { now: Date.UTC(2030, 0, 1) };
      const instance = await open(clock);
      await ask(instance, 'Rainy Day!', 3);
      await ask(instance, 'rainy   day', 1);
      await ask(instance, 'Lo-Fi & Beats', 2);
      await ask(instance, 'calm', 1);

      expect(await instance.moods.topMoods(2)).toEqual([
        { mood: 'rainy day', score: 4 },
        { mood: 'lo fi and beats', score: 2 },
      ]);
      expect((await instance.moods.topMoods(10)).map((count) => count.mood)).toEqual(['rainy day', 'lo fi and beats', 'calm']);
      expect(await instance.moods.topMoods(0)).toEqual([]);
      await expect(instance.moods.topMoods(-1)).rejects.toThrow(/whole number/);
      if (backend()) {
        // Every worker sees the same counts.
        const other = await open(clock, {}, instance.cache.keyPrefix);
        await ask(other, 'lo fi and beats', 3);
        expect((await instance.moods.topMoods(1))[0]).toEqual({ mood: 'lo fi and beats', score: 5 });
      }
    });

    it('lets older requests count less: a request loses half its weight per half-life', async () => {
      const clock = { now: Date.UTC(2030, 0, 1) };
      const instance = await open(clock);
      await ask(instance, 'old favourite', 3);
      clock.now += 2 * HALF_LIFE_MS;
      await ask(instance, 'new thing', 1);

      const [first, second] = await instance.moods.topMoods(2);
      expect(first!.mood).toBe('new thing');
      expect(first!.score).toBeCloseTo(1, 9);
      expect(second!.mood).toBe('old favourite');
      expect(second!.score).toBeCloseTo(0.75, 9);

      // Far beyond the point where weights are rescaled, the arithmetic still holds.
      clock.now += 40 * HALF_LIFE_MS;
      await ask(instance, 'new thing', 1);
      const later = await instance.moods.topMoods(2);
      expect(later[0]!.mood).toBe('new thing');
      expect(later[0]!.score).toBeCloseTo(1, 6);
      expect(later[1]!.score).toBeLessThan(1e-9);
      expect(later.every((count) => Number.isFinite(count.score))).toBe(true);
    });

    it('keeps at most usageMaxMoods moods, dropping the least requested, and ignores prompts too long to be moods', async () => {
      const clock = { now: Date.UTC(2030, 0, 1) };
      const instance = await open(clock, { usageMaxMoods: 3 });
      await ask(instance, 'a lot', 5);
      await ask(instance, 'quite some', 4);
      await ask(instance, 'some', 3);
      await ask(instance, 'few', 2);
      await ask(instance, 'once', 1);
      await ask(instance, 'word '.repeat(60), 10);
      expect((await instance.moods.topMoods(10)).map((count) => count.mood)).toEqual(['a lot', 'quite some', 'some']);
      const redis = backend();
      if (redis) {
        const scoresKey = `${instance.cache.keyPrefix}@mood-usage:{${instance.cache.keyPrefix}mood-usage}:scores`;
        expect(redis.cli('ZCARD', scoresKey)).toBe('3');
        expect(Number(redis.cli('PTTL', scoresKey))).toBeGreaterThan(0);
      }
    });

    // Only Redis can hold damaged data.
    if (mode !== 'memory') it('repairs damaged usage data in Redis: an epoch that is not a number is reset, scores stay finite', async () => {
      const clock = { now: Date.UTC(2030, 0, 1) };
      const instance = await open(clock);
      const redis = backend()!;
      const prefix = instance.cache.keyPrefix;
      const scoresKey = `${prefix}@mood-usage:{${prefix}mood-usage}:scores`;
      const epochKey = `${prefix}@mood-usage:{${prefix}mood-usage}:epoch`;
      const storedScores = () => {
        const flat = redis.cli('ZRANGE', scoresKey, '0', '-1', 'WITHSCORES').split('\n').filter((line) => line !== '');
        return flat.filter((_, i) => i % 2 === 1).map(Number);
      };
      await ask(instance, 'rainy day', 3);
      await ask(instance, 'calm', 1);
      clock.now += HALF_LIFE_MS;

      // The time base of the scores is lost with the epoch: they keep their order, the largest counting as one
      // request made now, and the next request counts in full.
      redis.cli('SET', epochKey, 'nan');
      expect((await instance.moods.topMoods(5)).every((count) => Number.isFinite(count.score))).toBe(true);
      await ask(instance, 'late night', 1);
      const top = await instance.moods.topMoods(5);
      expect(Object.fromEntries(top.map((count) => [count.mood, count.score]))).toEqual({
        'late night': expect.closeTo(1, 9), 'rainy day': expect.closeTo(1, 9), calm: expect.closeTo(1 / 3, 9),
      });
      expect(Number(redis.cli('GET', epochKey))).toBe(clock.now);

      for (const damaged of ['inf', '-inf', 'not a number', '1e308', '']) {
        redis.cli('SET', epochKey, damaged);
        await ask(instance, 'calm', 1);
        expect(Number.isFinite(Number(redis.cli('GET', epochKey)))).toBe(true);
        const counts = await instance.moods.topMoods(5);
        expect(counts.map((count) => count.mood).sort()).toEqual(['calm', 'late night', 'rainy day']);
        expect(counts.every((count) => Number.isFinite(count.score) && count.score > 0)).toBe(true);
        expect(storedScores().every((score) => Number.isFinite(score) && score > 0)).toBe(true);
      }

      // A score that is not a finite number starts again from this request; keys of another type are replaced.
      redis.cli('ZADD', scoresKey, '+inf', 'stuck');
      await ask(instance, 'stuck', 1);
      expect((await instance.moods.topMoods(5)).find((count) => count.mood === 'stuck')?.score).toBeCloseTo(1, 9);
      redis.cli('DEL', scoresKey);
      redis.cli('RPUSH', scoresKey, 'not', 'a', 'sorted', 'set');
      expect(await instance.moods.topMoods(5)).toEqual([]);
      redis.cli('DEL', epochKey);
      redis.cli('HSET', epochKey, 'not', 'a string');
      await ask(instance, 'fresh start', 2);
      expect(await instance.moods.topMoods(5)).toEqual([{ mood: 'fresh start', score: 2 }]);
      expect(instance.gateway.status().errors).toBe(0);
    });

    it('warms the configured moods plus the n most requested ones when warmTopRequested is set, and stores their read-throughs', async () => {
      const clock = { now: Date.UTC(2030, 0, 1) };
      const workflow = countingCompute();
      const instance = await open(clock, { moods: ['calm', 'focus'], computeRecommendations: workflow.compute, warmTopRequested: 2 });
      await ask(instance, 'summer road trip', 3);
      await ask(instance, 'calm', 2);
      await ask(instance, 'rainy day', 1);
      await ask(instance, 'polka', 1);
      // Among the two most requested, a read-through result is kept; beyond them it is not.
      expect(await instance.moods.getPrecomputedRecommendations('summer road trip')).not.toBeNull();
      expect(await instance.moods.getPrecomputedRecommendations('polka')).toBeNull();

      workflow.calls.length = 0;
      const report = await instance.moods.warm({ force: true });
      expect(report.results.map((result) => result.mood)).toEqual(['calm', 'focus', 'summer road trip']);
      expect(workflow.calls.sort()).toEqual(['calm', 'focus', 'summer road trip']);
    });
  });
}
