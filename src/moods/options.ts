/**
 * Options of reprise.popularMoods, resolved once: defaults, then environment variables, then options (an option
 * wins over its variable). Bad values are clear errors here, before anything runs.
 */
import type { RepriseCache } from '../cache/reprise-cache.js';
import { normalizeMoodPrompt } from '../cache/keys.js';
import type { Logger } from '../logger.js';
import type { RedisGateway } from '../redis/gateway.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import {
  DEFAULT_POPULAR_MOODS,
  DEFAULT_WARM_CONCURRENCY,
  DEFAULT_WARM_LEASE_MS,
  DEFAULT_WARM_MOOD_TIMEOUT_MS,
  DEFAULT_WARM_SCHEDULE,
  MAX_WARM_MOODS,
  WARM_SCHEDULE_ENV,
  WARM_TIMEZONE_ENV,
} from './defaults.js';
import type { ComputeRecommendations } from './types.js';
import { fromEnv, wholeNumber } from '../validate.js';

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

/** Normalised, distinct moods; each must have words. */
export function normalizeMoodList(moods: unknown, what: string): string[] {
  if (!Array.isArray(moods) || moods.length === 0) throw new TypeError(`${what} must be a non-empty array of mood prompts`);
  if (moods.length > MAX_WARM_MOODS) throw new RangeError(`${what} may name at most ${MAX_WARM_MOODS} moods, got ${moods.length}`);
  const normalized = moods.map((mood, index) => {
    if (typeof mood !== 'string') throw new TypeError(`${what}[${index}] must be a string, got ${typeof mood}`);
    return normalizeMoodPrompt(mood);
  });
  return [...new Set(normalized)];
}

export function configuredMoods(moods: readonly string[] | undefined): string[] {
  return normalizeMoodList(moods ?? DEFAULT_POPULAR_MOODS, 'popularMoods');
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
