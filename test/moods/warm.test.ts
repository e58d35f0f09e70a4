/** Warm runs on one worker: what gets computed, bounded concurrency, progress while running, timeouts and failures. */
import { describe, expect, it } from 'vitest';
import { ComputeNotConfiguredError, PopularMoodsClosedError, WarmAlreadyRunningError } from '../../src/moods/popular-moods.js';
import { RepriseInputError } from '../../src/errors.js';
import type { ComputedRecommendations } from '../../src/moods/types.js';
import { MAX_FAILURES_SHOWN, MAX_FAILURE_TEXT } from '../../src/moods/warm-job.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { sample } from '../harness/prometheus.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { controlledCompute, countingCompute, resultFor, useInstances, type MoodsInstance } from './helpers.js';

const HOUR_MS = 60 * 60 * 1_000;

for (const mode of ['memory', ...BACKEND_NAMES] as const) {
  describe.skipIf(mode !== 'memory' && !hasRedisServer)(`warm runs (${mode})`, () => {
    const { open, backend } = useInstances(mode, 'warm');

    /** An entry computed `ageMs` ago that expires `leftMs` from now. */
    async function storeAged(instance: MoodsInstance, mood: string, ageMs: number, leftMs: number) {
      const now = Date.now();
      await instance.cache.set('popular_mood_cache', mood, {
        recommendations: [{ id: 'old' }],
        moodAnalysis: null,
        computedAt: new Date(now - ageMs),
        expiresAt: new Date(now + leftMs),
      });
    }

    it('computes missing moods and those with less than 20% of their TTL left, skips fresh ones, and force recomputes all', async () => {
      const workflow = countingCompute();
      const instance = await open({ moods: ['calm', 'focus', 'party', 'sleepy'], computeRecommendations: workflow.compute });
      await storeAged(instance, 'calm', 1 * HOUR_MS, 1 * HOUR_MS); // 50% left: fresh
      await storeAged(instance, 'focus', 1.8 * HOUR_MS, 0.2 * HOUR_MS); // 10% left: due

      const report = await instance.moods.warm();
      expect(workflow.calls.sort()).toEqual(['focus', 'party', 'sleepy']);
      expect(report).toMatchObject({ status: 'succeeded', trigger: 'manual', total: 4, done: 4, failed: 0 });
      expect(report.finishedAt).toBeInstanceOf(Date);
      expect(Object.fromEntries(report.results.map((result) => [result.mood, result.outcome]))).toEqual({
        calm: 'fresh',
        focus: 'computed',
        party: 'computed',
        sleepy: 'computed',
      });
      const focus = await instance.moods.getPrecomputedRecommendations('focus');
      expect(focus).toMatchObject(resultFor('focus'));
      expect(focus!.expiresAt.getTime() - focus!.computedAt.getTime()).toBe(2 * HOUR_MS);
      expect((await instance.moods.getPrecomputedRecommendations('calm'))!.recommendations).toEqual([{ id: 'old' }]);

      workflow.calls.length = 0;
      expect((await instance.moods.warm()).results.every((result) => result.outcome === 'fresh')).toBe(true);
      expect(workflow.calls).toEqual([]);

      const forced = await instance.moods.warm({ force: true });
      expect(workflow.calls.sort()).toEqual(['calm', 'focus', 'party', 'sleepy']);
      expect(forced.results.every((result) => result.outcome === 'computed')).toBe(true);
      expect(await instance.moods.coverage()).toEqual({ total: 4, cached: 4, coverage: 1 });
    });

    it('warms the given moods instead, normalised and once each', async () => {
      const workflow = countingCompute();
      const instance = await open({ moods: ['calm'], computeRecommendations: workflow.compute });
      const report = await instance.moods.warm({ moods: ['Rainy Day!', 'rainy day', 'Lo-Fi & Beats'] });
      expect(workflow.calls.sort()).toEqual(['lo fi and beats', 'rainy day']);
      expect(report.total).toBe(2);
      expect(await instance.moods.getPrecomputedRecommendations('Rainy day')).not.toBeNull();
      expect(await instance.moods.getPrecomputedRecommendations('calm')).toBeNull();
    });

    it('computes two moods at a time by default, and its progress is readable while it runs', async () => {
      const workflow = controlledCompute();
      const moods = ['one', 'two', 'three', 'four', 'five'];
      const instance = await open({ moods, computeRecommendations: workflow.compute });
      expect(await instance.moods.progress()).toBeNull();

      const outcome = await instance.moods.startWarm();
      expect(outcome.started).toBe(true);
      const job = outcome.started ? outcome.job : null;
      expect(job).toMatchObject({ status: 'running', moods });
      await pollUntil(() => workflow.calls.length === 2, 'two computations to start');
      expect(await instance.moods.progress()).toMatchObject({ jobId: job!.jobId, status: 'running', total: 5, done: 0, failed: 0, finishedAt: null });

      for (let answered = 0; answered < moods.length; answered++) {
        await pollUntil(() => workflow.calls.length > answered, `computation ${answered + 1} to start`);
        workflow.calls[answered]!.answer.resolve(resultFor(workflow.calls[answered]!.mood));
        if (answered === 0) {
          await pollUntil(async () => (await instance.moods.progress())!.done === 1, 'progress to count the first mood');
          expect(await instance.moods.progress()).toMatchObject({ status: 'running', done: 1, failed: 0 });
        }
      }
      await pollUntil(async () => (await instance.moods.progress())!.status === 'succeeded', 'the run to finish');
      const finished = await instance.moods.progress();
      expect(finished).toMatchObject({ jobId: job!.jobId, total: 5, done: 5, failed: 0 });
      expect(finished!.finishedAt).toBeInstanceOf(Date);
      expect(workflow.maxInFlight).toBe(2);
      expect(workflow.calls.map((call) => call.ctx.reason)).toEqual(Array(5).fill('warm'));
    });

    it('honours warmConcurrency', async () => {
      const workflow = controlledCompute();
      const instance = await open({ moods: ['a', 'b', 'c', 'd', 'e'], computeRecommendations: workflow.compute, warmConcurrency: 4 });
      const warming = instance.moods.warm();
      await pollUntil(() => workflow.calls.length === 4, 'four computations to start');
      workflow.answerAll();
      await pollUntil(() => workflow.calls.length === 5, 'the fifth computation');
      workflow.answerAll();
      expect((await warming).done).toBe(5);
      expect(workflow.maxInFlight).toBe(4);
    });

    it('records a timed-out mood and a failing mood while the others succeed', async () => {
      const signals: AbortSignal[] = [];
      const compute = async (mood: string, ctx: { signal: AbortSignal }): Promise<ComputedRecommendations> => {
        if (mood === 'slow') {
          signals.push(ctx.signal);
          // Ends only when reprise gives up on it.
          return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted by reprise'))));
        }
        if (mood === 'broken') throw new Error('upstream answered 503');
        if (mood === 'garbled') return { tracks: [] } as never;
        return resultFor(mood);
      };
      const instance = await open({ moods: ['fine', 'slow', 'broken', 'garbled', 'also fine'], computeRecommendations: compute, warmMoodTimeoutMs: 300 });

      const report = await instance.moods.warm();
      expect(report).toMatchObject({ status: 'partial', total: 5, done: 5, failed: 3 });
      const byMood = Object.fromEntries(report.results.map((result) => [result.mood, result]));
      expect(byMood.fine!.outcome).toBe('computed');
      expect(byMood['also fine']!.outcome).toBe('computed');
      expect(byMood.slow).toMatchObject({ outcome: 'timeout', error: 'no answer within 300 ms' });
      expect(byMood.broken).toMatchObject({ outcome: 'failed', error: 'upstream answered 503' });
      expect(byMood.garbled!.outcome).toBe('failed');
      expect(byMood.garbled!.error).toMatch(/recommendations must be given/);
      // Progress names them too (what the admin route, the operator page and the command line show).
      const progress = await instance.moods.progress();
      expect(progress!.failures.map(({ mood, outcome }) => `${mood}:${outcome}`).sort()).toEqual(['broken:failed', 'garbled:failed', 'slow:timeout']);
      expect(progress!.failures.find((failure) => failure.mood === 'broken')!.error).toBe('upstream answered 503');
      expect(signals).toHaveLength(1);
      expect(signals[0]!.aborted).toBe(true);

      expect(await instance.moods.getPrecomputedRecommendations('slow')).toBeNull();
      expect(await instance.moods.getPrecomputedRecommendations('broken')).toBeNull();
      expect(await instance.moods.getPrecomputedRecommendations('fine')).not.toBeNull();
      expect(instance.logger.lines.some((line) => line.includes('timed out'))).toBe(true);

      const metrics = await instance.telemetry.metrics.registry.metrics();
      expect(sample(metrics, 'reprise_warm_moods_total', { outcome: 'computed' })).toBe(2);
      expect(sample(metrics, 'reprise_warm_moods_total', { outcome: 'timeout' })).toBe(1);
      expect(sample(metrics, 'reprise_warm_moods_total', { outcome: 'failed' })).toBe(2);
      expect(sample(metrics, 'reprise_warm_runs_total', { status: 'partial' })).toBe(1);
      expect(sample(metrics, 'reprise_warm_last_success_timestamp_seconds')).toBe(0);
    });

    it('names at most MAX_FAILURES_SHOWN failures in its progress, each error shortened and without Redis credentials', async () => {
      const moods = Array.from({ length: MAX_FAILURES_SHOWN + 5 }, (_, index) => `mood ${index}`);
      const instance = await open({ moods, computeRecommendations: async () => { throw new Error(`redis://app:s3cret@db:6379 ${'x'.repeat(500)}`); } });
      const report = await instance.moods.warm();
      expect(report).toMatchObject({ status: 'failed', failed: moods.length });
      const { failures } = (await instance.moods.progress())!;
      expect(failures).toHaveLength(MAX_FAILURES_SHOWN);
      for (const failure of failures) {
        expect(failure.error!.length).toBeLessThanOrEqual(MAX_FAILURE_TEXT);
        expect(failure.error).not.toContain('s3cret');
      }
    });

    it('calls a run in which every mood fails "failed"', async () => {
      const instance = await open({ moods: ['a', 'b'], computeRecommendations: async () => { throw new Error('down'); } });
      const report = await instance.moods.warm();
      expect(report).toMatchObject({ status: 'failed', done: 2, failed: 2 });
      expect(sample(await instance.telemetry.metrics.registry.metrics(), 'reprise_warm_runs_total', { status: 'failed' })).toBe(1);
    });

    it('refuses a second warm while one runs here, naming the running job', async () => {
      const workflow = controlledCompute();
      const instance = await open({ moods: ['a', 'b'], computeRecommendations: workflow.compute });
      const first = await instance.moods.startWarm();
      if (!first.started) throw new Error('the first warm should start');

      expect(await instance.moods.startWarm({ force: true })).toEqual({ started: false, runningJobId: first.job.jobId });
      const refusal = await instance.moods.warm().catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(WarmAlreadyRunningError);
      expect((refusal as WarmAlreadyRunningError).jobId).toBe(first.job.jobId);

      await pollUntil(() => workflow.calls.length === 2, 'both computations');
      workflow.answerAll();
      await pollUntil(async () => (await instance.moods.progress())!.status === 'succeeded', 'the first run to end');
      expect(workflow.calls).toHaveLength(2);
      expect((await instance.moods.startWarm({ force: true })).started).toBe(true);
      await pollUntil(() => workflow.calls.length === 4, 'the next run');
      workflow.answerAll();
    });

    it('rejects bad requests before anything starts, and needs computeRecommendations', async () => {
      const workflow = countingCompute();
      const instance = await open({ moods: ['a'], computeRecommendations: workflow.compute });
      await expect(instance.moods.startWarm({ moods: [] })).rejects.toThrow(/moods must be a non-empty array/);
      await expect(instance.moods.startWarm({ moods: ['ok', 42 as never] })).rejects.toThrow(/moods\[1\] must be a string/);
      await expect(instance.moods.startWarm({ moods: Array(101).fill('x') })).rejects.toThrow(/at most 100 moods/);
      await expect(instance.moods.startWarm({ force: 'yes' as never })).rejects.toThrow(/force must be true or false/);
      // Each refusal is a RepriseInputError naming the field (and the index of the mood), which HTTP answers 400 with.
      await expect(instance.moods.startWarm({ moods: ['ok', 'x'.repeat(201)] })).rejects.toThrow(/moods\[1\] is longer than 200 characters/);
      await expect(instance.moods.startWarm({ moods: ['ok', 'calm', '!!!'] })).rejects.toThrow(RepriseInputError);
      await expect(instance.moods.startWarm({ moods: ['ok', 'calm', '!!!'] })).rejects.toMatchObject({
        message: expect.stringMatching(/^moods\[2\] has no words/), details: { field: 'moods', index: 2 },
      });
      await expect(instance.moods.startWarm({ force: 1 as never })).rejects.toMatchObject({ details: { field: 'force' } });
      expect(workflow.calls).toEqual([]);
      expect(await instance.moods.progress()).toBeNull();

      const without = await open({ moods: ['a'] });
      expect(without.moods.canWarm).toBe(false);
      expect(instance.moods.canWarm).toBe(true);
      await expect(without.moods.startWarm()).rejects.toThrow(ComputeNotConfiguredError);
      await expect(without.moods.warm()).rejects.toThrow(/computeRecommendations is not configured/);
    });

    it('starts nothing once closed: a start already claiming its lock lets it go, later ones throw PopularMoodsClosedError', async () => {
      const workflow = countingCompute();
      const instance = await open({ moods: ['a'], computeRecommendations: workflow.compute });
      // Past its first check when close() begins: it finds the instance closing once it holds the lock.
      const claiming = instance.moods.startWarm().catch((error: unknown) => error);
      await instance.moods.close();
      const refusal = await claiming;
      expect(refusal).toBeInstanceOf(PopularMoodsClosedError);
      expect(refusal).toMatchObject({ name: 'PopularMoodsClosedError', message: 'popular moods are closed' });

      await expect(instance.moods.startWarm()).rejects.toThrow(PopularMoodsClosedError);
      await expect(instance.moods.warm()).rejects.toThrow(PopularMoodsClosedError);
      // Closed is what a closed instance answers, whatever the request.
      await expect(instance.moods.startWarm({ moods: [] })).rejects.toThrow(PopularMoodsClosedError);
      expect(() => instance.moods.start()).toThrow(PopularMoodsClosedError);
      expect(await instance.moods.runScheduledNow()).toEqual({ ran: false, reason: 'closed' });

      expect(workflow.calls).toEqual([]);
      expect(await instance.moods.progress()).toBeNull();
      const metrics = await instance.telemetry.metrics.registry.metrics();
      expect(sample(metrics, 'reprise_warm_runs_total', { status: 'skipped_locked' })).toBe(0);
      const prefix = instance.cache.keyPrefix;
      if (mode !== 'memory') expect(backend()!.cli('EXISTS', `${prefix}@warm-popular-moods:{${prefix}warm-popular-moods}:lock`)).toBe('0');
    });
  });
}
