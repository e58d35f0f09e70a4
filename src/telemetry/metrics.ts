/**
 * Every Prometheus metric reprise exports (SPEC "Telemetry"), on the host's registry or reprise's own.
 * Hot-path counts (cache hits and misses) are plain integers in the engine, read at scrape time through `collect`
 * callbacks, so an L1 hit never pays for a labelled counter. Registering twice on one registry (two plugin
 * instances in one host) reuses the metric instead of throwing.
 * Under node:cluster, prom-client's AggregatorRegistry sums each metric across workers: right for counters and
 * histograms; every gauge states its own `aggregator`.
 */
import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { MISSING_REASONS } from '../registry/entries.js';

/** What happens to a Spotify ID in ReccoBeats conversion (reprise_id_conversions_total{outcome}). */
export const CONVERSION_OUTCOMES = ['registry_validated', 'registry_missing', 'found', 'not_found', 'unresolved'] as const;
export type ConversionOutcome = (typeof CONVERSION_OUTCOMES)[number];

type Collected = Counter<string> | Gauge<string>;
type Source = (metric: Collected) => void | Promise<void>;
/** Callbacks that set a metric's values at scrape time; shared by every RepriseMetrics on one registry. */
const collectors = new WeakMap<object, Set<Source>>();

/** prom-client calls this on each scrape: start from zero, then let every live source add its figures. */
async function runCollectors(this: Collected): Promise<void> {
  const sources = collectors.get(this);
  if (!sources || sources.size === 0) return;
  this.reset();
  await Promise.all([...sources].map((source) => source(this)));
}

/** Observations a live object (a cache instance) holds back from its hot path, folded in before a metric is read. */
const flushes = new WeakMap<object, Set<() => void>>();

/** prom-client calls this on each scrape of a histogram: every live source folds in what it holds back. */
function runFlushes(this: Histogram<string>): void {
  for (const flush of flushes.get(this) ?? []) flush();
}

