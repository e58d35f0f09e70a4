/**
 * Builds reprise.cache from options and environment variables (the option wins over the variable):
 * redisUrl [REDIS_URL] or an injected ioredis client, redisTlsCaFile [REDIS_TLS_CA_FILE], redisSentinelPassword
 * [REDIS_SENTINEL_PASSWORD], redisSentinelUsername [REDIS_SENTINEL_USERNAME], keyPrefix [REPRISE_KEY_PREFIX], ttls [REPRISE_TTL_<CATEGORY>].
 * Without Redis the cache runs in memory; with Redis it starts at once in memory and moves to Redis when connected.
 */
import { createRedisClient, duplicateForSubscriber, noteClosing, type RedisClient } from '../redis/connection.js';
import { parseRedisUrl, type ParsedRedisUrl } from '../redis/redis-url.js';
import { readCaFile } from '../redis/tls.js';
import { DEFAULT_MAX_WAIT_MS, RedisGateway } from '../redis/gateway.js';
import type { CircuitBreakerOptions } from '../redis/circuit-breaker.js';
import { consoleLogger, type Logger } from '../logger.js';
import { resolveTtls, type CacheCategory } from './categories.js';
import { DEFAULT_KEY_PREFIX, validateKeyPrefix } from './keys.js';
import { MemoryTier, type MemoryTierOptions } from './memory-tier.js';
import { RepriseCache } from './reprise-cache.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { fromEnv, knownKeys, optionNames, optionOfType, positiveNumber, RepriseOptionsError, wholeNumber } from '../validate.js';
import { DEFAULT_MEMORY_INTERVAL_MS, MIN_MEMORY_INTERVAL_MS } from '../redis/memory-watch.js';

export interface CacheOptions {
  /**
   * `redis://[user][:password@]host:port[/db]`, `rediss://...` (TLS), a comma-separated node list (a Cluster), or
   * `redis+sentinel://[user][:password@]s1:26379,s2:26379/<master-name>[/db]` (`rediss+sentinel://` for TLS).
   * [REDIS_URL]
   */
  redisUrl?: string;
  /** A PEM file of the certificate authorities trusted for `rediss://` (instead of Node's default ones). [REDIS_TLS_CA_FILE] */
  redisTlsCaFile?: string;
  /** The sentinels' own password, when they require one (the URL's is the master's). [REDIS_SENTINEL_PASSWORD] */
  redisSentinelPassword?: string;
  /** The sentinels' own ACL user, with `redisSentinelPassword` (without it, the sentinels' default user). [REDIS_SENTINEL_USERNAME] */
  redisSentinelUsername?: string;
  /** An existing ioredis Redis or Cluster; reprise never closes it. */
  redis?: RedisClient;
  /** Prefix of every key reprise writes. [REPRISE_KEY_PREFIX], default `reprise:` */
  keyPrefix?: string;
  memory?: MemoryTierOptions;
  /** Seconds per category. [REPRISE_TTL_<CATEGORY>] */
  ttls?: Partial<Record<CacheCategory, number>>;
  /**
   * Redis counts as down when calls wait and no reply of any kind arrives for this long while this process is free
   * to read one (default 50 ms). A busy Redis, whose replies keep coming, is not down.
   */
  redisCommandTimeoutMs?: number;
  /** Longest one call waits for a busy Redis (replies flowing) before it takes its fallback (default 1000 ms). */
  redisMaxWaitMs?: number;
  /**
   * ioredis auto-pipelining on the connections reprise opens: commands issued in one turn of the event loop share
   * one socket write (default off). It serves more requests per second when many calls are in flight under moderate
   * load, but a lone Redis read takes about 1.8x as long, and near saturation it gave no steady gain (see README
   * "Benchmarks").
   */
  redisAutoPipelining?: boolean;
  /** Deadline for opening a connection (default 2000 ms). */
  redisConnectTimeoutMs?: number;
  circuitBreaker?: CircuitBreakerOptions;
  /** Word overlap needed for `similar` workflow artifacts (default 0.5). */
  similarityThreshold?: number;
  logger?: Logger;
  /** Where environment variables are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Metrics, spans and profiling shared with the rest of reprise (default: a new one on its own registry). */
  telemetry?: Telemetry;
  /**
   * How often each Redis node's used_memory, maxmemory, policy and evicted keys are read (INFO), for stats() and the
   * metrics (default 30 000 ms, at least 1000; 0: never).
   */
  redisMemoryIntervalMs?: number;
}

