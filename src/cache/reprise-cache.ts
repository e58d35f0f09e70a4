/**
 * reprise.cache: the generic two-tier cache plus the workflow's own helpers (artifacts per user and mood, artist
 * enrichment per set of artists, validated seeds), keyed by normalised mood prompts.
 */
import { createHash } from 'node:crypto';
import { normalizeMoodPrompt, reservedPart, categoryPrefix, encodeKey } from './keys.js';
import { DEFAULT_SIMILARITY_THRESHOLD, moodSimilarity } from './similarity.js';
import {
  TwoTierCache,
  valueOf,
  type GetOrSetOptions,
  type InvalidationParticipant,
  type Lookup,
  type LookupHow,
  type SetOptions,
  type TwoTierCacheOptions,
} from './two-tier-cache.js';
import type { CacheCategory } from './categories.js';
import type { CacheKey } from './keys.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { RepriseInputError, RepriseOptionsError } from '../errors.js';

export interface WorkflowArtifactsInput<T> {
  userId: string | number;
  moodPrompt: string;
  artifacts: T;
}

export interface WorkflowArtifactsQuery {
  userId: string | number;
  moodPrompt: string;
  /** When no entry exists for this exact prompt, use the same user's most similar recent prompt. */
  similar?: boolean;
}

export interface SimilarArtifacts<T> {
  artifacts: T;
  /** The normalised prompt the artifacts were stored under. */
  moodPrompt: string;
  /** 1 for the exact prompt, else the word overlap (at least the threshold). */
  similarity: number;
}

interface RecentPrompt {
  moodPrompt: string;
  at: number;
}

/** Recent prompts remembered per user for `similar` look-ups. */
const RECENT_PROMPTS_KEPT = 20;

export interface RepriseCacheOptions extends TwoTierCacheOptions {
  /** Word overlap (0..1] a prompt needs to reuse another's artifacts; default 0.5. */
  similarityThreshold?: number;
}

/** A step of a workflow helper reads as any get does, and says whether Redis left it unanswered. */
const STEP: LookupHow = Object.freeze({ counted: true, operation: 'get' });
const STEP_MEMORY_ONLY: LookupHow = Object.freeze({ counted: true, operation: 'get', memoryOnly: true });
/** reprise's own index (recent prompts) is bookkeeping, not traffic. */
const INDEX: LookupHow = Object.freeze({ counted: false });
const INDEX_MEMORY_ONLY: LookupHow = Object.freeze({ counted: false, memoryOnly: true });

export class RepriseCache {
  readonly similarityThreshold: number;
  /** The generic two-tier engine; this class adds the workflow's helpers on top of it. */
  private readonly engine: TwoTierCache;

  constructor(options: RepriseCacheOptions) {
    const threshold = options.similarityThreshold ?? DEFAULT_SIMILARITY_THRESHOLD;
    if (!(threshold > 0 && threshold <= 1)) {
      throw new RepriseOptionsError(typeof threshold === 'number' ? 'out_of_range' : 'invalid_type', 'similarityThreshold', `similarityThreshold must be in (0, 1], got ${threshold}`);
    }
    this.similarityThreshold = threshold;
    this.engine = new TwoTierCache(options);
  }

  // ---- the generic cache (see TwoTierCache) ----

  get keyPrefix(): string {
    return this.engine.keyPrefix;
  }

  get ttls(): TwoTierCache['ttls'] {
    return this.engine.ttls;
  }

  get telemetry(): Telemetry {
    return this.engine.telemetry;
  }

  /** Settles true once this instance hears other instances' invalidations (false in memory-only mode or on failure). */
  get listening(): Promise<boolean> {
    return this.engine.listening;
  }

  get<T = unknown>(category: CacheCategory, key: CacheKey): Promise<T | undefined> {
    return this.engine.get<T>(category, key);
  }

  peek<T = unknown>(category: CacheCategory, key: CacheKey): Promise<T | undefined> {
    return this.engine.peek<T>(category, key);
  }

