/**
 * reprise.popularMoods: recommendations for popular moods computed ahead of time and kept in the cache's
 * popular_mood_cache category, keyed by normalised mood.
 * - Warm runs (manual or on the node-cron schedule) recompute moods that are missing or about to expire. Workers
 *   sharing Redis run one warm at a time between them and one per schedule slot; a refused caller learns the
 *   running job's id, and any worker can read its progress.
 * - Read-through (`getOrCompute`) serves a fresh precomputed result, or computes once for concurrent callers.
 * - Every read-through counts its mood; the most requested moods can be warmed along with the configured ones.
 */
import { randomUUID } from 'node:crypto';
import type { TwoTierCache } from '../cache/two-tier-cache.js';
import { normalizeMoodPrompt, validateKeyPrefix } from '../cache/keys.js';
import { consoleLogger, type Logger } from '../logger.js';
import type { Lease } from '../redis/lease-lock.js';
import { Telemetry } from '../telemetry/telemetry.js';
import {
  configuredMoods,
  normalizeMoodList,
  resolveSchedule,
  resolveWarmSettings,
  type PopularMoodsOptions,
  type ResolvedSchedule,
  type WarmSettings,
} from './options.js';
import { checkComputed, PrecomputedStore } from './precomputed-store.js';
import { ReadThrough, type ReadThroughResult } from './read-through.js';
import { validateSchedule, WarmSchedule } from './schedule.js';
import { MoodUsage, type MoodCount } from './usage.js';
import { WarmJob } from './warm-job.js';
import { WarmState } from './warm-state.js';
import type {
  ComputeRecommendations,
  ComputedRecommendations,
  PrecomputedRecommendations,
  WarmProgress,
  WarmReport,
  WarmRequest,
  WarmStarted,
  WarmTrigger,
} from './types.js';

export type { ReadThroughResult } from './read-through.js';

/** The schedule's task name (after the key prefix); the cross-worker keys derive from it. */
export const WARM_TASK_NAME = 'warm-popular-moods';

export class WarmAlreadyRunningError extends Error {
  override name = 'WarmAlreadyRunningError';
  /** The running job's id; null if it could not be read (Redis unavailable, or the job just ended). */
  readonly jobId: string | null;
  constructor(jobId: string | null) {
    super(jobId ? `a popular moods warm job is already running (job ${jobId})` : 'a popular moods warm job is already running');
    this.jobId = jobId;
  }
}

export class ComputeNotConfiguredError extends TypeError {
  override name = 'ComputeNotConfiguredError';
  constructor() {
    super('computeRecommendations is not configured: pass the workflow that turns a mood prompt into recommendations');
  }
}

/** What startWarm answers: the job it started, or the id of the job already running here or on another worker. */
export type WarmStartOutcome =
  | { started: true; job: WarmStarted }
  | { started: false; runningJobId: string | null };

export type ScheduledWarmResult =
  | { ran: true; report: WarmReport }
  /** slot_done: this slot already ran on some worker; locked: a job runs now (its id when known); closed: closing. */
  | { ran: false; reason: 'slot_done' | 'locked' | 'closed'; jobId?: string | null };

export interface WarmScheduleInfo {
  enabled: boolean;
  /** node-cron task name. */
  name: string;
  expression: string | null;
  timezone: string | null;
  nextRun: Date | null;
}

export interface MoodCoverage {
  /** Configured moods. */
  total: number;
  /** Configured moods with a precomputed entry in the cache. */
  cached: number;
  /** cached / total. */
  coverage: number;
}

interface RunningWarm {
  job: WarmJob;
  finished: Promise<WarmReport>;
}

export class PopularMoods {
  /** Normalised configured moods. */
  readonly moods: readonly string[];
  private readonly configured: ReadonlySet<string>;
  private readonly compute: ComputeRecommendations | undefined;
  private readonly settings: WarmSettings;
  private readonly scheduleConfig: ResolvedSchedule;
  private readonly taskName: string;
  private readonly store: PrecomputedStore;
  private readonly usage: MoodUsage;
  private readonly state: WarmState;
  private readonly telemetry: Telemetry;
  private readonly logger: Logger;
  private readonly detachMetrics: () => void;
  private readonly readThrough: ReadThrough;
  private readonly starting = new Set<Promise<unknown>>();
  private warmTask: WarmSchedule | null = null;
  private running: RunningWarm | null = null;
  private lastJob: WarmJob | null = null;
  private closing: Promise<void> | null = null;

