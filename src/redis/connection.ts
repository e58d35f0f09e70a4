/**
 * Turns a parsed `redisUrl` (src/redis/redis-url.ts) into ioredis clients configured to fail fast: no offline queue,
 * one retry per request, bounded connect time, endless background reconnection. A standalone server and a
 * Sentinel-managed master are both one `Redis` (ioredis asks the sentinels where the master is); a Cluster is a
 * `Cluster`.
 */
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { ParsedRedisUrl } from './redis-url.js';
import { classifyError } from './failures.js';

export type RedisClient = Redis | Cluster;

export interface ConnectionTuning {
  /** Bound on establishing a TCP connection, so a black-holed host is noticed quickly. */
  connectTimeoutMs: number;
  /** ioredis auto-pipelining: commands issued in one turn of the event loop share one socket write. */
  autoPipelining?: boolean;
  /** PEM text of the certificate authorities trusted for TLS (`redisTlsCaFile`); unset: Node's default ones. */
  tlsCa?: string;
  /** The sentinels' own password (`redisSentinelPassword`), when they require one. */
  sentinelPassword?: string;
  /** The sentinels' own ACL user (`redisSentinelUsername`), sent with that password. */
  sentinelUsername?: string;
}

/** Reconnection never gives up; it backs off to 2 s with jitter so many workers do not reconnect in lockstep. */
function reconnectDelay(attempt: number): number {
  const base = Math.min(50 * 2 ** Math.min(attempt, 6), 2_000);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

function failFastOptions(tuning: ConnectionTuning): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: tuning.connectTimeoutMs,
    enableAutoPipelining: tuning.autoPipelining ?? false,
    retryStrategy: reconnectDelay,
    // Keep the connection warm and notice dead peers.
    keepAlive: 10_000,
    // A command in flight when the connection drops fails then; resending it after a reconnect could apply a
    // non-idempotent script twice, long after its caller was answered from memory.
    autoResendUnfulfilledCommands: false,
    lazyConnect: false,
    // No CLIENT SETINFO on connect: reprise sends only the commands its least-privilege ACL user has (README).
    disableClientInfo: true,
  };
}

/** Creates the client reprise owns for `redisUrl`. */
export function createRedisClient(parsed: ParsedRedisUrl, tuning: ConnectionTuning): RedisClient {
  const tls: TlsOptions | undefined = parsed.tls ? (tuning.tlsCa ? { ca: tuning.tlsCa } : {}) : undefined;
  const common: RedisOptions = {
    ...failFastOptions(tuning),
    ...(parsed.username ? { username: parsed.username } : {}),
    ...(parsed.password ? { password: parsed.password } : {}),
    ...(tls ? { tls } : {}),
  };
  if (parsed.mode === 'standalone') {
    const node = parsed.nodes[0]!;
    return keepSocketErrorsHandled(new Redis({ ...common, host: node.host, port: node.port, db: parsed.db }));
  }
  if (parsed.mode === 'sentinel') {
    return keepSocketErrorsHandled(restartAfterStrayEnd(new Redis({ ...common, ...sentinelOptions(parsed, tuning, tls), db: parsed.db })));
  }
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue: false,
    redisOptions: common,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: Math.max(1_000, tuning.connectTimeoutMs),
    // Fail over quickly rather than retrying a dead node for seconds; the circuit breaker takes over.
    maxRedirections: 4,
    retryDelayOnClusterDown: 100,
    retryDelayOnFailover: 100,
    scaleReads: 'master',
  };
  return keepSocketErrorsHandled(new Cluster(parsed.nodes as ClusterNode[], clusterOptions));
}

/**
 * Node's TLS socket may emit 'error' more than once: an alert after the handshake is emitted as it arrives, without
 * closing the socket, and a failed write on it emits again. ioredis listens once per socket, so the second would be
 * an uncaught exception that ends the host. Each socket of reprise's own connections (every node's, on a Cluster)
 * keeps a listener for as long as it lives; ioredis still hears the first error, and reconnects once the socket
 * closes, as before. (The short-lived connections ioredis makes to ask sentinels, and the one a Cluster keeps for
 * pub/sub of its own accord, are ioredis's and not reached here.)
 */
