/**
 * Read-through for mood recommendations: a fresh precomputed entry is served at once; otherwise the workflow runs
 * once for all concurrent callers of the same mood in this process, and, for a mood worth keeping, once across every
 * worker sharing Redis, its result stored for all. Every call counts the mood's usage.
 */
import type { Telemetry } from '../telemetry/telemetry.js';
import { checkComputed, PrecomputedStore } from './precomputed-store.js';
import type { MoodUsage } from './usage.js';
import type { ComputeRecommendations, PrecomputedRecommendations } from './types.js';

export interface ReadThroughResult extends Omit<PrecomputedRecommendations, 'expiresAt'> {
  /** 'precomputed': a fresh stored entry; 'computed': the workflow ran for this call (or a concurrent one). */
  source: 'precomputed' | 'computed';
}

export interface ReadThroughOptions {
  store: PrecomputedStore;
  usage: MoodUsage;
  telemetry: Telemetry;
  /** Whether a computed mood is kept for everyone (a popular one). */
  worthStoring: (mood: string) => Promise<boolean>;
}

export class ReadThrough {
  private readonly inflight = new Map<string, Promise<ReadThroughResult>>();

  constructor(private readonly options: ReadThroughOptions) {}

  /** `mood` is normalised. The workflow's errors reach every waiting caller and nothing is stored. */
  async get(mood: string, compute: ComputeRecommendations): Promise<ReadThroughResult> {
    const counted = this.options.usage.record(mood);
    let load = this.inflight.get(mood);
    if (load) {
      this.options.telemetry.metrics.upstreamCallsAvoided.inc({ reason: 'shared_in_flight' });
    } else {
      load = this.lookUpOrCompute(mood, compute).finally(() => this.inflight.delete(mood));
      this.inflight.set(mood, load);
    }
    const [result] = await Promise.all([load, counted]);
    return result;
  }

  /** Resolves once the computations in flight now have ended, however they end. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()]);
  }

  private async lookUpOrCompute(mood: string, compute: ComputeRecommendations): Promise<ReadThroughResult> {
    const { store, telemetry } = this.options;
    const entry = await store.get(mood);
    if (entry && PrecomputedStore.isFresh(entry)) {
      telemetry.metrics.upstreamCallsAvoided.inc({ reason: 'precomputed' });
      return { ...withoutExpiry(entry), source: 'precomputed' };
    }
    // Nothing aborts a read-through: it serves a live request, which decides how long to wait.
    const signal = new AbortController().signal;
    const run = async () => checkComputed(await telemetry.profiler.time('popular_moods.compute', () => compute(mood, { signal, reason: 'read-through' })));
    // A popular mood is computed once across all workers and kept for everyone; any other, for this call alone.
    if (await this.options.worthStoring(mood)) return { ...withoutExpiry(await store.getOrCompute(mood, run)), source: 'computed' };
    const computed = await run();
    return { recommendations: computed.recommendations, moodAnalysis: computed.moodAnalysis ?? null, computedAt: new Date(), source: 'computed' };
  }
}

function withoutExpiry(entry: PrecomputedRecommendations): Omit<PrecomputedRecommendations, 'expiresAt'> {
  return { recommendations: entry.recommendations, moodAnalysis: entry.moodAnalysis, computedAt: entry.computedAt };
}
