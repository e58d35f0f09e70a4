/**
 * Redis killed, hung or changing under the registry: every call still resolves, answered from memory for whatever
 * Redis cannot answer, and the registry returns to Redis by itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeAfterEachTest, collectUnhandledRejections, restoreServer, useRedisCluster, useRedisServer } from '../harness/lifecycle.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { packReccobeatsId, packSpotifyId } from '../../src/registry/ids.js';
import { RegistryLayout } from '../../src/registry/layout.js';
import { freshPairs, freshSpotifyIds, openRegistry, type OpenRegistry } from './helpers.js';

const unhandled = collectUnhandledRejections();

const opened = closeAfterEachTest<OpenRegistry>();

/**
 * Command deadlines: short where a hung server is the point, otherwise long enough that a busy 2-core machine
 * never turns a healthy call into a fallback.
 */
async function open(url: string, keyPrefix: string, commandTimeoutMs = 2_000): Promise<OpenRegistry> {
  const registry = await openRegistry(url, keyPrefix, {}, commandTimeoutMs);
  opened.push(registry);
  return registry;
}

describe.skipIf(!hasRedisServer)('ID registry when standalone Redis fails', () => {
  const server = useRedisServer();
  afterEach(() => restoreServer(server()));

  it('takes 1,000 concurrent marks on a busy Redis without a timeout or an unsynced write, with the default detector', async () => {
    const { registry, gateway } = await open(server().url, 'burst:', 50);
    const pairs = freshPairs(1_000);
    await Promise.all(pairs.map(([spotifyId, reccobeatsId]) => registry.markValidated(spotifyId, reccobeatsId)));
    expect(await registry.stats()).toMatchObject({ unsynced: 0 });
    expect(gateway.status()).toMatchObject({ timeouts: 0, circuitOpenings: 0, errors: 0 });
    const bystander = await open(server().url, 'burst:');
    expect(await bystander.registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map(pairs));
  });

  it('counts a mark given up while Redis was stopped as synced once its write lands', async () => {
    const { registry, gateway } = await open(server().url, 'late:', 50);
    const pairs = freshPairs(20);
    server().pause();
    await registry.bulkMarkValidated(pairs);
    expect((await registry.stats()).unsynced).toBe(20);
    expect(gateway.status().timeouts).toBeGreaterThan(0);
    server().resume();
    // The pipeline that was given up reaches Redis after all: the registry learns it, nothing is written twice.
    await pollUntil(async () => (await registry.stats()).unsynced === 0, 'the late write to be counted as synced');
    const bystander = await open(server().url, 'late:');
    expect(await bystander.registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map(pairs));
  });

  it('answers from memory while Redis is killed, never rejects, and goes back to Redis after a restart', async () => {
    const { registry, gateway } = await open(server().url, 'killed:');
    const bystander = await open(server().url, 'killed:');
    const pairs = freshPairs(200);
    const missing = freshSpotifyIds(100);
    await registry.bulkMarkValidated(pairs);
    await registry.bulkMarkMissing(missing);
    expect((await bystander.registry.bulkCheckMissing(missing))[1]).toHaveLength(100);

    await server().kill();
    // What this process wrote or read is answered from its memory; nothing rejects.
    expect(await registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map(pairs));
    expect((await registry.bulkCheckMissing(missing))[1]).toEqual(missing);
    expect(await registry.getSpotifyId(pairs[3]![1])).toBe(pairs[3]![0]);
    expect((await bystander.registry.bulkCheckMissing(missing))[1]).toEqual(missing);
    expect(await bystander.registry.getValidatedId(pairs[0]![0])).toBeNull();
    // Writes during the outage reach memory.
    const during = freshPairs(10);
    await registry.bulkMarkValidated(during);
    await registry.markMissing(freshSpotifyIds(1)[0]!);
    expect(await registry.getValidatedId(during[0]![0])).toBe(during[0]![1]);
    const stats = await registry.stats();
    expect(stats).toMatchObject({ backend: 'memory', validated: 210, missing: 101 });
    expect((await registry.sweep()).complete).toBe(false);
    // The calls above failed on the dying socket; the client notices the close a moment later.
    await pollUntil(() => gateway.status().backend === 'memory', 'the client to notice the closed connection');

    await server().start();
    await pollUntil(
      () => gateway.status().backend === 'redis' && bystander.gateway.status().backend === 'redis',
      'both registries to reach Redis again', undefined, 10_000,
    );
    expect((await registry.stats()).unsynced).toBe(11);
    const after = freshPairs(5);
    await registry.bulkMarkValidated(after);
    expect(await bystander.registry.getValidatedId(after[4]![0])).toBe(after[4]![1]);
    // The restarted server lost its data (no persistence here); what was written during the outage went along
    // with the next write, and other processes see it now.
    expect(await bystander.registry.getValidatedId(during[9]![0])).toBe(during[9]![1]);
    expect(await registry.stats()).toMatchObject({ backend: 'redis', validated: 15, missing: 1, unsynced: 0 });
    expect(unhandled).toEqual([]);
  });

  it('answers from memory when Redis hangs (SIGSTOP), then from Redis once it resumes', async () => {
    const { registry, gateway } = await open(server().url, 'hung:', 200);
    const missing = freshSpotifyIds(50);
    await registry.bulkMarkMissing(missing);

    server().pause();
    for (let round = 0; round < 5; round++) {
      expect((await registry.bulkCheckMissing(missing))[1]).toEqual(missing);
      await registry.bulkMarkMissing(freshSpotifyIds(5));
    }
    expect(gateway.status().timeouts).toBeGreaterThan(0);
    expect(gateway.status().skipped).toBeGreaterThan(0);

    server().resume();
    await pollUntil(async () => {
      await registry.isKnownMissing(missing[0]!);
      return gateway.status().backend === 'redis';
    }, 'the circuit to close after the server resumes');
    expect(await registry.stats()).toMatchObject({ backend: 'redis' });
    expect(unhandled).toEqual([]);
  });
});

