/**
 * reprise's two base errors: every wrong option, in every module, is a RepriseOptionsError with a code and the option's
 * name; every wrong input to a call is a RepriseInputError. Option name lists are KeysEnums, complete by construction.
 */
import { describe, expect, it } from 'vitest';
import { adminAuth } from '../middleware/admin-auth.js';
import { createAdminRouter, type AdminTargets } from '../middleware/admin-router.js';
import { CACHE_CATEGORIES, UnknownCategoryError, assertCategory, resolveTtls } from '../src/cache/categories.js';
import { createCache } from '../src/cache/create-cache.js';
import { InvalidKeyError, encodeKey, validateKeyPrefix } from '../src/cache/keys.js';
import { MemoryTier } from '../src/cache/memory-tier.js';
import { EncodeError, UnsupportedValueError, encodeValue } from '../src/cache/serializer.js';
import { OPTION_ERROR_CODES, RepriseInputError, RepriseOptionsError, type OptionErrorCode } from '../src/errors.js';
import { ComputeNotConfiguredError } from '../src/moods/errors.js';
import { checkComputed, InvalidRecommendationsError } from '../src/moods/precomputed-store.js';
import { validateSchedule, WarmScheduleError } from '../src/moods/schedule.js';
import { createReprise } from '../src/reprise.js';
import { ReccobeatsClient } from '../src/reccobeats/client.js';
import { RetryPolicy } from '../src/reccobeats/retry-policy.js';
import { startReccobeatsSimulator } from '../src/reccobeats/simulator/index.js';
import { CircuitBreaker } from '../src/redis/circuit-breaker.js';
import { parseRedisUrl, RedisUrlError } from '../src/redis/redis-url.js';
import { assertSpotifyId, InvalidIdError } from '../src/registry/ids.js';
import { closestName, optionNames } from '../src/validate.js';
import { recordingLogger } from './harness/logger.js';

/** The error `fn` throws (or its promise rejects with). */
async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

async function expectOptionError(fn: () => unknown, code: OptionErrorCode, option: string, message?: RegExp): Promise<RepriseOptionsError> {
  const error = await caught(fn);
  expect(error, String(error)).toBeInstanceOf(RepriseOptionsError);
  expect(error).toBeInstanceOf(TypeError);
  expect(error, String(error)).toMatchObject({ code, option });
  if (message) expect((error as Error).message).toMatch(message);
  return error as RepriseOptionsError;
}

