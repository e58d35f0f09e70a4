/**
 * Looks at what the registry really stored, independently of its own counters: SCAN over every master (fine in a
 * test), each bucket read whole. Also counts the pipelines that carry registry commands, per node, by watching
 * what each connection writes to its socket.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../src/redis/connection.js';
import { masterConnections } from '../../src/redis/keyspace.js';

export interface StoredRegistry {
  validated: number;
  missing: number;
  reverse: number;
  buckets: number;
  largestBucket: number;
  notListpack: number;
  withoutTtl: number;
  /** Entries stored under their packed ID, as registries did before fields were digests. */
  legacy: number;
}


/** The field an entry of this packed ID is stored under: the first 8 (forward) or 7 (reverse) bytes of its SHA-1 (scripts.ts). */
export function storedField(space: 's' | 'r', packedId: Buffer): string {
  return createHash('sha1').update(packedId).digest().subarray(0, space === 's' ? 8 : 7).toString('hex');
}

/** The stored fields of a bucket, as storedField() gives them. */
export async function fieldsIn(client: RedisClient, bucketKey: string): Promise<Set<string>> {
  return new Set((await client.hkeysBuffer(bucketKey)).map((field) => field.toString('hex')));
}

export async function inspectRegistry(client: RedisClient, keyPrefix: string, now = Date.now()): Promise<StoredRegistry & { expired: number }> {
  const stored = { validated: 0, missing: 0, reverse: 0, buckets: 0, largestBucket: 0, notListpack: 0, withoutTtl: 0, expired: 0, legacy: 0 };
  const nowRelative = Math.floor(now / 1_000) - 1_704_067_200;
  for (const node of masterConnections(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${keyPrefix}id_registry:{*}[sr]*`, 'COUNT', 1_000);
      cursor = next;
      for (const key of keys) {
        const space = key.slice(key.indexOf('}') + 1)[0];
        // As a flat list: binary fields made into object keys could collide.
        const flat = (await node.callBuffer('HGETALL', key)) as Buffer[];
        const values = flat.filter((_, i) => i % 2 === 1);
        stored.legacy += flat.filter((field, i) => i % 2 === 0 && (field.length === 16 || field.length === 17)).length;
        stored.buckets += 1;
        stored.largestBucket = Math.max(stored.largestBucket, values.length);
        if ((await node.object('ENCODING', key)) !== 'listpack') stored.notListpack += 1;
        if ((await node.ttl(key)) < 0) stored.withoutTtl += 1;
        for (const value of values) {
          if (value.readUInt32BE(0) <= nowRelative) stored.expired += 1;
          if (space === 'r') stored.reverse += 1;
          else if (value.length === 20) stored.validated += 1;
          else stored.missing += 1;
        }
      }
    } while (cursor !== '0');
  }
  return stored;
}

/** Socket writes that carry `marker` (the registry's key prefix), per node, while `run` runs. */
export async function countRoundTrips<T>(client: RedisClient, marker: string, run: () => Promise<T>): Promise<{ result: T; perNode: number[] }> {
  const nodes = masterConnections(client);
  const perNode = nodes.map(() => 0);
  const restore = nodes.map((node, index) => {
    const stream = node.stream as unknown as { write: (chunk: unknown, ...rest: unknown[]) => boolean };
    const original = stream.write;
    stream.write = function (chunk: unknown, ...rest: unknown[]) {
      const text = Buffer.isBuffer(chunk) ? chunk.toString('latin1') : String(chunk);
      if (text.includes(marker)) perNode[index]! += 1;
      return original.call(this, chunk, ...rest);
    };
    return () => {
      stream.write = original;
    };
  });
  try {
    const result = await run();
    return { result, perNode };
  } finally {
    for (const undo of restore) undo();
  }
}

export interface StoredFilters {
  /** Generation hashes and filter strings found. */
  generations: number;
  filters: number;
  bytes: number;
  /** Keys without an expiry, and the longest one left (seconds). */
  withoutTtl: number;
  longestTtl: number;
}

/** The missing-mark filters stored, found by SCAN on every master (fine in a test). */
export async function inspectFilters(client: RedisClient, keyPrefix: string): Promise<StoredFilters> {
  const stored = { generations: 0, filters: 0, bytes: 0, withoutTtl: 0, longestTtl: 0 };
  for (const node of masterConnections(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${keyPrefix}id_registry:{*}g*`, 'COUNT', 1_000);
      cursor = next;
      for (const key of keys) {
        // <base>g<seconds>:<generation> is a generation's hash; a further :<i> is one of its filters.
        if (key.split(':').length - keyPrefix.split(':').length === 2) stored.generations += 1;
        else {
          stored.filters += 1;
          stored.bytes += await node.strlen(key);
        }
        const ttl = await node.ttl(key);
        if (ttl < 0) stored.withoutTtl += 1;
        stored.longestTtl = Math.max(stored.longestTtl, ttl);
      }
    } while (cursor !== '0');
  }
  return stored;
}