describe.skipIf(!hasRedisServer)('ID registry when a Cluster node fails or slots move', () => {
  const cluster = useRedisCluster(3);

  it('survives a slot moving to another node: no rejection, and the moved shard is served from its new node', async () => {
    const keyPrefix = 'moved:';
    const { registry, gateway } = await open(cluster().url, keyPrefix);
    const layout = new RegistryLayout(keyPrefix);
    const shard = layout.shards[0]!;
    const inShard = (count: number) =>
      freshPairs(count * 40).filter(([id]) => layout.shardOf(packSpotifyId(id)) === shard).slice(0, count);
    const elsewhere = freshPairs(50).filter(([id, uuid]) => layout.shardOf(packSpotifyId(id)) !== shard && layout.shardOf(packReccobeatsId(uuid)) !== shard);
    await registry.bulkMarkValidated(elsewhere);

    // Hand the (still empty) slot of shard 0 to another master behind the client's back.
    const ids = cluster().masters.map((master) => master.cli('CLUSTER', 'MYID'));
    const ownerAddress = (gateway.client as import('ioredis').Cluster).slots[shard.slot]![0]!;
    const owner = cluster().masters.findIndex((master) => ownerAddress.endsWith(`:${master.port}`));
    expect(owner).toBeGreaterThanOrEqual(0);
    const target = (owner + 1) % cluster().masters.length;
    for (const master of cluster().masters) expect(master.cli('CLUSTER', 'SETSLOT', String(shard.slot), 'NODE', ids[target]!)).toBe('OK');

    // The client still sends shard 0 to its old node, which answers MOVED: the write reaches memory only.
    const moved = inShard(20);
    await registry.bulkMarkValidated(moved);
    expect(await registry.bulkGetValidated(moved.map(([id]) => id))).toEqual(new Map(moved));
    // Once the client knows the new owner, the next write carries the missed ones along.
    await pollUntil(async () => {
      await registry.bulkMarkValidated(inShard(1));
      return (await registry.stats()).unsynced === 0;
    }, 'the writes Redis missed to be written again');
    expect(cluster().masters[target]!.cli('EXISTS', shard.metaKey)).toBe('1');
    const reader = await open(cluster().url, keyPrefix);
    expect(await reader.registry.bulkGetValidated(moved.map(([id]) => id))).toEqual(new Map(moved));
    expect(await reader.registry.getSpotifyId(moved[0]![1])).toBe(moved[0]![0]);
    expect(unhandled).toEqual([]);
  });

  it('answers from Redis what the live nodes hold and from memory the rest when one master is killed', async () => {
    const writer = await open(cluster().url, 'node-down:');
    const reader = await open(cluster().url, 'node-down:');
    const pairs = freshPairs(600);
    await writer.registry.bulkMarkValidated(pairs);
    expect((await reader.registry.bulkGetValidated(pairs.map(([id]) => id))).size).toBe(600);
    const fresh = await open(cluster().url, 'node-down:');

    await cluster().masters[2]!.kill();
    // The writer remembers everything it wrote; a process that never saw these IDs gets what the live nodes hold.
    expect((await writer.registry.bulkGetValidated(pairs.map(([id]) => id))).size).toBe(600);
    const partial = await fresh.registry.bulkGetValidated(pairs.map(([id]) => id));
    expect(partial.size).toBeGreaterThan(0);
    expect(partial.size).toBeLessThan(600);
    for (const [spotifyId, reccobeatsId] of partial) expect(reccobeatsId).toBe(new Map(pairs).get(spotifyId));
    await writer.registry.bulkMarkMissing(freshSpotifyIds(100));
    expect((await fresh.registry.stats()).backend).toBe('memory');
    expect(unhandled).toEqual([]);
  });
});
