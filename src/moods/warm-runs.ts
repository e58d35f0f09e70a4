/**
 * The warm runs of one PopularMoods: starting them, and following the current or last one.
 * Every start (a manual start that answers at once, a manual run to completion, a schedule slot) is one `tryStart`:
 * it claims the cross-worker lease, checks that nothing made the run moot meanwhile (closing, the slot run by another
 * worker) and begins the job. It answers what happened instead of throwing; each caller maps that to its contract.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Lease } from '../redis/lease-lock.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { ComputeNotConfiguredError } from './errors.js';
import { requestedMoods, type WarmSettings } from './options.js';
import { RepriseInputError } from '../errors.js';
import type { PrecomputedStore } from './precomputed-store.js';
import { WarmJob } from './warm-job.js';
import type { WarmState } from './warm-state.js';
import type { ComputeRecommendations, WarmProgress, WarmReport, WarmRequest, WarmTrigger } from './types.js';

/** A caller's request, answered by the manual paths. */
export interface ManualStart {
  trigger: 'manual';
  request: WarmRequest;
}

/** A schedule slot; `at` is the slot's scheduled time (not the moment its timer fired). */
export interface ScheduledStart {
  trigger: 'schedule';
  at: Date;
}

export interface RunningWarm {
  job: WarmJob;
  /** The job's report once it has ended and released its lock. */
  finished: Promise<WarmReport>;
}

export type StartAttempt =
  | { kind: 'started'; run: RunningWarm }
  /** A job runs on this or another worker: its id, or null when it could not be read. */
  | { kind: 'locked'; jobId: string | null }
  /** This schedule slot already ran on some worker. */
  | { kind: 'slot_done'; slot: string }
  /** close() has begun: nothing starts any more. */
  | { kind: 'closed' };

/** A manual start never meets a slot already run. */
export type ManualStartAttempt = Exclude<StartAttempt, { kind: 'slot_done' }>;

export interface WarmRunsOptions {
  state: WarmState;
  store: PrecomputedStore;
  settings: WarmSettings;
  compute: ComputeRecommendations | undefined;
  /** Moods whose text may label spans (the configured list). */
  nameableMoods: ReadonlySet<string>;
  /** What a run warms unless its request names moods; read once the lease is held. */
  defaultMoods: () => Promise<string[]>;
  /** True once close() has begun. */
  closing: () => boolean;
  telemetry: Telemetry;
  logger: Logger;
}

/** A start, checked: what the job needs once its lease is held. */
interface WarmPlan {
  trigger: WarmTrigger;
  compute: ComputeRecommendations;
  /** null: the default moods. */
  moods: string[] | null;
  force: boolean;
  /** The schedule slot, as ISO text (schedule starts only). */
  slot?: string;
}

export class WarmRuns {
  private readonly options: WarmRunsOptions;
  /** Starts between their first check and their job's beginning; settled() waits for them. */
  private readonly starting = new Set<Promise<unknown>>();
  private running: RunningWarm | null = null;
  private lastJob: WarmJob | null = null;

  constructor(options: WarmRunsOptions) {
    this.options = options;
  }

  /**
   * Starts a run unless closing, a job runs on any worker, or (schedule) its slot already ran on some worker. After
   * the closing check and before anything is claimed, a bad request or a missing computeRecommendations throws.
   * Refused starts count in reprise_warm_runs_total (skipped_locked, skipped_slot_done).
   */
  tryStart(start: ManualStart): Promise<ManualStartAttempt>;
  tryStart(start: ScheduledStart): Promise<StartAttempt>;
  async tryStart(start: ManualStart | ScheduledStart): Promise<StartAttempt> {
    const { state, closing } = this.options;
    if (closing()) return { kind: 'closed' };
    const plan = this.plan(start);
    const running = await this.runningJob();
    if (running) return this.locked(running.job.id);
    if (plan.slot !== undefined && (await state.slotDone(plan.slot))) return this.slotDone(plan.slot);

    return this.whileStarting(async () => {
      const jobId = randomUUID();
      const lease = await state.claim(jobId);
      if (!lease) return this.locked(await state.runningJobId());
      // close() may have begun, or another worker finished this slot, between the checks above and the claim.
      const moot = closing() ? 'closed' : plan.slot !== undefined && (await state.slotDone(plan.slot)) ? 'slot_done' : null;
      if (moot) {
        await lease.release();
        return moot === 'closed' ? { kind: 'closed' } : this.slotDone(plan.slot!);
      }
      if (plan.slot !== undefined) this.options.logger.info(`popular moods: scheduled warm ${jobId} for slot ${plan.slot}`);
      const moods = plan.moods ?? (await this.options.defaultMoods());
      return { kind: 'started', run: await this.begin(jobId, lease, moods, plan) };
    });
  }

