/**
 * Turns `redisUrl` / REDIS_URL into ioredis clients configured to fail fast: no offline queue, one retry per request,
 * bounded connect time, endless background reconnection. A comma-separated list of nodes means a Redis Cluster.
 */
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RepriseOptionsError } from '../errors.js';

export type RedisClient = Redis | Cluster;

export interface RedisNodeAddress {
  host: string;
  port: number;
}

export interface ParsedRedisUrl {
  mode: 'standalone' | 'cluster';
  nodes: RedisNodeAddress[];
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
  /** The URL with its password replaced by ***, safe for logs. */
  redacted: string;
}

/** redisUrl (or REDIS_URL) cannot be used: a RepriseOptionsError with code `invalid_url`. */
export class RedisUrlError extends RepriseOptionsError {
  override name = 'RedisUrlError';
  constructor(message: string) {
    super('invalid_url', 'redisUrl', message);
  }
}

const DEFAULT_PORT = 6379;

/**
 * Parses `redis://[user][:password@]host:port[/db]`, `rediss://...`, or a comma-separated node list (a Cluster).
 * Errors never repeat the input: a password may hold any character, so no pattern could be trusted to hide it.
 */
export function parseRedisUrl(input: string): ParsedRedisUrl {
  const parts = input.split(',').map((part) => part.trim()).filter(Boolean);
  if (parts.length === 0) throw new RedisUrlError('redisUrl is empty');

  // Nodes after the first may omit the scheme and credentials ("redis://n1:6379,n2:6379"): they inherit the first's.
  const first = parseOneUrl(parts[0]!, 1, parts.length);
  const nodes = [first.node];
  parts.slice(1).forEach((part, index) => {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(part) ? part : `${first.scheme}//${part}`;
    const next = parseOneUrl(withScheme, index + 2, parts.length);
    if (next.scheme !== first.scheme) throw new RedisUrlError('mixed redis:// and rediss:// nodes in redisUrl');
    nodes.push(next.node);
  });
  const mode = nodes.length > 1 ? 'cluster' : 'standalone';
  if (mode === 'cluster' && first.db !== 0) {
    throw new RedisUrlError(`a Redis Cluster has only database 0, got /${first.db} in redisUrl`);
  }
  // Rebuilt from the parsed parts, so the password cannot survive in it whatever it contains.
  const credentials = first.username || first.password ? `${first.username}${first.password ? ':***' : ''}@` : '';
  const redacted = nodes
    .map((node, index) => `${first.scheme}//${index === 0 ? credentials : ''}${node.host.includes(':') ? `[${node.host}]` : node.host}:${node.port}`)
    .join(',') + (first.db !== 0 ? `/${first.db}` : '');
  return {
    mode,
    nodes,
    ...(first.username ? { username: first.username } : {}),
    ...(first.password ? { password: first.password } : {}),
    db: first.db,
    tls: first.scheme === 'rediss:',
    redacted,
  };
}

function parseOneUrl(text: string, position: number, count: number) {
  const which = count > 1 ? ` (node ${position} of ${count})` : '';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisUrlError(`redisUrl is not a valid URL${which}: expected redis://[user][:password@]host:port[/db]`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new RedisUrlError(`Redis URLs start with redis:// or rediss://, got ${url.protocol}//${which}`);
  }
  if (!url.hostname) throw new RedisUrlError(`redisUrl has no host${which}`);
  const port = url.port ? Number(url.port) : DEFAULT_PORT;
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new RedisUrlError(`the database index in redisUrl must be a whole number${which}`);
  return {
    scheme: url.protocol,
    // URL keeps IPv6 hosts in brackets; sockets want them bare.
    node: { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port },
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    db,
  };
}

export interface ConnectionTuning {
  /** Bound on establishing a TCP connection, so a black-holed host is noticed quickly. */
  connectTimeoutMs: number;
  /** ioredis auto-pipelining: commands issued in one turn of the event loop share one socket write. */
  autoPipelining?: boolean;
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
  };
}

/** Creates the client reprise owns for `redisUrl`. */
export function createRedisClient(parsed: ParsedRedisUrl, tuning: ConnectionTuning): RedisClient {
  const common: RedisOptions = {
    ...failFastOptions(tuning),
    ...(parsed.username ? { username: parsed.username } : {}),
    ...(parsed.password ? { password: parsed.password } : {}),
    ...(parsed.tls ? { tls: {} } : {}),
  };
  if (parsed.mode === 'standalone') {
    const node = parsed.nodes[0]!;
    return new Redis({ ...common, host: node.host, port: node.port, db: parsed.db });
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
  return new Cluster(parsed.nodes as ClusterNode[], clusterOptions);
}

/**
 * A second connection for pub/sub. It keeps an offline queue so SUBSCRIBE waits for the connection instead of
 * failing; nothing on the request path ever waits on it.
 */
export function duplicateForSubscriber(client: RedisClient): RedisClient {
  if (isCluster(client)) {
    return client.duplicate(undefined, {
      enableOfflineQueue: true,
      enableAutoPipelining: false,
      redisOptions: { ...client.options.redisOptions, enableOfflineQueue: true, enableAutoPipelining: false },
    });
  }
  return client.duplicate({ enableOfflineQueue: true, enableAutoPipelining: false, lazyConnect: false });
}

export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** Describes where a client points, without credentials. */
export function describeClient(client: RedisClient): string {
  if (isCluster(client)) {
    const nodes = client.nodes('master').map((node) => `${node.options.host}:${node.options.port}`);
    return `cluster ${nodes.join(',') || '(no node connected yet)'}`;
  }
  const { host, port, db, path } = client.options;
  return path ? `socket ${path}` : `${host}:${port}/${db ?? 0}`;
}
