import { afterAll, describe, expect, it } from 'vitest';
import { commandStats, hasRedisServer, startRedisCluster, startRedisServer } from './redis-servers.js';

describe.skipIf(!hasRedisServer)('test harness: real redis-server processes', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await Promise.all(cleanups.map((cleanup) => cleanup()));
  });

  it('starts a standalone server on a free loopback port, never 6379', async () => {
    const server = await startRedisServer();
    cleanups.push(() => server.destroy());
    expect(server.port).not.toBe(6379);
    expect(server.cli('PING')).toBe('PONG');
    server.cli('SET', 'k', 'v');
    expect(commandStats(server).set).toBe(1);
  });

  it('keeps AOF data across a stop and restart on the same port', async () => {
    const server = await startRedisServer({ appendOnly: true });
    cleanups.push(() => server.destroy());
    server.cli('SET', 'persisted', 'yes');
    await server.stop();
    expect(server.running).toBe(false);
    await server.start();
    expect(server.cli('GET', 'persisted')).toBe('yes');
  });

  it('builds a 3-master cluster', async () => {
    const cluster = await startRedisCluster();
    cleanups.push(() => cluster.destroy());
    expect(cluster.masters).toHaveLength(3);
    const info = cluster.masters[0]!.cli('CLUSTER', 'INFO');
    expect(info).toMatch(/cluster_state:ok/);
    expect(info).toMatch(/cluster_size:3/);
  });
});