  constructor(options: PopularMoodsOptions) {
    if (!options?.cache || !options.gateway) throw new TypeError('PopularMoods needs the cache and its Redis gateway');
    if (options.computeRecommendations !== undefined && typeof options.computeRecommendations !== 'function') {
      throw new TypeError('computeRecommendations must be a function (moodPrompt, ctx) => Promise<{ recommendations, moodAnalysis? }>');
    }
    const cache: TwoTierCache = options.cache;
    const keyPrefix = validateKeyPrefix(options.keyPrefix ?? cache.keyPrefix);
    this.moods = Object.freeze(configuredMoods(options.moods));
    this.configured = new Set(this.moods);
    this.compute = options.computeRecommendations;
    this.settings = resolveWarmSettings(options);
    this.scheduleConfig = resolveSchedule(options);
    this.taskName = `${keyPrefix}${WARM_TASK_NAME}`;
    this.telemetry = options.telemetry ?? new Telemetry();
    this.logger = options.logger ?? consoleLogger;
    this.store = new PrecomputedStore(cache);
    this.usage = new MoodUsage({
      gateway: options.gateway,
      keyPrefix,
      ...(options.usageHalfLifeMs !== undefined ? { halfLifeMs: options.usageHalfLifeMs } : {}),
      ...(options.usageMaxMoods !== undefined ? { maxMoods: options.usageMaxMoods } : {}),
      ...(options.now ? { now: options.now } : {}),
      logger: this.logger,
    });
    this.readThrough = new ReadThrough({
      store: this.store,
      usage: this.usage,
      telemetry: this.telemetry,
      worthStoring: (mood) => this.worthStoring(mood),
    });
    this.state = new WarmState({
      gateway: options.gateway,
      keyPrefix,
      taskName: WARM_TASK_NAME,
      leaseMs: this.settings.leaseMs,
      logger: this.logger,
    });
    this.telemetry.metrics.popularMoodsConfigured.set(this.moods.length);
    // Coverage at each scrape: entries expire and get invalidated between warm runs.
    this.detachMetrics = this.telemetry.metrics.collectInto(this.telemetry.metrics.popularMoodsCached, async (gauge) => {
      gauge.set((await this.coverage()).cached);
    });
  }

  // ---- schedule ----

  /**
   * Starts the warm schedule. An invalid expression or time zone throws a WarmScheduleError. Nothing is scheduled
   * when the schedule is disabled or no computeRecommendations was given.
   */
  start(): void {
    if (this.closing) throw new Error('popular moods are closed');
    if (this.warmTask) return;
    const { expression, timezone } = this.scheduleConfig;
    if (expression === null) {
      this.logger.info('popular moods: warm schedule disabled');
      return;
    }
    // Checked even without a workflow, so a typo is reported before the workflow is wired in.
    validateSchedule(expression, timezone);
    if (!this.compute) {
      this.logger.info('popular moods: no computeRecommendations given, warm schedule not started');
      return;
    }
    const schedule = new WarmSchedule({
      expression,
      ...(timezone !== undefined ? { timezone } : {}),
      name: this.taskName,
      run: (slot) => this.runScheduledNow(slot),
      logger: this.logger,
    });
    this.warmTask = schedule;
    this.logger.info(`popular moods: warming on "${expression}"${timezone ? ` (${timezone})` : ''}, next at ${schedule.nextRun()?.toISOString()}`);
  }

  /** Whether warm runs are possible (computeRecommendations given, not closed). */
  get canWarm(): boolean {
    return this.compute !== undefined && !this.closing;
  }

  /** The warm schedule as configured, whether it runs, and when next. */
  get schedule(): WarmScheduleInfo {
    return {
      enabled: this.warmTask !== null && !this.closing,
      name: this.taskName,
      expression: this.scheduleConfig.expression,
      timezone: this.scheduleConfig.timezone ?? null,
      nextRun: this.warmTask?.nextRun() ?? null,
    };
  }

  /** Runs the node-cron task now, exactly as a schedule slot would (the slot is the current second). */
  async executeScheduledTask(): Promise<unknown> {
    if (!this.warmTask) throw new Error('the warm schedule is not running');
    return this.warmTask.execute();
  }

  /**
   * What a schedule slot does: warm unless this slot already ran on some worker or a job runs anywhere.
   * Workers whose timers fire for the same slot run it once between them.
   */
  async runScheduledNow(at: Date = new Date()): Promise<ScheduledWarmResult> {
    if (this.closing) return { ran: false, reason: 'closed' };
    const compute = this.requireCompute();
    const slot = slotOf(at);
    const running = await this.runningJob();
    if (running) return this.skipLocked(running.job.id);
    if (await this.state.slotDone(slot)) return this.skipSlotDone(slot);

    const started = await this.whileStarting(async (): Promise<RunningWarm | ScheduledWarmResult> => {
      const jobId = randomUUID();
      const lease = await this.state.claim(jobId);
      if (!lease) return this.skipLocked(await this.state.runningJobId());
      // Another worker may have finished this slot between the check above and the claim.
      const skip = this.closing ? 'closed' : (await this.state.slotDone(slot)) ? 'slot_done' : null;
      if (skip) {
        await lease.release();
        return skip === 'closed' ? { ran: false, reason: 'closed' } : this.skipSlotDone(slot);
      }
      this.logger.info(`popular moods: scheduled warm ${jobId} for slot ${slot}`);
      const moods = await this.defaultWarmMoods();
      return this.begin({ jobId, moods, force: false, trigger: 'schedule', lease, compute, slot });
    });
    if ('ran' in started) return started;
    return { ran: true, report: await started.finished };
  }

