/**
 * Measures what the ID registry costs in Redis memory: whole-server `used_memory` (every master of a Cluster summed)
 * before and after writing N entries of one kind into an empty server, divided by N:
 *   - validated mappings, both directions together;
 *   - known-missing IDs, in Bloom filters (`missing: 'bloom'`, the default) and as exact entries (`'exact'`);
 *   - the same in the one-key-per-ID layout (a string key per direction and per missing ID, each with a TTL), the
 *     baseline.
 * How, so the figure is the registry's and nothing else's:
 *   - the server is warm: it has already run every registry script once (on another key prefix, then FLUSHALL), so
 *     the one-off cost of loading and running Lua (about 450 KB per node on Redis 7.0) is not spread over the IDs;
 *   - buffers are drained: the writing connection is closed, and `after` is read once the servers have let go of its
 *     query and reply buffers (`mem_clients_normal` back to where it was).
 * Used by `bench/registry-memory.ts` (100 000 and 1 000 000 IDs, standalone and Cluster), the bench's registry
 * section (100 000, standalone) and the registry tests (a sample).
 */
import type { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import { createCacheParts } from '../src/cache/create-cache.js';
import { silentLogger } from '../src/logger.js';
import { IdRegistry, type IdRegistryOptions } from '../src/registry/id-registry.js';
import type { MissingMarkMode } from '../src/registry/missing-filters.js';
import { isCluster } from '../src/redis/connection.js';
import type { RedisServer } from '../test/harness/redis-servers.js';

/** SPEC: Redis memory per validated mapping (both directions) and per known-missing ID. */
export const BAR_BYTES_PER_MAPPING = 80;
export const BAR_BYTES_PER_MISSING = 10;

/** The servers to measure: a standalone server, or every master of a Cluster (test/harness/backends.ts fits). */
export interface MemoryTarget {
  url: string;
  servers: readonly RedisServer[];
}

export type EntryKind = 'mapping' | 'missing';

export interface EntryFootprint {
  kind: EntryKind;
  layout: 'registry' | 'one key per ID';
  /** For missing IDs in the registry layout. */
  mode: MissingMarkMode | null;
  count: number;
  /** used_memory growth ÷ count. */
  bytesPerEntry: number;
  /** Keys the entries took (all masters). */
  keys: number;
  /** Registry bucket keys that left the listpack encoding (0 for the other rows). */
  hashtableBuckets: number;
}

const VALIDATED_TTL_SECONDS = 30 * 24 * 60 * 60;
const MISSING_TTL_SECONDS = 7 * 24 * 60 * 60;
const WRITE_BATCH = 1_000;
const KEY_PREFIX = 'bench:';

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

function memoryInfo(server: RedisServer): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of server.cli('INFO', 'memory').split('\n')) {
    const [name, value] = line.trim().split(':');
    if (name && value && /^\d+$/.test(value)) fields[name] = Number(value);
  }
  if (fields.used_memory === undefined) throw new Error('INFO memory has no used_memory line');
  return fields;
}

function total(target: MemoryTarget, field: string): number {
  return target.servers.reduce((sum, server) => sum + (memoryInfo(server)[field] ?? 0), 0);
}

function flushAll(target: MemoryTarget): void {
  for (const server of target.servers) server.cli('FLUSHALL', 'SYNC');
}

function keysHeld(target: MemoryTarget): number {
  return target.servers.reduce((sum, server) => sum + Number(server.cli('DBSIZE')), 0);
}

/** A registry on its own connection, for one measurement; closing it closes the connection. */
async function openRegistry(target: MemoryTarget, keyPrefix: string, options: Partial<IdRegistryOptions> = {}) {
  const { cache, gateway, connectTimeoutMs } = createCacheParts({
    redisUrl: target.url, keyPrefix, logger: silentLogger, redisCommandTimeoutMs: 30_000, redisConnectTimeoutMs: 15_000,
  });
  if (!(await gateway.waitUntilReady(connectTimeoutMs))) throw new Error(`Redis at ${target.url} did not answer`);
  const registry = new IdRegistry({ gateway, keyPrefix, sweepIntervalMs: 0, logger: silentLogger, ...options });
  return {
    registry,
    client: gateway.client!,
    async close() {
      await registry.close();
      await cache.close(); // closes the gateway and its client too
    },
  };
}

/** Runs every registry script on every node (another prefix, both modes), then empties the servers. */
async function warmUp(target: MemoryTarget): Promise<void> {
  const { spotify, reccobeats } = sampleIds(2_000, 99);
  for (const missing of ['bloom', 'exact'] as const) {
    const open = await openRegistry(target, `warm-${missing}:`, { missing });
    await open.registry.bulkMarkValidated(spotify.slice(0, 1_000).map((id, i) => [id, reccobeats[i]!] as [string, string]));
    await open.registry.bulkMarkMissing(spotify.slice(1_000));
    await open.registry.bulkLookup(spotify);
    await open.registry.getSpotifyId(reccobeats[0]!);
    await open.registry.stats();
    await open.registry.sweep();
    await open.close();
  }
  flushAll(target);
}

/**
 * used_memory growth while `write` runs on an emptied, warm server, once the writer's connection is closed and the
 * servers hold no more buffer for it.
 */
async function growth(target: MemoryTarget, write: () => Promise<void>): Promise<number> {
  flushAll(target);
  const clients = total(target, 'mem_clients_normal');
  const before = total(target, 'used_memory');
  await write();
  const deadline = Date.now() + 10_000;
  while (total(target, 'mem_clients_normal') > clients && Date.now() < deadline) await delay(50);
  return total(target, 'used_memory') - before;
}