/**
 * Every option of createCache, once: the compiler refuses this list if an option of CacheOptions is missing.
 * createReprise takes the same options, and hands them on by this list.
 */
export const CACHE_OPTIONS = optionNames<CacheOptions>({
  redisUrl: true, redisTlsCaFile: true, redisSentinelPassword: true, redisSentinelUsername: true, redis: true, keyPrefix: true, memory: true, ttls: true, redisCommandTimeoutMs: true, redisMaxWaitMs: true,
  redisAutoPipelining: true, redisConnectTimeoutMs: true, circuitBreaker: true, similarityThreshold: true, logger: true, env: true,
  telemetry: true, redisMemoryIntervalMs: true,
});

export interface CacheParts {
  cache: RepriseCache;
  gateway: RedisGateway;
  connectTimeoutMs: number;
}

/**
 * Creates the cache and waits up to `redisConnectTimeoutMs` for Redis. If Redis is not there yet the cache
 * serves from memory and moves to Redis by itself once it connects.
 */
export async function createCache(options: CacheOptions = {}): Promise<RepriseCache> {
  const parts = createCacheParts(options);
  await waitForRedis(parts);
  return parts.cache;
}

/**
 * Waits, at most `connectTimeoutMs` in all, for Redis to connect and for the cache to hear other instances'
 * invalidations, so a new worker does not serve what another worker just replaced. Never rejects.
 */
export async function waitForRedis({ cache, gateway, connectTimeoutMs }: CacheParts): Promise<void> {
  const deadline = Date.now() + connectTimeoutMs;
  if (!(await gateway.waitUntilReady(connectTimeoutMs))) return;
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
  });
  await Promise.race([cache.listening, gaveUp]);
  clearTimeout(timer);
}

/** The kinds of the options that say how to reach Redis; createReprise checks them too, before it builds anything. */
export function checkConnectionOptionTypes(options: CacheOptions): void {
  optionOfType(options.redisUrl, 'string', 'redisUrl');
  optionOfType(options.redisTlsCaFile, 'string', 'redisTlsCaFile');
  optionOfType(options.redisSentinelPassword, 'string', 'redisSentinelPassword');
  optionOfType(options.redisSentinelUsername, 'string', 'redisSentinelUsername');
  optionOfType(options.redisAutoPipelining, 'boolean', 'redisAutoPipelining');
}

/** The cache and the Redis gateway it shares with the registry and the mood warmer, without waiting for Redis. */
export function createCacheParts(options: CacheOptions = {}): CacheParts {
  knownKeys(options, CACHE_OPTIONS, '');
  checkConnectionOptionTypes(options);
  const env = options.env ?? process.env;
  const logger = options.logger ?? consoleLogger;
  const keyPrefix = validateKeyPrefix(options.keyPrefix ?? fromEnv(env, 'REPRISE_KEY_PREFIX') ?? DEFAULT_KEY_PREFIX);
  const ttls = resolveTtls(options.ttls ?? {}, env);
  const commandTimeoutMs = positiveNumber(options.redisCommandTimeoutMs ?? 50, 'redisCommandTimeoutMs');
  const maxWaitMs = positiveNumber(options.redisMaxWaitMs ?? DEFAULT_MAX_WAIT_MS, 'redisMaxWaitMs');
  const connectTimeoutMs = positiveNumber(options.redisConnectTimeoutMs ?? 2_000, 'redisConnectTimeoutMs');
  const telemetry = options.telemetry ?? new Telemetry();
  const memoryIntervalMs = memoryInterval(options.redisMemoryIntervalMs);

  const redisUrl = options.redisUrl ?? fromEnv(env, 'REDIS_URL');
  if (options.redis) {
    for (const name of ['redisUrl', 'redisTlsCaFile', 'redisSentinelPassword', 'redisSentinelUsername'] as const) {
      if (options[name] !== undefined) throw new RepriseOptionsError('conflicting_options', name, `give either redis (a client, with its own settings) or ${name}, not both`);
    }
  }
  const parsed = !options.redis && redisUrl ? parseRedisUrl(redisUrl) : null;
  const security = parsed ? connectionSecurity(parsed, options, env) : {};
  const memory = new MemoryTier(options.memory);
  const autoPipelining = options.redisAutoPipelining ?? false;
  const client = options.redis ?? (parsed ? createRedisClient(parsed, { connectTimeoutMs, autoPipelining, ...security }) : null);
  const subscriber = client ? duplicateForSubscriber(client) : null;

  try {
    const gateway = new RedisGateway({
      client,
      owned: !options.redis,
      commandTimeoutMs,
      maxWaitMs,
      ...(options.circuitBreaker ? { breaker: options.circuitBreaker } : {}),
      logger,
      secrets: [parsed?.password, security.sentinelPassword].filter((secret): secret is string => Boolean(secret)),
      onError: (operation, reason) => telemetry.metrics.cacheErrors.inc({ tier: 'redis', operation, reason }),
    });
    const cache = new RepriseCache({
      keyPrefix,
      ttls,
      memory,
      gateway,
      subscriber,
      logger,
      telemetry,
      redisMemoryIntervalMs: memoryIntervalMs,
      ...(options.similarityThreshold !== undefined ? { similarityThreshold: options.similarityThreshold } : {}),
    });
    if (parsed) logger.info(`cache: Redis ${parsed.mode} at ${parsed.redacted}${security.tlsCaFile ? ` (TLS, trusting the CAs in ${security.tlsCaFile})` : ''}`);
    else if (!client) logger.info('cache: no Redis configured, memory only');
    return { cache, gateway, connectTimeoutMs };
  } catch (error) {
    // A bad option found after the connections were opened must not leave them (or the purge timer) behind.
    memory.close();
    if (subscriber) closeNow(subscriber);
    if (client && !options.redis) closeNow(client);
    throw error;
  }
}