  getMany<T = unknown>(category: CacheCategory, keys: readonly CacheKey[]): Promise<Array<T | undefined>> {
    return this.engine.getMany<T>(category, keys);
  }

  set(category: CacheCategory, key: CacheKey, value: unknown, options?: SetOptions): Promise<boolean> {
    return this.engine.set(category, key, value, options);
  }

  delete(category: CacheCategory, key: CacheKey): Promise<boolean> {
    return this.engine.delete(category, key);
  }

  getOrSet<T>(category: CacheCategory, key: CacheKey, factory: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T> {
    return this.engine.getOrSet(category, key, factory, options);
  }

  invalidate(category?: CacheCategory): Promise<number> {
    return this.engine.invalidate(category);
  }

  changeMark(): number {
    return this.engine.changeMark();
  }

  join(participant: InvalidationParticipant): () => void {
    return this.engine.join(participant);
  }

  stats(): ReturnType<TwoTierCache['stats']> {
    return this.engine.stats();
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  // ---- workflow helpers ----

  async setWorkflowArtifacts<T>({ userId, moodPrompt, artifacts }: WorkflowArtifactsInput<T>): Promise<void> {
    const user = checkUserId(userId);
    const mood = normalizeMoodPrompt(moodPrompt);
    const ttlMs = this.engine.ttlMs('workflow_artifacts', {});
    const answered = await this.engine.write('workflow_artifacts', this.engine.keyFor('workflow_artifacts', [user, mood]), artifacts, ttlMs);
    // Redis failing the first step costs one wait; the rest of the call does not wait on it again.
    await this.rememberPrompt(user, mood, ttlMs, !answered);
  }

  async getWorkflowArtifacts<T = unknown>(query: WorkflowArtifactsQuery): Promise<T | undefined> {
    return (await this.findWorkflowArtifacts<T>(query))?.artifacts;
  }

  /** Like getWorkflowArtifacts, and says which prompt matched and how closely. */
  async findWorkflowArtifacts<T = unknown>({ userId, moodPrompt, similar = false }: WorkflowArtifactsQuery): Promise<SimilarArtifacts<T> | undefined> {
    const user = checkUserId(userId);
    const mood = normalizeMoodPrompt(moodPrompt);
    const exact = await this.step(this.engine.keyFor('workflow_artifacts', [user, mood]), STEP);
    if (valueOf(exact) !== undefined) return { artifacts: valueOf(exact) as T, moodPrompt: mood, similarity: 1 };
    if (!similar) return undefined;

    // Once Redis has left a step of this call unanswered, the later steps ask memory alone: one wait per call.
    let memoryOnly = exact.kind === 'unanswered';
    const recent = await this.step(this.recentPromptsKey(user), memoryOnly ? INDEX_MEMORY_ONLY : INDEX);
    memoryOnly ||= recent.kind === 'unanswered';
    const candidates = (valueOf(recent) as RecentPrompt[] | undefined) ?? [];
    const ranked = candidates
      .filter((candidate) => candidate.moodPrompt !== mood)
      .map((candidate) => ({ moodPrompt: candidate.moodPrompt, similarity: moodSimilarity(mood, candidate.moodPrompt) }))
      .filter((candidate) => candidate.similarity >= this.similarityThreshold)
      .sort((a, b) => b.similarity - a.similarity);
    for (const candidate of ranked) {
      const key = this.engine.keyFor('workflow_artifacts', [user, candidate.moodPrompt]);
      const found = await this.step(key, memoryOnly ? STEP_MEMORY_ONLY : STEP);
      if (valueOf(found) !== undefined) return { artifacts: valueOf(found) as T, ...candidate };
      memoryOnly ||= found.kind === 'unanswered';
    }
    return undefined;
  }

  /** Enrichment for a set of artists: the same ids in any order (or repeated) find the same entry. */
  async setArtistEnrichment<T>({ artistIds, enrichmentData }: { artistIds: readonly string[]; enrichmentData: T }): Promise<void> {
    await this.engine.write('artist_enrichment', this.artistSetKey(artistIds), enrichmentData, this.engine.ttlMs('artist_enrichment', {}));
  }

  async getArtistEnrichment<T = unknown>(artistIds: readonly string[]): Promise<T | undefined> {
    return valueOf(await this.step(this.artistSetKey(artistIds), STEP, 'artist_enrichment')) as T | undefined;
  }

  async setValidatedSeeds<T>({ userId, moodPrompt, seeds }: { userId: string | number; moodPrompt: string; seeds: T }): Promise<void> {
    await this.engine.write('validated_seeds', this.userMoodKey('validated_seeds', userId, moodPrompt), seeds, this.engine.ttlMs('validated_seeds', {}));
  }

  async getValidatedSeeds<T = unknown>({ userId, moodPrompt }: { userId: string | number; moodPrompt: string }): Promise<T | undefined> {
    return valueOf(await this.step(this.userMoodKey('validated_seeds', userId, moodPrompt), STEP, 'validated_seeds')) as T | undefined;
  }

  private userMoodKey(category: CacheCategory, userId: string | number, moodPrompt: string): string {
    return this.engine.keyFor(category, [checkUserId(userId), normalizeMoodPrompt(moodPrompt)]);
  }

  /** Sorted, de-duplicated ids hashed into one fixed-length key part. */
  private artistSetKey(artistIds: readonly string[]): string {
    if (!Array.isArray(artistIds) || artistIds.length === 0 || !artistIds.every((id) => typeof id === 'string' && id !== '')) {
      throw new RepriseInputError('artistIds must be a non-empty array of non-empty strings');
    }
    // The same checks as any key part (length, well-formed Unicode): hashing would hide a lone surrogate as U+FFFD.
    encodeKey(artistIds);
    // JSON keeps ids apart whatever they contain ("a\nb" is not "a" + "b").
    const canonical = JSON.stringify([...new Set(artistIds)].sort());
    const digest = createHash('sha256').update(canonical).digest('base64url');
    return `${categoryPrefix(this.keyPrefix, 'artist_enrichment')}${reservedPart('set')}:${digest}`;
  }

  private recentPromptsKey(userId: string): string {
    return `${categoryPrefix(this.keyPrefix, 'workflow_artifacts')}${reservedPart('recent')}:${encodeKey(userId)}`;
  }

  /**
   * Keeps the user's latest prompts for `similar` look-ups. Two workers writing at once may drop one prompt
   * from the list; the artifacts themselves are never lost.
   */
  private async rememberPrompt(userId: string, moodPrompt: string, ttlMs: number, memoryOnly: boolean): Promise<void> {
    const key = this.recentPromptsKey(userId);
    const stored = await this.step(key, memoryOnly ? INDEX_MEMORY_ONLY : INDEX);
    const previous = (valueOf(stored) as RecentPrompt[] | undefined) ?? [];
    const recent = [{ moodPrompt, at: Date.now() }, ...previous.filter((entry) => entry.moodPrompt !== moodPrompt)].slice(0, RECENT_PROMPTS_KEPT);
    await this.engine.write('workflow_artifacts', key, recent, ttlMs, { memoryOnly: memoryOnly || stored.kind === 'unanswered' });
  }

  /** One step of a helper: a look at both tiers (or memory alone), counted like a get unless it is an index. */
  private step(fullKey: string, how: LookupHow, category: CacheCategory = 'workflow_artifacts'): Promise<Lookup> {
    return Promise.resolve(this.engine.lookup(category, fullKey, how));
  }
}

function checkUserId(userId: string | number): string {
  if ((typeof userId !== 'string' && typeof userId !== 'number') || userId === '') {
    throw new RepriseInputError('userId must be a non-empty string or a number');
  }
  return String(userId);
}
