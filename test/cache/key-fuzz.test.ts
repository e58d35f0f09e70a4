/**
 * A property-based sweep of the cache's key and value API with fast-check, against a real Redis: any key parts (any
 * UTF-16, lone surrogates included, any length), any prompt, any user id. Each call either works or fails with one of
 * reprise's own documented errors (RepriseInputError: InvalidKeyError for keys, UnsupportedValueError / EncodeError
 * for values, RepriseInputError itself for a malformed argument), never a URIError or anything else, and a refused
 * call removes and writes nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCache, EncodeError, InvalidKeyError, RepriseInputError, UnsupportedValueError, type RepriseCache } from '../../src/index.js';
import { closeAfterEachTest, useRedisServer } from '../harness/lifecycle.js';
import { recordingLogger } from '../harness/logger.js';
import { hasRedisServer } from '../harness/redis-servers.js';

/** Any UTF-16 text, lone surrogates included, sometimes past the length limits. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', '\uD800', 'a\uDFFFb', '\u0000', '\u200B', '%', '*', '{tag}', '@recent', ':', 'é'.repeat(600), 'x'.repeat(513)),
);
const anyPart = fc.oneof(anyText, fc.integer(), fc.double());
const anyKey = fc.oneof(anyPart, fc.array(anyPart, { maxLength: 4 }));

/** reprise's own errors; anything else (URIError, a RangeError from deep inside) is a defect. */
function isOwnError(error: unknown): boolean {
  return error instanceof InvalidKeyError || error instanceof UnsupportedValueError || error instanceof EncodeError || error instanceof RepriseInputError;
}

describe.skipIf(!hasRedisServer)('cache key and value API under arbitrary input', () => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<RepriseCache>();

  it('answers or refuses with its own errors, and a refusal changes nothing', async () => {
    const cache = await createCache({ redisUrl: server().url, keyPrefix: 'fuzz:', logger: recordingLogger(), redisConnectTimeoutMs: 15_000, env: {} });
    opened.push(cache);
    await cache.set('recommendations', 'sentinel', { kept: true });
    const keyCount = () => Number(server().cli('DBSIZE'));

    const call = fc.oneof(
      fc.record({ op: fc.constant('set' as const), key: anyKey, value: fc.oneof(fc.jsonValue(), fc.constant(() => 1), fc.constant(Symbol('s'))) }),
      fc.record({ op: fc.constant('get' as const), key: anyKey }),
      fc.record({ op: fc.constant('delete' as const), key: anyKey }),
      fc.record({ op: fc.constant('getOrSet' as const), key: anyKey }),
      fc.record({ op: fc.constant('artifacts' as const), user: fc.oneof(anyText, fc.integer()), prompt: anyText }),
      fc.record({ op: fc.constant('similar' as const), user: fc.oneof(anyText, fc.integer()), prompt: anyText }),
      fc.record({ op: fc.constant('enrichment' as const), ids: fc.array(anyText, { maxLength: 3 }) }),
    );

    await fc.assert(
      fc.asyncProperty(call, async (input) => {
        const before = keyCount();
        let refused = false;
        try {
          switch (input.op) {
            case 'set':
              await cache.set('track_details', input.key, input.value);
              break;
            case 'get':
              await cache.get('track_details', input.key);
              break;
            case 'delete':
              await cache.delete('top_tracks', input.key);
              break;
            case 'getOrSet':
              await cache.getOrSet('mood_analysis', input.key, () => 'computed');
              break;
            case 'artifacts':
              await cache.setWorkflowArtifacts({ userId: input.user, moodPrompt: input.prompt, artifacts: { seeds: [] } });
              break;
            case 'similar':
              await cache.getWorkflowArtifacts({ userId: input.user, moodPrompt: input.prompt, similar: true });
              break;
            case 'enrichment':
              await cache.getArtistEnrichment(input.ids);
              break;
          }
        } catch (error) {
          refused = true;
          expect(isOwnError(error), `${(error as Error)?.name}: ${(error as Error)?.message}`).toBe(true);
        }
        if (refused) expect(keyCount()).toBe(before);
        expect(await cache.get('recommendations', 'sentinel')).toEqual({ kept: true });
      }),
      { numRuns: 300 },
    );
    expect(server().cli('EXISTS', 'fuzz:recommendations:sentinel')).toBe('1');
  });
});