  // ---- manual warm runs and progress ----

  /**
   * Starts a warm run and answers at once: the job started, or (started: false) the id of the job running on this
   * or any other worker sharing Redis. Bad moods and a missing computeRecommendations throw before anything starts.
   */
  async startWarm(request: WarmRequest = {}): Promise<WarmStartOutcome> {
    try {
      const running = await this.launch(request);
      return { started: true, job: { jobId: running.job.id, status: 'running', moods: [...running.job.moods] } };
    } catch (error) {
      if (error instanceof WarmAlreadyRunningError) return { started: false, runningJobId: error.jobId };
      throw error;
    }
  }

  /** Runs a warm to completion and returns its report; throws WarmAlreadyRunningError while a job runs anywhere. */
  async warm(request: WarmRequest = {}): Promise<WarmReport> {
    return (await this.launch(request)).finished;
  }

  /** Progress of the current or last job, on this worker or any other sharing Redis; null before any job. */
  async progress(): Promise<WarmProgress | null> {
    if (this.running) return this.running.job.progress();
    const local = this.lastJob?.progress() ?? null;
    const shared = await this.state.lastPublished();
    if (!shared || (local && local.startedAt >= shared.startedAt)) return local;
    if (shared.status !== 'running') return shared;
    const holder = await this.state.runningJobId();
    if (holder === undefined || holder === shared.jobId) return shared;
    // The job may have finished between the two reads (its final record and the lock's release are one step).
    const again = await this.state.lastPublished();
    if (again && (again.jobId !== shared.jobId || again.status !== 'running')) return again;
    return { ...shared, status: 'abandoned' };
  }

  // ---- precomputed entries ----

  /** The stored entry for a mood (any prompt that normalises to it), or null. */
  async getPrecomputedRecommendations(moodPrompt: string): Promise<PrecomputedRecommendations | null> {
    return this.store.get(normalizeMoodPrompt(moodPrompt));
  }

  async cachePrecomputedRecommendations(input: { moodPrompt: string } & ComputedRecommendations): Promise<PrecomputedRecommendations> {
    if (typeof input !== 'object' || input === null) throw new TypeError('cachePrecomputedRecommendations takes { moodPrompt, recommendations, moodAnalysis }');
    const mood = normalizeMoodPrompt(input.moodPrompt);
    return this.store.put(mood, checkComputed(input));
  }

  /** Removes a mood's entry from every worker; true when there was one. */
  async invalidateMood(moodPrompt: string): Promise<boolean> {
    return this.store.delete(normalizeMoodPrompt(moodPrompt));
  }

  /** How many configured moods have an entry now (read without counting as cache traffic; the gauge reads it per scrape). */
  async coverage(): Promise<MoodCoverage> {
    const entries = await Promise.all(this.moods.map((mood) => this.store.peek(mood)));
    const cached = entries.filter((entry) => entry !== null).length;
    return { total: this.moods.length, cached, coverage: this.moods.length === 0 ? 0 : cached / this.moods.length };
  }

  // ---- read-through and usage ----

  /**
   * A fresh precomputed result at once; otherwise the workflow's result, computed once for all concurrent callers
   * of the same mood in this process and stored when the mood is a popular one. Every call counts the mood's usage.
   * `compute` defaults to computeRecommendations; its errors reach every waiting caller and nothing is stored.
   */
  async getOrCompute(moodPrompt: string, compute: ComputeRecommendations | undefined = this.compute): Promise<ReadThroughResult> {
    const mood = normalizeMoodPrompt(moodPrompt);
    if (typeof compute !== 'function') throw new ComputeNotConfiguredError();
    return this.readThrough.get(mood, compute);
  }

  /** Whether a prompt is one of the configured popular moods (after normalisation). */
  isPopular(moodPrompt: string): boolean {
    return this.configured.has(normalizeMoodPrompt(moodPrompt));
  }

  /** The most requested moods (normalised), most requested first, with their decayed request counts. */
  async topMoods(n: number): Promise<MoodCount[]> {
    return this.usage.top(n);
  }

