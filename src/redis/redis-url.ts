/**
 * Reads `redisUrl` / REDIS_URL. Three forms, told apart by the scheme and the number of hosts:
 * - `redis://[user][:password@]host:port[/db]` (`rediss://` for TLS): one server;
 * - `redis://[user][:password@]n1:6379,n2:6379`: the seed nodes of a Redis Cluster;
 * - `redis+sentinel://[user][:password@]s1:26379,s2:26379/<master-name>[/db]` (`rediss+sentinel://` for TLS): the
 *   sentinels of a Sentinel-managed master. The credentials are the master's (the sentinels' own password, if they
 *   need one, is `redisSentinelPassword`).
 * Errors never repeat the input: a password may hold any character, so no pattern could be trusted to hide it.
 */
import { RepriseOptionsError } from '../errors.js';

export interface RedisNodeAddress {
  host: string;
  port: number;
}

export interface ParsedRedisUrl {
  mode: 'standalone' | 'cluster' | 'sentinel';
  /** The server, the Cluster's seed nodes, or the sentinels. */
  nodes: RedisNodeAddress[];
  /** Sentinel: the name the sentinels know the master by. */
  masterName?: string;
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
const DEFAULT_SENTINEL_PORT = 26379;
const SENTINEL_SCHEME = /^(rediss?)\+sentinel:\/\//i;
const SENTINEL_FORM = 'redis+sentinel://[user][:password@]host:26379,host:26379/<master-name>[/db]';

export function parseRedisUrl(input: string): ParsedRedisUrl {
  const text = input.trim();
  const sentinel = SENTINEL_SCHEME.exec(text);
  // A Sentinel URL is a node list of its data scheme: hosts, ports and credentials follow the same rules.
  const parts = (sentinel ? text.replace(SENTINEL_SCHEME, `${sentinel[1]!.toLowerCase()}://`) : text)
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new RedisUrlError('redisUrl is empty');
  const defaultPort = sentinel ? DEFAULT_SENTINEL_PORT : DEFAULT_PORT;

  // Nodes after the first may omit the scheme and credentials ("redis://n1:6379,n2:6379"): they inherit the first's.
  const first = parseOneUrl(parts[0]!, 1, parts.length, defaultPort);
  const nodes = [first.node];
  const paths = [first.path];
  parts.slice(1).forEach((part, index) => {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(part) ? part : `${first.scheme}//${part}`;
    const next = parseOneUrl(withScheme, index + 2, parts.length, defaultPort);
    if (next.scheme !== first.scheme) throw new RedisUrlError('mixed redis:// and rediss:// nodes in redisUrl');
    nodes.push(next.node);
    paths.push(next.path);
  });

  const mode = sentinel ? 'sentinel' : nodes.length > 1 ? 'cluster' : 'standalone';
  let masterName: string | undefined;
  let db: number;
  if (mode === 'sentinel') {
    // The master name and database follow the last sentinel, as a path follows the host of any URL.
    if (paths.slice(0, -1).some((path) => path !== '')) {
      throw new RedisUrlError(`the master name goes after the last sentinel in redisUrl: ${SENTINEL_FORM}`);
    }
    const [name = '', dbText = '', ...rest] = paths.at(-1)!.split('/');
    if (!name || rest.length > 0) throw new RedisUrlError(`redisUrl names no master (or too much after it): ${SENTINEL_FORM}`);
    masterName = decodePart(name, 'the master name');
    db = parseDb(dbText);
  } else {
    db = parseDb(first.path);
    if (mode === 'cluster' && db !== 0) throw new RedisUrlError(`a Redis Cluster has only database 0, got /${db} in redisUrl`);
  }

  // Rebuilt from the parsed parts, so the password cannot survive in it whatever it contains.
  const scheme = sentinel ? `${first.scheme.slice(0, -1)}+sentinel:` : first.scheme;
  const credentials = first.username || first.password ? `${first.username}${first.password ? ':***' : ''}@` : '';
  const hosts = nodes.map((node) => `${node.host.includes(':') ? `[${node.host}]` : node.host}:${node.port}`).join(',');
  const path = (masterName !== undefined ? `/${encodeURIComponent(masterName)}` : '') + (db !== 0 ? `/${db}` : '');
  return {
    mode,
    nodes,
    ...(masterName !== undefined ? { masterName } : {}),
    ...(first.username ? { username: first.username } : {}),
    ...(first.password ? { password: first.password } : {}),
    db,
    tls: first.scheme === 'rediss:',
    redacted: `${scheme}//${credentials}${hosts}${path}`,
  };
}

function parseOneUrl(text: string, position: number, count: number, defaultPort: number) {
  const which = count > 1 ? ` (node ${position} of ${count})` : '';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisUrlError(`redisUrl is not a valid URL${which}: expected redis://[user][:password@]host:port[/db] or ${SENTINEL_FORM}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new RedisUrlError(`Redis URLs start with redis://, rediss:// or redis+sentinel://, got ${url.protocol}//${which}`);
  }
  if (!url.hostname) throw new RedisUrlError(`redisUrl has no host${which}`);
  return {
    scheme: url.protocol,
    // URL keeps IPv6 hosts in brackets; sockets want them bare.
    node: { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port ? Number(url.port) : defaultPort },
    username: decodePart(url.username, `the user name${which}`),
    password: decodePart(url.password, `the password${which}`),
    path: url.pathname.replace(/^\//, ''),
  };
}

function parseDb(text: string): number {
  const db = text === '' ? 0 : Number(text);
  if (!/^\d*$/.test(text) || !Number.isInteger(db)) throw new RedisUrlError('the database index in redisUrl must be a whole number');
  return db;
}

/** Percent-decoding that fails with a RedisUrlError naming the part, never showing it. */
function decodePart(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError(`${what} in redisUrl has a malformed %-escape`);
  }
}
