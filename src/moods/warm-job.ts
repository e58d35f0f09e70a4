/**
 * One warm run: asks the host's workflow for each mood that is missing or about to expire, a few at a time, each
 * under its own timeout. A mood that fails is recorded and the run goes on. Progress is readable at any moment and
 * reported after every mood. The run is one span (`popular_moods.warm`) with a child span per mood.
 */
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import type { Logger } from '../logger.js';
import { redactCredentials } from '../redis/redact.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { checkComputed, PrecomputedStore } from './precomputed-store.js';
import type {
  ComputeRecommendations,
  MoodFailure,
  MoodOutcome,
  MoodResult,
  WarmProgress,
  WarmReport,
  WarmStatus,
  WarmTrigger,
} from './types.js';

export interface WarmJobOptions {
  jobId: string;
  trigger: WarmTrigger;
  /** Normalised, distinct moods. */
  moods: readonly string[];
  force: boolean;
  concurrency: number;
  moodTimeoutMs: number;
  compute: ComputeRecommendations;
  store: PrecomputedStore;
  telemetry: Telemetry;
  logger: Logger;
  /** Moods whose text may label spans (the configured list); others, typed by users, are not named there. */
  nameableMoods: ReadonlySet<string>;
  /** When aborted (the run lost its lock), moods not yet started are cancelled. */
  signal?: AbortSignal;
  onProgress?: (progress: WarmProgress) => void;
}

/** Progress is published to Redis after every mood: it names at most this many failures, each error this long. */
export const MAX_FAILURES_SHOWN = 20;
export const MAX_FAILURE_TEXT = 200;

export class MoodTimeoutError extends Error {
  override name = 'MoodTimeoutError';
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

export class WarmJob {
  readonly id: string;
  readonly moods: readonly string[];
  private readonly options: WarmJobOptions;
  /** In the order of the moods, filled as each finishes. */
  private readonly results: MoodResult[] = [];
  private done = 0;
  private readonly startedAt = new Date();
  private finishedAt: Date | null = null;
  private status: WarmStatus = 'running';
  private failed = 0;
  private readonly failures: MoodFailure[] = [];

  constructor(options: WarmJobOptions) {
    this.id = options.jobId;
    this.moods = options.moods;
    this.options = options;
  }

  progress(): WarmProgress {
    return {
      jobId: this.id,
      status: this.status,
      trigger: this.options.trigger,
      total: this.options.moods.length,
      done: this.done,
      failed: this.failed,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      failures: [...this.failures],
    };
  }

  /** Runs every mood; never rejects. */
  async run(): Promise<WarmReport> {
    const { telemetry, trigger, moods } = this.options;
    const attributes = { 'popular_moods.job_id': this.id, 'popular_moods.trigger': trigger, 'popular_moods.total': moods.length };
    // A scheduled run starts its own trace; a manual one joins the request that started it.
    return telemetry.span('popular_moods.warm', async (span) => {
      const report = await this.runAll();
      span.setAttributes({ 'popular_moods.status': report.status, 'popular_moods.done': report.done, 'popular_moods.failed': report.failed });
      if (report.status === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: 'every mood failed' });
      return report;
    }, { root: trigger === 'schedule', attributes });
  }

  private async runAll(): Promise<WarmReport> {
    const { moods, concurrency, telemetry } = this.options;
    let next = 0;
    const worker = async () => {
      while (next < moods.length) {
        const index = next++;
        const result = await this.warmOne(moods[index]!);
        this.results[index] = result;
        this.done += 1;
        if (result.outcome === 'failed' || result.outcome === 'timeout' || result.outcome === 'cancelled') {
          this.failed += 1;
          if (this.failures.length < MAX_FAILURES_SHOWN) this.failures.push(shownFailure(result.mood, result.outcome, result.error));
        }
        telemetry.metrics.warmMoods.inc({ outcome: result.outcome });
        this.report();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, moods.length) }, worker));

    this.finishedAt = new Date();
    this.status = this.failed === 0 ? 'succeeded' : this.failed === moods.length ? 'failed' : 'partial';
    const seconds = (this.finishedAt.getTime() - this.startedAt.getTime()) / 1_000;
    telemetry.metrics.warmRuns.inc({ status: this.status });
    telemetry.metrics.warmDuration.observe(seconds);
    if (this.status === 'succeeded') telemetry.metrics.warmLastSuccess.set(this.finishedAt.getTime() / 1_000);
    this.report();
    return { ...this.progress(), results: [...this.results] };
  }

  private warmOne(mood: string): Promise<MoodResult> {
    const { telemetry, nameableMoods } = this.options;
    const attributes = nameableMoods.has(mood) ? { 'popular_moods.mood': mood } : { 'popular_moods.mood_source': 'requested' };
    return telemetry.span('popular_moods.warm_mood', async (span) => {
      const result = await this.settle(mood);
      span.setAttribute('popular_moods.outcome', result.outcome);
      if (result.error !== undefined) markFailed(span, result.outcome, result.error);
      return result;
    }, { attributes });
  }

  private async settle(mood: string): Promise<MoodResult> {
    const { force, store, signal } = this.options;
    if (signal?.aborted) return { mood, outcome: 'cancelled', error: 'the run lost its lock' };
    if (!force) {
      const entry = await store.get(mood);
      if (entry && PrecomputedStore.isFresh(entry)) return { mood, outcome: 'fresh' };
    }
    try {
      const since = store.changeMark();
      const computed = await this.computeWithTimeout(mood);
      await store.put(mood, computed, since);
      return { mood, outcome: 'computed' };
    } catch (error) {
      const outcome: MoodOutcome = error instanceof MoodTimeoutError ? 'timeout' : 'failed';
      const message = error instanceof Error ? error.message : String(error);
      this.options.logger.warn(`popular moods: warm ${this.id}: a mood ${outcome === 'timeout' ? 'timed out' : 'failed'}: ${message}`);
      return { mood, outcome, error: message };
    }
  }

  /** The workflow's answer, or a MoodTimeoutError once the timeout passes (the workflow's signal is aborted then). */
  private async computeWithTimeout(mood: string): Promise<ReturnType<typeof checkComputed>> {
    const { compute, moodTimeoutMs, telemetry } = this.options;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new MoodTimeoutError(moodTimeoutMs);
        controller.abort(error);
        reject(error);
      }, moodTimeoutMs);
    });
    try {
      const computing = telemetry.profiler.time('popular_moods.compute', () => compute(mood, { signal: controller.signal, reason: 'warm' }));
      return checkComputed(await Promise.race([computing, timedOut]));
    } finally {
      clearTimeout(timer);
    }
  }

  private report(): void {
    try {
      this.options.onProgress?.(this.progress());
    } catch (error) {
      this.options.logger.debug(`popular moods: progress listener failed: ${String(error)}`);
    }
  }
}

function markFailed(span: Span, outcome: MoodOutcome, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome}: ${message}` });
}

/** A failure as progress shows it (and publishes it to Redis): credentials redacted, the text shortened. */
export function shownFailure(mood: string, outcome: MoodFailure['outcome'], error: string | undefined): MoodFailure {
  if (error === undefined) return { mood, outcome };
  const text = redactCredentials(error);
  return { mood, outcome, error: text.length > MAX_FAILURE_TEXT ? `${text.slice(0, MAX_FAILURE_TEXT - 1)}…` : text };
}
