/** The errors of reprise.popularMoods. */
import { RepriseOptionsError } from '../errors.js';

/** A warm run to completion was asked for while a job runs on this or another worker sharing Redis. */
export class WarmAlreadyRunningError extends Error {
  override name = 'WarmAlreadyRunningError';
  /** The running job's id; null if it could not be read (Redis unavailable, or the job just ended). */
  readonly jobId: string | null;
  constructor(jobId: string | null) {
    super(jobId ? `a popular moods warm job is already running (job ${jobId})` : 'a popular moods warm job is already running');
    this.jobId = jobId;
  }
}

/** Warming or read-through was asked for without the computeRecommendations option (code `missing_option`). */
export class ComputeNotConfiguredError extends RepriseOptionsError {
  override name = 'ComputeNotConfiguredError';
  constructor() {
    super('missing_option', 'computeRecommendations', 'computeRecommendations is not configured: pass the workflow that turns a mood prompt into recommendations');
  }
}

/** Something was asked of popular moods after close(): no warm run or schedule starts any more. */
export class PopularMoodsClosedError extends Error {
  override name = 'PopularMoodsClosedError';
  constructor() {
    super('popular moods are closed');
  }
}