describe('RepriseOptionsError', () => {
  it('is what every module throws for a wrong option, with a code and the option', async () => {
    const quiet = { logger: recordingLogger(), env: {} };
    await expectOptionError(() => createReprise({ redisURL: 'redis://x' } as never), 'unknown_option', 'redisURL', /did you mean redisUrl\?/);
    await expectOptionError(() => createReprise({ adminToken: 42 } as never), 'invalid_type', 'adminToken');
    await expectOptionError(() => createReprise({ ...quiet, memory: { maxEntires: 10 } } as never), 'unknown_option', 'memory.maxEntires', /did you mean memory.maxEntries\?/);
    await expectOptionError(() => createReprise({ ...quiet, memory: { maxEntries: 0 } }), 'out_of_range', 'memory.maxEntries');
    await expectOptionError(() => createReprise({ ...quiet, ttls: { recomendations: 5 } } as never), 'unknown_option', 'ttls.recomendations', /did you mean ttls.recommendations\?/);
    await expectOptionError(() => createReprise({ ...quiet, ttls: { recommendations: -1 } }), 'out_of_range', 'ttls.recommendations');
    await expectOptionError(() => createReprise({ ...quiet, keyPrefix: 'bad prefix*' }), 'invalid_value', 'keyPrefix');
    await expectOptionError(() => createReprise({ ...quiet, redisUrl: 'http://x' }), 'invalid_url', 'redisUrl');
    await expectOptionError(() => createReprise({ ...quiet, circuitBreaker: { openMs: 0 } }), 'out_of_range', 'circuitBreaker.openMs');
    await expectOptionError(() => createReprise({ ...quiet, similarityThreshold: 2 }), 'out_of_range', 'similarityThreshold');
    await expectOptionError(() => createReprise({ ...quiet, redisCommandTimeoutMs: 'fast' } as never), 'invalid_type', 'redisCommandTimeoutMs');
    await expectOptionError(() => createReprise({ ...quiet, redisAutoPipelining: 'on' } as never), 'invalid_type', 'redisAutoPipelining');
    await expectOptionError(() => createReprise({ ...quiet, popularMoods: ['calm', '?!'] }), 'invalid_value', 'popularMoods', /popularMoods\[1\] has no words/);
    await expectOptionError(() => createReprise({ ...quiet, popularMoods: [] }), 'invalid_type', 'popularMoods');
    await expectOptionError(() => createReprise({ ...quiet, warmConcurrency: 0 }), 'out_of_range', 'warmConcurrency');
    await expectOptionError(() => createReprise({ ...quiet, warmSchedule: 'every morning' }), 'invalid_cron', 'warmSchedule');
    await expectOptionError(() => createReprise({ ...quiet, warmTimezone: 'Mars/Olympus_Mons' }), 'invalid_value', 'warmTimezone');
    await expectOptionError(() => createReprise({ ...quiet, env: { REPRISE_WARM_CRON: '61 * * * *' } }), 'invalid_cron', 'warmSchedule');
    await expectOptionError(() => createReprise({ ...quiet, reccobeats: { batchsize: 10 } } as never), 'unknown_option', 'reccobeats.batchsize');
    await expectOptionError(() => createReprise({ ...quiet, reccobeats: { baseUrl: 'ftp://x' } }), 'invalid_url', 'reccobeats.baseUrl');
    await expectOptionError(() => createReprise({ ...quiet, adminToken: 'short' }), 'invalid_value', 'adminToken');
    await expectOptionError(() => createReprise({ ...quiet, express: {} } as never), 'invalid_type', 'express');

    await expectOptionError(() => createCache({ redisUrl: 'redis://a:1', redis: { get() {} } as never, env: {} }), 'conflicting_options', 'redisUrl');
    await expectOptionError(() => createCache({ telemetri: {} } as never), 'unknown_option', 'telemetri', /did you mean telemetry\?/);
    expect(() => new MemoryTier({ maxBytes: -1 })).toThrow(expect.objectContaining({ code: 'out_of_range', option: 'memory.maxBytes' }));
    expect(() => new CircuitBreaker({ openMs: 5_000, maxOpenMs: 1_000 })).toThrow(expect.objectContaining({ code: 'out_of_range', option: 'circuitBreaker.maxOpenMs' }));
    expect(() => new RetryPolicy({ maxRetries: -1 })).toThrow(expect.objectContaining({ code: 'out_of_range', option: 'maxRetries' }));
    expect(() => validateKeyPrefix(7 as never)).toThrow(expect.objectContaining({ code: 'invalid_type', option: 'keyPrefix' }));
    expect(() => resolveTtls({}, { REPRISE_TTL_USER_PROFILE: '-5' })).toThrow(expect.objectContaining({ option: 'ttls.user_profile', message: expect.stringMatching(/^REPRISE_TTL_USER_PROFILE/) }));
    expect(() => adminAuth({ tokn: 'x' } as never)).toThrow(expect.objectContaining({ code: 'unknown_option', option: 'tokn' }));
    expect(() => createAdminRouter({} as AdminTargets, { bodyLimt: 1 } as never)).toThrow(expect.objectContaining({ code: 'unknown_option', option: 'bodyLimt' }));
    await expectOptionError(() => startReccobeatsSimulator({ latncy: 5 } as never), 'unknown_option', 'latncy', /did you mean latency\?/);
  });

  it('checks the option names of a bare ReccobeatsClient, with a suggestion', async () => {
    await expectOptionError(() => new ReccobeatsClient({ timeotMs: 1 } as never), 'unknown_option', 'timeotMs', /^unknown option "timeotMs"; did you mean timeoutMs\?$/);
    await expectOptionError(() => new ReccobeatsClient({ onRetry: 'log' } as never), 'invalid_type', 'onRetry');
    await expectOptionError(() => new ReccobeatsClient({ env: {} }).convertSpotifyTracksToReccobeat([]), 'missing_option', 'idRegistry');
  });

  it('is the base of the errors about one option', async () => {
    expect(() => parseRedisUrl('redis://')).toThrow(RedisUrlError);
    await expectOptionError(() => parseRedisUrl('redis://a:1,rediss://b:2'), 'invalid_url', 'redisUrl');
    expect(() => validateSchedule('0 25 * * *', undefined)).toThrow(WarmScheduleError);
    await expectOptionError(() => validateSchedule('0 3 * * *', 'Nowhere/Else'), 'invalid_value', 'warmTimezone');
    const missing = new ComputeNotConfiguredError();
    expect(missing).toBeInstanceOf(RepriseOptionsError);
    expect(missing).toMatchObject({ code: 'missing_option', option: 'computeRecommendations' });
  });

  it('has a small documented set of codes', () => {
    expect(OPTION_ERROR_CODES).toEqual([
      'unknown_option', 'missing_option', 'invalid_type', 'out_of_range', 'invalid_value', 'invalid_url', 'invalid_cron', 'conflicting_options',
    ]);
  });
});