/** Buckets from 50 µs to 5 s: cache operations live in µs to ms, upstream calls in seconds. */
export const LATENCY_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** Upstream (ReccoBeats, host workflows) take seconds to tens of seconds. */
export const UPSTREAM_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class RepriseMetrics {
  readonly registry: Registry;
  readonly cacheRequests: Counter<'category' | 'tier' | 'result'>;
  readonly operationDuration: Histogram<'operation' | 'tier'>;
  readonly cacheErrors: Counter<'tier' | 'operation' | 'reason'>;
  readonly redisCircuitOpenings: Counter;
  readonly eventLoopDelays: Counter;
  readonly cacheBackend: Gauge<'type'>;
  readonly idRegistryLookups: Counter<'result'>;
  readonly idRegistryEntries: Gauge<'kind'>;
  readonly idRegistryMissingMarks: Counter<'reason'>;
  readonly idRegistryValidations: Counter;
  readonly idConversions: Counter<'outcome'>;
  readonly upstreamRequests: Counter<'service' | 'endpoint' | 'outcome'>;
  readonly upstreamDuration: Histogram<'service' | 'endpoint'>;
  readonly upstreamCallsAvoided: Counter<'reason'>;
  readonly popularMoodsCached: Gauge;
  readonly popularMoodsConfigured: Gauge;
  readonly warmRuns: Counter<'status'>;
  readonly warmMoods: Counter<'outcome'>;
  readonly warmLastSuccess: Gauge;
  readonly warmDuration: Histogram;
  readonly redisMemoryUsed: Gauge<'node'>;
  readonly redisMemoryMax: Gauge<'node'>;
  readonly redisMemoryPolicy: Gauge<'node' | 'policy'>;
  readonly redisEvictedKeys: Counter<'node'>;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const once = <M extends Metric>(name: string, make: () => M): M =>
      (registry.getSingleMetric(name) as M | undefined) ?? make();
    const registers = [registry];

    this.cacheRequests = once('reprise_cache_requests_total', () => new Counter({
      name: 'reprise_cache_requests_total',
      help: 'Cache reads by category, tier (memory, redis) and result (hit, miss).',
      labelNames: ['category', 'tier', 'result'] as const,
      registers,
      collect: runCollectors,
    }));
    this.operationDuration = once('reprise_cache_operation_duration_seconds', () => new Histogram({
      name: 'reprise_cache_operation_duration_seconds',
      help: 'Duration of cache operations by operation and tier.',
      labelNames: ['operation', 'tier'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
      collect: runFlushes,
    }));
    this.cacheErrors = once('reprise_cache_errors_total', () => new Counter({
      name: 'reprise_cache_errors_total',
      help: 'Failed cache operations by tier, operation and reason (connection, stalled, wait_limit; error replies: wrongtype, oom, script, noscript, readonly, other); the call was answered by its fallback.',
      labelNames: ['tier', 'operation', 'reason'] as const,
      registers,
    }));
    this.redisCircuitOpenings = once('reprise_redis_circuit_openings_total', () => new Counter({
      name: 'reprise_redis_circuit_openings_total',
      help: 'Times the circuit to Redis opened (Redis unreachable or stopped making progress); error replies never open it.',
      registers,
      collect: runCollectors,
    }));
    this.eventLoopDelays = once('reprise_event_loop_delays_total', () => new Counter({
      name: 'reprise_event_loop_delays_total',
      help: "Times this process's own event loop was late while Redis calls waited; those stretches are never blamed on Redis.",
      registers,
      collect: runCollectors,
    }));
    this.cacheBackend = once('reprise_cache_backend', () => new Gauge({
      name: 'reprise_cache_backend',
      help: 'Where cache requests go now: 1 for the active backend (redis or memory), 0 for the other.',
      labelNames: ['type'] as const,
      // Under node:cluster: 1 if any worker serves from that backend (the alerts test == 1), never N.
      aggregator: 'max',
      registers,
      collect: runCollectors,
    }));
    this.idRegistryLookups = once('reprise_id_registry_lookups_total', () => new Counter({
      name: 'reprise_id_registry_lookups_total',
      help: 'ID registry lookups by result (validated, missing, unknown).',
      labelNames: ['result'] as const,
      registers,
    }));
    this.idRegistryEntries = once('reprise_id_registry_entries', () => new Gauge({
      name: 'reprise_id_registry_entries',
      help: 'Live ID registry entries by kind (validated, missing; missing IDs in Bloom filters are counted by estimate).',
      labelNames: ['kind'] as const,
      // Counted in the shared store: every worker reports the same figure.
      aggregator: 'max',
      registers,
      collect: runCollectors,
    }));
    // Registry patterns (alerts: a surge of missing marks against validations, conversions failing).
    this.idRegistryMissingMarks = once('reprise_id_registry_missing_marks_total', () => new Counter({
      name: 'reprise_id_registry_missing_marks_total',
      help: 'Spotify IDs this process marked missing from ReccoBeats, by reason (not_found, invalid, unavailable, manual, other).',
      labelNames: ['reason'] as const,
      registers,
    }));
    this.idRegistryValidations = once('reprise_id_registry_validations_total', () => new Counter({
      name: 'reprise_id_registry_validations_total',
      help: 'Spotify <-> ReccoBeats mappings this process recorded as validated.',
      registers,
    }));
    this.idConversions = once('reprise_id_conversions_total', () => new Counter({
      name: 'reprise_id_conversions_total',
      help: 'Spotify IDs through ReccoBeats conversion by outcome (registry_validated, registry_missing: answered by the registry; found, not_found: answered by ReccoBeats; unresolved: its batch failed or its answer could not be matched).',
      labelNames: ['outcome'] as const,
      registers,
    }));
    this.upstreamRequests = once('reprise_upstream_requests_total', () => new Counter({
      name: 'reprise_upstream_requests_total',
      help: 'HTTP requests to upstream services by service, endpoint and outcome (success, client_error, server_error, rate_limited, timeout, network_error, invalid_response).',
      labelNames: ['service', 'endpoint', 'outcome'] as const,
      registers,
    }));
    this.upstreamDuration = once('reprise_upstream_request_duration_seconds', () => new Histogram({
      name: 'reprise_upstream_request_duration_seconds',
      help: 'Duration of upstream HTTP requests by service and endpoint.',
      labelNames: ['service', 'endpoint'] as const,
      buckets: UPSTREAM_BUCKETS_SECONDS,
      registers,
    }));
    this.upstreamCallsAvoided = once('reprise_upstream_calls_avoided_total', () => new Counter({
      name: 'reprise_upstream_calls_avoided_total',
      help: 'Upstream lookups not made, by reason (validated_id, known_missing, duplicate, shared_in_flight, precomputed).',
      labelNames: ['reason'] as const,
      registers,
    }));
    this.popularMoodsCached = once('reprise_popular_moods_cached', () => new Gauge({
      name: 'reprise_popular_moods_cached',
      help: 'Popular moods with a precomputed result in the cache.',
      // Read from the shared cache: every worker reports the same figure.
      aggregator: 'max',
      registers,
      collect: runCollectors,
    }));
    this.popularMoodsConfigured = once('reprise_popular_moods_configured', () => new Gauge({
      name: 'reprise_popular_moods_configured',
      help: 'Popular moods reprise keeps precomputed.',
      // The same configuration on every worker.
      aggregator: 'max',
      registers,
    }));
    this.warmRuns = once('reprise_warm_runs_total', () => new Counter({
      name: 'reprise_warm_runs_total',
      help: 'Popular mood warm runs by status (succeeded, partial, failed, skipped_locked, skipped_slot_done).',
      labelNames: ['status'] as const,
      registers,
    }));
    this.warmMoods = once('reprise_warm_moods_total', () => new Counter({
      name: 'reprise_warm_moods_total',
      help: 'Moods handled by warm runs by outcome (computed, fresh, failed, timeout, cancelled).',
      labelNames: ['outcome'] as const,
      registers,
    }));
    this.warmLastSuccess = once('reprise_warm_last_success_timestamp_seconds', () => new Gauge({
      name: 'reprise_warm_last_success_timestamp_seconds',
      help: 'Unix time of the last warm run that finished without failures.',
      // Set by the worker that ran the warm: the latest success of any worker.
      aggregator: 'max',
      registers,
    }));
    this.warmDuration = once('reprise_warm_run_duration_seconds', () => new Histogram({
      name: 'reprise_warm_run_duration_seconds',
      help: 'Duration of popular mood warm runs.',
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800],
      registers,
    }));

    // Each Redis node as INFO last described it (src/redis/memory-watch.ts). Every worker reads the same nodes, so
    // a cluster aggregator takes the largest figure, not their sum.
    this.redisMemoryUsed = once('reprise_redis_memory_used_bytes', () => new Gauge({
      name: 'reprise_redis_memory_used_bytes',
      help: 'Memory Redis counts against maxmemory (INFO used_memory), per node (host:port).',
      labelNames: ['node'] as const,
      aggregator: 'max',
      registers,
      collect: runCollectors,
    }));
    this.redisMemoryMax = once('reprise_redis_memory_max_bytes', () => new Gauge({
      name: 'reprise_redis_memory_max_bytes',
      help: 'The maxmemory setting of each Redis node (host:port); 0 means no limit.',
      labelNames: ['node'] as const,
      aggregator: 'max',
      registers,
      collect: runCollectors,
    }));
    this.redisMemoryPolicy = once('reprise_redis_memory_policy_info', () => new Gauge({
      name: 'reprise_redis_memory_policy_info',
      help: 'The maxmemory-policy of each Redis node (host:port): 1 for the policy in force.',
      labelNames: ['node', 'policy'] as const,
      aggregator: 'max',
      registers,
      collect: runCollectors,
    }));
    this.redisEvictedKeys = once('reprise_redis_evicted_keys_total', () => new Counter({
      name: 'reprise_redis_evicted_keys_total',
      help: 'Keys each Redis node (host:port) evicted to stay under maxmemory since it started (INFO evicted_keys).',
      labelNames: ['node'] as const,
      aggregator: 'max',
      registers,
      collect: runCollectors,
    }));

    // Series that exist from the start, at 0: rate() and increase() then see their first event (a series born at 1 hides it).
    for (const result of ['validated', 'missing', 'unknown']) this.idRegistryLookups.inc({ result }, 0);
    for (const reason of MISSING_REASONS) this.idRegistryMissingMarks.inc({ reason }, 0);
    this.idRegistryValidations.inc(0);
    for (const outcome of CONVERSION_OUTCOMES) this.idConversions.inc({ outcome }, 0);
    for (const reason of ['validated_id', 'known_missing', 'duplicate', 'shared_in_flight', 'precomputed']) this.upstreamCallsAvoided.inc({ reason }, 0);
    for (const status of ['succeeded', 'partial', 'failed', 'skipped_locked', 'skipped_slot_done']) this.warmRuns.inc({ status }, 0);
    for (const outcome of ['computed', 'fresh', 'failed', 'timeout', 'cancelled']) this.warmMoods.inc({ outcome }, 0);
  }

  /**
   * Lets a live object (a cache instance) set `metric`'s values at scrape time, so its hot path only bumps plain
   * integers. Returns the removal, called when that object closes.
   */
  collectInto<M extends Collected>(metric: M, source: (metric: M) => void | Promise<void>): () => void {
    let sources = collectors.get(metric);
    if (!sources) collectors.set(metric, (sources = new Set()));
    const entry = source as Source;
    sources.add(entry);
    return () => sources.delete(entry);
  }

  /**
   * Lets a live object observe `histogram` in batches: `flush` folds in what it holds back, and runs before every
   * scrape, so a scrape sees every observation. Returns the removal, called when that object closes.
   */
  flushBeforeScrape(histogram: Histogram<string>, flush: () => void): () => void {
    let sources = flushes.get(histogram);
    if (!sources) flushes.set(histogram, (sources = new Set()));
    sources.add(flush);
    return () => sources.delete(flush);
  }
}
