/** What the engine reports: Prometheus figures that follow real operations, and spans that sit in the host's trace. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCache, type RepriseCache } from '../../src/index.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { recordingLogger } from '../harness/logger.js';
import { closeAfterEachTest, useRedisServer } from '../harness/lifecycle.js';
import { hasRedisServer } from '../harness/redis-servers.js';
import { recordSpans } from '../harness/tracing.js';
import { sample } from '../harness/prometheus.js';

const opened = closeAfterEachTest<RepriseCache>();

describe('cache metrics in memory mode', () => {
  it('counts hits and misses per category and tier at scrape time, and names the memory backend', async () => {
    const registry = new Registry();
    const cache = await createCache({ telemetry: new Telemetry({ registry }), logger: recordingLogger(), env: {} });
    opened.push(cache);
    const before = await registry.metrics();
    expect(sample(before, 'reprise_cache_requests_total', { category: 'recommendations', tier: 'memory', result: 'hit' })).toBe(0);

    await cache.set('recommendations', 'calm', { tracks: [] });
    await cache.get('recommendations', 'calm');
    await cache.get('recommendations', 'calm');
    await cache.get('recommendations', 'absent');

    const after = await registry.metrics();
    expect(sample(after, 'reprise_cache_requests_total', { category: 'recommendations', tier: 'memory', result: 'hit' })).toBe(2);
    expect(sample(after, 'reprise_cache_requests_total', { category: 'recommendations', tier: 'memory', result: 'miss' })).toBe(1);
    expect(sample(after, 'reprise_cache_backend', { type: 'memory' })).toBe(1);
    expect(sample(after, 'reprise_cache_backend', { type: 'redis' })).toBe(0);
    // Misses are timed every time; the 1-in-64 sample of memory hits is not reached by two hits.
    expect(sample(after, 'reprise_cache_operation_duration_seconds_count', { operation: 'get', tier: 'memory' })).toBe(1);
  });

  it('lets two caches share one registry: figures add up and closing one removes only its own', async () => {
    const registry = new Registry();
    const first = await createCache({ telemetry: new Telemetry({ registry }), logger: recordingLogger(), env: {} });
    const second = await createCache({ telemetry: new Telemetry({ registry }), logger: recordingLogger(), env: {} });
    opened.push(first, second);
    await first.set('top_tracks', 'u', [1]);
    await second.set('top_tracks', 'u', [2]);
    await first.get('top_tracks', 'u');
    await second.get('top_tracks', 'u');
    await second.get('top_tracks', 'u');
    const labels = { category: 'top_tracks', tier: 'memory', result: 'hit' };
    expect(sample(await registry.metrics(), 'reprise_cache_requests_total', labels)).toBe(3);
    await first.close();
    expect(sample(await registry.metrics(), 'reprise_cache_requests_total', labels)).toBe(2);
  });

  it('samples memory hits for the latency histogram: one in 64', async () => {
    const registry = new Registry();
    const cache = await createCache({ telemetry: new Telemetry({ registry }), logger: recordingLogger(), env: {} });
    opened.push(cache);
    await cache.set('track_details', 't', { title: 'x' });
    for (let i = 0; i < 640; i++) await cache.get('track_details', 't');
    const text = await registry.metrics();
    expect(sample(text, 'reprise_cache_operation_duration_seconds_count', { operation: 'get', tier: 'memory' })).toBe(10);
  });
});

describe('cache spans', () => {
  it('start no trace of their own outside a recorded span', async () => {
    const recorder = recordSpans();
    const cache = await createCache({ telemetry: new Telemetry({ tracerProvider: recorder.provider }), logger: recordingLogger(), env: {} });
    opened.push(cache);
    await cache.set('recommendations', 'calm', [1]);
    await cache.get('recommendations', 'calm');
    expect(recorder.spans()).toHaveLength(0);
  });

  it('are children of the host request span across awaits, with category, tier and hit, and no key or user id', async () => {
    const recorder = recordSpans();
    const cache = await createCache({ telemetry: new Telemetry({ tracerProvider: recorder.provider }), logger: recordingLogger(), env: {} });
    opened.push(cache);
    const userId = 'user-4711';
    const { requestSpanId, traceId } = await recorder.inRequest(async () => {
      await cache.setWorkflowArtifacts({ userId, moodPrompt: 'rainy sunday', artifacts: { seeds: ['a'] } });
      await cache.get('recommendations', [userId, 'absent']);
      await cache.getWorkflowArtifacts({ userId, moodPrompt: 'rainy sunday' });
      return cache.getOrSet('mood_analysis', [userId, 'rainy'], async () => ({ valence: 0.2 }));
    });

    const reads = recorder.named('cache.get');
    expect(reads.length).toBeGreaterThanOrEqual(2);
    const miss = reads.find((span) => span.attributes['cache.hit'] === false)!;
    expect(miss.attributes['cache.category']).toBe('recommendations');
    expect(miss.attributes['cache.tier']).toBe('memory');
    const hit = reads.find((span) => span.attributes['cache.hit'] === true)!;
    expect(hit.attributes['cache.category']).toBe('workflow_artifacts');
    expect(hit.attributes['cache.tier']).toBe('memory');
    const load = recorder.named('cache.get_or_set')[0]!;
    expect(load.attributes['cache.hit']).toBe(false);

    for (const span of recorder.spans().filter((s) => s.name.startsWith('cache.'))) {
      expect(span.spanContext().traceId).toBe(traceId);
      expect(span.parentSpanContext?.spanId).toBe(requestSpanId);
      expect(JSON.stringify(span.attributes)).not.toContain(userId);
      expect(JSON.stringify(span.attributes)).not.toContain('rainy');
    }
  });
});

describe.skipIf(!hasRedisServer)('cache telemetry on Redis', () => {
  const server = useRedisServer();

  it('counts Redis hits, names the Redis backend, and counts errors while Redis hangs', async () => {
    const registry = new Registry();
    const cache = await createCache({
      redisUrl: server().url, keyPrefix: 'telemetry:', telemetry: new Telemetry({ registry }), logger: recordingLogger(),
      redisCommandTimeoutMs: 200, env: {},
    });
    opened.push(cache);
    const other = await createCache({ redisUrl: server().url, keyPrefix: 'telemetry:', logger: recordingLogger(), env: {} });
    opened.push(other);
    await other.set('user_profile', 'u1', { name: 'n' });
    expect(await cache.get('user_profile', 'u1')).toEqual({ name: 'n' });
    let text = await registry.metrics();
    expect(sample(text, 'reprise_cache_requests_total', { category: 'user_profile', tier: 'redis', result: 'hit' })).toBe(1);
    expect(sample(text, 'reprise_cache_backend', { type: 'redis' })).toBe(1);
    expect(sample(text, 'reprise_cache_operation_duration_seconds_count', { operation: 'get', tier: 'redis' })).toBe(1);

    server().pause();
    try {
      expect(await cache.get('user_profile', 'u2')).toBeUndefined();
    } finally {
      server().resume();
    }
    text = await registry.metrics();
    expect(sample(text, 'reprise_cache_errors_total', { tier: 'redis', operation: 'get' })).toBe(1);
  });
});