describe('RepriseInputError', () => {
  it('is the base of every error about the input of a call', async () => {
    const cases: Array<[() => unknown, new (...args: never[]) => Error]> = [
      [() => encodeKey([]), InvalidKeyError],
      [() => encodeValue(() => 1, 1), UnsupportedValueError],
      [() => encodeValue({ get x() { throw new Error('no'); } }, 1), EncodeError],
      [() => assertCategory('everything'), UnknownCategoryError],
      [() => assertSpotifyId('nope'), InvalidIdError],
      [() => checkComputed({ recommendations: 'none' }), InvalidRecommendationsError],
    ];
    for (const [fn, kind] of cases) {
      const error = await caught(fn);
      expect(error).toBeInstanceOf(kind);
      expect(error).toBeInstanceOf(RepriseInputError);
      expect(error).toBeInstanceOf(TypeError);
      expect(error).not.toBeInstanceOf(RepriseOptionsError);
    }
  });

  it('carries the details a 400 answer holds, and keeps an error cause', () => {
    expect(new UnknownCategoryError('x').details).toEqual({ validCategories: CACHE_CATEGORIES });
    const cause = new Error('deep');
    const wrapped = new RepriseInputError('outer', { cause, details: { field: 'moods', index: 3 } });
    expect(wrapped.cause).toBe(cause);
    expect(wrapped.details).toEqual({ field: 'moods', index: 3 });
    expect(new RepriseInputError('plain').details).toEqual({});
  });
});

describe('option name lists', () => {
  it('suggests the name a misspelt one most likely meant', () => {
    const names = ['timeoutMs', 'batchSize', 'maxConcurrency', 'maxRetries', 'baseUrl'];
    expect(closestName('batchsize', names)).toBe('batchSize');
    expect(closestName('timeotMs', names)).toBe('timeoutMs');
    expect(closestName('maxRetires', names)).toBe('maxRetries');
    expect(closestName('baseURL', names)).toBe('baseUrl');
    expect(closestName('colour', names)).toBeUndefined();
    expect(closestName('ab', ['ac'])).toBeUndefined();
  });

  it('are KeysEnums: the compiler refuses a list that misses or adds a name', () => {
    interface Example {
      first?: number;
      second: string;
    }
    expect(optionNames<Example>({ first: true, second: true })).toEqual(['first', 'second']);
    // @ts-expect-error -- `second` is missing: adding an option to an interface without listing it does not compile.
    optionNames<Example>({ first: true });
    // @ts-expect-error -- `third` is not an option of Example.
    optionNames<Example>({ first: true, second: true, third: true });
  });
});
