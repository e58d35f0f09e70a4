/**
 * Real redis-server processes for the tests: standalone (optionally with AOF, restartable on the same port and data
 * directory), and a 3-master Redis Cluster built with `redis-cli --cluster create`. Every server binds to loopback on
 * a free port chosen here and lives in its own temp directory; nothing ever talks to the shared Redis on 6379.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const SHARED_REDIS_PORT = 6379;

export function findRedisBinaries(): { server: string; cli: string } | null {
  const server = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const cli = spawnSync('redis-cli', ['--version'], { encoding: 'utf8' });
  if (server.status !== 0 || cli.status !== 0) return null;
  return { server: 'redis-server', cli: 'redis-cli' };
}

/** True when redis-server is installed. On CI a missing redis-server is an error, never a skip. */
export const hasRedisServer: boolean = (() => {
  const found = findRedisBinaries() !== null;
  if (!found && process.env.CI === 'true') {
    throw new Error('redis-server/redis-cli not found: CI must install them (.ci/run does so with apt-get)');
  }
  if (!found) console.warn('[reprise tests] redis-server not found: suites that need a real Redis are skipped');
  return found;
})();

/** A free loopback port; for cluster nodes the bus port (port + 10000) must be free as well. */
export async function freePort(options: { clusterBus?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenAndRelease(0);
    if (port === SHARED_REDIS_PORT) continue;
    if (options.clusterBus) {
      if (port + 10_000 > 65_535) continue;
      const busFree = await listenAndRelease(port + 10_000).then(() => true, () => false);
      if (!busFree) continue;
    }
    return port;
  }
  throw new Error('no free loopback port found');
}

function listenAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : port));
    });
  });
}

export interface RedisServerOptions {
  appendOnly?: boolean;
  password?: string;
  clusterEnabled?: boolean;
  /**
   * Lines of a sentinel.conf: the process runs as a Sentinel (`redis-server sentinel.conf --sentinel`), which
   * rewrites that file as it learns the group. `password` is then the Sentinel's own.
   */
  sentinelConfig?: string[];
  /**
   * Serve TLS only (`--port 0 --tls-port`): the certificate and key, and the CA the harness's redis-cli trusts.
   * Replication and a sentinel's connections use TLS too. Clients are not asked for a certificate.
   */
  tls?: { cert: string; key: string; ca: string };
  /** Extra `--name value` arguments. */
  extraArgs?: string[];
}