  /** Stops the schedule (this instance's task only), then waits for a running warm and read-throughs in flight. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.detachMetrics();
      await this.warmTask?.close();
      await Promise.allSettled([...this.starting]);
      await Promise.allSettled([this.running?.finished, this.readThrough.settled()]);
    })();
    return this.closing;
  }

  // ---- internals ----

  private async launch(request: WarmRequest): Promise<RunningWarm> {
    if (this.closing) throw new Error('popular moods are closed');
    if (typeof request !== 'object' || request === null) throw new TypeError('warm takes { moods?, force? }');
    const compute = this.requireCompute();
    const requested = request.moods === undefined ? null : normalizeMoodList(request.moods, 'moods');
    if (request.force !== undefined && typeof request.force !== 'boolean') throw new TypeError('force must be true or false');
    const running = await this.runningJob();
    if (running) throw this.refused(running.job.id);

    return this.whileStarting(async () => {
      const jobId = randomUUID();
      const lease = await this.state.claim(jobId);
      if (!lease) throw this.refused(await this.state.runningJobId());
      if (this.closing) {
        await lease.release();
        throw new Error('popular moods are closed');
      }
      const moods = requested ?? (await this.defaultWarmMoods());
      return this.begin({ jobId, moods, force: request.force ?? false, trigger: 'manual', lease, compute });
    });
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

  /** Runs the claim-and-start steps of a job; close() waits for them, so no job starts unseen while closing. */
  private whileStarting<T>(steps: () => Promise<T>): Promise<T> {
    const started = steps();
    this.starting.add(started);
    const forget = () => this.starting.delete(started);
    started.then(forget, forget);
    return started;
  }

  private async begin(run: {
    jobId: string;
    moods: string[];
    force: boolean;
    trigger: WarmTrigger;
    lease: Lease;
    compute: ComputeRecommendations;
    slot?: string;
  }): Promise<RunningWarm> {
    const job = new WarmJob({
      jobId: run.jobId,
      trigger: run.trigger,
      moods: run.moods,
      force: run.force,
      concurrency: this.settings.concurrency,
      moodTimeoutMs: this.settings.moodTimeoutMs,
      compute: run.compute,
      store: this.store,
      telemetry: this.telemetry,
      logger: this.logger,
      nameableMoods: this.configured,
      signal: run.lease.signal,
      onProgress: (progress) => void this.state.publish(run.lease, progress),
    });
    const published = this.state.publish(run.lease, job.progress());
    const finished = (async () => {
      try {
        const report = await job.run();
        this.logger.info(`popular moods: warm ${job.id} ${report.status}: ${report.total} moods, ${report.failed} failed`);
        return report;
      } finally {
        await this.state.finish(run.lease, job.progress(), run.slot);
        this.lastJob = job;
        this.running = null;
      }
    })();
    finished.catch((error) => this.logger.error(`popular moods: warm ${job.id} stopped: ${String(error)}`));
    const running: RunningWarm = { job, finished };
    this.running = running;
    await published;
    return running;
  }

  /** Configured moods, and the most requested ones when warmTopRequested is set. */
  private async worthStoring(mood: string): Promise<boolean> {
    if (this.configured.has(mood)) return true;
    if (this.settings.topRequested === 0) return false;
    return (await this.usage.top(this.settings.topRequested)).some((count) => count.mood === mood);
  }

  /** The configured moods, then the most requested ones not among them. */
  private async defaultWarmMoods(): Promise<string[]> {
    const top = await this.usage.top(this.settings.topRequested);
    return [...new Set([...this.moods, ...top.map((count) => count.mood)])];
  }

  private requireCompute(): ComputeRecommendations {
    if (!this.compute) throw new ComputeNotConfiguredError();
    return this.compute;
  }

  private refused(jobId: string | null | undefined): WarmAlreadyRunningError {
    this.telemetry.metrics.warmRuns.inc({ status: 'skipped_locked' });
    return new WarmAlreadyRunningError(jobId ?? null);
  }

  private skipLocked(jobId: string | null | undefined): ScheduledWarmResult {
    this.telemetry.metrics.warmRuns.inc({ status: 'skipped_locked' });
    this.logger.info(`popular moods: scheduled warm skipped, job ${jobId ?? '(unknown)'} is running`);
    return { ran: false, reason: 'locked', jobId: jobId ?? null };
  }

  private skipSlotDone(slot: string): ScheduledWarmResult {
    this.telemetry.metrics.warmRuns.inc({ status: 'skipped_slot_done' });
    this.logger.info(`popular moods: scheduled warm skipped, slot ${slot} already ran`);
    return { ran: false, reason: 'slot_done' };
  }
}

/** A schedule slot: the scheduled time to the second, as ISO text (the same on every worker). */
function slotOf(at: Date): string {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new TypeError('a schedule slot is a valid Date');
  return new Date(Math.floor(at.getTime() / 1_000) * 1_000).toISOString();
}
