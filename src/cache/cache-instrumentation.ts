/**
 * What the engine reports about itself, kept cheap on the hot path: hit and miss counts are plain integers that
 * Prometheus reads at scrape time, memory hits are timed 1 in 64, and spans are made only inside a trace the host
 * records (like the ioredis instrumentation, reprise starts no trace of its own for cache calls).
 */
import type { Span } from '@opentelemetry/api';
import { CACHE_CATEGORIES, type CacheCategory } from './categories.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { RedisGatewayStatus } from '../redis/gateway.js';

export type Tier = 'memory' | 'redis';
export type TimedOperation = 'get' | 'get_many' | 'set' | 'delete' | 'get_or_set' | 'invalidate';

export interface CategoryCounters {
  memoryHits: number;
  memoryMisses: number;
  redisHits: number;
  redisMisses: number;
  /** Values found in Redis that were corrupt or not reprise's: counted as misses, never thrown. */
  decodeErrors: number;
}

export interface CategoryStats {
  hits: number;
  misses: number;
  hitRate: number;
  memory: { hits: number; misses: number };
  redis: { hits: number; misses: number; decodeErrors: number };
}

export type ReadOutcome = 'memory_hit' | 'memory_miss' | 'redis_hit' | 'redis_miss' | 'redis_undecodable';

function newCounters(): CategoryCounters {
  return { memoryHits: 0, memoryMisses: 0, redisHits: 0, redisMisses: 0, decodeErrors: 0 };
}

const TIMED_OPERATIONS: readonly TimedOperation[] = ['get', 'get_many', 'set', 'delete', 'get_or_set', 'invalidate'];

type DurationLabels = Readonly<{ operation: TimedOperation; tier: Tier }>;

/** The labels and profile name of each operation, built once: observe runs on every Redis read. */
const DURATION_LABELS = Object.fromEntries(
  TIMED_OPERATIONS.map((operation) => [operation, { memory: Object.freeze({ operation, tier: 'memory' }), redis: Object.freeze({ operation, tier: 'redis' }) }]),
) as Record<TimedOperation, Record<Tier, DurationLabels>>;

/** Durations held back from the histogram at most (see observe). */
const DURATIONS_PER_FOLD = 256;
const PROFILE_NAMES = Object.fromEntries(TIMED_OPERATIONS.map((operation) => [operation, `cache.${operation}`])) as Record<TimedOperation, string>;

/** One memory hit in this many is timed: timing every hit would cost as much as the hit itself. */
const MEMORY_HIT_SAMPLE_MASK = 63;

export class CacheInstrumentation {
  /** Reads and writes per category, bumped by the engine. */
  readonly counters = Object.fromEntries(CACHE_CATEGORIES.map((category) => [category, newCounters()])) as Record<CacheCategory, CategoryCounters>;
  private memoryReads = 0;
  private readonly detach: Array<() => void>;
  /** Durations not yet folded into the histogram, with their labels, in the order they were observed. */
  private readonly pendingSeconds = new Float64Array(DURATIONS_PER_FOLD);
  private readonly pendingLabels: DurationLabels[] = [];
  private pending = 0;
  private closed = false;

  constructor(
    readonly telemetry: Telemetry,
    /** Where requests go right now. */
    private readonly backend: () => Tier,
    /** The Redis funnel's own counts, read at scrape time. */
    private readonly redisStatus: () => Pick<RedisGatewayStatus, 'circuitOpenings' | 'eventLoopDelays'>,
  ) {
    this.detach = this.exportMetrics();
  }

  /** True for the memory reads that get timed. */
  sampleMemoryRead(): boolean {
    return (++this.memoryReads & MEMORY_HIT_SAMPLE_MASK) === 0;
  }

  /**
   * Counts what a read found, the one place hit and miss figures change. `memory`: found in memory or not; `redis`:
   * what Redis answered for a read that missed memory (an undecodable value is a miss too, counted apart).
   */
  count(category: CacheCategory, outcome: ReadOutcome, n = 1): void {
    const counters = this.counters[category];
    switch (outcome) {
      case 'memory_hit':
        counters.memoryHits += n;
        break;
      case 'memory_miss':
        counters.memoryMisses += n;
        break;
      case 'redis_hit':
        counters.redisHits += n;
        break;
      case 'redis_undecodable':
        counters.decodeErrors += n;
        counters.redisMisses += n;
        break;
      case 'redis_miss':
        counters.redisMisses += n;
        break;
    }
  }

  /** The read figures of stats(): per category, in all, and per tier. */
  figures() {
    const total = { hits: 0, misses: 0, memory: { hits: 0, misses: 0 }, redis: { hits: 0, misses: 0, decodeErrors: 0 } };
    const categories = {} as Record<CacheCategory, CategoryStats>;
    for (const category of CACHE_CATEGORIES) {
      const c = this.counters[category];
      const hits = c.memoryHits + c.redisHits;
      // Every read that missed memory went on to Redis (or would have): its outcome there decides.
      const misses = c.memoryMisses - c.redisHits;
      categories[category] = {
        hits,
        misses,
        hitRate: ratio(hits, hits + misses),
        memory: { hits: c.memoryHits, misses: c.memoryMisses },
        redis: { hits: c.redisHits, misses: c.redisMisses, decodeErrors: c.decodeErrors },
      };
      total.hits += hits;
      total.misses += misses;
      total.memory.hits += c.memoryHits;
      total.memory.misses += c.memoryMisses;
      total.redis.hits += c.redisHits;
      total.redis.misses += c.redisMisses;
      total.redis.decodeErrors += c.decodeErrors;
    }
    return { ...total, hitRate: ratio(total.hits, total.hits + total.misses), categories };
  }

