/**
 * Latency summaries per operation for GET /profiling/metrics: count, mean and p50/p95/p99 in seconds over a sliding
 * window. prom-client's Summary does the quantile sketch; it lives on a private registry so host-named stages
 * never reach the Prometheus exposition.
 */
import { Registry, Summary } from 'prom-client';

export interface OperationProfile {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

const OPERATION_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Host-named stages are bounded: past this many names, new ones are folded into "other". */
const MAX_OPERATIONS = 200;

export class Profiler {
  private readonly summary: Summary<'operation'>;
  private readonly totals = new Map<string, { count: number; sum: number }>();

  constructor(options: { windowSeconds?: number } = {}) {
    this.summary = new Summary({
      name: 'reprise_profile_duration_seconds',
      help: 'private: latency per profiled operation',
      labelNames: ['operation'] as const,
      percentiles: [0.5, 0.95, 0.99],
      maxAgeSeconds: options.windowSeconds ?? 600,
      ageBuckets: 5,
      registers: [new Registry()],
    });
  }

  record(operation: string, seconds: number): void {
    const name = this.boundedName(operation);
    this.summary.observe({ operation: name }, seconds);
    const total = this.totals.get(name) ?? { count: 0, sum: 0 };
    total.count += 1;
    total.sum += seconds;
    this.totals.set(name, total);
  }

  /** Times `fn` (sync or async) under `operation`, whether it succeeds or throws. */
  async time<T>(operation: string, fn: () => T | Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.record(operation, (performance.now() - started) / 1_000);
    }
  }

  /** Count and mean since start; quantiles over the sliding window. */
  async snapshot(): Promise<Record<string, OperationProfile>> {
    const { values } = await this.summary.get();
    const result: Record<string, OperationProfile> = {};
    for (const [operation, total] of [...this.totals].sort(([a], [b]) => a.localeCompare(b))) {
      const quantile = (q: number) =>
        values.find((v) => v.labels.operation === operation && (v.labels as { quantile?: number }).quantile === q)?.value ?? 0;
      result[operation] = {
        count: total.count,
        mean: total.count === 0 ? 0 : total.sum / total.count,
        p50: finite(quantile(0.5)),
        p95: finite(quantile(0.95)),
        p99: finite(quantile(0.99)),
      };
    }
    return result;
  }

  reset(): void {
    this.summary.reset();
    this.totals.clear();
  }

  private boundedName(operation: string): string {
    if (!OPERATION_NAME.test(operation)) {
      throw new TypeError(`profile names are 1-64 characters of letters, digits, '_', '.', ':' or '-', got ${JSON.stringify(operation)}`);
    }
    if (this.totals.has(operation) || this.totals.size < MAX_OPERATIONS) return operation;
    return 'other';
  }
}

function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
