/**
 * One sweep pass over the Redis store: every shard, both spaces, a bounded number of buckets per script call so
 * Redis is never blocked for long. Passes are shared: the cursor lives in each shard's meta hash, so several
 * processes sweeping at once finish one pass together instead of each doing a full one.
 */
import type { RedisRegistryStore } from './redis-store.js';
import type { Space } from './layout.js';

/** Buckets per script call: about 40 entries each, so a step touches a few thousand entries at most. */
const BUCKETS_PER_STEP = 64;
/** A pass over a shard never takes more steps than this (a safety net against a cursor that never ends). */
const MAX_STEPS_PER_SHARD = 100_000;

export interface RedisSweepReport {
  removed: { validated: number; missing: number; reverse: number };
  /** Entries the finished passes found miscounted (keys removed behind the registry's back) and corrected. */
  drift: number;
  /** Shard spaces whose pass finished now; skipped ones were swept recently by some process. */
  finished: number;
  skipped: number;
  /** False when Redis stopped answering part way; the pass resumes from its cursor next time. */
  complete: boolean;
  /** Whether Redis answered at all. */
  answered: boolean;
}

export async function sweepRedisStore(store: RedisRegistryStore, nowSeconds: number, minGapSeconds: number): Promise<RedisSweepReport> {
  const report: RedisSweepReport = { removed: { validated: 0, missing: 0, reverse: 0 }, drift: 0, finished: 0, skipped: 0, complete: true, answered: false };
  for (const shard of store.layout.shards) {
    for (const space of ['s', 'r'] as Space[]) {
      for (let steps = 0; steps < MAX_STEPS_PER_SHARD; steps++) {
        const step = await store.sweepStep(shard, space, nowSeconds, BUCKETS_PER_STEP, minGapSeconds);
        if (!step) {
          report.complete = false;
          return report;
        }
        report.answered = true;
        report.removed.validated += step.removed.validated;
        report.removed.missing += step.removed.missing;
        report.removed.reverse += step.removed.reverse;
        if (step.status === 'more') continue;
        if (step.status === 'done') {
          report.finished += 1;
          report.drift += step.drift;
        } else {
          report.skipped += 1;
        }
        break;
      }
    }
  }
  return report;
}
