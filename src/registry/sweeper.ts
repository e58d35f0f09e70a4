/**
 * One sweep run over the Redis store: every shard, both spaces, a bounded number of buckets per script call so
 * Redis is never blocked for long. Passes are shared: the cursor lives in each shard's meta hash, so several
 * processes sweeping at once finish one pass together instead of each doing a full one.
 *
 * A run is bounded in time: it stops between two script calls once its deadline has passed (or its owner is
 * closing), leaving each cursor where it was. The next run resumes with the shard space this one stopped at and goes
 * on to the last one, so a registry too large for one run is still swept whole over several. A run always makes at
 * least one step, so even a deadline shorter than one step cannot stall the sweep.
 */
import type { RedisRegistryStore } from './redis-store.js';
import type { Shard, Space } from './layout.js';

/** Buckets per script call: about 40 entries each, so a step touches a few thousand entries at most. */
const BUCKETS_PER_STEP = 64;
/** A pass over a shard never takes more steps than this (a safety net against a cursor that never ends). */
const MAX_STEPS_PER_SHARD = 100_000;

export interface SweepLimits {
  /** performance.now() after which no further step starts. */
  deadline: number;
  /** Checked before every step: true stops the run (the registry is closing). */
  shouldStop?: () => boolean;
  /** Sweep only these shards (a recount after a repair); default all. */
  shards?: readonly Shard[];
  /** Where to begin in the list of shard spaces: where an earlier run stopped (see RedisSweepReport.resumeAt). */
  start?: number;
}

export interface RedisSweepReport {
  removed: { validated: number; missing: number; reverse: number };
  /** Entries the finished passes found miscounted (keys removed behind the registry's back) and corrected. */
  drift: number;
  /** Shard spaces whose pass finished now; skipped ones were swept recently by some process. */
  finished: number;
  skipped: number;
  /** False when the run stopped part way (Redis stopped answering, time ran out, closing); passes resume next time. */
  complete: boolean;
  /** Why an incomplete run stopped. */
  stopped: 'redis' | 'time' | 'closing' | null;
  /** The shard space to begin with next time (0 after a complete run). */
  resumeAt: number;
  /** Whether Redis answered at all. */
  answered: boolean;
}

export async function sweepRedisStore(store: RedisRegistryStore, nowSeconds: number, minGapSeconds: number, limits: SweepLimits): Promise<RedisSweepReport> {
  const report: RedisSweepReport = {
    removed: { validated: 0, missing: 0, reverse: 0 }, drift: 0, finished: 0, skipped: 0,
    complete: true, stopped: null, resumeAt: 0, answered: false,
  };
  const units = (limits.shards ?? store.layout.shards).flatMap((shard) => (['s', 'r'] as Space[]).map((space) => ({ shard, space })));
  const start = Math.min(Math.max(0, Math.trunc(limits.start ?? 0) || 0), units.length);
  const stop = (why: 'redis' | 'time' | 'closing', unit: number): RedisSweepReport => {
    report.complete = false;
    report.stopped = why;
    report.resumeAt = unit;
    return report;
  };
  let stepped = false;
  for (let unit = start; unit < units.length; unit++) {
    const { shard, space } = units[unit]!;
    for (let steps = 0; steps < MAX_STEPS_PER_SHARD; steps++) {
      if (limits.shouldStop?.()) return stop('closing', unit);
      if (stepped && performance.now() >= limits.deadline) return stop('time', unit);
      stepped = true;
      const step = await store.sweepStep(shard, space, nowSeconds, BUCKETS_PER_STEP, minGapSeconds);
      if (!step) return stop('redis', unit);
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
  return report;
}
