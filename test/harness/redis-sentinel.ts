/**
 * A Redis Sentinel group of real processes: a master, one replica and three sentinels (quorum 2), each on a free
 * loopback port in its own directory. Timings are short (down after 1 s, failover timeout 5 s) so a failover takes
 * seconds. Which server is the master changes with failovers: ask the sentinels (masterPort) rather than remember.
 */
import { pollUntil, startRedisServer, type RedisServer } from './redis-servers.js';
import type { TlsFiles } from './redis-tls.js';

export interface RedisSentinelGroupOptions {
  /** Password of the master and the replica (requirepass and masterauth). */
  password?: string;
  /** The sentinels' own password (their requirepass). */
  sentinelPassword?: string;
  /** Every process serves TLS only, replication and the sentinels' connections included. */
  tls?: TlsFiles;
}

export interface RedisSentinelGroup {
  readonly masterName: string;
  /** The master and the replica it started with; after a failover their roles are swapped. */
  readonly servers: readonly RedisServer[];
  readonly sentinels: readonly RedisServer[];
  /** `redis+sentinel://[:password@]127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/<masterName>[/db]` (`rediss+` with TLS) */
  url(db?: number): string;
  /** The master's port as one sentinel reports it (SENTINEL get-master-addr-by-name), null if it cannot say. */
  masterPort(sentinel?: RedisServer): number | null;
  /** The server the sentinels name master; throws when they do not agree. */
  master(): RedisServer;
  /** Polls until every sentinel names `port` master. */
  waitForMaster(port: number, timeoutMs?: number): Promise<void>;
  /** Polls until the group can fail over: a synced replica known to every sentinel, sentinels known to each other. */
  waitUntilHealthy(): Promise<void>;
  destroy(): Promise<void>;
}

const MASTER_NAME = 'reprisemaster';
const QUORUM = 2;

export async function startRedisSentinelGroup(options: RedisSentinelGroupOptions = {}): Promise<RedisSentinelGroup> {
  const auth = options.password ? ['--requirepass', options.password, '--masterauth', options.password] : [];
  const tls = options.tls ? { tls: options.tls } : {};
  const serverOptions = { ...(options.password ? { password: options.password } : {}), ...tls };
  const started: RedisServer[] = [];
  try {
    const first = await startRedisServer({ ...serverOptions, extraArgs: auth });
    started.push(first);
    const second = await startRedisServer({ ...serverOptions, extraArgs: [...auth, '--replicaof', '127.0.0.1', String(first.port)] });
    started.push(second);
    const sentinelConfig = [
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${first.port} ${QUORUM}`,
      `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
      `sentinel failover-timeout ${MASTER_NAME} 5000`,
      ...(options.password ? [`sentinel auth-pass ${MASTER_NAME} ${options.password}`] : []),
    ];
    const sentinels = await Promise.all(
      [0, 1, 2].map(() => startRedisServer({ sentinelConfig, ...tls, ...(options.sentinelPassword ? { password: options.sentinelPassword } : {}) })),
    );
    started.push(...sentinels);
    const servers = [first, second];

    const masterPort = (sentinel: RedisServer = sentinels[0]!): number | null => {
      const [host, port] = sentinel.cli('SENTINEL', 'get-master-addr-by-name', MASTER_NAME).split('\n');
      return host === '127.0.0.1' && port ? Number(port) : null;
    };
    const sentinelsAgreeOn = (port: number) => sentinels.every((sentinel) => masterPort(sentinel) === port);
    const group: RedisSentinelGroup = {
      masterName: MASTER_NAME,
      servers,
      sentinels,
      url(db = 0) {
        const credentials = options.password ? `:${encodeURIComponent(options.password)}@` : '';
        const hosts = sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',');
        return `${options.tls ? 'rediss' : 'redis'}+sentinel://${credentials}${hosts}/${MASTER_NAME}${db ? `/${db}` : ''}`;
      },
      masterPort,
      master() {
        const port = masterPort();
        const server = servers.find((candidate) => candidate.port === port);
        if (!server || !sentinelsAgreeOn(server.port)) throw new Error(`the sentinels do not agree on a master (first says ${port})`);
        return server;
      },
      waitForMaster: (port, timeoutMs = 30_000) =>
        pollUntil(() => sentinelsAgreeOn(port), `every sentinel to name 127.0.0.1:${port} master`, () => false, timeoutMs),
      async waitUntilHealthy() {
        const master = group.master();
        const replica = servers.find((server) => server !== master)!;
        await pollUntil(
          () => /master_link_status:up/.test(replica.cli('INFO', 'replication'))
            && sentinels.every((sentinel) => {
              const fields = sentinelFields(sentinel.cli('SENTINEL', 'MASTER', MASTER_NAME));
              const replicas = sentinel.cli('SENTINEL', 'REPLICAS', MASTER_NAME);
              return fields['num-other-sentinels'] === '2' && fields['num-slaves'] === '1'
                && replicas.includes(String(replica.port)) && !/s_down|disconnected/.test(replicas);
            }),
          'the replica to sync and every sentinel to know it and the other sentinels',
          () => false,
          30_000,
        );
      },
      async destroy() {
        await Promise.all(started.map((server) => server.destroy()));
      },
    };
    await group.waitUntilHealthy();
    return group;
  } catch (error) {
    await Promise.all(started.map((server) => server.destroy()));
    throw error;
  }
}

/** redis-cli prints SENTINEL MASTER as alternating lines of field and value. */
function sentinelFields(text: string): Record<string, string> {
  const lines = text.split('\n');
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) fields[lines[i]!] = lines[i + 1]!;
  return fields;
}