function keepSocketErrorsHandled<C extends RedisClient>(client: C): C {
  if (isCluster(client)) {
    client.on('+node', (node: Redis) => keepSocketErrorsHandled(node));
    return client;
  }
  const guard = () => {
    const stream = client.stream as Redis['stream'] | undefined;
    if (stream && !stream.listeners('error').includes(ignoreSocketError)) stream.on('error', ignoreSocketError);
  };
  client.on('connect', guard);
  client.on('error', guard);
  return client;
}

function ignoreSocketError(): void {}

/**
 * A Sentinel-managed master: each (re)connection asks the sentinels where the master is and checks its role. The
 * connection follows a failover at once: it closes on the first `+switch-master` a sentinel announces, and when a
 * write is answered READONLY (its server was demoted under it). Either way the next connection finds the new master.
 */
function sentinelOptions(parsed: ParsedRedisUrl, tuning: ConnectionTuning, tls: TlsOptions | undefined): RedisOptions {
  return {
    sentinels: parsed.nodes,
    name: parsed.masterName!,
    role: 'master',
    ...(tuning.sentinelPassword ? { sentinelPassword: tuning.sentinelPassword } : {}),
    ...(tuning.sentinelUsername ? { sentinelUsername: tuning.sentinelUsername } : {}),
    ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    sentinelRetryStrategy: reconnectDelay,
    sentinelCommandTimeout: tuning.connectTimeoutMs,
    failoverDetector: true,
    // A write answered READONLY: the server was demoted under us (failures.ts names the reply).
    reconnectOnError: (error) => classifyError(error).reason === 'readonly',
  };
}

/** Clients reprise is closing: their end is final. */
const closing = new WeakSet<RedisClient>();

/** reprise is closing this client (quit or disconnect): it must not be started again. */
export function noteClosing(client: RedisClient): void {
  closing.add(client);
}

/**
 * ioredis ends a Sentinel client for good when a failover notice closes it while it is asking the sentinels where the
 * master is (its connect() rejects and no reconnection follows): the notice of a failover it was already following
 * after its master died. Such a client is started again, with the usual backoff, unless reprise is closing it.
 */
function restartAfterStrayEnd(client: Redis): Redis {
  let attempts = 0;
  client.on('ready', () => {
    attempts = 0;
  });
  client.on('end', () => {
    if (closing.has(client)) return;
    const restart = () => {
      if (!closing.has(client) && client.status === 'end') client.connect().catch(() => undefined);
    };
    setTimeout(restart, reconnectDelay(++attempts)).unref();
  });
  return client;
}


/**
 * A second connection for pub/sub. It keeps an offline queue so SUBSCRIBE waits for the connection instead of
 * failing; nothing on the request path ever waits on it.
 */
export function duplicateForSubscriber(client: RedisClient): RedisClient {
  if (isCluster(client)) {
    return keepSocketErrorsHandled(
      client.duplicate(undefined, {
        enableOfflineQueue: true,
        enableAutoPipelining: false,
        redisOptions: { ...client.options.redisOptions, enableOfflineQueue: true, enableAutoPipelining: false },
      }),
    );
  }
  const subscriber = client.duplicate({ enableOfflineQueue: true, enableAutoPipelining: false, lazyConnect: false });
  return keepSocketErrorsHandled(isSentinelManaged(subscriber) ? restartAfterStrayEnd(subscriber) : subscriber);
}

export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** Whether ioredis finds the master through sentinels. */
export function isSentinelManaged(client: RedisClient): boolean {
  return !isCluster(client) && Array.isArray(client.options.sentinels) && client.options.sentinels.length > 0;
}

/** Describes where a client points, without credentials. */
export function describeClient(client: RedisClient): string {
  if (isCluster(client)) {
    const nodes = client.nodes('master').map((node) => `${node.options.host}:${node.options.port}`);
    return `cluster ${nodes.join(',') || '(no node connected yet)'}`;
  }
  const { host, port, db, path, sentinels, name } = client.options;
  if (isSentinelManaged(client)) {
    const list = sentinels!.map((sentinel) => `${sentinel.host ?? '127.0.0.1'}:${sentinel.port ?? 26379}`).join(',');
    // Where the master is now: the peer of the open connection (the sentinels' answer when it was made).
    const stream = client.status === 'ready' ? client.stream : undefined;
    const master = stream?.remoteAddress ? `${stream.remoteAddress}:${stream.remotePort}/${db ?? 0}` : '(not connected)';
    return `sentinel ${list} master ${name} at ${master}`;
  }
  return path ? `socket ${path}` : `${host}:${port}/${db ?? 0}`;
}
