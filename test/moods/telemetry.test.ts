/** What warm runs report: a root span per run with a child per mood, and the warm metrics of SPEC. */
import { SpanStatusCode } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { sample } from '../harness/prometheus.js';
import { recordSpans } from '../harness/tracing.js';
import { countingCompute, resultFor, useInstances } from './helpers.js';

const { open } = useInstances('memory', 'tel');

describe('warm run spans', () => {
  it('make a scheduled run one root span, even inside another trace, with a child span per mood', async () => {
    const recorder = recordSpans();
    const compute = async (mood: string) => {
      if (mood === 'focus') throw new Error('upstream 502');
      return resultFor(mood);
    };
    const instance = await open({
      moods: ['calm', 'focus', 'party'],
      computeRecommendations: compute,
      telemetry: new Telemetry({ tracerProvider: recorder.provider }),
    });

    const { result } = await recorder.inRequest(() => instance.moods.runScheduledNow(new Date('2030-01-01T03:00:00Z')));
    expect(result.ran).toBe(true);

    const [run, ...moreRuns] = recorder.named('popular_moods.warm');
    expect(moreRuns).toHaveLength(0);
    expect(run!.parentSpanContext).toBeUndefined();
    expect(run!.attributes).toMatchObject({
      'popular_moods.trigger': 'schedule',
      'popular_moods.total': 3,
      'popular_moods.status': 'partial',
      'popular_moods.failed': 1,
    });
    const moods = recorder.named('popular_moods.warm_mood');
    expect(moods).toHaveLength(3);
    for (const span of moods) {
      expect(span.parentSpanContext?.spanId).toBe(run!.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(run!.spanContext().traceId);
    }
    const byMood = Object.fromEntries(moods.map((span) => [span.attributes['popular_moods.mood'], span]));
    expect(byMood.calm!.attributes['popular_moods.outcome']).toBe('computed');
    expect(byMood.calm!.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(byMood.focus!.attributes['popular_moods.outcome']).toBe('failed');
    expect(byMood.focus!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('make a manual run a child of the request that started it, without naming moods users typed', async () => {
    const recorder = recordSpans();
    const instance = await open({
      moods: ['calm'],
      computeRecommendations: countingCompute().compute,
      telemetry: new Telemetry({ tracerProvider: recorder.provider }),
    });
    const { requestSpanId, traceId } = await recorder.inRequest(() => instance.moods.warm({ moods: ['calm', 'my ex called me today'] }));

    const [run] = recorder.named('popular_moods.warm');
    expect(run!.parentSpanContext?.spanId).toBe(requestSpanId);
    expect(run!.spanContext().traceId).toBe(traceId);
    expect(run!.attributes['popular_moods.trigger']).toBe('manual');
    const moods = recorder.named('popular_moods.warm_mood');
    expect(moods.map((span) => span.attributes['popular_moods.mood']).filter(Boolean)).toEqual(['calm']);
    expect(moods.filter((span) => span.attributes['popular_moods.mood_source'] === 'requested')).toHaveLength(1);
    expect(JSON.stringify(recorder.spans().map((span) => span.attributes))).not.toContain('my ex called me');
  });
});

describe('warm run metrics', () => {
  it('count runs by status and moods by outcome, time runs, and stamp the last success', async () => {
    const registry = new Registry();
    const instance = await open({
      moods: ['calm', 'focus'],
      computeRecommendations: countingCompute().compute,
      telemetry: new Telemetry({ registry }),
    });
    const before = Date.now() / 1_000;
    await instance.moods.warm();
    await instance.moods.warm();

    const text = await registry.metrics();
    expect(sample(text, 'reprise_warm_runs_total', { status: 'succeeded' })).toBe(2);
    expect(sample(text, 'reprise_warm_moods_total', { outcome: 'computed' })).toBe(2);
    expect(sample(text, 'reprise_warm_moods_total', { outcome: 'fresh' })).toBe(2);
    expect(sample(text, 'reprise_warm_run_duration_seconds_count')).toBe(2);
    expect(sample(text, 'reprise_warm_last_success_timestamp_seconds')).toBeGreaterThanOrEqual(Math.floor(before));
    expect(sample(text, 'reprise_popular_moods_cached')).toBe(2);
    expect(sample(text, 'reprise_popular_moods_configured')).toBe(2);
  });

  it('count a refused run as skipped_locked', async () => {
    const registry = new Registry();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const instance = await open({
      moods: ['calm'],
      computeRecommendations: async (mood) => {
        await gate;
        return resultFor(mood);
      },
      telemetry: new Telemetry({ registry }),
    });
    const first = await instance.moods.startWarm();
    expect(first.started).toBe(true);
    expect((await instance.moods.startWarm()).started).toBe(false);
    release();
    await instance.close();
    const text = await registry.metrics();
    expect(sample(text, 'reprise_warm_runs_total', { status: 'skipped_locked' })).toBe(1);
    expect(sample(text, 'reprise_warm_runs_total', { status: 'succeeded' })).toBe(1);
  });
});
