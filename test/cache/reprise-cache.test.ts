import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCache, type RepriseCache } from '../../src/index.js';
import { moodSimilarity } from '../../src/cache/similarity.js';
import { BACKEND_NAMES, startBackend, type Backend } from '../harness/backends.js';
import { recordingLogger } from '../harness/logger.js';
import { hasRedisServer } from '../harness/redis-servers.js';

describe('mood similarity', () => {
  it('scores word overlap and ignores filler words', () => {
    expect(moodSimilarity('happy and energetic', 'happy energetic')).toBe(1);
    expect(moodSimilarity('happy and energetic', 'happy energetic workout')).toBeCloseTo(2 / 3);
    expect(moodSimilarity('calm and relaxing', 'party vibes')).toBe(0);
  });
});

const backends = ['memory', ...(hasRedisServer ? BACKEND_NAMES : [])] as const;

describe.each(backends)('workflow helpers (%s)', (backendName) => {
  let backend: Backend | undefined;
  let cache: RepriseCache;
  let prefixCounter = 0;

  beforeAll(async () => {
    if (backendName !== 'memory') backend = await startBackend(backendName);
  });
  afterEach(async () => {
    await cache?.close();
  });
  afterAll(async () => {
    await backend?.destroy();
  });

  async function open(): Promise<RepriseCache> {
    cache = await createCache({
      ...(backend ? { redisUrl: backend.url } : {}),
      env: {},
      keyPrefix: `wf${++prefixCounter}:`,
      logger: recordingLogger(),
      redisCommandTimeoutMs: 2_000,
      redisConnectTimeoutMs: 15_000,
    });
    return cache;
  }

  it('stores workflow artifacts per user and normalised mood', async () => {
    const cache = await open();
    await cache.setWorkflowArtifacts({ userId: 'u1', moodPrompt: 'Happy & Energetic!', artifacts: { seeds: ['a'] } });
    expect(await cache.getWorkflowArtifacts({ userId: 'u1', moodPrompt: 'happy and energetic' })).toEqual({ seeds: ['a'] });
    expect(await cache.getWorkflowArtifacts({ userId: 'u2', moodPrompt: 'happy and energetic' })).toBeUndefined();
  });

  it('keeps user ids and prompts with separators apart', async () => {
    const cache = await open();
    await cache.setWorkflowArtifacts({ userId: 'a:b', moodPrompt: 'c', artifacts: 'first' });
    await cache.setWorkflowArtifacts({ userId: 'a', moodPrompt: 'b:c', artifacts: 'second' });
    expect(await cache.getWorkflowArtifacts({ userId: 'a:b', moodPrompt: 'c' })).toBe('first');
    expect(await cache.getWorkflowArtifacts({ userId: 'a', moodPrompt: 'b:c' })).toBe('second');
  });

  it('reuses the most similar recent prompt of the same user with similar: true', async () => {
    const cache = await open();
    await cache.setWorkflowArtifacts({ userId: 'u1', moodPrompt: 'happy and energetic', artifacts: { from: 'happy' } });
    await cache.setWorkflowArtifacts({ userId: 'u1', moodPrompt: 'calm and relaxing', artifacts: { from: 'calm' } });
    await cache.setWorkflowArtifacts({ userId: 'u2', moodPrompt: 'happy energetic workout', artifacts: { from: 'other user' } });

    expect(await cache.getWorkflowArtifacts({ userId: 'u1', moodPrompt: 'happy energetic workout' })).toBeUndefined();
    expect(await cache.getWorkflowArtifacts({ userId: 'u1', moodPrompt: 'happy energetic workout', similar: true })).toEqual({ from: 'happy' });
    expect(await cache.findWorkflowArtifacts({ userId: 'u1', moodPrompt: 'Relaxing, calm music', similar: true })).toMatchObject({
      artifacts: { from: 'calm' },
      moodPrompt: 'calm and relaxing',
      similarity: 1,
    });
    expect(await cache.getWorkflowArtifacts({ userId: 'u1', moodPrompt: 'angry metal', similar: true })).toBeUndefined();
  });

  it('finds artist enrichment by the set of artist ids, in any order', async () => {
    const cache = await open();
    await cache.setArtistEnrichment({ artistIds: ['a2', 'a1', 'a3'], enrichmentData: { genres: ['pop'] } });
    expect(await cache.getArtistEnrichment(['a1', 'a3', 'a2'])).toEqual({ genres: ['pop'] });
    expect(await cache.getArtistEnrichment(['a1', 'a3', 'a2', 'a1'])).toEqual({ genres: ['pop'] });
    expect(await cache.getArtistEnrichment(['a1', 'a2'])).toBeUndefined();
    await expect(cache.getArtistEnrichment([])).rejects.toThrow(/non-empty/);
  });

  it('keeps artist sets apart whatever characters the ids hold', async () => {
    const cache = await open();
    await cache.setArtistEnrichment({ artistIds: ['a', 'b'], enrichmentData: 'two artists' });
    expect(await cache.getArtistEnrichment(['a\nb'])).toBeUndefined();
    expect(await cache.getArtistEnrichment(['b', 'a', 'b'])).toBe('two artists');
  });

  it('stores validated seeds per user and mood', async () => {
    const cache = await open();
    await cache.setValidatedSeeds({ userId: 7, moodPrompt: 'Late-night vibes', seeds: [] });
    expect(await cache.getValidatedSeeds({ userId: '7', moodPrompt: 'late night vibes' })).toEqual([]);
    await expect(cache.getValidatedSeeds({ userId: '', moodPrompt: 'x' })).rejects.toThrow(/userId/);
  });
});
