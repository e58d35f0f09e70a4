/**
 * Options of reprise.popularMoods, resolved once: defaults, then environment variables, then options (an option
 * wins over its variable). Bad values are clear errors here, before anything runs.
 */
import type { RepriseCache } from '../cache/reprise-cache.js';
import { InvalidKeyError, normalizeListedMood } from '../cache/keys.js';
import { RepriseInputError, type OptionErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RedisGateway } from '../redis/gateway.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import {
  DEFAULT_POPULAR_MOODS,
  DEFAULT_WARM_CONCURRENCY,
  DEFAULT_WARM_LEASE_MS,
  DEFAULT_WARM_MOOD_TIMEOUT_MS,
  DEFAULT_WARM_SCHEDULE,
  MAX_WARM_MOOD_LENGTH,
  MAX_WARM_MOODS,
  WARM_SCHEDULE_ENV,
  WARM_TIMEZONE_ENV,
} from './defaults.js';
import type { ComputeRecommendations } from './types.js';
import { fromEnv, knownKeys, optionNames, RepriseOptionsError, wholeNumber } from '../validate.js';

export interface PopularMoodsOptions {
  /** The cache built by createCache / createCacheParts; entries go to its popular_mood_cache category. */
  cache: RepriseCache;
  /** The Redis gateway that cache uses (createCacheParts returns it): the warm lock and usage counts go through it. */
  gateway: RedisGateway;
  /** Prefix of reprise's own keys (lock, progress, usage counts); default: the cache's. */
  keyPrefix?: string;
  /** The host's workflow, used by warm runs and read-through. Without it nothing is scheduled. */
  computeRecommendations?: ComputeRecommendations;
  /** Moods kept precomputed (default: the 10 of SPEC). */
  moods?: readonly string[];
  /** Cron expression of the warm schedule [REPRISE_WARM_CRON], default `0 3 * * *`; false (or "false") disables it. */
  warmSchedule?: string | false;
  /** IANA time zone of the schedule [REPRISE_WARM_TIMEZONE]; default: the process's own. */
  warmTimezone?: string;
  /** Moods computed at once during a warm run (default 2). */
  warmConcurrency?: number;
  /** How long one mood may take before it counts as a timeout (default 120 000 ms). */
  warmMoodTimeoutMs?: number;
  /** Lease of the cross-worker warm lock, renewed while a run lasts (default 30 000 ms). */
  warmLeaseMs?: number;
  /** Also warm the n most requested moods (default 0: only the configured ones). */
  warmTopRequested?: number;
  /** Requests for a mood count half as much after this long (default one day). */
  usageHalfLifeMs?: number;
  /** Most distinct moods whose usage is tracked (default 1000). */
  usageMaxMoods?: number;
  /** Time source of usage counts (default Date.now). */
  now?: () => number;
  telemetry?: Telemetry;
  logger?: Logger;
  /** Where environment variables are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

const POPULAR_MOODS_OPTIONS = optionNames<PopularMoodsOptions>({
  cache: true, gateway: true, keyPrefix: true, computeRecommendations: true, moods: true, warmSchedule: true, warmTimezone: true,
  warmConcurrency: true, warmMoodTimeoutMs: true, warmLeaseMs: true, warmTopRequested: true, usageHalfLifeMs: true,
  usageMaxMoods: true, now: true, telemetry: true, logger: true, env: true,
});

/** The names PopularMoods takes, and the two it cannot work without. */
export function checkPopularMoodsOptions(options: PopularMoodsOptions): void {
  knownKeys(options, POPULAR_MOODS_OPTIONS, '');
  for (const name of ['cache', 'gateway'] as const) {
    if (!options?.[name]) throw new RepriseOptionsError('missing_option', name, 'PopularMoods needs the cache and its Redis gateway');
  }
  if (options.computeRecommendations !== undefined && typeof options.computeRecommendations !== 'function') {
    throw new RepriseOptionsError(
      'invalid_type',
      'computeRecommendations',
      'computeRecommendations must be a function (moodPrompt, ctx) => Promise<{ recommendations, moodAnalysis? }>',
    );
  }
}

export interface ResolvedSchedule {
  /** null when disabled. */
  expression: string | null;
  timezone: string | undefined;
}

export function resolveSchedule(options: Pick<PopularMoodsOptions, 'warmSchedule' | 'warmTimezone' | 'env'>): ResolvedSchedule {
  const env = options.env ?? process.env;
  const chosen = options.warmSchedule ?? fromEnv(env, WARM_SCHEDULE_ENV) ?? DEFAULT_WARM_SCHEDULE;
  const disabled = chosen === false || (typeof chosen === 'string' && chosen.trim().toLowerCase() === 'false');
  const timezone = options.warmTimezone ?? fromEnv(env, WARM_TIMEZONE_ENV);
  return { expression: disabled ? null : (chosen as string), timezone };
}

/**
 * The moods a warm request names, normalised and distinct: 1 to MAX_WARM_MOODS strings of at most
 * MAX_WARM_MOOD_LENGTH characters, each with words. A RepriseInputError names the field and the index of the first
 * bad one (`details: { field: 'moods', index }`), which an HTTP route answers 400 as it is.
 */
export function requestedMoods(moods: unknown): string[] {
  return moodList(moods, 'moods', MAX_WARM_MOOD_LENGTH, (_code, message, details) => new RepriseInputError(message, { details }));
}

/** The configured popular moods (the `popularMoods` option), checked like a warm request's, as an option. */
export function configuredMoods(moods: readonly string[] | undefined): string[] {
  try {
    return moodList(moods ?? DEFAULT_POPULAR_MOODS, 'popularMoods', undefined, (code, message) => new RepriseOptionsError(code, 'popularMoods', message));
  } catch (error) {
    // A mood the key rules refuse (no words, a lone surrogate) is a wrong option here, not wrong input.
    if (error instanceof InvalidKeyError) throw new RepriseOptionsError('invalid_value', 'popularMoods', error.message);
    throw error;
  }
}

type Refusal = (code: OptionErrorCode, message: string, details: { field: string; index?: number }) => Error;

function moodList(moods: unknown, field: string, maxLength: number | undefined, refuse: Refusal): string[] {
  if (!Array.isArray(moods) || moods.length === 0) throw refuse('invalid_type', `${field} must be a non-empty array of mood prompts`, { field });
  if (moods.length > MAX_WARM_MOODS) throw refuse('out_of_range', `${field} may name at most ${MAX_WARM_MOODS} moods, got ${moods.length}`, { field });
  const normalized = moods.map((mood: unknown, index) => {
    const details = { field, index };
    if (typeof mood !== 'string') throw refuse('invalid_type', `${field}[${index}] must be a string, got ${mood === null ? 'null' : typeof mood}`, details);
    if (maxLength !== undefined && mood.length > maxLength) throw refuse('out_of_range', `${field}[${index}] is longer than ${maxLength} characters`, details);
    return normalizeListedMood(mood, `${field}[${index}]`, details);
  });
  return [...new Set(normalized)];
}

export interface WarmSettings {
  concurrency: number;
  moodTimeoutMs: number;
  leaseMs: number;
  topRequested: number;
}

export function resolveWarmSettings(options: PopularMoodsOptions): WarmSettings {
  return {
    concurrency: wholeNumber(options.warmConcurrency ?? DEFAULT_WARM_CONCURRENCY, 'warmConcurrency', 1),
    moodTimeoutMs: wholeNumber(options.warmMoodTimeoutMs ?? DEFAULT_WARM_MOOD_TIMEOUT_MS, 'warmMoodTimeoutMs', 1),
    leaseMs: wholeNumber(options.warmLeaseMs ?? DEFAULT_WARM_LEASE_MS, 'warmLeaseMs', 3),
    topRequested: wholeNumber(options.warmTopRequested ?? 0, 'warmTopRequested', 0),
  };
}
