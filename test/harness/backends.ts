/** The Redis deployments every engine test runs against: a standalone server and a 3-master Cluster. */
import { commandStats, startRedisCluster, startRedisServer, type RedisServer } from './redis-servers.js';

export interface Backend {
  name: 'standalone' | 'cluster';
  /** What REDIS_URL would be. */
  url: string;
  servers: RedisServer[];
  /** Calls of `command` (lower case) received by all servers so far. */
  calls(command: string): number;
  /** Runs a redis-cli command on the server owning `key` (-c follows redirects on a cluster). */
  cli(...args: string[]): string;
  /** Keys held by all servers together. */
  dbsize(): number;
  destroy(): Promise<void>;
}

export const BACKEND_NAMES = ['standalone', 'cluster'] as const;

export async function startBackend(name: Backend['name']): Promise<Backend> {
  if (name === 'standalone') {
    const server = await startRedisServer();
    return backendOf(name, server.url, [server], () => server.destroy());
  }
  const cluster = await startRedisCluster(3);
  return backendOf(name, cluster.url, cluster.masters, () => cluster.destroy());
}

function backendOf(name: Backend['name'], url: string, servers: RedisServer[], destroy: () => Promise<void>): Backend {
  return {
    name,
    url,
    servers,
    calls: (command) => servers.reduce((sum, server) => sum + (commandStats(server)[command] ?? 0), 0),
    cli: (...args) => (name === 'cluster' ? servers[0]!.cli('-c', ...args) : servers[0]!.cli(...args)),
    dbsize: () => servers.reduce((sum, server) => sum + Number(server.cli('DBSIZE')), 0),
    destroy,
  };
}
