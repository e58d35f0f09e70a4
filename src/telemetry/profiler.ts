/**
 * Latency summaries per operation for GET /profiling/metrics: count and mean since start, and p50/p95/p99 over the
 * most recent samples. Recording is on hot paths (every Redis read), so it only writes into a fixed ring per
 * operation; the sorting happens when someone asks for the summary.
 */
import { RepriseInputError } from '../errors.js';

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
/** Quantiles are computed over this many most recent samples of each operation. */
export const PROFILE_WINDOW_SAMPLES = 2_048;

class OperationSamples {
  count = 0;
  sum = 0;
  private readonly recent = new Float64Array(PROFILE_WINDOW_SAMPLES);

  add(seconds: number): void {
    this.recent[this.count % PROFILE_WINDOW_SAMPLES] = seconds;
    this.count += 1;
    this.sum += seconds;
  }

  summary(): OperationProfile {
    const window = this.recent.slice(0, Math.min(this.count, PROFILE_WINDOW_SAMPLES)).sort();
    const quantile = (q: number) => (window.length === 0 ? 0 : window[Math.min(window.length - 1, Math.floor(q * window.length))]!);
    return { count: this.count, mean: this.count === 0 ? 0 : this.sum / this.count, p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99) };
  }
}

export class Profiler {
  private readonly operations = new Map<string, OperationSamples>();

  record(operation: string, seconds: number): void {
    let samples = this.operations.get(operation);
    if (samples === undefined) {
      const name = this.admit(operation);
      samples = this.operations.get(name);
      if (samples === undefined) this.operations.set(name, (samples = new OperationSamples()));
    }
    samples.add(seconds);
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

  /** Every operation seen, by name. */
  snapshot(): Record<string, OperationProfile> {
    const result: Record<string, OperationProfile> = {};
    for (const name of [...this.operations.keys()].sort()) result[name] = this.operations.get(name)!.summary();
    return result;
  }

  /** The name a new operation is kept under: itself, or "other" once the bound is reached. */
  private admit(operation: string): string {
    if (!OPERATION_NAME.test(operation)) {
      throw new RepriseInputError(`profile names are 1-64 characters of letters, digits, '_', '.', ':' or '-', got ${JSON.stringify(operation)}`);
    }
    return this.operations.size < MAX_OPERATIONS ? operation : 'other';
  }
}
