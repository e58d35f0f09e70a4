/**
 * cache-manager 7 as its docs show for two tiers: a Keyv memory store in front of a Keyv Redis store (@keyv/redis,
 * on node-redis). The memory store keeps live objects (no serializer), as reprise's memory tier does.
 */
import KeyvRedis from '@keyv/redis';
import { createCache, type Cache } from 'cache-manager';
import { Keyv } from 'keyv';
import { runCase } from '../lib/case-main.js';
import { KEY_COUNT, TTL_SECONDS, benchKey, benchValue } from '../lib/payload.js';
import { stormWorkload } from '../lib/storm.js';
import type { CaseContext, CaseFile, Workload } from '../lib/workload.js';

const TTL_MS = TTL_SECONDS * 1_000;

function memoryStore(context: CaseContext): Keyv {
  return new Keyv({ namespace: context.keyPrefix, serialize: undefined, deserialize: undefined });
}

function redisStore(context: CaseContext): Keyv {
  return new Keyv({ namespace: context.keyPrefix, store: new KeyvRedis(context.redisUrl) });
}

function tiered(context: CaseContext): Cache {
  return createCache({ stores: [memoryStore(context), redisStore(context)], ttl: TTL_MS });
}

async function fill(cache: Cache): Promise<void> {
  for (let i = 0; i < KEY_COUNT; i++) await cache.set(benchKey(i), benchValue(i));
}

function closer(cache: Cache) {
  return async () => void (await cache.disconnect());
}

const variants: CaseFile = {
  'l1-get': {
    scenario: 'l1-get-hit',
    setup: 'cache.get, Keyv memory (Map, no serializer) + Keyv Redis',
    async start(context): Promise<Workload> {
      const cache = tiered(context);
      await fill(cache);
      return { run: (i) => cache.get(benchKey(i)), close: closer(cache) };
    },
  },
  'redis-get': {
    scenario: 'redis-get-hit',
    setup: 'cache.get with the Keyv Redis store alone (L1 off)',
    async start(context): Promise<Workload> {
      const cache = createCache({ stores: [redisStore(context)], ttl: TTL_MS });
      await fill(cache);
      return { run: (i) => cache.get(benchKey(i)), close: closer(cache) };
    },
  },
  set: {
    scenario: 'tiered-set',
    setup: 'cache.set on memory + Redis (no cross-instance invalidation)',
    async start(context): Promise<Workload> {
      const cache = tiered(context);
      return { run: (i) => cache.set(benchKey(i), benchValue(i)), close: closer(cache) };
    },
  },
  'get-or-set': {
    scenario: 'get-or-set-storm',
    setup: 'cache.wrap on memory + Redis',
    async start(context): Promise<Workload> {
      const cache = tiered(context);
      return stormWorkload({
        call: (key, factory) => cache.wrap(key, factory),
        close: closer(cache),
      });
    },
  },
};

await runCase(variants);
