/** Cache categories and their default TTLs (SPEC "Categories and default TTLs"). */
import { RepriseInputError } from '../errors.js';
import { closestName, RepriseOptionsError } from '../validate.js';

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const DEFAULT_TTLS = {
  workflow_artifacts: 30 * MINUTE,
  artist_enrichment: 30 * MINUTE,
  validated_seeds: HOUR,
  popular_mood_cache: 2 * HOUR,
  /** Validated Spotify <-> ReccoBeats mappings. */
  id_registry: 30 * DAY,
  /** Spotify IDs known to be missing from ReccoBeats. */
  id_registry_missing: 7 * DAY,
  workflow_state: 5 * MINUTE,
  user_profile: HOUR,
  top_tracks: 30 * MINUTE,
  top_artists: 30 * MINUTE,
  recommendations: 15 * MINUTE,
  mood_analysis: HOUR,
  track_details: HOUR,
} as const satisfies Record<string, number>;

export type CacheCategory = keyof typeof DEFAULT_TTLS;

export const CACHE_CATEGORIES = Object.freeze(Object.keys(DEFAULT_TTLS) as CacheCategory[]);

const KNOWN = new Set<string>(CACHE_CATEGORIES);

export function isCacheCategory(value: unknown): value is CacheCategory {
  return typeof value === 'string' && KNOWN.has(value);
}

/** A category that is not one of CACHE_CATEGORIES; over HTTP, 400 with `validCategories`. */
export class UnknownCategoryError extends RepriseInputError {
  override name = 'UnknownCategoryError';
  readonly validCategories = CACHE_CATEGORIES;
  constructor(readonly category: unknown) {
    super(`unknown cache category ${JSON.stringify(category)}; valid categories: ${CACHE_CATEGORIES.join(', ')}`, { details: { validCategories: CACHE_CATEGORIES } });
  }
}

export function assertCategory(value: unknown): asserts value is CacheCategory {
  if (!isCacheCategory(value)) throw new UnknownCategoryError(value);
}

export type CategoryTtls = Record<CacheCategory, number>;

/**
 * TTLs in seconds: defaults, then REPRISE_TTL_<CATEGORY> variables, then the `ttls` option (the option wins).
 * Every value must be a positive whole number of seconds.
 */
export function resolveTtls(
  overrides: Partial<Record<string, number>> = {},
  env: NodeJS.ProcessEnv = process.env,
): CategoryTtls {
  const ttls: CategoryTtls = { ...DEFAULT_TTLS };
  for (const category of CACHE_CATEGORIES) {
    const variable = `REPRISE_TTL_${category.toUpperCase()}`;
    const fromEnv = env[variable];
    if (fromEnv !== undefined && fromEnv !== '') ttls[category] = parseTtl(Number(fromEnv), `ttls.${category}`, variable);
  }
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new RepriseOptionsError('invalid_type', 'ttls', 'ttls must be an object of seconds per category');
  }
  for (const [category, seconds] of Object.entries(overrides)) {
    if (seconds === undefined) continue;
    if (!isCacheCategory(category)) {
      const suggestion = closestName(category, CACHE_CATEGORIES);
      throw new RepriseOptionsError(
        'unknown_option',
        `ttls.${category}`,
        `unknown option ttls.${category}: valid categories: ${CACHE_CATEGORIES.join(', ')}${suggestion ? `; did you mean ttls.${suggestion}?` : ''}`,
      );
    }
    ttls[category] = parseTtl(seconds, `ttls.${category}`);
  }
  return ttls;
}

/** A TTL option in seconds; `source` is where it came from when not the option itself (an environment variable). */
export function parseTtl(seconds: number, option: string, source = option): number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new RepriseOptionsError(
      typeof seconds === 'number' ? 'out_of_range' : 'invalid_type',
      option,
      `${source} must be a positive number of seconds, got ${String(seconds)}`,
    );
  }
  return seconds;
}
