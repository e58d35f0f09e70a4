/**
 * reprise's metrics under node:cluster: prom-client's AggregatorRegistry combines the workers' registries metric by
 * metric with each one's `aggregator`. Counters and histograms add up; every gauge has a deliberate rule, so one
 * instance on Redis shows 1 (not N), and figures every worker reads from the shared store are not multiplied.
 */
import { AggregatorRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RepriseMetrics } from '../../src/telemetry/metrics.js';
import { sample } from '../harness/prometheus.js';

/**
 * How each gauge combines across workers. A new gauge fails the test below until it is listed here: decide whether
 * the workers' values add up (a per-process amount) or are one figure seen by all (a flag, a shared count, a time).
 */
const GAUGE_AGGREGATORS: Record<string, string> = {
  reprise_cache_backend: 'max',
  reprise_id_registry_entries: 'max',
  reprise_popular_moods_cached: 'max',
  reprise_popular_moods_configured: 'max',
  reprise_warm_last_success_timestamp_seconds: 'max',
  // What each Redis node says of itself: every worker reads the same figures.
  reprise_redis_memory_used_bytes: 'max',
  reprise_redis_memory_max_bytes: 'max',
  reprise_redis_memory_policy_info: 'max',
};

/** Counters that are not this process's own work but a figure read from Redis, the same in every worker. */
const SHARED_COUNTERS: Record<string, string> = {
  reprise_redis_evicted_keys_total: 'max',
};

/** One worker's metrics: reprise's own registry, with its backend flag set as the cache sets it at scrape time. */
function worker(backend: 'redis' | 'memory') {
  const metrics = new RepriseMetrics(new Registry());
  metrics.collectInto(metrics.cacheBackend, (gauge) => {
    gauge.set({ type: 'redis' }, backend === 'redis' ? 1 : 0);
    gauge.set({ type: 'memory' }, backend === 'memory' ? 1 : 0);
  });
  metrics.collectInto(metrics.idRegistryEntries, (gauge) => gauge.set({ kind: 'validated' }, 120));
  metrics.popularMoodsConfigured.set(10);
  return metrics;
}

/** What the primary's clusterMetrics() answers: the workers' registries aggregated. */
async function aggregated(workers: RepriseMetrics[]): Promise<string> {
  const registries = await Promise.all(workers.map((each) => each.registry.getMetricsAsJSON()));
  return AggregatorRegistry.aggregate(registries).metrics();
}

describe('reprise metrics aggregated across node:cluster workers', () => {
  it('sums every counter and histogram of work done, and combines each gauge and shared figure by the rule decided for it', async () => {
    const registry = new Registry();
    new RepriseMetrics(registry);
    for (const metric of await registry.getMetricsAsJSON()) {
      if (String(metric.type) === 'gauge') {
        expect(GAUGE_AGGREGATORS, `decide how ${metric.name} combines across workers`).toHaveProperty(metric.name);
        expect(metric.aggregator, metric.name).toBe(GAUGE_AGGREGATORS[metric.name]);
      } else {
        expect(metric.aggregator, metric.name).toBe(SHARED_COUNTERS[metric.name] ?? 'sum');
      }
    }
  });

  it('adds up the work of three workers and shows one instance on Redis as 1', async () => {
    const workers = [worker('redis'), worker('redis'), worker('redis')];
    workers.forEach((each, index) => {
      each.upstreamRequests.inc({ service: 'reccobeats', endpoint: 'track', outcome: 'success' }, index + 1);
      each.warmRuns.inc({ status: index === 0 ? 'succeeded' : 'skipped_locked' });
      each.operationDuration.observe({ operation: 'get', tier: 'memory' }, 0.0002);
    });
    workers[0]!.warmLastSuccess.set(1_700_000_000);
    workers[1]!.warmLastSuccess.set(1_700_000_500);

    const text = await aggregated(workers);
    expect(sample(text, 'reprise_upstream_requests_total', { endpoint: 'track', outcome: 'success' })).toBe(6);
    expect(sample(text, 'reprise_warm_runs_total', { status: 'succeeded' })).toBe(1);
    expect(sample(text, 'reprise_warm_runs_total', { status: 'skipped_locked' })).toBe(2);
    expect(sample(text, 'reprise_cache_operation_duration_seconds_count', { operation: 'get', tier: 'memory' })).toBe(3);
    expect(sample(text, 'reprise_cache_operation_duration_seconds_bucket', { operation: 'get', tier: 'memory', le: '0.00025' })).toBe(3);
    expect(sample(text, 'reprise_cache_backend', { type: 'redis' })).toBe(1);
    expect(sample(text, 'reprise_cache_backend', { type: 'memory' })).toBe(0);
    // Read from the shared store or the shared configuration: the same on every worker, so not tripled.
    expect(sample(text, 'reprise_id_registry_entries', { kind: 'validated' })).toBe(120);
    expect(sample(text, 'reprise_popular_moods_configured')).toBe(10);
    // The latest success of any worker.
    expect(sample(text, 'reprise_warm_last_success_timestamp_seconds')).toBe(1_700_000_500);
  });

  it('flags memory as soon as one worker serves from it, while the others still show Redis', async () => {
    const text = await aggregated([worker('redis'), worker('memory'), worker('redis')]);
    // What RepriseRedisDown and RepriseRunningOnMemory test: reprise_cache_backend{type="memory"} == 1.
    expect(sample(text, 'reprise_cache_backend', { type: 'memory' })).toBe(1);
    expect(sample(text, 'reprise_cache_backend', { type: 'redis' })).toBe(1);
  });
});
