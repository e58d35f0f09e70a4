/** Defaults of popular mood precomputation (SPEC "Entry point" and "Default popular moods"). */

export const DEFAULT_POPULAR_MOODS: readonly string[] = Object.freeze([
  'happy and energetic',
  'calm and relaxing',
  'focus and concentration',
  'workout motivation',
  'sad and melancholy',
  'romantic and intimate',
  'party vibes',
  'chill evening',
  'morning energy',
  'late night vibes',
]);

/** Every day at 03:00. */
export const DEFAULT_WARM_SCHEDULE = '0 3 * * *';
export const WARM_SCHEDULE_ENV = 'REPRISE_WARM_CRON';
/** IANA time zone of the schedule; unset means the process's own time zone. */
export const WARM_TIMEZONE_ENV = 'REPRISE_WARM_TIMEZONE';

/** Moods computed at the same time during a warm run. */
export const DEFAULT_WARM_CONCURRENCY = 2;
/** A mood whose computation takes longer is abandoned (its signal aborted) and counted as a timeout. */
export const DEFAULT_WARM_MOOD_TIMEOUT_MS = 120_000;
/** The cross-worker warm lock lasts this long unless renewed (it is renewed every third of it while a run lasts). */
export const DEFAULT_WARM_LEASE_MS = 30_000;

/** An entry with less than this share of its TTL left is recomputed by the next warm run. */
export const FRESH_SHARE_OF_TTL = 0.2;

/** Most moods one warm request may name. */
export const MAX_WARM_MOODS = 100;
/** Longest mood a warm request may name, in characters as given: a mood is a phrase (longer ones are not tracked either). */
export const MAX_WARM_MOOD_LENGTH = 200;

/** Requests for a mood count half as much after this long. */
export const DEFAULT_USAGE_HALF_LIFE_MS = 24 * 60 * 60 * 1_000;
/** Most distinct moods whose usage is tracked; the least requested are dropped beyond it. */
export const DEFAULT_USAGE_MAX_MOODS = 1_000;
/** Longer prompts are not tracked: they are sentences, not moods anyone else will ask for again. */
export const MAX_TRACKED_MOOD_LENGTH = 200;
