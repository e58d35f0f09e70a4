/** The bench's own redis-server: a free loopback port, never the shared 6379, gone when the bench ends. */
import { hasRedisServer, startRedisServer, type RedisServer } from '../../test/harness/redis-servers.js';

export async function startBenchRedis(): Promise<RedisServer> {
  if (!hasRedisServer) throw new Error('the bench needs redis-server and redis-cli on the PATH (apt-get install redis-server redis-tools)');
  return startRedisServer();
}

/** Empties the bench server between contenders so none inherits another's keys or memory. */
export function emptyBenchRedis(server: RedisServer): void {
  if (server.port === 6379) throw new Error('refusing to flush the Redis on port 6379');
  server.cli('FLUSHALL');
}