  /** Progress of the current or last job, on this worker or any other sharing Redis; null before any job. */
  async progress(): Promise<WarmProgress | null> {
    const { state } = this.options;
    if (this.running) return this.running.job.progress();
    const local = this.lastJob?.progress() ?? null;
    const shared = await state.lastPublished();
    if (!shared || (local && local.startedAt >= shared.startedAt)) return local;
    if (shared.status !== 'running') return shared;
    const holder = await state.runningJobId();
    if (holder === undefined || holder === shared.jobId) return shared;
    // The job may have finished between the two reads (its final record and the lock's release are one step).
    const again = await state.lastPublished();
    if (again && (again.jobId !== shared.jobId || again.status !== 'running')) return again;
    return { ...shared, status: 'abandoned' };
  }

  /** Resolves once the starts under way have begun their job or given up, and then the running job has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.starting]);
    await Promise.allSettled([this.running?.finished]);
  }

  /** Checks a start in the order its errors are reported: the request's shape, the workflow, moods, force, slot. */
  private plan(start: ManualStart | ScheduledStart): WarmPlan {
    if (start.trigger === 'schedule') {
      return { trigger: 'schedule', compute: this.requireCompute(), moods: null, force: false, slot: slotOf(start.at) };
    }
    const { request } = start;
    if (typeof request !== 'object' || request === null) throw new RepriseInputError('warm takes { moods?, force? }');
    const compute = this.requireCompute();
    const moods = request.moods === undefined ? null : requestedMoods(request.moods);
    if (request.force !== undefined && typeof request.force !== 'boolean') throw new RepriseInputError('force must be true or false', { details: { field: 'force' } });
    return { trigger: 'manual', compute, moods, force: request.force ?? false };
  }

  private requireCompute(): ComputeRecommendations {
    if (!this.options.compute) throw new ComputeNotConfiguredError();
    return this.options.compute;
  }

  /**
   * The job running in this process, if any. One whose moods are all done is only writing its outcome and releasing
   * its lock: wait for that, so a caller who saw it finish is not refused.
   */
  private async runningJob(): Promise<RunningWarm | null> {
    const running = this.running;
    if (!running || running.job.progress().status === 'running') return running;
    await running.finished.catch(() => undefined);
    return this.running;
  }

  /** Runs the claim-and-begin steps of a start; settled() waits for them, so no job starts unseen while closing. */
  private whileStarting<T>(steps: () => Promise<T>): Promise<T> {
    const started = steps();
    this.starting.add(started);
    const forget = () => this.starting.delete(started);
    started.then(forget, forget);
    return started;
  }

  private async begin(jobId: string, lease: Lease, moods: string[], plan: WarmPlan): Promise<RunningWarm> {
    const { state, settings, logger } = this.options;
    const job = new WarmJob({
      jobId,
      trigger: plan.trigger,
      moods,
      force: plan.force,
      concurrency: settings.concurrency,
      moodTimeoutMs: settings.moodTimeoutMs,
      compute: plan.compute,
      store: this.options.store,
      telemetry: this.options.telemetry,
      logger,
      nameableMoods: this.options.nameableMoods,
      signal: lease.signal,
      onProgress: (progress) => void state.publish(lease, progress),
    });
    const published = state.publish(lease, job.progress());
    const finished = (async () => {
      try {
        const report = await job.run();
        logger.info(`popular moods: warm ${job.id} ${report.status}: ${report.total} moods, ${report.failed} failed`);
        return report;
      } finally {
        await state.finish(lease, job.progress(), plan.slot);
        this.lastJob = job;
        this.running = null;
      }
    })();
    finished.catch((error) => logger.error(`popular moods: warm ${job.id} stopped: ${String(error)}`));
    const running: RunningWarm = { job, finished };
    this.running = running;
    await published;
    return running;
  }

  private locked(jobId: string | null | undefined): StartAttempt {
    this.options.telemetry.metrics.warmRuns.inc({ status: 'skipped_locked' });
    return { kind: 'locked', jobId: jobId ?? null };
  }

  private slotDone(slot: string): StartAttempt {
    this.options.telemetry.metrics.warmRuns.inc({ status: 'skipped_slot_done' });
    return { kind: 'slot_done', slot };
  }
}

/** A schedule slot: the scheduled time to the second, as ISO text (the same on every worker). */
function slotOf(at: Date): string {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new RepriseInputError('a schedule slot is a valid Date');
  return new Date(Math.floor(at.getTime() / 1_000) * 1_000).toISOString();
}