export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly dir: string;
  /** redis://[:password@]127.0.0.1:port */
  readonly url: string;
  readonly running: boolean;
  /** The server process's id while it runs. */
  readonly pid: number | undefined;
  /** Starts the process again on the same port and directory (AOF data comes back). */
  start(): Promise<void>;
  /** Graceful stop; the AOF is flushed (appendfsync always). */
  stop(): Promise<void>;
  /** SIGKILL: the connection drops at once, like a crashed host. */
  kill(): Promise<void>;
  /** SIGSTOP: the server hangs with its sockets open. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Runs a redis-cli command against this server and returns its raw output. */
  cli(...args: string[]): string;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (!hasRedisServer) throw new Error('redis-server is not installed');
  const port = await freePort({ clusterBus: options.clusterEnabled });
  const dir = mkdtempSync(path.join(tmpdir(), `reprise-redis-${port}-`));
  let child: ChildProcess | null = null;
  let paused = false;

  const sentinelArgs = options.sentinelConfig ? [writeSentinelConfig(dir, options.sentinelConfig), '--sentinel'] : [];
  const args = [
    ...sentinelArgs,
    ...(options.tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', options.tls.cert, '--tls-key-file', options.tls.key,
        '--tls-ca-cert-file', options.tls.ca, '--tls-auth-clients', 'no', '--tls-replication', 'yes']
      : ['--port', String(port)]),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--daemonize', 'no',
    '--logfile', path.join(dir, 'redis.log'),
    '--appendonly', options.appendOnly ? 'yes' : 'no',
    '--appendfsync', 'always',
    ...(options.password ? ['--requirepass', options.password] : []),
    ...(options.clusterEnabled
      ? ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000']
      : []),
    ...(options.extraArgs ?? []),
  ];
  const authArgs = options.password ? ['-a', options.password, '--no-auth-warning'] : [];
  const tlsArgs = options.tls ? ['--tls', '--cacert', options.tls.ca] : [];

  const cli = (...command: string[]): string => {
    const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...tlsArgs, ...authArgs, ...command], {
      encoding: 'utf8',
      timeout: 5_000,
    });
    return (result.stdout ?? '').trim();
  };

  const start = async (): Promise<void> => {
    if (child) return;
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = null;
    });
    await pollUntil(() => cli('PING') === 'PONG', `redis-server on port ${port} to answer PING`, () => child === null);
  };

  const waitForExit = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // SIGKILL ends a stopped process as it is, like a crashed host: it answers nothing more. SIGTERM needs it running.
    if (paused && signal !== 'SIGKILL') proc.kill('SIGCONT');
    paused = false;
    proc.kill(signal);
    await exited;
    child = null;
  };

  const server: RedisServer = {
    host: '127.0.0.1',
    port,
    dir,
    url: `${options.tls ? 'rediss' : 'redis'}://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${port}`,
    get running() {
      return child !== null;
    },
    get pid() {
      return child?.pid;
    },
    start,
    stop: () => waitForExit('SIGTERM'),
    kill: () => waitForExit('SIGKILL'),
    pause() {
      if (!child) throw new Error('server is not running');
      child.kill('SIGSTOP');
      paused = true;
      waitUntilStopped(child.pid);
    },
    resume() {
      if (child && paused) child.kill('SIGCONT');
      paused = false;
    },
    cli,
    async destroy() {
      await waitForExit('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await start();
  return server;
}

/** Sentinels need a config file they can write (they record what they learn in it). */
function writeSentinelConfig(dir: string, lines: string[]): string {
  const file = path.join(dir, 'sentinel.conf');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * SIGSTOP is delivered asynchronously: on another core the server can still answer a command sent right after
 * kill() returns. Waits (briefly, synchronously) until the kernel reports the process stopped, where /proc exists.
 */
function waitUntilStopped(pid: number | undefined): void {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return;
  const deadline = Date.now() + 2_000;
  while (Date.now() < deadline) {
    // The state is the field after the parenthesised command name: T (stopped) or t (traced).
    const state = /\)\s+(\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    if (state === 'T' || state === 't') return;
  }
  throw new Error(`redis-server ${pid} did not stop after SIGSTOP`);
}

export interface RedisCluster {
  readonly masters: RedisServer[];
  /** Comma-separated node list, the form REDIS_URL takes for a cluster. */
  readonly url: string;
  readonly nodes: { host: string; port: number }[];
  destroy(): Promise<void>;
}

/** A Redis Cluster of `masters` masters (default 3) and no replicas, slots spread by redis-cli. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const servers = await Promise.all(
    Array.from({ length: masters }, () => startRedisServer({ clusterEnabled: true })),
  );
  const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
  const created = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (created.status !== 0) {
    await Promise.all(servers.map((server) => server.destroy()));
    throw new Error(`redis-cli --cluster create failed: ${created.stderr || created.stdout}`);
  }
  await pollUntil(
    () => servers.every((server) => /cluster_state:ok/.test(server.cli('CLUSTER', 'INFO'))
      && /cluster_known_nodes:(\d+)/.exec(server.cli('CLUSTER', 'INFO'))?.[1] === String(masters)),
    'the cluster to report cluster_state:ok on every node',
  );
  return {
    masters: servers,
    url: servers.map((server) => server.url).join(','),
    nodes: servers.map((server) => ({ host: server.host, port: server.port })),
    async destroy() {
      await Promise.all(servers.map((server) => server.destroy()));
    },
  };
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs` naming what it waited for. */
export async function pollUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  giveUp: () => boolean = () => false,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (giveUp()) throw new Error(`gave up waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

/** Reads INFO commandstats as { command: calls } (lower-case names). */
export function commandStats(server: RedisServer): Record<string, number> {
  const stats: Record<string, number> = {};
  for (const line of server.cli('INFO', 'commandstats').split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) stats[match[1]!] = Number(match[2]);
  }
  return stats;
}