/** 0 (never), or a whole number of milliseconds from MIN_MEMORY_INTERVAL_MS. */
function memoryInterval(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MEMORY_INTERVAL_MS;
  const ms = wholeNumber(value, 'redisMemoryIntervalMs', 0);
  if (ms !== 0 && ms < MIN_MEMORY_INTERVAL_MS) {
    throw new RepriseOptionsError('out_of_range', 'redisMemoryIntervalMs', `redisMemoryIntervalMs must be 0 (off) or at least ${MIN_MEMORY_INTERVAL_MS}, got ${ms}`);
  }
  return ms;
}

/**
 * The TLS authorities and the sentinels' password for a parsed URL. Each must fit the URL: a CA file for a URL
 * without TLS, or a sentinel password for one without sentinels, is a mistake (traffic the operator believes
 * encrypted would not be), not something to ignore.
 */
function connectionSecurity(parsed: ParsedRedisUrl, options: CacheOptions, env: NodeJS.ProcessEnv) {
  const tlsCaFile = options.redisTlsCaFile ?? fromEnv(env, 'REDIS_TLS_CA_FILE');
  const sentinelPassword = options.redisSentinelPassword ?? fromEnv(env, 'REDIS_SENTINEL_PASSWORD');
  const sentinelUsername = options.redisSentinelUsername ?? fromEnv(env, 'REDIS_SENTINEL_USERNAME');
  if (tlsCaFile && !parsed.tls) {
    throw new RepriseOptionsError('conflicting_options', 'redisTlsCaFile', 'redisTlsCaFile (REDIS_TLS_CA_FILE) is for TLS: redisUrl must start with rediss:// or rediss+sentinel://');
  }
  for (const [option, value, variable] of [
    ['redisSentinelPassword', sentinelPassword, 'REDIS_SENTINEL_PASSWORD'],
    ['redisSentinelUsername', sentinelUsername, 'REDIS_SENTINEL_USERNAME'],
  ] as const) {
    if (value && parsed.mode !== 'sentinel') {
      throw new RepriseOptionsError('conflicting_options', option, `${option} (${variable}) is for sentinels: redisUrl must start with redis+sentinel:// or rediss+sentinel://`);
    }
  }
  // A user name alone would be sent with no password, which no sentinel accepts for a user of its own.
  if (sentinelUsername && !sentinelPassword) {
    throw new RepriseOptionsError('conflicting_options', 'redisSentinelUsername', 'redisSentinelUsername (REDIS_SENTINEL_USERNAME) needs redisSentinelPassword (REDIS_SENTINEL_PASSWORD)');
  }
  return {
    ...(tlsCaFile ? { tlsCaFile, tlsCa: readCaFile(tlsCaFile, 'redisTlsCaFile') } : {}),
    ...(sentinelPassword ? { sentinelPassword } : {}),
    ...(sentinelUsername ? { sentinelUsername } : {}),
  };
}

function closeNow(client: RedisClient): void {
  noteClosing(client);
  client.disconnect();
}
