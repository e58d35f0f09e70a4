/**
 * The registry on a real standalone Redis and a real 3-master Cluster: sharing between instances, counts that match
 * what is stored, expiry and sweeps, growth by bucket splits, and bulk calls of 1000 IDs in one round trip per node.
 */
import { describe, expect, it } from 'vitest';
import { SHARD_COUNT } from '../../src/registry/layout.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { closeAfterEachTest, useBackend } from '../harness/lifecycle.js';
import { commandStats, hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { TestClock, freshPairs, freshSpotifyIds, openRegistry, type OpenRegistry, type RegistryOverrides } from './helpers.js';
import { countRoundTrips, inspectRegistry } from './inspect.js';

describe.skipIf(!hasRedisServer).each(BACKEND_NAMES)('ID registry on %s Redis', (backendName) => {
  const backend = useBackend(backendName);
  const opened = closeAfterEachTest<OpenRegistry>();
  let prefixes = 0;

  async function open(options: RegistryOverrides = {}, keyPrefix = `reg${++prefixes}:`): Promise<OpenRegistry & { keyPrefix: string }> {
    // Missing marks as exact entries: this suite is about the packed layout (filters.test.ts covers the filters).
    const registry = await openRegistry(backend().url, keyPrefix, { missing: 'exact', ...options });
    opened.push(registry);
    return { ...registry, keyPrefix };
  }

  /** Data commands all servers received (INFO and CLUSTER are the harness's and the client's own). */
  function dataCommands(): number {
    let total = 0;
    for (const server of backend().servers) {
      for (const [command, calls] of Object.entries(commandStats(server))) if (command !== 'info' && command !== 'cluster') total += calls;
    }
    return total;
  }

  it('shares mappings, missing marks and reasons between instances', async () => {
    const writer = await open();
    const reader = await open({}, writer.keyPrefix);
    const pairs = freshPairs(50);
    const missing = freshSpotifyIds(20);
    await writer.registry.bulkMarkValidated(pairs);
    await writer.registry.bulkMarkMissing(missing, 'invalid');

    expect(await reader.registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map(pairs));
    expect(await reader.registry.getSpotifyId(pairs[7]![1])).toBe(pairs[7]![0]);
    const [toCheck, knownMissing] = await reader.registry.bulkCheckMissing([...missing, pairs[0]![0]]);
    expect(knownMissing).toEqual(missing);
    expect(toCheck).toEqual([pairs[0]![0]]);
    expect(await reader.registry.getMissingReason(missing[3]!)).toBe('invalid');
    expect(await reader.registry.stats()).toMatchObject({ backend: 'redis', validated: 50, missing: 20 });
    expect(reader.gateway.status().errors).toBe(0);
  });

  it('keeps its counts equal to what is stored through overwrites, remaps and missing marks on validated IDs', async () => {
    const { registry, gateway, keyPrefix } = await open();
    const pairs = freshPairs(300);
    const missing = freshSpotifyIds(200);
    await registry.bulkMarkValidated(pairs);
    await registry.bulkMarkMissing(missing);
    await registry.bulkMarkValidated(pairs.slice(0, 100)); // the same pairs again
    await registry.bulkMarkMissing(pairs.slice(100, 150).map(([id]) => id)); // live mappings win
    await registry.bulkMarkValidated(missing.slice(0, 40).map((id, i) => [id, pairs[i]![1]])); // remaps: those UUIDs move
    await registry.bulkMarkMissing(missing.slice(150)); // missing again

    const stored = await inspectRegistry(gateway.client!, keyPrefix);
    expect(stored).toMatchObject({ validated: 300, missing: 160, reverse: 300 });
    const stats = await registry.stats();
    expect(stats).toMatchObject({ validated: stored.validated, missing: stored.missing, redis: { reverse: stored.reverse } });
    // The remapped UUIDs point at their new Spotify IDs, and the old Spotify IDs lost their mapping.
    expect(await registry.getSpotifyId(pairs[5]![1])).toBe(missing[5]);
    expect(await registry.getValidatedId(pairs[5]![0])).toBeNull();
    expect(await registry.getValidatedId(pairs[120]![0])).toBe(pairs[120]![1]);
    expect((await registry.sweep()).drift).toBe(0);
  });

  it('treats expired entries as absent, counts them until a sweep, and the sweep deletes them from Redis', async () => {
    const clock = new TestClock(Date.now());
    const { registry, gateway, keyPrefix } = await open({ now: clock.now, ttls: { validatedSeconds: 3_600, missingSeconds: 60 } });
    const pairs = freshPairs(400);
    const missing = freshSpotifyIds(600);
    await registry.bulkMarkValidated(pairs);
    await registry.bulkMarkMissing(missing);

    clock.advance(61); // expiries are whole seconds, rounded up
    const [toCheck, knownMissing] = await registry.bulkCheckMissing(missing);
    expect(knownMissing).toEqual([]);
    expect(toCheck).toHaveLength(600);
    expect(await registry.stats()).toMatchObject({ validated: 400, missing: 600 });

    const sweep = await registry.sweep();
    expect(sweep).toMatchObject({ backend: 'redis', removed: { validated: 0, missing: 600, reverse: 0 }, drift: 0, complete: true });
    expect(await registry.stats()).toMatchObject({ validated: 400, missing: 0 });
    expect(await inspectRegistry(gateway.client!, keyPrefix, clock.ms)).toMatchObject({ validated: 400, missing: 0, reverse: 400, expired: 0 });

    clock.advance(3_601);
    expect((await registry.bulkGetValidated(pairs.map(([id]) => id))).size).toBe(0);
    expect(await registry.getSpotifyId(pairs[0]![1])).toBeNull();
    expect((await registry.sweep()).removed).toEqual({ validated: 400, missing: 0, reverse: 400 });
    expect(await inspectRegistry(gateway.client!, keyPrefix, clock.ms)).toMatchObject({ validated: 0, reverse: 0, buckets: 0 });
  });

  it('expires entries in real time with tiny TTLs, and every bucket key carries a backstop TTL', async () => {
    const { registry, gateway, keyPrefix } = await open({ ttls: { validatedSeconds: 1, missingSeconds: 1 } });
    const missing = freshSpotifyIds(30);
    const pairs = freshPairs(30);
    await registry.bulkMarkMissing(missing);
    await registry.bulkMarkValidated(pairs);
    expect(await registry.isKnownMissing(missing[0]!)).toBe(true);
    const stored = await inspectRegistry(gateway.client!, keyPrefix);
    expect(stored.buckets).toBeGreaterThan(0);
    expect(stored.withoutTtl).toBe(0);

    // The mappings were written after the marks, so they may outlive them by a moment: wait for both.
    await pollUntil(
      async () => !(await registry.isKnownMissing(missing[0]!)) && (await registry.getValidatedId(pairs[0]![0])) === null,
      'the 1 s entries to expire', undefined, 5_000,
    );
    expect((await registry.bulkCheckMissing(missing))[1]).toEqual([]);
    expect((await registry.bulkGetValidated(pairs.map(([id]) => id))).size).toBe(0);
    await registry.sweep();
    expect(await registry.stats()).toMatchObject({ validated: 0, missing: 0 });
  });

  it('answers 1000 IDs with one round trip per node and far fewer commands than IDs', async () => {
    const writer = await open();
    const reader = await open({}, writer.keyPrefix);
    const pairs = freshPairs(3_000);
    const missing = freshSpotifyIds(1_000);
    await writer.registry.bulkMarkValidated(pairs);
    await writer.registry.bulkMarkMissing(missing);
    const ids = [...missing.slice(0, 400), ...pairs.slice(0, 400).map(([id]) => id), ...freshSpotifyIds(200)];
    const { redis } = await reader.registry.stats();
    const nodes = backendName === 'cluster' ? 3 : 1;

    const commandsBefore = dataCommands();
    const scriptsBefore = backend().calls('evalsha') + backend().calls('eval');
    const hmgetBefore = backend().calls('hmget');
    const { result, perNode } = await countRoundTrips(reader.gateway.client!, writer.keyPrefix, () => reader.registry.bulkCheckMissing(ids));
    const [toCheck, knownMissing] = result;
    expect(knownMissing).toEqual(missing.slice(0, 400));
    expect(toCheck).toHaveLength(600);

    expect(perNode).toHaveLength(nodes);
    expect(Math.max(...perNode)).toBe(1);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(nodes);
    // Per shard: the exact read and the filter check, in the same pipeline.
    expect(backend().calls('evalsha') + backend().calls('eval') - scriptsBefore).toBeLessThanOrEqual(2 * SHARD_COUNT);
    // One HMGET per shard for its geometry, and one per bucket holding requested IDs.
    expect(backend().calls('hmget') - hmgetBefore).toBeLessThanOrEqual(SHARD_COUNT + redis!.forwardBuckets);
    expect(dataCommands() - commandsBefore).toBeLessThan(250);

    const validated = await countRoundTrips(reader.gateway.client!, writer.keyPrefix, () => reader.registry.bulkGetValidated(ids));
    expect(validated.result).toEqual(new Map(pairs.slice(0, 400)));
    expect(Math.max(...validated.perNode)).toBe(1);

    // Writing 1000 pairs (both directions) is one round trip per node as well.
    const written = await countRoundTrips(reader.gateway.client!, writer.keyPrefix, () => reader.registry.bulkMarkValidated(freshPairs(1_000)));
    expect(Math.max(...written.perNode)).toBe(1);
    expect(reader.gateway.status().errors).toBe(0);
  });

  it('adds no command to its client, and runs its scripts again on nodes that lost them (one more round trip, once)', async () => {
    const writer = await open();
    const reader = await open({}, writer.keyPrefix);
    const missing = freshSpotifyIds(300);
    await writer.registry.bulkMarkMissing(missing);
    expect((await reader.registry.bulkCheckMissing(missing))[1]).toEqual(missing);
    // The client might be the host's own: nothing was defined on it.
    for (const { gateway } of [writer, reader]) expect(Object.keys(gateway.client!.scriptsSet)).toEqual([]);

    for (const server of backend().servers) server.cli('SCRIPT', 'FLUSH');
    const client = reader.gateway.client!;
    const reloaded = await countRoundTrips(client, writer.keyPrefix, () => reader.registry.bulkCheckMissing(missing));
    expect(reloaded.result[1]).toEqual(missing);
    expect(reloaded.perNode.every((trips) => trips === 2)).toBe(true);
    const steady = await countRoundTrips(client, writer.keyPrefix, () => reader.registry.bulkCheckMissing(missing));
    expect(steady.result[1]).toEqual(missing);
    expect(steady.perNode.every((trips) => trips === 1)).toBe(true);

    // A write answered NOSCRIPT did not run: sent again, it lands once.
    for (const server of backend().servers) server.cli('SCRIPT', 'FLUSH');
    await writer.registry.bulkMarkMissing(freshSpotifyIds(50));
    expect(await inspectRegistry(client, writer.keyPrefix)).toMatchObject({ missing: 350 });
    expect(await reader.registry.stats()).toMatchObject({ backend: 'redis', missing: 350 });
    expect(writer.gateway.status().errors + reader.gateway.status().errors).toBe(0);
  });

  it('grows by splitting buckets: every entry stays reachable, buckets stay listpack and under 128 entries', async () => {
    const { registry, gateway, keyPrefix } = await open();
    const pairs = freshPairs(12_000);
    for (let start = 0; start < pairs.length; start += 1_500) await registry.bulkMarkValidated(pairs.slice(start, start + 1_500));

    const found = await registry.bulkGetValidated(pairs.map(([id]) => id));
    expect(found.size).toBe(12_000);
    expect(found).toEqual(new Map(pairs));
    for (const [spotifyId, reccobeatsId] of pairs.filter((_, i) => i % 1_000 === 0)) {
      expect(await registry.getSpotifyId(reccobeatsId)).toBe(spotifyId);
    }
    const stored = await inspectRegistry(gateway.client!, keyPrefix);
    expect(stored).toMatchObject({ validated: 12_000, reverse: 12_000, notListpack: 0 });
    expect(stored.largestBucket).toBeLessThan(128);
    expect(stored.buckets).toBeGreaterThan((2 * 12_000) / 80);
    const { redis } = await registry.stats();
    expect(redis!.forwardBuckets + redis!.reverseBuckets).toBeGreaterThanOrEqual(stored.buckets);
  });

  it('keeps counts exact under concurrent writers and a sweep running at the same time', async () => {
    const clock = new TestClock(Date.now());
    const a = await open({ now: clock.now, ttls: { missingSeconds: 30 } });
    const b = await open({ now: clock.now, ttls: { missingSeconds: 30 } }, a.keyPrefix);
    const soonExpired = freshSpotifyIds(2_000);
    await a.registry.bulkMarkMissing(soonExpired);
    clock.advance(31);

    const pairs = freshPairs(4_000);
    const missing = freshSpotifyIds(2_000);
    const batches = (list: unknown[], size: number) => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
    const sweep = b.registry.sweep();
    await Promise.all([
      ...batches(pairs.slice(0, 2_500), 250).map((batch) => a.registry.bulkMarkValidated(batch as [string, string][])),
      ...batches(pairs.slice(1_500), 250).map((batch) => b.registry.bulkMarkValidated(batch as [string, string][])),
      ...batches(missing, 200).map((batch, i) => (i % 2 ? a : b).registry.bulkMarkMissing(batch as string[])),
      // Some IDs become missing while another writer validates them: live mappings must win either way round.
      a.registry.bulkMarkMissing(pairs.slice(1_000, 1_400).map(([id]) => id)),
      sweep,
    ]);
    expect((await sweep).drift).toBe(0);

    // Every expired mark is gone, and nothing else: live mappings won over the concurrent missing marks.
    const stored = await inspectRegistry(a.gateway.client!, a.keyPrefix, clock.ms);
    expect(stored).toMatchObject({ validated: 4_000, missing: 2_000, reverse: 4_000, expired: 0 });
    expect(await a.registry.stats()).toMatchObject({ validated: 4_000, missing: 2_000, redis: { reverse: 4_000 } });
    expect(await b.registry.sweep()).toMatchObject({ drift: 0, removed: { validated: 0, missing: 0, reverse: 0 } });
  });

  it('corrects its counts on the next sweep when keys vanish behind its back', async () => {
    const { registry, gateway, keyPrefix } = await open();
    await registry.bulkMarkMissing(freshSpotifyIds(500));
    const client = gateway.client!;
    const victim = `${keyPrefix}id_registry:{3}s0`;
    const lost = await client.hlen(victim);
    expect(lost).toBeGreaterThan(0);
    await client.del(victim);
    expect((await registry.stats()).missing).toBe(500);

    const sweep = await registry.sweep();
    expect(sweep.drift).toBe(lost);
    expect((await registry.stats()).missing).toBe(500 - lost);
    expect((await inspectRegistry(client, keyPrefix)).missing).toBe(500 - lost);
  });

  it('is cleared by cache.invalidate("id_registry") like any category', async () => {
    const { registry, cache, gateway, keyPrefix } = await open();
    const pairs = freshPairs(100);
    await registry.bulkMarkValidated(pairs);
    expect(await cache.invalidate('id_registry')).toBeGreaterThan(0);
    expect(await inspectRegistry(gateway.client!, keyPrefix)).toMatchObject({ validated: 0, buckets: 0 });
    expect(await registry.stats()).toMatchObject({ backend: 'redis', validated: 0, missing: 0 });
    // Redis answered "nothing": the copy this process kept in memory does not answer for it.
    expect(await registry.getValidatedId(pairs[0]![0])).toBeNull();
  });
});
