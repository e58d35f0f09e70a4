/** The profiler behind GET /profiling/metrics: counts since start, quantiles over the recent window, bounded names. */
import { describe, expect, it } from 'vitest';
import { PROFILE_WINDOW_SAMPLES, Profiler } from '../../src/telemetry/profiler.js';

describe('profiler', () => {
  it('gives count and mean since start, and quantiles over the most recent samples', () => {
    const profiler = new Profiler();
    for (let i = 1; i <= 100; i++) profiler.record('stage', i / 1_000);
    const stage = profiler.snapshot().stage!;
    expect(stage.count).toBe(100);
    expect(stage.mean).toBeCloseTo(0.0505, 9);
    expect([stage.p50, stage.p95, stage.p99]).toEqual([0.051, 0.096, 0.1]);
    // Old samples leave the window: after a window of slow ones, the quantiles are theirs alone.
    for (let i = 0; i < PROFILE_WINDOW_SAMPLES; i++) profiler.record('stage', 2);
    expect(profiler.snapshot().stage).toMatchObject({ count: 100 + PROFILE_WINDOW_SAMPLES, p50: 2, p99: 2 });
  });

  it('times sync and async stages, failures included', async () => {
    const profiler = new Profiler();
    expect(await profiler.time('ok', () => 42)).toBe(42);
    await expect(profiler.time('boom', async () => { throw new Error('no'); })).rejects.toThrow('no');
    expect(Object.keys(profiler.snapshot())).toEqual(['boom', 'ok']);
  });

  it('keeps a bounded number of names and refuses names that are not plain', () => {
    const profiler = new Profiler();
    for (let i = 0; i < 250; i++) profiler.record(`host.stage_${i}`, 0.001);
    const names = Object.keys(profiler.snapshot());
    expect(names).toHaveLength(201);
    expect(profiler.snapshot().other!.count).toBe(50);
    expect(() => profiler.record('user 42 / prompt', 1)).toThrow(/profile names/);
  });
});
