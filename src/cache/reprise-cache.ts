/**
 * reprise.cache: the generic two-tier cache plus the workflow's own helpers (artifacts per user and mood, artist
 * enrichment per set of artists, validated seeds), keyed by normalised mood prompts.
 */
import { createHash } from 'node:crypto';
import { normalizeMoodPrompt, reservedPart, categoryPrefix, encodeKey } from './keys.js';
import { DEFAULT_SIMILARITY_THRESHOLD, moodSimilarity } from './similarity.js';
import { TwoTierCache, type TwoTierCacheOptions } from './two-tier-cache.js';
import type { CacheCategory } from './categories.js';

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

export class RepriseCache extends TwoTierCache {
  readonly similarityThreshold: number;

  constructor(options: RepriseCacheOptions) {
    super(options);
    const threshold = options.similarityThreshold ?? DEFAULT_SIMILARITY_THRESHOLD;
    if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`similarityThreshold must be in (0, 1], got ${threshold}`);
    this.similarityThreshold = threshold;
  }

  async setWorkflowArtifacts<T>({ userId, moodPrompt, artifacts }: WorkflowArtifactsInput<T>): Promise<void> {
    const user = checkUserId(userId);
    const mood = normalizeMoodPrompt(moodPrompt);
    const ttlMs = this.ttlMs('workflow_artifacts', {});
    const answered = await this.write('workflow_artifacts', this.keyFor('workflow_artifacts', [user, mood]), artifacts, ttlMs);
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
    const exact = await this.lookup('workflow_artifacts', this.keyFor('workflow_artifacts', [user, mood]));
    if (exact.value !== undefined) return { artifacts: exact.value as T, moodPrompt: mood, similarity: 1 };
    if (!similar) return undefined;

    // Once Redis has left a step of this call unanswered, the later steps ask memory alone: one wait per call.
    let memoryOnly = exact.unanswered;
    const recent = await this.lookup('workflow_artifacts', this.recentPromptsKey(user), { counted: false, memoryOnly });
    memoryOnly ||= recent.unanswered;
    const candidates = (recent.value as RecentPrompt[] | undefined) ?? [];
    const ranked = candidates
      .filter((candidate) => candidate.moodPrompt !== mood)
      .map((candidate) => ({ moodPrompt: candidate.moodPrompt, similarity: moodSimilarity(mood, candidate.moodPrompt) }))
      .filter((candidate) => candidate.similarity >= this.similarityThreshold)
      .sort((a, b) => b.similarity - a.similarity);
    for (const candidate of ranked) {
      const key = this.keyFor('workflow_artifacts', [user, candidate.moodPrompt]);
      const found = await this.lookup('workflow_artifacts', key, { memoryOnly });
      if (found.value !== undefined) return { artifacts: found.value as T, ...candidate };
      memoryOnly ||= found.unanswered;
    }
    return undefined;
  }

  /** Enrichment for a set of artists: the same ids in any order (or repeated) find the same entry. */
  async setArtistEnrichment<T>({ artistIds, enrichmentData }: { artistIds: readonly string[]; enrichmentData: T }): Promise<void> {
    await this.write('artist_enrichment', this.artistSetKey(artistIds), enrichmentData, this.ttlMs('artist_enrichment', {}));
  }

  async getArtistEnrichment<T = unknown>(artistIds: readonly string[]): Promise<T | undefined> {
    return (await this.read('artist_enrichment', this.artistSetKey(artistIds))) as T | undefined;
  }

  async setValidatedSeeds<T>({ userId, moodPrompt, seeds }: { userId: string | number; moodPrompt: string; seeds: T }): Promise<void> {
    await this.write('validated_seeds', this.userMoodKey('validated_seeds', userId, moodPrompt), seeds, this.ttlMs('validated_seeds', {}));
  }

  async getValidatedSeeds<T = unknown>({ userId, moodPrompt }: { userId: string | number; moodPrompt: string }): Promise<T | undefined> {
    return (await this.read('validated_seeds', this.userMoodKey('validated_seeds', userId, moodPrompt))) as T | undefined;
  }

  private userMoodKey(category: CacheCategory, userId: string | number, moodPrompt: string): string {
    return this.keyFor(category, [checkUserId(userId), normalizeMoodPrompt(moodPrompt)]);
  }

  /** Sorted, de-duplicated ids hashed into one fixed-length key part. */
  private artistSetKey(artistIds: readonly string[]): string {
    if (!Array.isArray(artistIds) || artistIds.length === 0 || !artistIds.every((id) => typeof id === 'string' && id !== '')) {
      throw new TypeError('artistIds must be a non-empty array of non-empty strings');
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
    const stored = await this.lookup('workflow_artifacts', key, { counted: false, memoryOnly });
    const previous = (stored.value as RecentPrompt[] | undefined) ?? [];
    const recent = [{ moodPrompt, at: Date.now() }, ...previous.filter((entry) => entry.moodPrompt !== moodPrompt)].slice(0, RECENT_PROMPTS_KEPT);
    await this.write('workflow_artifacts', key, recent, ttlMs, { memoryOnly: memoryOnly || stored.unanswered });
  }
}

function checkUserId(userId: string | number): string {
  if ((typeof userId !== 'string' && typeof userId !== 'number') || userId === '') {
    throw new TypeError('userId must be a non-empty string or a number');
  }
  return String(userId);
}