  /** A memory hit: counted, timed when sampled, and a span when the caller is inside a recorded trace. */
  memoryHit(operation: TimedOperation, category: CacheCategory, startedIfSampled: number | undefined): void {
    this.count(category, 'memory_hit');
    if (startedIfSampled !== undefined) this.observe(operation, 'memory', startedIfSampled);
    if (this.telemetry.tracing) {
      this.telemetry.tracer
        .startSpan(`cache.${operation}`, {
          attributes: { 'cache.operation': operation, 'cache.category': category, 'cache.hit': true, 'cache.tier': 'memory' },
        })
        .end();
    }
  }

  /**
   * The start of an operation timed by its own last step (`finish`) instead of `around`, which costs a promise and a
   * turn of its own; undefined inside a recorded trace, where the operation needs `around` for its span.
   */
  startUntraced(): number | undefined {
    return this.telemetry.tracing ? undefined : performance.now();
  }

  /** Ends a timed operation (`startUntraced`, `around`): its duration, under the tier serving requests now. */
  finish(operation: TimedOperation, started: number): void {
    this.observe(operation, this.backend(), started);
  }

  /** Times an operation that may reach Redis, under the tier that served it, inside a span when traced. */
  around<T>(operation: TimedOperation, category: CacheCategory | 'all', run: (span?: Span) => Promise<T>): Promise<T> {
    const started = performance.now();
    if (this.telemetry.tracing) return this.aroundTraced(operation, category, run, started);
    // Untraced (the usual case) it is on every Redis read: one reaction to the operation's own promise, no async
    // function of its own in between.
    let running: Promise<T>;
    try {
      running = run();
    } catch (error) {
      this.finish(operation, started);
      return Promise.reject(error);
    }
    return running.then(
      (result) => {
        this.finish(operation, started);
        return result;
      },
      (error: unknown) => {
        this.finish(operation, started);
        throw error;
      },
    );
  }

  private async aroundTraced<T>(operation: TimedOperation, category: CacheCategory | 'all', run: (span?: Span) => Promise<T>, started: number): Promise<T> {
    try {
      return await this.telemetry.span(`cache.${operation}`, async (span) => {
        const result = await run(span);
        span.setAttribute('cache.tier', this.backend());
        return result;
      }, { attributes: { 'cache.operation': operation, 'cache.category': category } });
    } finally {
      this.finish(operation, started);
    }
  }

  close(): void {
    this.closed = true;
    this.foldDurations();
    for (const detach of this.detach) detach();
  }

  /**
   * One prom-client observe costs about what decoding a value does (it turns the bucket bound into a string key
   * each time), and several times that between two Redis replies, when its code and data have gone cold. So each
   * duration is kept here and folded into the histogram in a batch: when the batch is full, before every scrape and
   * at close. A scrape sees every duration; the profiler ring takes each one at once.
   */
  private observe(operation: TimedOperation, tier: Tier, started: number): void {
    const seconds = (performance.now() - started) / 1_000;
    this.pendingSeconds[this.pending] = seconds;
    this.pendingLabels[this.pending] = DURATION_LABELS[operation][tier];
    // Once closed, nothing scrapes for this instance any more: a late call's duration goes in at once.
    if (++this.pending === DURATIONS_PER_FOLD || this.closed) this.foldDurations();
    this.telemetry.profiler.record(PROFILE_NAMES[operation], seconds);
  }

  private foldDurations(): void {
    const histogram = this.telemetry.metrics.operationDuration;
    const count = this.pending;
    this.pending = 0;
    for (let i = 0; i < count; i++) histogram.observe(this.pendingLabels[i]!, this.pendingSeconds[i]!);
  }

  private exportMetrics(): Array<() => void> {
    const { metrics } = this.telemetry;
    return [
      metrics.flushBeforeScrape(metrics.operationDuration, () => this.foldDurations()),
      metrics.collectInto(metrics.cacheRequests, (metric) => {
        for (const category of CACHE_CATEGORIES) {
          const c = this.counters[category];
          metric.inc({ category, tier: 'memory', result: 'hit' }, c.memoryHits);
          metric.inc({ category, tier: 'memory', result: 'miss' }, c.memoryMisses);
          metric.inc({ category, tier: 'redis', result: 'hit' }, c.redisHits);
          metric.inc({ category, tier: 'redis', result: 'miss' }, c.redisMisses);
        }
      }),
      metrics.collectInto(metrics.redisCircuitOpenings, (metric) => metric.inc(this.redisStatus().circuitOpenings)),
      metrics.collectInto(metrics.eventLoopDelays, (metric) => metric.inc(this.redisStatus().eventLoopDelays)),
      metrics.collectInto(metrics.cacheBackend, (metric) => {
        const backend = this.backend();
        metric.set({ type: 'redis' }, backend === 'redis' ? 1 : 0);
        metric.set({ type: 'memory' }, backend === 'memory' ? 1 : 0);
      }),
    ];
  }
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}
