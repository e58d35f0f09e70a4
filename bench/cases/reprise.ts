/**
 * reprise as a host would use it: createCache with a Redis URL and its default telemetry (metrics on its own
 * registry, the global no-op tracer), compiled as the package is (bench/lib/compiled-reprise.ts). Each read goes
 * through category, key encoding, counters and sampled timing. A plan row may add options (`redisAutoPipelining`);
 * the evidence tells which auto-pipelining the connection had.
 */
import type { CacheOptions } from '../../src/cache/create-cache.js';
import type { RepriseCache } from '../../src/index.js';
import { runCase } from '../lib/case-main.js';
import { compiledReprise } from '../lib/compiled-reprise.js';
import { KEY_COUNT, TTL_SECONDS, benchKey, benchValue } from '../lib/payload.js';
import { stormWorkload } from '../lib/storm.js';
import type { CaseContext, CaseFile, Workload } from '../lib/workload.js';

const CATEGORY = 'recommendations';
const { createCacheParts, waitForRedis, silentLogger } = await compiledReprise();

/** What `createCache` does (createCacheParts, then waitForRedis), keeping the parts to read the connection's settings. */
async function open(context: CaseContext, maxEntries: number): Promise<RepriseCache> {
  const parts = createCacheParts({
    ...(context.options as Pick<CacheOptions, 'redisAutoPipelining'>),
    redisUrl: context.redisUrl,
    keyPrefix: context.keyPrefix,
    memory: { maxEntries },
    ttls: { [CATEGORY]: TTL_SECONDS },
    logger: silentLogger,
  });
  await waitForRedis(parts);
  const { cache, gateway } = parts;
  if (cache.stats().cacheType !== 'redis') throw new Error('reprise did not reach the bench Redis');
  autoPipelining = gateway.client?.options.enableAutoPipelining ? 'on' : 'off';
  return cache;
}

/** Whether the connection reprise opened pipelines automatically (ioredis `enableAutoPipelining`). */
let autoPipelining: 'on' | 'off' = 'off';

async function fill(cache: RepriseCache): Promise<void> {
  for (let i = 0; i < KEY_COUNT; i++) await cache.set(CATEGORY, benchKey(i), benchValue(i));
}

/** Where the reads were answered, and whether Redis ever failed or timed out during the run. */
function tierEvidence(cache: RepriseCache) {
  const { tiers } = cache.stats();
  return {
    memoryHits: tiers.memory.hits,
    memoryMisses: tiers.memory.misses,
    redisHits: tiers.redis.hits,
    redisMisses: tiers.redis.misses,
    redisErrors: tiers.redis.errors,
    redisTimeouts: tiers.redis.timeouts,
    autoPipelining,
  };
}

const variants: CaseFile = {
  'l1-get': {
    scenario: 'l1-get-hit',
    setup: `cache.get on ${KEY_COUNT} keys held in memory (maxEntries ${2 * KEY_COUNT}), Redis connected`,
    async start(context): Promise<Workload> {
      const cache = await open(context, 2 * KEY_COUNT);
      await fill(cache);
      return {
        run: (i) => cache.get(CATEGORY, benchKey(i)),
        evidence: () => tierEvidence(cache),
        close: () => cache.close(),
      };
    },
  },
  'redis-get': {
    scenario: 'redis-get-hit',
    setup: `cache.get with memory maxEntries 1 cycling over ${KEY_COUNT} keys: every read misses memory, hits Redis, decodes and refills memory`,
    async start(context): Promise<Workload> {
      const cache = await open(context, 1);
      await fill(cache);
      return {
        run: (i) => cache.get(CATEGORY, benchKey(i)),
        evidence: () => tierEvidence(cache),
        close: () => cache.close(),
      };
    },
  },
  set: {
    scenario: 'tiered-set',
    setup:
      'cache.set: memory, SET PX of the superjson envelope (Date kept), PUBLISH of the invalidation to other instances ' +
      '(answered when the SET lands; the PUBLISH goes out in one pipeline with the next set)',
    async start(context): Promise<Workload> {
      const cache = await open(context, 2 * KEY_COUNT);
      return {
        run: (i) => cache.set(CATEGORY, benchKey(i), benchValue(i)),
        evidence: () => tierEvidence(cache),
        close: () => cache.close(),
      };
    },
  },
  'get-or-set': {
    scenario: 'get-or-set-storm',
    setup: 'cache.getOrSet (coalesces callers of one key within the process)',
    async start(context): Promise<Workload> {
      const cache = await open(context, 2 * KEY_COUNT);
      return stormWorkload({
        call: (key, factory) => cache.getOrSet(CATEGORY, key, factory),
        evidence: () => ({ autoPipelining }),
        close: () => cache.close(),
      });
    },
  },
};

await runCase(variants);
