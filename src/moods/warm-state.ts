/**
 * What workers sharing one Redis know about warm runs (keys `<prefix>@<task>:{<prefix><task>}:<name>`):
 * - `lock`: the lease of the run in progress (manual or scheduled); its token is the job id, so a refused caller
 *   learns which job runs.
 * - `job`: progress of the current or last job, written only by the lock's owner.
 * - `last-slot`: the latest schedule slot already run, so a late worker does not run it again.
 * A job's final record and slot are written in the same atomic step that releases the lock: whoever finds the lock
 * free also finds the outcome. The keys share one hash tag (one Cluster slot) for that, and sit outside every cache
 * category, so invalidating the cache leaves them alone. Without Redis all of it is held by this process.
 */
import type { Logger } from '../logger.js';
import type { RedisGateway } from '../redis/gateway.js';
import { LeaseLock, type Lease } from '../redis/lease-lock.js';
import type { MoodFailure, WarmProgress, WarmStatus, WarmTrigger } from './types.js';
import { MAX_FAILURES_SHOWN, MAX_FAILURE_TEXT, shownFailure } from './warm-job.js';

const RECORD_TTL_MS = 7 * 24 * 60 * 60 * 1_000;
const STATUSES = new Set<WarmStatus>(['running', 'succeeded', 'partial', 'failed', 'abandoned']);
const TRIGGERS = new Set<WarmTrigger>(['manual', 'schedule']);

export interface WarmStateOptions {
  gateway: RedisGateway;
  keyPrefix: string;
  /** The schedule's task name without the prefix; the keys derive from it. */
  taskName: string;
  leaseMs: number;
  logger: Logger;
}

export class WarmState {
  private readonly gateway: RedisGateway;
  private readonly lock: LeaseLock;
  private readonly jobKey: string;
  private readonly lastSlotKey: string;
  private lastSlotHere: string | null = null;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(options: WarmStateOptions) {
    const base = `${options.keyPrefix}@${options.taskName}:{${options.keyPrefix}${options.taskName}}`;
    this.gateway = options.gateway;
    this.jobKey = `${base}:job`;
    this.lastSlotKey = `${base}:last-slot`;
    this.lock = new LeaseLock({
      gateway: options.gateway,
      key: `${base}:lock`,
      leaseMs: options.leaseMs,
      logger: options.logger,
      name: `popular moods warm (${options.keyPrefix}${options.taskName})`,
    });
  }

  /** The lock for a new job, or null while another job runs anywhere. */
  claim(jobId: string): Promise<Lease | null> {
    return this.lock.acquire(jobId);
  }

  /** The id of the job holding the lock: null when none, undefined when Redis cannot tell. */
  runningJobId(): Promise<string | null | undefined> {
    return this.lock.holder();
  }

  async slotDone(slot: string): Promise<boolean> {
    let last = this.lastSlotHere;
    if (this.gateway.client) {
      const stored = await this.gateway.attempt('warm.last_slot', (client) => client.get(this.lastSlotKey));
      if (stored.ok && stored.value !== null && (last === null || stored.value > last)) last = stored.value;
    }
    // Slots are ISO timestamps of one format: text order is time order.
    return last !== null && last >= slot;
  }

  /** Stores progress for other workers while `lease` owns the lock; writes keep their order and never throw. */
  publish(lease: Lease, progress: WarmProgress): Promise<void> {
    const text = JSON.stringify(progress);
    const write = this.writes.then(() => lease.write(this.jobKey, text, RECORD_TTL_MS));
    this.writes = write;
    return write.then(() => undefined);
  }

  /** Releases the lock, writing the job's final record (and its schedule slot as done) in the same step. */
  async finish(lease: Lease, progress: WarmProgress, slot?: string): Promise<void> {
    await this.writes;
    if (slot !== undefined) this.lastSlotHere = slot;
    await lease.release([
      { key: this.jobKey, value: JSON.stringify(progress), ttlMs: RECORD_TTL_MS },
      ...(slot !== undefined ? [{ key: this.lastSlotKey, value: slot, ttlMs: RECORD_TTL_MS }] : []),
    ]);
  }

  /** The progress last published by any worker, or null (none, unreadable, or Redis unavailable). */
  async lastPublished(): Promise<WarmProgress | null> {
    if (!this.gateway.client) return null;
    const text = await this.gateway.attempt('warm.progress', (client) => client.get(this.jobKey));
    return text.ok && text.value !== null ? parseProgress(text.value) : null;
  }
}

/** Reads a progress record as data only; anything of another shape is ignored. */
export function parseProgress(text: string): WarmProgress | null {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const { jobId, status, trigger, total, done, failed, startedAt, finishedAt } = raw;
  const counts = [total, done, failed];
  if (
    typeof jobId !== 'string' ||
    !STATUSES.has(status as WarmStatus) ||
    !TRIGGERS.has(trigger as WarmTrigger) ||
    !counts.every((count) => Number.isInteger(count) && (count as number) >= 0)
  ) {
    return null;
  }
  const started = parseDate(startedAt);
  const finished = finishedAt === null ? null : parseDate(finishedAt);
  if (started === undefined || finished === undefined) return null;
  return {
    jobId,
    status: status as WarmStatus,
    trigger: trigger as WarmTrigger,
    total: total as number,
    done: done as number,
    failed: failed as number,
    startedAt: started,
    finishedAt: finished,
    failures: parseFailures(raw.failures),
  };
}

const FAILURE_OUTCOMES = new Set<unknown>(['failed', 'timeout', 'cancelled']);

/** The failures of a record, as data: entries of another shape are dropped, the list and texts kept to their bounds. */
function parseFailures(value: unknown): MoodFailure[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((entry): entry is { mood: string; outcome: MoodFailure['outcome']; error?: unknown } =>
      typeof entry === 'object' && entry !== null && typeof entry.mood === 'string' && FAILURE_OUTCOMES.has(entry.outcome))
    .slice(0, MAX_FAILURES_SHOWN)
    .map((entry) => shownFailure(entry.mood.slice(0, MAX_FAILURE_TEXT), entry.outcome, typeof entry.error === 'string' ? entry.error : undefined));
}

function parseDate(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
