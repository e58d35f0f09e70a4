/**
 * Registries written before entries were stored under a digest of their ID (scripts.ts) hold entries under the
 * packed ID itself. Such an entry is still found, replaced by a write, unlinked by a remap, moved by splits, and
 * rewritten by the next sweep pass; nothing is lost and the counts stay exact.
 */
import { describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/redis/connection.js';
import { encodeForward, encodeReverse, expiryFor } from '../../src/registry/entries.js';
import { packReccobeatsId, packSpotifyId } from '../../src/registry/ids.js';
import { RegistryLayout, SHARD_COUNT } from '../../src/registry/layout.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { closeAfterEachTest, useBackend } from '../harness/lifecycle.js';
import { hasRedisServer } from '../harness/redis-servers.js';
import { freshPairs, freshSpotifyIds, openRegistry, type OpenRegistry } from './helpers.js';
import { inspectRegistry } from './inspect.js';

const DAY = 86_400;

/**
 * What an earlier version stored for these mappings and marks while its shards were small enough never to have
 * split: every entry in bucket 0 of its space, under its packed ID, counted in the meta hash, which has no format.
 */
async function writeLegacy(client: RedisClient, layout: RegistryLayout, pairs: [string, string][], invalid: string[]): Promise<void> {
  const expiresAtMs = expiryFor(Date.now(), 30 * DAY);
  // One command at a time (a Cluster client routes each to its shard's node), all in flight together.
  const sent: Promise<unknown>[] = [];
  const put = (space: 's' | 'r', packed: Buffer, value: Buffer, count: string) => {
    const shard = layout.shardOf(packed);
    sent.push(
      client.hset(layout.bucketKey(shard, space, 0), packed, value),
      client.expire(layout.bucketKey(shard, space, 0), 31 * DAY),
      client.hincrby(shard.metaKey, count, 1),
      client.expire(shard.metaKey, 31 * DAY),
    );
  };
  for (const [spotifyId, reccobeatsId] of pairs) {
    put('s', packSpotifyId(spotifyId), encodeForward({ kind: 'validated', reccobeatsId, expiresAtMs }), 'n:v');
    put('r', packReccobeatsId(reccobeatsId), encodeReverse({ spotifyId, expiresAtMs }), 'n:r');
  }
  for (const spotifyId of invalid) put('s', packSpotifyId(spotifyId), encodeForward({ kind: 'missing', reason: 'invalid', expiresAtMs }), 'n:m');
  await Promise.all(sent);
}

describe.skipIf(!hasRedisServer).each(BACKEND_NAMES)('registry entries of the earlier layout on %s Redis', (backendName) => {
  const backend = useBackend(backendName);
  const opened = closeAfterEachTest<OpenRegistry>();
  let prefixes = 0;

  async function open(keyPrefix: string): Promise<OpenRegistry> {
    // No memory tier to speak of: every answer below comes from Redis.
    const registry = await openRegistry(backend().url, keyPrefix, { memoryMaxEntries: 1 });
    opened.push(registry);
    return registry;
  }

  it('finds, replaces and converts entries stored under packed IDs, losing none and keeping counts exact', async () => {
    const keyPrefix = `legacy${++prefixes}:`;
    const layout = new RegistryLayout(keyPrefix);
    const { registry, gateway } = await open(keyPrefix);
    const client = gateway.client!;
    const pairs = freshPairs(300);
    const invalid = freshSpotifyIds(100);
    await writeLegacy(client, layout, pairs, invalid);
    expect(await inspectRegistry(client, keyPrefix)).toMatchObject({ validated: 300, missing: 100, reverse: 300, legacy: 700 });

    // Read as they are.
    expect(await registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map(pairs));
    expect(await registry.getSpotifyId(pairs[3]![1])).toBe(pairs[3]![0]);
    expect((await registry.bulkCheckMissing(invalid))[1]).toEqual(invalid);
    expect(await registry.getMissingReason(invalid[0]!)).toBe('invalid');
    expect(await registry.stats()).toMatchObject({ validated: 300, missing: 100 });

    // A remap replaces the legacy entry and unlinks the old partner's legacy reverse entry; a mark does not
    // replace a live legacy mapping.
    const [[, newPartner]] = freshPairs(1) as [[string, string]];
    await registry.markValidated(pairs[0]![0], newPartner);
    expect(await registry.getValidatedId(pairs[0]![0])).toBe(newPartner);
    expect(await registry.getSpotifyId(pairs[0]![1])).toBeNull();
    expect(await registry.getSpotifyId(newPartner)).toBe(pairs[0]![0]);
    await registry.markMissing(pairs[1]![0], 'invalid');
    expect(await registry.getValidatedId(pairs[1]![0])).toBe(pairs[1]![1]);

    // Growth splits buckets holding both kinds of field: every entry stays reachable.
    const grown = freshPairs(3_000);
    for (let start = 0; start < grown.length; start += 1_000) await registry.bulkMarkValidated(grown.slice(start, start + 1_000));
    const expected = new Map([...pairs, ...grown]);
    expected.set(pairs[0]![0], newPartner);
    expect(await registry.bulkGetValidated([...expected.keys()])).toEqual(expected);
    const before = await inspectRegistry(client, keyPrefix);
    expect(before).toMatchObject({ validated: 3_300, missing: 100, reverse: 3_300, notListpack: 0 });
    expect(before.legacy).toBeGreaterThan(500);
    expect(before.buckets).toBeGreaterThan(2 * SHARD_COUNT);
    expect(await registry.stats()).toMatchObject({ validated: 3_300, missing: 100, redis: { reverse: 3_300 } });

    // A sweep pass rewrites every legacy entry under its digest and marks each space as holding none.
    expect(await registry.sweep()).toMatchObject({ complete: true, drift: 0 });
    expect(await inspectRegistry(client, keyPrefix)).toMatchObject({ validated: 3_300, missing: 100, reverse: 3_300, legacy: 0 });
    for (const shard of layout.shards) expect(await client.hmget(shard.metaKey, 's:format', 'r:format')).toEqual(['2', '2']);
    expect(await registry.stats()).toMatchObject({ validated: 3_300, missing: 100, redis: { reverse: 3_300 } });

    const reader = await open(keyPrefix);
    expect(await reader.registry.bulkGetValidated([...expected.keys()])).toEqual(expected);
    expect(await reader.registry.getSpotifyId(grown[7]![1])).toBe(grown[7]![0]);
    expect(await reader.registry.getSpotifyId(pairs[9]![1])).toBe(pairs[9]![0]);
    expect((await reader.registry.bulkCheckMissing(invalid))[1]).toEqual(invalid);
    expect(gateway.status().errors + reader.gateway.status().errors).toBe(0);
  });

  it('marks a new space as holding no legacy entry from its first write', async () => {
    const keyPrefix = `legacy${++prefixes}:`;
    const layout = new RegistryLayout(keyPrefix);
    const { registry, gateway } = await open(keyPrefix);
    await registry.bulkMarkValidated(freshPairs(400));
    const client = gateway.client!;
    for (const shard of layout.shards) expect(await client.hmget(shard.metaKey, 's:format', 'r:format')).toEqual(['2', '2']);
    expect(await inspectRegistry(client, keyPrefix)).toMatchObject({ validated: 400, reverse: 400, legacy: 0 });
  });
});
