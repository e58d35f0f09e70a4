/**
 * The baselines: lru-cache and ioredis used directly, with no layer of anyone's in between. The storm baseline is
 * cache-aside written by hand on the same two libraries (read memory, then Redis, else compute and write both).
 * The GET baseline reads the text reprise stores for the same value, so both sides of the Redis-hit bar move as many
 * bytes.
 */
import { LRUCache } from 'lru-cache';
import { Redis } from 'ioredis';
import { encodeValue } from '../../src/cache/serializer.js';
import { runCase } from '../lib/case-main.js';
import { KEY_COUNT, TTL_SECONDS, benchKey, benchValue, type BenchValue } from '../lib/payload.js';
import { stormWorkload } from '../lib/storm.js';
import type { CaseContext, CaseFile, Workload } from '../lib/workload.js';

const TTL_MS = TTL_SECONDS * 1_000;
const MEMORY_ENTRIES = 2 * KEY_COUNT;

function filledLru(): LRUCache<string, BenchValue> {
  const lru = new LRUCache<string, BenchValue>({ max: MEMORY_ENTRIES, ttl: TTL_MS });
  for (let i = 0; i < KEY_COUNT; i++) lru.set(benchKey(i), benchValue(i));
  return lru;
}

/** Counts hits and misses so the result shows every measured read was a hit. */
function hitCounter() {
  let hits = 0;
  let misses = 0;
  return {
    note(value: unknown) {
      if (value === undefined || value === null) misses += 1;
      else hits += 1;
    },
    evidence: () => ({ hits, misses }),
  };
}

/** What reprise writes to Redis for value `i` (the Redis-hit bar compares reads of values of the same size). */
function storedText(i: number): string {
  return encodeValue(benchValue(i), Date.now() + TTL_MS).text;
}

async function connect(context: CaseContext): Promise<Redis> {
  const redis = new Redis(context.redisUrl, { keyPrefix: context.keyPrefix, lazyConnect: true });
  await redis.connect();
  return redis;
}

const variants: CaseFile = {
  'lru-get': {
    scenario: 'l1-get-hit',
    setup: `lru-cache get, synchronous (max ${MEMORY_ENTRIES}, ttl set)`,
    async start(): Promise<Workload> {
      const lru = filledLru();
      const counter = hitCounter();
      return {
        sync: true,
        run: (i) => counter.note(lru.get(benchKey(i))),
        evidence: counter.evidence,
        close: async () => {},
      };
    },
  },
  'lru-get-async': {
    scenario: 'l1-get-hit',
    setup: 'the same lru-cache get inside an async function, awaited: the floor of any Promise-returning get',
    async start(): Promise<Workload> {
      const lru = filledLru();
      const counter = hitCounter();
      const get = async (key: string) => lru.get(key);
      return {
        run: async (i) => counter.note(await get(benchKey(i))),
        evidence: counter.evidence,
        close: async () => {},
      };
    },
  },
  'ioredis-get': {
    scenario: 'redis-get-hit',
    setup:
      `ioredis GET of the very text reprise stores for the bench value (its encoded envelope, ${storedText(0).length} bytes, not the ` +
      `${JSON.stringify(benchValue(0)).length}-byte plain JSON), one call at a time, not decoded`,
    async start(context): Promise<Workload> {
      const redis = await connect(context);
      for (let i = 0; i < KEY_COUNT; i++) await redis.set(benchKey(i), storedText(i), 'PX', TTL_MS);
      const counter = hitCounter();
      return {
        run: async (i) => counter.note(await redis.get(benchKey(i))),
        evidence: counter.evidence,
        close: async () => void (await redis.quit()),
      };
    },
  },
  'ioredis-get-parse': {
    scenario: 'redis-get-hit',
    setup:
      'the same GET, then JSON.parse of the JSON in the text: the least any cache that hands back objects does on a Redis hit ' +
      '(no Date revived, no memory refill, no timing)',
    async start(context): Promise<Workload> {
      const redis = await connect(context);
      for (let i = 0; i < KEY_COUNT; i++) await redis.set(benchKey(i), storedText(i), 'PX', TTL_MS);
      const counter = hitCounter();
      return {
        async run(i) {
          const text = await redis.get(benchKey(i));
          // reprise's text is r1:<expiry>:<JSON>.
          counter.note(text === null ? null : JSON.parse(text.slice(text.indexOf(':', 3) + 1)));
        },
        evidence: counter.evidence,
        close: async () => void (await redis.quit()),
      };
    },
  },
  'by-hand-set': {
    scenario: 'tiered-set',
    setup: 'lru-cache set, then ioredis SET PX of JSON.stringify(value) (the Date becomes a string)',
    async start(context): Promise<Workload> {
      const redis = await connect(context);
      const lru = new LRUCache<string, BenchValue>({ max: MEMORY_ENTRIES, ttl: TTL_MS });
      return {
        async run(i) {
          const key = benchKey(i);
          const value = benchValue(i);
          lru.set(key, value);
          await redis.set(key, JSON.stringify(value), 'PX', TTL_MS);
        },
        close: async () => void (await redis.quit()),
      };
    },
  },
  'by-hand-cache-aside': {
    scenario: 'get-or-set-storm',
    setup: 'cache-aside by hand on lru-cache + ioredis: memory, then GET, else factory, then SET; no coalescing',
    async start(context): Promise<Workload> {
      const redis = await connect(context);
      const lru = new LRUCache<string, BenchValue>({ max: MEMORY_ENTRIES, ttl: TTL_MS });
      return stormWorkload({
        async call(key, factory) {
          const inMemory = lru.get(key);
          if (inMemory !== undefined) return inMemory;
          const text = await redis.get(key);
          if (text !== null) {
            const value = JSON.parse(text) as BenchValue;
            lru.set(key, value);
            return value;
          }
          const value = await factory();
          lru.set(key, value);
          await redis.set(key, JSON.stringify(value), 'PX', TTL_MS);
          return value;
        },
        close: async () => void (await redis.quit()),
      });
    },
  },
};

await runCase(variants);
