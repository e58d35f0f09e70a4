/** The shapes shared by popular mood precomputation: the host's workflow, stored entries, warm runs. */

export interface ComputeContext {
  /** Aborted when reprise stops waiting: the per-mood timeout of a warm run. */
  signal: AbortSignal;
  /** Why reprise asks: a warm run, or a read-through that found no fresh entry. */
  reason: 'warm' | 'read-through';
}

export interface ComputedRecommendations {
  recommendations: object[];
  moodAnalysis?: object | null;
}

/** The host's workflow: mood prompt in, recommendations (and optionally its mood analysis) out. */
export type ComputeRecommendations = (moodPrompt: string, ctx: ComputeContext) => Promise<ComputedRecommendations>;

export interface PrecomputedRecommendations {
  recommendations: object[];
  moodAnalysis: object | null;
  computedAt: Date;
  /** When the entry leaves the cache; with computedAt it tells how fresh the entry is. */
  expiresAt: Date;
}

export type MoodOutcome =
  /** Computed and stored. */
  | 'computed'
  /** Skipped: its entry still had more than 20% of its TTL left. */
  | 'fresh'
  /** The workflow threw or returned something unusable. */
  | 'failed'
  /** The workflow took longer than the per-mood timeout. */
  | 'timeout'
  /** Not started: the run lost its lock. */
  | 'cancelled';

export interface MoodResult {
  mood: string;
  outcome: MoodOutcome;
  /** What went wrong, for failed and timed-out moods. */
  error?: string;
}

/** 'abandoned': the record says running but nobody holds the lock any more (its worker died). */
export type WarmStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'abandoned';
export type WarmTrigger = 'manual' | 'schedule';

export interface WarmProgress {
  jobId: string;
  status: WarmStatus;
  trigger: WarmTrigger;
  total: number;
  /** Moods finished, whatever their outcome. */
  done: number;
  /** Moods that failed, timed out or were cancelled (also counted in done). */
  failed: number;
  startedAt: Date;
  finishedAt: Date | null;
  /** The first moods that failed, timed out or were cancelled, with what went wrong (bounded: see warm-job.ts). */
  failures: MoodFailure[];
}

/** A mood of a warm run that got no entry, as its progress shows it. */
export interface MoodFailure {
  mood: string;
  outcome: 'failed' | 'timeout' | 'cancelled';
  error?: string;
}

export interface WarmReport extends WarmProgress {
  results: MoodResult[];
}

export interface WarmRequest {
  /** Moods to warm instead of the configured ones (plus the most requested, when configured). */
  moods?: readonly string[];
  /** Recompute even fresh entries. */
  force?: boolean;
}

export interface WarmStarted {
  jobId: string;
  status: 'running';
  moods: string[];
}
