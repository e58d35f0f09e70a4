/**
 * Measures what the ID registry costs in Redis memory: bytes per validated mapping (both directions together) and
 * per known-missing ID, from INFO memory `used_memory` before and after writing N of each into an otherwise empty
 * server. The same figures for the one-key-per-ID layout (a string key per direction and per missing ID, each with
 * a TTL) give the baseline. Used by `bench/registry-memory.ts` (100 000 IDs) and the registry tests (a sample).
 */
import type { Redis } from 'ioredis';
import { createCacheParts } from '../src/cache/create-cache.js';
import { silentLogger } from '../src/logger.js';
import { IdRegistry } from '../src/registry/id-registry.js';
import type { RedisServer } from '../test/harness/redis-servers.js';

export const BAR_BYTES_PER_MAPPING = 120;
export const BAR_BYTES_PER_MISSING = 40;

export interface LayoutFootprint {
  /** Bytes per validated mapping, both directions together. */
  mapping: number;
  /** Bytes per known-missing ID. */
  missing: number;
}

export interface Footprint {
  count: number;
  registry: LayoutFootprint & { hashtableBuckets: number; buckets: number };
  oneKeyPerId: LayoutFootprint;
}

const VALIDATED_TTL_SECONDS = 30 * 24 * 60 * 60;
const MISSING_TTL_SECONDS = 7 * 24 * 60 * 60;
const WRITE_BATCH = 1_000;

/** Deterministic pseudo-random IDs, so every run measures the same data. */
export function sampleIds(count: number, seed: number): { spotify: string[]; reccobeats: string[] } {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  const base62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const hex = '0123456789abcdef';
  const spotify: string[] = [];
  const reccobeats: string[] = [];
  for (let i = 0; i < count; i++) {
    spotify.push(Array.from({ length: 22 }, () => base62[Math.floor(next() * 62)]).join(''));
    const h = Array.from({ length: 32 }, () => hex[Math.floor(next() * 16)]).join('');
    reccobeats.push(`${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`);
  }
  return { spotify, reccobeats };
}

function usedMemory(server: RedisServer): number {
  const line = server.cli('INFO', 'memory').split('\n').find((l) => l.startsWith('used_memory:'));
  if (!line) throw new Error('INFO memory has no used_memory line');
  return Number(line.slice('used_memory:'.length).trim());
}

/** Runs `write` on an emptied server and returns the growth of used_memory divided by `count`. */
async function bytesPer(server: RedisServer, count: number, write: () => Promise<void>): Promise<number> {
  server.cli('FLUSHALL', 'SYNC');
  const before = usedMemory(server);
  await write();
  return (usedMemory(server) - before) / count;
}

/** Counts the registry's bucket keys and how many left the compact listpack encoding. SCAN is fine here. */
async function bucketEncodings(client: Redis, keyPrefix: string): Promise<{ buckets: number; hashtable: number }> {
  let cursor = '0';
  let buckets = 0;
  let hashtable = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${keyPrefix}id_registry:{*}[sr]*`, 'COUNT', 1_000);
    cursor = next;
    const pipeline = client.pipeline();
    for (const key of keys) pipeline.object('ENCODING', key);
    for (const [, encoding] of (await pipeline.exec()) ?? []) {
      buckets += 1;
      if (encoding !== 'listpack') hashtable += 1;
    }
  } while (cursor !== '0');
  return { buckets, hashtable };
}

export async function measureFootprint(server: RedisServer, count: number): Promise<Footprint> {
  const keyPrefix = 'bench:';
  const { spotify, reccobeats } = sampleIds(count, 20_240_101);
  const missingIds = sampleIds(count, 7).spotify;
  const { cache, gateway, connectTimeoutMs } = createCacheParts({
    redisUrl: server.url,
    keyPrefix,
    logger: silentLogger,
    redisCommandTimeoutMs: 30_000,
  });
  try {
    if (!(await gateway.waitUntilReady(connectTimeoutMs))) throw new Error(`Redis at ${server.url} did not answer`);
    const registry = new IdRegistry({ gateway, keyPrefix, sweepIntervalMs: 0, logger: silentLogger });
    const client = gateway.client as Redis;

    const mapping = await bytesPer(server, count, async () => {
      for (let start = 0; start < count; start += WRITE_BATCH) {
        const pairs = spotify.slice(start, start + WRITE_BATCH).map((id, i) => [id, reccobeats[start + i]!] as [string, string]);
        await registry.bulkMarkValidated(pairs);
      }
    });
    const encodings = await bucketEncodings(client, keyPrefix);
    const missing = await bytesPer(server, count, async () => {
      for (let start = 0; start < count; start += WRITE_BATCH) await registry.bulkMarkMissing(missingIds.slice(start, start + WRITE_BATCH));
    });
    const missingEncodings = await bucketEncodings(client, keyPrefix);
    await registry.close();

    const oneKeyMapping = await bytesPer(server, count, async () => {
      for (let start = 0; start < count; start += WRITE_BATCH) {
        const pipeline = client.pipeline();
        for (let i = start; i < Math.min(start + WRITE_BATCH, count); i++) {
          pipeline.set(`${keyPrefix}id_registry:${spotify[i]}`, reccobeats[i]!, 'EX', VALIDATED_TTL_SECONDS);
          pipeline.set(`${keyPrefix}id_registry:rb:${reccobeats[i]}`, spotify[i]!, 'EX', VALIDATED_TTL_SECONDS);
        }
        await pipeline.exec();
      }
    });
    const oneKeyMissing = await bytesPer(server, count, async () => {
      for (let start = 0; start < count; start += WRITE_BATCH) {
        const pipeline = client.pipeline();
        for (let i = start; i < Math.min(start + WRITE_BATCH, count); i++) {
          pipeline.set(`${keyPrefix}id_registry_missing:${missingIds[i]}`, '1', 'EX', MISSING_TTL_SECONDS);
        }
        await pipeline.exec();
      }
    });
    server.cli('FLUSHALL', 'SYNC');
    return {
      count,
      registry: {
        mapping,
        missing,
        buckets: encodings.buckets + missingEncodings.buckets,
        hashtableBuckets: encodings.hashtable + missingEncodings.hashtable,
      },
      oneKeyPerId: { mapping: oneKeyMapping, missing: oneKeyMissing },
    };
  } finally {
    await cache.close(); // closes the gateway and its client too
  }
}
