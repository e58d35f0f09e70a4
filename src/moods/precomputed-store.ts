/**
 * Precomputed recommendations in the cache's popular_mood_cache category, one entry per normalised mood. Each entry
 * carries when it was computed and when it expires, so any worker can tell how fresh it is.
 */
import type { RepriseCache } from '../cache/reprise-cache.js';
import { FRESH_SHARE_OF_TTL } from './defaults.js';
import type { ComputedRecommendations, PrecomputedRecommendations } from './types.js';
import { RepriseInputError } from '../errors.js';

const CATEGORY = 'popular_mood_cache';

export class PrecomputedStore {
  constructor(private readonly cache: RepriseCache) {}

  /** The entry of a normalised mood, or null. A value of any other shape is treated as missing. */
  async get(mood: string): Promise<PrecomputedRecommendations | null> {
    const value = await this.cache.get(CATEGORY, mood);
    return isEntry(value) ? value : null;
  }

  /** Like get, without counting as a cache read (coverage is bookkeeping, not traffic). */
  async peek(mood: string): Promise<PrecomputedRecommendations | null> {
    const value = await this.cache.peek(CATEGORY, mood);
    return isEntry(value) ? value : null;
  }

  /** The moment to pass to put() by a computation about to start. */
  changeMark(): number {
    return this.cache.changeMark();
  }

  /**
   * Stores the entry and returns it. With `since`, an entry the mood was invalidated (or stored) after is not
   * stored: that change is newer than what was computed.
   */
  async put(mood: string, computed: ComputedRecommendations, since?: number): Promise<PrecomputedRecommendations> {
    const entry = this.entryOf(computed);
    await this.cache.set(CATEGORY, mood, entry, since === undefined ? {} : { unlessChangedSince: since });
    return entry;
  }

  /**
   * The fresh entry of a popular mood, computed once across every worker sharing Redis when none has it (the
   * others wait for its value). A computation the mood was invalidated during is answered but not stored.
   */
  async getOrCompute(mood: string, compute: () => Promise<ComputedRecommendations>): Promise<PrecomputedRecommendations> {
    return this.cache.getOrSet(CATEGORY, mood, async () => this.entryOf(await compute()), {
      acrossWorkers: true,
      isFresh: (value) => isEntry(value) && PrecomputedStore.isFresh(value),
    });
  }

  private entryOf(computed: ComputedRecommendations): PrecomputedRecommendations {
    const { recommendations, moodAnalysis } = checkComputed(computed);
    const ttlMs = this.cache.ttls[CATEGORY] * 1_000;
    const computedAt = new Date();
    return { recommendations, moodAnalysis: moodAnalysis ?? null, computedAt, expiresAt: new Date(computedAt.getTime() + ttlMs) };
  }

  async delete(mood: string): Promise<boolean> {
    return this.cache.delete(CATEGORY, mood);
  }

  /** True while the entry has more than 20% of its TTL left. */
  static isFresh(entry: PrecomputedRecommendations, now = Date.now()): boolean {
    const lifetime = entry.expiresAt.getTime() - entry.computedAt.getTime();
    return entry.expiresAt.getTime() - now > lifetime * FRESH_SHARE_OF_TTL;
  }
}

/** What the host's workflow returned, or a caller stored, is not `{ recommendations: object[], moodAnalysis?: object }`. */
export class InvalidRecommendationsError extends RepriseInputError {
  override name = 'InvalidRecommendationsError';
}

/** What the host's workflow (or a caller) hands over must be `{ recommendations: object[], moodAnalysis?: object }`. */
export function checkComputed(value: unknown): ComputedRecommendations {
  const candidate = value as Partial<ComputedRecommendations> | null;
  if (typeof candidate !== 'object' || candidate === null || !Array.isArray(candidate.recommendations)) {
    throw new InvalidRecommendationsError('recommendations must be given as { recommendations: object[], moodAnalysis?: object }');
  }
  const analysis = candidate.moodAnalysis;
  if (analysis !== undefined && analysis !== null && typeof analysis !== 'object') {
    throw new InvalidRecommendationsError('moodAnalysis must be an object when given');
  }
  return candidate as ComputedRecommendations;
}

function isEntry(value: unknown): value is PrecomputedRecommendations {
  const entry = value as Partial<PrecomputedRecommendations> | null;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    Array.isArray(entry.recommendations) &&
    entry.computedAt instanceof Date &&
    entry.expiresAt instanceof Date
  );
}
