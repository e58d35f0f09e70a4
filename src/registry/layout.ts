/**
 * Where registry entries live in Redis. Entries are packed into small hashes ("buckets") that Redis keeps
 * listpack-encoded, which is what makes an entry cost tens of bytes instead of hundreds.
 *
 * The registry is split into SHARD_COUNT shards. All keys of one shard share a hash tag, so they sit in one Cluster
 * slot and one Lua script can read or write any of them; the shards spread over the Cluster's nodes.
 *   <prefix>id_registry:{<shard>}meta        linear-hashing state, entry counts, sweep progress (a hash)
 *   <prefix>id_registry:{<shard>}s<bucket>   forward space: Spotify ID digest -> validated mapping or missing mark
 *   <prefix>id_registry:{<shard>}r<bucket>   reverse space: ReccoBeats ID digest -> Spotify ID
 *   <prefix>id_registry:{<shard>}g<...>      known-missing marks in Bloom filters, by generation (filter-scripts.ts)
 * Within a shard each space grows by linear hashing (the scripts split one bucket at a time as entries are added),
 * so buckets stay near BUCKET_FILL entries, below the listpack limit of 128, whatever the registry's size.
 * Fields are the first bytes of the SHA-1 of the packed ID (scripts.ts says how many, and what that costs).
 * No user input ever becomes part of a key: shards and buckets are numbers.
 */
import calculateSlot from 'cluster-key-slot';
import { categoryPrefix } from '../cache/keys.js';

/** Fixed forever for a key prefix: shards are chosen by hashing, so changing this would orphan entries. */
export const SHARD_COUNT = 16;

/**
 * Average entries per bucket before a split. Linear hashing leaves not-yet-split buckets up to twice the average,
 * so 40 keeps them (with random spread) under the 128-entry listpack limit.
 */
export const BUCKET_FILL = 40;

export type Space = 's' | 'r';

export interface Shard {
  index: number;
  /** KEYS[1] of every script: the shard's meta hash. */
  metaKey: string;
  /** Bucket keys are `${bucketBase}${space}${bucket}`. */
  bucketBase: string;
  slot: number;
}

export class RegistryLayout {
  readonly shards: readonly Shard[];
  readonly namespace: string;

  constructor(keyPrefix: string) {
    this.namespace = categoryPrefix(keyPrefix, 'id_registry');
    this.shards = Array.from({ length: SHARD_COUNT }, (_, index) => {
      const bucketBase = `${this.namespace}{${index}}`;
      const metaKey = `${bucketBase}meta`;
      return { index, metaKey, bucketBase, slot: calculateSlot(metaKey) };
    });
  }

  /** The shard of a packed ID (FNV-1a over its bytes; the scripts pick the bucket with a different hash). */
  shardOf(field: Buffer): Shard {
    let hash = 0x811c9dc5;
    for (const byte of field) {
      hash ^= byte;
      hash = Math.imul(hash, 0x01000193);
    }
    return this.shards[(hash >>> 0) % SHARD_COUNT]!;
  }

  bucketKey(shard: Shard, space: Space, bucket: number): string {
    return `${shard.bucketBase}${space}${bucket}`;
  }
}
