/**
 * reprise.popularMoods: recommendations for popular moods computed ahead of time and kept in the cache's
 * popular_mood_cache category, keyed by normalised mood.
 * - Warm runs (manual or on the node-cron schedule) recompute moods that are missing or about to expire. Workers
 *   sharing Redis run one warm at a time between them and one per schedule slot; a refused caller learns the
 *   running job's id, and any worker can read its progress.
 * - Read-through (`getOrCompute`) serves a fresh precomputed result, or computes once for concurrent callers.
 * - Every read-through counts its mood; the most requested moods can be warmed along with the configured ones.
 */
import type { RepriseCache } from '../cache/reprise-cache.js';
import { normalizeMoodPrompt, validateKeyPrefix } from '../cache/keys.js';
import { consoleLogger, type Logger } from '../logger.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { RepriseInputError } from '../errors.js';
import { ComputeNotConfiguredError, PopularMoodsClosedError, WarmAlreadyRunningError } from './errors.js';
import {
  checkPopularMoodsOptions,
  configuredMoods,
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
import { WarmRuns, type RunningWarm } from './warm-runs.js';
import { WarmState } from './warm-state.js';
import type {
  ComputeRecommendations,
  ComputedRecommendations,
  PrecomputedRecommendations,
  WarmProgress,
  WarmReport,
  WarmRequest,
  WarmStarted,
} from './types.js';

export { ComputeNotConfiguredError, PopularMoodsClosedError, WarmAlreadyRunningError } from './errors.js';
export type { ReadThroughResult } from './read-through.js';

/** The schedule's task name (after the key prefix); the cross-worker keys derive from it. */
export const WARM_TASK_NAME = 'warm-popular-moods';

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
  private readonly telemetry: Telemetry;
  private readonly logger: Logger;
  private readonly detachMetrics: () => void;
  private readonly readThrough: ReadThrough;
  private readonly runs: WarmRuns;
  private warmTask: WarmSchedule | null = null;
  private closing: Promise<void> | null = null;

  constructor(options: PopularMoodsOptions) {
    checkPopularMoodsOptions(options);
    const cache: RepriseCache = options.cache;
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
    this.runs = new WarmRuns({
      state: new WarmState({
        gateway: options.gateway,
        keyPrefix,
        taskName: WARM_TASK_NAME,
        leaseMs: this.settings.leaseMs,
        logger: this.logger,
      }),
      store: this.store,
      settings: this.settings,
      compute: this.compute,
      nameableMoods: this.configured,
      defaultMoods: () => this.defaultWarmMoods(),
      closing: () => this.closing !== null,
      telemetry: this.telemetry,
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
    if (this.closing) throw new PopularMoodsClosedError();
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
    const attempt = await this.runs.tryStart({ trigger: 'schedule', at });
    switch (attempt.kind) {
      case 'started':
        return { ran: true, report: await attempt.run.finished };
      case 'locked':
        this.logger.info(`popular moods: scheduled warm skipped, job ${attempt.jobId ?? '(unknown)'} is running`);
        return { ran: false, reason: 'locked', jobId: attempt.jobId };
      case 'slot_done':
        this.logger.info(`popular moods: scheduled warm skipped, slot ${attempt.slot} already ran`);
        return { ran: false, reason: 'slot_done' };
      case 'closed':
        return { ran: false, reason: 'closed' };
    }
  }

  // ---- manual warm runs and progress ----

  /**
   * Starts a warm run and answers at once: the job started, or (started: false) the id of the job running on this
   * or any other worker sharing Redis. Bad moods and a missing computeRecommendations throw before anything starts.
   */
  async startWarm(request: WarmRequest = {}): Promise<WarmStartOutcome> {
    const attempt = await this.runs.tryStart({ trigger: 'manual', request });
    switch (attempt.kind) {
      case 'started':
        return { started: true, job: describeStarted(attempt.run) };
      case 'locked':
        return { started: false, runningJobId: attempt.jobId };
      case 'closed':
        throw new PopularMoodsClosedError();
    }
  }

  /** Runs a warm to completion and returns its report; throws WarmAlreadyRunningError while a job runs anywhere. */
  async warm(request: WarmRequest = {}): Promise<WarmReport> {
    const attempt = await this.runs.tryStart({ trigger: 'manual', request });
    switch (attempt.kind) {
      case 'started':
        return attempt.run.finished;
      case 'locked':
        throw new WarmAlreadyRunningError(attempt.jobId);
      case 'closed':
        throw new PopularMoodsClosedError();
    }
  }

  /** Progress of the current or last job, on this worker or any other sharing Redis; null before any job. */
  progress(): Promise<WarmProgress | null> {
    return this.runs.progress();
  }

  // ---- precomputed entries ----

  /** The stored entry for a mood (any prompt that normalises to it), or null. */
  async getPrecomputedRecommendations(moodPrompt: string): Promise<PrecomputedRecommendations | null> {
    return this.store.get(normalizeMoodPrompt(moodPrompt));
  }

  async cachePrecomputedRecommendations(input: { moodPrompt: string } & ComputedRecommendations): Promise<PrecomputedRecommendations> {
    if (typeof input !== 'object' || input === null) throw new RepriseInputError('cachePrecomputedRecommendations takes { moodPrompt, recommendations, moodAnalysis }');
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
      await Promise.allSettled([this.runs.settled(), this.readThrough.settled()]);
    })();
    return this.closing;
  }

  // ---- internals ----

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
}

/** What a manual start answers about the job it began. */
function describeStarted(run: RunningWarm): WarmStarted {
  return { jobId: run.job.id, status: 'running', moods: [...run.job.moods] };
}
