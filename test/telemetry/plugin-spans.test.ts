/**
 * Spans across the whole plugin, as a host's tracing sees them: a request that reads the cache and converts IDs
 * (registry and ReccoBeats spans nested under it across awaits), and a cron-started warm that is a trace of its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createReprise, type Reprise } from '../../src/reprise.js';
import { spotifyTrackIds, startReccobeatsSimulator, type ReccobeatsSimulator } from '../../src/reccobeats/simulator/index.js';
import { silentLogger } from '../../src/logger.js';
import packageJson from '../../package.json' with { type: 'json' };
import { recordSpans } from '../harness/tracing.js';

let reprise: Reprise | undefined;
let simulator: ReccobeatsSimulator | undefined;
afterEach(async () => {
  await reprise?.close();
  await simulator?.close();
});

describe('plugin spans', () => {
  it('nest cache, registry and ReccoBeats spans under the host request, without user ids or track ids', async () => {
    const recorder = recordSpans();
    simulator = await startReccobeatsSimulator({ logger: silentLogger });
    reprise = await createReprise({
      tracerProvider: recorder.provider, reccobeats: { baseUrl: simulator.url }, warmSchedule: false, logger: silentLogger, env: {},
    });
    const ids = spotifyTrackIds(50, 'span-test');
    const userId = 'user-8812';
    const { requestSpanId, traceId } = await recorder.inRequest(async () => {
      await reprise!.cache.getOrSet('top_tracks', userId, async () => ids);
      return reprise!.reccobeats.convertSpotifyTracksToReccobeat(ids);
    });

    const spans = recorder.spans();
    const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
    const convert = recorder.named('reccobeats.convert')[0]!;
    expect(convert.parentSpanContext?.spanId).toBe(requestSpanId);
    expect(recorder.named('cache.get_or_set')[0]!.parentSpanContext?.spanId).toBe(requestSpanId);

    const registrySpans = spans.filter((span) => span.name.startsWith('registry.'));
    expect(registrySpans.length).toBeGreaterThan(0);
    const httpSpans = spans.filter((span) => span.name.startsWith('GET '));
    expect(httpSpans).toHaveLength(2); // 50 IDs: two batches of at most 40
    for (const span of [...registrySpans, ...httpSpans]) {
      // Each is inside the conversion, which is inside the request: the chain survives every await.
      let ancestor = byId.get(span.parentSpanContext!.spanId);
      while (ancestor && ancestor !== convert) ancestor = byId.get(ancestor.parentSpanContext?.spanId ?? '');
      expect(ancestor).toBe(convert);
    }
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(traceId);
      const text = JSON.stringify(span.attributes);
      expect(text).not.toContain(userId);
      for (const id of ids) expect(text).not.toContain(id);
    }
  });

  it('gives a cron-started warm a root span of its own, with a child per mood', async () => {
    const recorder = recordSpans();
    reprise = await createReprise({
      tracerProvider: recorder.provider, popularMoods: ['calm', 'party vibes'], warmSchedule: '0 3 * * *',
      computeRecommendations: async (mood) => ({ recommendations: [{ mood }] }), logger: silentLogger, env: {},
    });
    // Started from inside a request span, as a scheduler thread never is: the warm must still start a new trace.
    const { traceId } = await recorder.inRequest(() => reprise!.popularMoods.executeScheduledTask());
    const run = recorder.named('popular_moods.warm')[0]!;
    expect(run.parentSpanContext).toBeUndefined();
    expect(run.spanContext().traceId).not.toBe(traceId);
    const moods = recorder.named('popular_moods.warm_mood');
    expect(moods).toHaveLength(2);
    for (const mood of moods) expect(mood.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
  });

  it('needs no OpenTelemetry SDK at run time: the package depends on the API alone', () => {
    const runtime = { ...packageJson.dependencies, ...packageJson.peerDependencies };
    expect(Object.keys(runtime).filter((name) => name.startsWith('@opentelemetry/'))).toEqual(['@opentelemetry/api']);
  });
});