/** Counts the registry's bucket keys that left the compact listpack encoding. SCAN is fine here. */
async function hashtableBuckets(client: Redis): Promise<number> {
  let cursor = '0';
  let hashtable = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${KEY_PREFIX}id_registry:{*}[sr]*`, 'COUNT', 1_000);
    cursor = next;
    const pipeline = client.pipeline();
    for (const key of keys) pipeline.object('ENCODING', key);
    for (const [, encoding] of (await pipeline.exec()) ?? []) if (encoding !== 'listpack') hashtable += 1;
  } while (cursor !== '0');
  return hashtable;
}

export interface RegistryMeasurement {
  kind: EntryKind;
  count: number;
  /** For missing IDs: where marks live (default bloom). */
  mode?: MissingMarkMode;
  /** For missing IDs in bloom mode: options of the filters (default capacity and rate). */
  bloom?: IdRegistryOptions['bloom'];
}

/** Bytes per entry of the registry layout. Warms the servers first unless told they are warm already. */
export async function measureRegistry(target: MemoryTarget, measurement: RegistryMeasurement, { warm = false } = {}): Promise<EntryFootprint> {
  if (!warm) await warmUp(target);
  const { kind, count } = measurement;
  const mode = kind === 'missing' ? (measurement.mode ?? 'bloom') : null;
  const { spotify, reccobeats } = sampleIds(count, kind === 'mapping' ? 20_240_101 : 7);
  let hashtable = 0;
  const bytes = await growth(target, async () => {
    const open = await openRegistry(target, KEY_PREFIX, { ...(mode ? { missing: mode } : {}), ...(measurement.bloom ? { bloom: measurement.bloom } : {}) });
    try {
      for (let start = 0; start < count; start += WRITE_BATCH) {
        if (kind === 'mapping') {
          await open.registry.bulkMarkValidated(spotify.slice(start, start + WRITE_BATCH).map((id, i) => [id, reccobeats[start + i]!] as [string, string]));
        } else {
          await open.registry.bulkMarkMissing(spotify.slice(start, start + WRITE_BATCH));
        }
      }
      for (const node of isCluster(open.client) ? open.client.nodes('master') : [open.client as Redis]) hashtable += await hashtableBuckets(node);
    } finally {
      await open.close();
    }
  });
  return { kind, layout: 'registry', mode, count, bytesPerEntry: bytes / count, keys: keysHeld(target), hashtableBuckets: hashtable };
}

/** Bytes per entry of one key per ID (a standalone server). */
export async function measureOneKeyPerId(server: RedisServer, kind: EntryKind, count: number): Promise<EntryFootprint> {
  const target = { url: server.url, servers: [server] };
  const { spotify, reccobeats } = sampleIds(count, kind === 'mapping' ? 20_240_101 : 7);
  const bytes = await growth(target, async () => {
    const { cache, gateway, connectTimeoutMs } = createCacheParts({ redisUrl: server.url, keyPrefix: KEY_PREFIX, logger: silentLogger, redisCommandTimeoutMs: 30_000 });
    try {
      if (!(await gateway.waitUntilReady(connectTimeoutMs))) throw new Error(`Redis at ${server.url} did not answer`);
      const client = gateway.client as Redis;
      for (let start = 0; start < count; start += WRITE_BATCH) {
        const pipeline = client.pipeline();
        for (let i = start; i < Math.min(start + WRITE_BATCH, count); i++) {
          if (kind === 'mapping') {
            pipeline.set(`${KEY_PREFIX}id_registry:${spotify[i]}`, reccobeats[i]!, 'EX', VALIDATED_TTL_SECONDS);
            pipeline.set(`${KEY_PREFIX}id_registry:rb:${reccobeats[i]}`, spotify[i]!, 'EX', VALIDATED_TTL_SECONDS);
          } else {
            pipeline.set(`${KEY_PREFIX}id_registry_missing:${spotify[i]}`, '1', 'EX', MISSING_TTL_SECONDS);
          }
        }
        await pipeline.exec();
      }
    } finally {
      await cache.close();
    }
  });
  return { kind, layout: 'one key per ID', mode: null, count, bytesPerEntry: bytes / count, keys: keysHeld(target), hashtableBuckets: 0 };
}

export interface Footprint {
  count: number;
  mapping: EntryFootprint;
  missingBloom: EntryFootprint;
  missingExact: EntryFootprint;
  oneKeyPerId: { mapping: EntryFootprint; missing: EntryFootprint };
}

/** Every layout on one standalone server, `count` entries of each kind. */
export async function measureFootprint(server: RedisServer, count: number): Promise<Footprint> {
  const target = { url: server.url, servers: [server] };
  await warmUp(target);
  const footprint: Footprint = {
    count,
    mapping: await measureRegistry(target, { kind: 'mapping', count }, { warm: true }),
    missingBloom: await measureRegistry(target, { kind: 'missing', count, mode: 'bloom' }, { warm: true }),
    missingExact: await measureRegistry(target, { kind: 'missing', count, mode: 'exact' }, { warm: true }),
    oneKeyPerId: {
      mapping: await measureOneKeyPerId(server, 'mapping', count),
      missing: await measureOneKeyPerId(server, 'missing', count),
    },
  };
  flushAll(target);
  return footprint;
}
