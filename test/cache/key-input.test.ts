/**
 * SPEC "Keys, values and memory" against a real Redis: any Unicode is handled without exceptions other than reprise's
 * own (a lone surrogate is refused with InvalidKeyError, never URIError), over-long parts are refused before anything
 * is written, and invalidate() never matches a key outside `<prefix><category>:` whatever the prefix.
 */
import { describe, expect, it } from 'vitest';
import { createCache, createReprise, InvalidKeyError, MAX_KEY_PART_LENGTH, type RepriseCache } from '../../src/index.js';
import { closeAfterEachTest, useRedisServer } from '../harness/lifecycle.js';
import { recordingLogger } from '../harness/logger.js';
import { hasRedisServer } from '../harness/redis-servers.js';

describe.skipIf(!hasRedisServer)('key input on a real Redis', () => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<{ close(): unknown }>();
  let prefixCounter = 0;

  async function open(keyPrefix = `ki${++prefixCounter}:`): Promise<RepriseCache> {
    const cache = await createCache({ redisUrl: server().url, keyPrefix, logger: recordingLogger(), redisConnectTimeoutMs: 15_000, env: {} });
    opened.push(cache);
    return cache;
  }

  const keysUnder = (prefix: string) => Number(server().cli('EVAL', `return #redis.call('KEYS', ARGV[1])`, '0', `${prefix}*`));

  it('refuses a lone surrogate in any key part or prompt with InvalidKeyError, writing nothing', async () => {
    const cache = await open();
    await cache.set('recommendations', 'fine', 1);
    const before = keysUnder(cache.keyPrefix);
    const attempts: Array<() => Promise<unknown>> = [
      () => cache.set('recommendations', '\uD800', 1),
      () => cache.get('recommendations', ['user', 'x\uDFFF']),
      () => cache.getOrSet('recommendations', '\uD800', () => 1),
      () => cache.delete('recommendations', '\uD800'),
      () => cache.getMany('recommendations', ['fine', '\uD800']),
      () => cache.setWorkflowArtifacts({ userId: 'u', moodPrompt: 'calm \uD800', artifacts: {} }),
      () => cache.getWorkflowArtifacts({ userId: 'u\uD800', moodPrompt: 'calm', similar: true }),
      () => cache.setValidatedSeeds({ userId: 'u', moodPrompt: '\uDC00', seeds: [] }),
      () => cache.getArtistEnrichment(['a', '\uD800']),
    ];
    for (const attempt of attempts) {
      const error = await attempt().then(() => null, (e: unknown) => e);
      expect(error, String(attempt)).toBeInstanceOf(InvalidKeyError);
      expect((error as Error).message).toMatch(/lone UTF-16 surrogate/);
    }
    expect(keysUnder(cache.keyPrefix)).toBe(before);
    // Well-formed text of any script, emoji included, is stored and read back.
    await cache.set('recommendations', ['ユーザー', '🎧 nuit calme'], 'ok');
    expect(await (await open(cache.keyPrefix)).get('recommendations', ['ユーザー', '🎧 nuit calme'])).toBe('ok');
  });

  it('refuses an over-long key part or prompt before anything is written', async () => {
    const cache = await open();
    const before = keysUnder(cache.keyPrefix);
    await expect(cache.set('recommendations', 'k'.repeat(MAX_KEY_PART_LENGTH + 1), 1)).rejects.toThrow(InvalidKeyError);
    await expect(cache.setWorkflowArtifacts({ userId: 'u', moodPrompt: 'calm '.repeat(200), artifacts: {} })).rejects.toThrow(/at most 500/);
    expect(keysUnder(cache.keyPrefix)).toBe(before);
    expect(cache.stats().tiers.memory.entries).toBe(0);
  });

  it('refuses a lone surrogate or a wordless prompt in the popular-mood API before computing', async () => {
    const calls: string[] = [];
    const reprise = await createReprise({
      redisUrl: server().url, keyPrefix: `ki${++prefixCounter}:`, warmSchedule: false, logger: recordingLogger(), env: {},
      computeRecommendations: async (mood) => {
        calls.push(mood);
        return { recommendations: [] };
      },
    });
    opened.push(reprise);
    for (const mood of ['\uD800', 'calm\uDC00', '\u0000', '\u200B\u200B']) {
      await expect(reprise.popularMoods.getOrCompute(mood)).rejects.toThrow(InvalidKeyError);
    }
    expect(calls).toEqual([]);
  });

  it("never lets invalidate() reach another application's keys, whatever the prefix", async () => {
    server().cli('SET', 'apprecommendations:foreign', 'theirs');
    server().cli('SET', 'app-other:recommendations:x', 'theirs too');
    const cache = await open('app');
    expect(cache.keyPrefix).toBe('app:');
    await cache.set('recommendations', 'mine', 1);
    expect(server().cli('EXISTS', 'app:recommendations:mine')).toBe('1');
    expect(await cache.invalidate('recommendations')).toBe(1);
    await cache.set('recommendations', 'mine', 1);
    expect(await cache.invalidate()).toBe(1);
    expect(server().cli('GET', 'apprecommendations:foreign')).toBe('theirs');
    expect(server().cli('GET', 'app-other:recommendations:x')).toBe('theirs too');
  });
});
