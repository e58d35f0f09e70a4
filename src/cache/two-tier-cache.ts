/**
 * The engine: memory (lru-cache) in front of Redis. Reads try memory, then Redis (filling memory with the remaining
 * TTL); writes go to both and tell the other instances to drop their copies. Every Redis call goes through the
 * gateway, so a failing Redis turns into memory-only service, never into an error for the caller.
 */
import { randomUUID } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import { unlinkMatching, escapeGlob, groupBySlot } from '../redis/keyspace.js';
import { runPerNode } from '../redis/per-node.js';
import type { RedisGateway } from '../redis/gateway.js';
import type { Logger } from '../logger.js';
import { CACHE_CATEGORIES, assertCategory, parseTtl, type CacheCategory, type CategoryTtls } from './categories.js';
import { InvalidationBus, type Invalidation } from './invalidation-bus.js';
import { categoryPrefix, encodeKey, type CacheKey } from './keys.js';
import { MemoryTier, type MemoryEntry } from './memory-tier.js';
import { DecodeError, decodeValue, encodeValue } from './serializer.js';
import { isCluster, type RedisClient } from '../redis/connection.js';
import { Telemetry } from '../telemetry/telemetry.js';
import type { Span } from '@opentelemetry/api';
import { CacheInstrumentation, type TimedOperation } from './cache-instrumentation.js';
export type { CategoryStats } from './cache-instrumentation.js';
import { ChangeLog } from './change-log.js';
import { ACROSS_WORKERS_OPTIONS, AcrossWorkers, DEFAULT_ACROSS_WORKERS_WAIT_MS, type AcrossWorkersOptions, type Found } from './across-workers.js';
import { RepriseInputError } from '../errors.js';
import { knownKeys, optionOfType, positiveNumber } from '../validate.js';
import { isReplyErrorReason, type FailureReason } from '../redis/failures.js';
import { DEFAULT_MEMORY_INTERVAL_MS, RedisMemoryWatch } from '../redis/memory-watch.js';

export interface SetOptions {
  /** Overrides the category's TTL for this entry. */
  ttlSeconds?: number;
  /**
   * A mark from `changeMark()` taken before the value was computed: when the key was set, deleted or invalidated
   * since (here or, as announced, on another instance), that change is newer and this write is skipped.
   */
  unlessChangedSince?: number;
}

export interface GetOrSetOptions extends SetOptions {
  /**
   * One factory call across every process sharing Redis, not just this one: the others wait for its value (at most
   * `waitMs`, default 30 s) and a crashed computer's lease expires within seconds. With Redis down, one per process.
   */
  acrossWorkers?: boolean | AcrossWorkersOptions;
  /** A cached value this returns false for is recomputed like a miss (e.g. one close to its expiry). */
  isFresh?: (value: unknown) => boolean;
}

/** How getOrSet loads a key that memory does not hold. */
interface LoadPlan<T> {
  factory: () => T | Promise<T>;
  ttlMs: number;
  /** The longest wait for another process's computation, or null to compute in this process alone. */
  waitAcrossWorkersMs: number | null;
  isFresh: ((value: unknown) => boolean) | undefined;
}

/**
 * State kept outside the cache's own keys for one category (the ID registry packs many entries into each hash and
 * keeps a copy in memory): it joins invalidation so that invalidate() counts its entries, and so it drops its local
 * state when the category is invalidated here or on another instance.
 */
export interface InvalidationParticipant {
  readonly category: CacheCategory;
  /** How many entries the category holds now; invalidate() reports these instead of the keys that pack them. */
  countEntries?(): Promise<number>;
  /** The category was invalidated, here or on another instance. */
  invalidated(): void;
}

/** What one look at the tiers found. A memory hit is the memory tier's own entry, built when the value was stored. */
export type Lookup =
  | MemoryEntry
  | { kind: 'redis'; value: unknown }
  | { kind: 'miss' }
  | { kind: 'unanswered'; reason: FailureReason };

/** How a look at the tiers is made and counted. */
export interface LookupHow {
  /** Counted in the hit and miss figures (false for reprise's own bookkeeping and peek). */
  counted: boolean;
  /** A memory hit is timed and traced under this operation. */
  operation?: TimedOperation;
  /** Ask memory alone: the later steps of a call Redis has just left unanswered, or a caller that asks Redis itself. */
  memoryOnly?: boolean;
}

const MISS: Lookup = Object.freeze({ kind: 'miss' });

function sameLookup(found: Lookup): Lookup {
  return found;
}

/** The value a lookup found, or undefined. */
export function valueOf(found: Lookup): unknown {
  return found.kind === 'memory' || found.kind === 'redis' ? found.value : undefined;
}

export interface TwoTierCacheOptions {
  keyPrefix: string;
  ttls: CategoryTtls;
  memory: MemoryTier;
  gateway: RedisGateway;
  /** Dedicated pub/sub connection for cross-instance invalidation; null in memory-only mode. */
  subscriber: RedisClient | null;
  logger: Logger;
  /** Metrics, spans and profiling (default: reprise's own registry, the global tracer). */
  telemetry?: Telemetry;
  /** How often each Redis node's memory figures are read (default 30 s; 0: never). */
  redisMemoryIntervalMs?: number;
}

/**
 * String keys whose full key is kept per category; past this the table starts over (a bound, not an LRU). Only short
 * keys are kept, so the table stays under a few MB whatever the keys: hot keys are ids, long ones are built anew.
 */
const FULL_KEYS_KEPT = 1_024;
const FULL_KEY_MAX_LENGTH = 64;



export class TwoTierCache {
  readonly keyPrefix: string;
  readonly ttls: Readonly<CategoryTtls>;
  private readonly memory: MemoryTier;
  private readonly gateway: RedisGateway;
  private readonly logger: Logger;
  private readonly bus: InvalidationBus;
  private readonly instrumentation: CacheInstrumentation;
  private readonly memoryWatch: RedisMemoryWatch;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly acrossWorkers: AcrossWorkers;
  private readonly changes = new ChangeLog();
  private readonly participants = new Set<InvalidationParticipant>();
  private readonly fullKeys = Object.fromEntries(CACHE_CATEGORIES.map((category) => [category, new Map<string, string>()])) as Record<CacheCategory, Map<string, string>>;
  private coalesced = 0;
  private closed = false;

  constructor(options: TwoTierCacheOptions) {
    this.keyPrefix = options.keyPrefix;
    this.ttls = Object.freeze({ ...options.ttls });
    this.memory = options.memory;
    this.gateway = options.gateway;
    this.logger = options.logger;
    this.instrumentation = new CacheInstrumentation(options.telemetry ?? new Telemetry(), () => this.gateway.backend, () => this.gateway.status());
    this.memoryWatch = new RedisMemoryWatch({
      gateway: options.gateway,
      metrics: this.instrumentation.telemetry.metrics,
      logger: options.logger,
      intervalMs: options.redisMemoryIntervalMs ?? DEFAULT_MEMORY_INTERVAL_MS,
    });
    this.acrossWorkers = new AcrossWorkers({ gateway: options.gateway, keyPrefix: options.keyPrefix, logger: options.logger });
    this.bus = new InvalidationBus({
      gateway: options.gateway,
      subscriber: options.subscriber,
      channel: `${options.keyPrefix}invalidations`,
      keyPrefix: options.keyPrefix,
      instanceId: randomUUID(),
      logger: options.logger,
      onInvalidation: (invalidation) => this.dropFromMemory(invalidation),
      onResync: () => {
        this.changes.changedMany();
        this.memory.clear();
      },
    });
  }

  /** Lets state kept outside the cache follow invalidations of its category (see InvalidationParticipant). */
  join(participant: InvalidationParticipant): () => void {
    assertCategory(participant.category);
    this.participants.add(participant);
    return () => this.participants.delete(participant);
  }

  /** Settles true once this instance hears other instances' invalidations (false in memory-only mode or on failure). */
  get listening(): Promise<boolean> {
    return this.bus.subscribed;
  }

  /** The cached value, or undefined on a miss. An L1 hit is answered without touching Redis. */
  get<T = unknown>(category: CacheCategory, key: CacheKey): Promise<T | undefined> {
    let fullKey: string;
    try {
      assertCategory(category);
      fullKey = this.keyFor(category, key);
    } catch (error) {
      return Promise.reject(error);
    }
    // From Redis, the value itself is the answer: handed back in the reaction to the reply, not a turn later.
    const found = this.lookup(category, fullKey, GET, valueOf);
    if (found instanceof Promise) return found as Promise<T | undefined>;
    // A memory hit is answered with the entry's own settled promise, made once: no async frame, no extra turn of the
    // event loop, nothing allocated.
    if (found.kind === 'memory') return (found.settled ??= Promise.resolve(found.value)) as Promise<T | undefined>;
    return Promise.resolve(valueOf(found) as T | undefined);
  }

  /** Like get, but not counted as a hit or a miss: for looking at the cache (coverage, housekeeping), not using it. */
  async peek<T = unknown>(category: CacheCategory, key: CacheKey): Promise<T | undefined> {
    assertCategory(category);
    return valueOf(await this.lookup(category, this.keyFor(category, key), UNCOUNTED)) as T | undefined;
  }

  /**
   * Many entries of one category at once, in the order of `keys` (undefined for a miss). Memory answers what it
   * holds; the rest costs one round trip per Redis node (an MGET per hash slot, the slots of a node in one pipeline).
   */
  async getMany<T = unknown>(category: CacheCategory, keys: readonly CacheKey[]): Promise<Array<T | undefined>> {
    assertCategory(category);
    if (!Array.isArray(keys)) throw new RepriseInputError('getMany takes a list of keys');
    const fullKeys = keys.map((key) => this.keyFor(category, key));
    const found = new Map<string, unknown>();
    const missing: string[] = [];
    for (const fullKey of new Set(fullKeys)) {
      const inMemory = this.lookup(category, fullKey, MEMORY_COUNTED) as Lookup;
      if (inMemory.kind === 'memory') found.set(fullKey, inMemory.value);
      else missing.push(fullKey);
    }
    if (missing.length > 0) {
      const uniqueKeys = found.size + missing.length;
      await this.instrumentation.around('get_many', category, async (span) => {
        await this.readManyFromRedis(category, missing, found);
        span?.setAttributes({ 'cache.keys': uniqueKeys, 'cache.hits': found.size });
      });
    }
    return fullKeys.map((fullKey) => found.get(fullKey)) as Array<T | undefined>;
  }

  /** Stores the value in both tiers; false when skipped by `unlessChangedSince`. */
  async set(category: CacheCategory, key: CacheKey, value: unknown, options: SetOptions = {}): Promise<boolean> {
    assertCategory(category);
    const fullKey = this.keyFor(category, key);
    if (options.unlessChangedSince !== undefined && !this.changes.unchangedSince(fullKey, options.unlessChangedSince)) return false;
    await this.write(category, fullKey, value, this.ttlMs(category, options));
    return true;
  }

  /** The present moment of this instance's change log, for `set(..., { unlessChangedSince })`. */
  changeMark(): number {
    return this.changes.mark();
  }

  /** Removes the entry from both tiers and from every other instance's memory; true when it existed. */
  async delete(category: CacheCategory, key: CacheKey): Promise<boolean> {
    assertCategory(category);
    const fullKey = this.keyFor(category, key);
    return this.instrumentation.around('delete', category, async () => {
      this.changes.changed(fullKey);
      const inMemory = this.memory.delete(fullKey);
      const removed = await this.bus.writeAndPublish('delete', { command: 'unlink', args: [fullKey] }, [fullKey]);
      return inMemory || (removed.ok && Number(removed.value) > 0);
    });
  }

  /**
   * The cached value, or the factory's result stored under the category's TTL. Concurrent callers of one missing
   * key share one factory call; a factory error reaches all of them and nothing is cached.
   */
  async getOrSet<T>(category: CacheCategory, key: CacheKey, factory: () => T | Promise<T>, options: GetOrSetOptions = {}): Promise<T> {
    assertCategory(category);
    if (typeof factory !== 'function') throw new RepriseInputError('getOrSet needs a factory function');
    const { isFresh } = options;
    optionOfType(isFresh, 'function', 'isFresh');
    const waitAcrossWorkersMs = acrossWorkersWait(options.acrossWorkers);
    const fullKey = this.keyFor(category, key);
    // A caller joining a load in flight shares its outcome and is counted as coalesced, not as a read of its own.
    const pending = this.inflight.get(fullKey);
    if (pending) {
      this.coalesced += 1;
      return pending as Promise<T>;
    }
    const inMemory = this.lookup(category, fullKey, GET_OR_SET_MEMORY) as Lookup;
    if (inMemory.kind === 'memory' && (isFresh === undefined || isFresh(inMemory.value))) return inMemory.value as T;
    const plan: LoadPlan<T> = { factory, ttlMs: this.ttlMs(category, options), waitAcrossWorkersMs, isFresh };
    const load = this.instrumentation.around('get_or_set', category, (span) => this.loadThrough(category, fullKey, plan, span))
      .finally(() => this.inflight.delete(fullKey));
    this.inflight.set(fullKey, load);
    return load;
  }

  /**
   * Removes a category (or, without one, every reprise key and nothing else) from both tiers and from every
   * instance's memory. Returns how many entries were removed. Uses SCAN on every master and UNLINK per slot.
   */
  async invalidate(category?: CacheCategory): Promise<number> {
    if (category !== undefined) assertCategory(category);
    return this.instrumentation.around('invalidate', category ?? 'all', () => this.invalidateNow(category));
  }

  private async invalidateNow(category?: CacheCategory): Promise<number> {
    this.changes.changedMany();
    const prefixes = category ? [categoryPrefix(this.keyPrefix, category)] : CACHE_CATEGORIES.map((c) => categoryPrefix(this.keyPrefix, c));
    const pattern = `${escapeGlob(category ? prefixes[0]! : this.keyPrefix)}*`;
    // A bare prefix may also match another application's keys ("reprise:" vs "reprise:other:"): keep only ours.
    const ours = (key: string) => prefixes.some((prefix) => key.startsWith(prefix));
    // Categories counted by entries rather than keys: count them before they go, and leave their keys out below.
    const counted = [...this.participants].filter((participant) => participant.countEntries && (category === undefined || participant.category === category));
    const entries = (await Promise.all(counted.map((participant) => participant.countEntries!().catch(() => 0)))).reduce((sum, n) => sum + n, 0);
    const countedPrefixes = counted.map((participant) => categoryPrefix(this.keyPrefix, participant.category));
    const report = await unlinkMatching(this.gateway, pattern, ours);
    const countedKeys = [...report.matched].filter((key) => countedPrefixes.some((prefix) => key.startsWith(prefix))).length;
    if (!report.complete) this.logger.warn(`invalidate(${category ?? ''}) could not reach Redis; entries there remain until they expire`);
    const onlyInMemory = this.memory.deleteByPrefix(prefixes).filter((key) => !report.matched.has(key)).length;
    this.tellInvalidated(prefixes);
    await this.bus.publish({ prefixes });
    return Math.max(0, report.removed - countedKeys) + onlyInMemory + entries;
  }

  stats() {
    const { hits, misses, hitRate, categories, memory: memoryReads, redis: redisReads } = this.instrumentation.figures();
    const redis = this.gateway.status();
    return {
      cacheType: redis.backend,
      hits,
      misses,
      hitRate,
      coalesced: this.coalesced,
      acrossWorkers: this.acrossWorkers.stats(),
      categories,
      tiers: {
        memory: {
          ...memoryReads,
          entries: this.memory.entries,
          bytes: this.memory.bytes,
          maxEntries: this.memory.maxEntries,
          maxBytes: this.memory.maxBytes,
        },
        redis: { ...redis, ...redisReads, invalidations: this.bus.stats(), memory: this.memoryWatch.stats() },
      },
    };
  }

  get telemetry(): Telemetry {
    return this.instrumentation.telemetry;
  }

  /** Stops timers, waits for loads in flight, and closes the connections reprise opened. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inflight.values()]);
    this.memory.close();
    this.memoryWatch.close();
    this.instrumentation.close();
    await this.bus.close();
    await this.gateway.close();
  }

  // ---- building blocks shared with the domain helpers ----

  keyFor(category: CacheCategory, key: CacheKey): string {
    if (typeof key !== 'string' || key.length > FULL_KEY_MAX_LENGTH) return categoryPrefix(this.keyPrefix, category) + encodeKey(key);
    // Hot keys come back again and again: reusing their full key spares building and hashing a new string per read.
    const known = this.fullKeys[category];
    let fullKey = known.get(key);
    if (fullKey === undefined) {
      fullKey = categoryPrefix(this.keyPrefix, category) + encodeKey(key);
      if (known.size >= FULL_KEYS_KEPT) known.clear();
      known.set(key, fullKey);
    }
    return fullKey;
  }

  ttlMs(category: CacheCategory, options: SetOptions): number {
    const seconds = options.ttlSeconds === undefined ? this.ttls[category] : parseTtl(options.ttlSeconds, 'ttlSeconds');
    return seconds * 1_000;
  }

  /**
   * The one way into the tiers. Memory answers synchronously (a hit, or a miss when `memoryOnly`); otherwise the
   * answer is Redis's: a hit, a miss, or no answer with its reason, handed back as `reply` makes it (the Lookup
   * itself unless told). Every read is counted here (when `counted`).
   */
  lookup(category: CacheCategory, fullKey: string, how: LookupHow): Lookup | Promise<Lookup>;
  lookup<R>(category: CacheCategory, fullKey: string, how: LookupHow, reply: (found: Lookup) => R): Lookup | Promise<R>;
  lookup<R>(category: CacheCategory, fullKey: string, how: LookupHow, reply = sameLookup as (found: Lookup) => R): Lookup | Promise<R> {
    const started = how.operation === 'get' && this.instrumentation.sampleMemoryRead() ? performance.now() : undefined;
    const entry = this.memory.entry(fullKey);
    if (entry !== undefined) {
      if (how.counted) this.instrumentation.memoryHit(how.operation ?? 'get', category, started);
      return entry;
    }
    if (how.counted) this.instrumentation.count(category, 'memory_miss');
    if (how.memoryOnly) return MISS;
    const counted = how.counted ? category : null;
    if (!how.operation) return this.lookupRedis(counted, fullKey, reply);
    // Untraced (the usual case), the read is timed in the same step that decodes Redis's answer.
    const startedUntraced = this.instrumentation.startUntraced();
    if (startedUntraced !== undefined) return this.lookupRedis(counted, fullKey, reply, how.operation, startedUntraced);
    return this.instrumentation.around(how.operation, category, (span) =>
      this.lookupRedis(counted, fullKey, (found) => {
        span?.setAttribute('cache.hit', found.kind === 'redis');
        return reply(found);
      }),
    );
  }

  /** Writes both tiers (memory alone with `memoryOnly`); true when Redis answered the write, false when it did not. */
  async write(category: CacheCategory, fullKey: string, value: unknown, ttlMs: number, { memoryOnly = false } = {}): Promise<boolean> {
    const encoded = encodeValue(value, Date.now() + ttlMs);
    this.changes.changed(fullKey);
    this.memory.set(fullKey, value, ttlMs, encoded.size);
    if (!this.gateway.client || memoryOnly) return false;
    return await this.instrumentation.around('set', category, (span) => {
      span?.setAttribute('cache.item_size', encoded.size);
      return this.bus
        .writeAndPublish('set', { command: 'set', args: [fullKey, encoded.text, 'PX', Math.ceil(ttlMs)] }, [fullKey])
        .then((written) => written.ok || isReplyErrorReason(written.reason));
    });
  }

  /**
   * What Redis holds for one key (a miss when no Redis is configured); counted under `category` unless null, and
   * timed as `timed` from `started` when given. Every Redis read comes this way: the gateway's reaction to the reply
   * decodes, counts and times it, with no promise or async function of its own in between.
   */
  private lookupRedis<R = Lookup>(
    category: CacheCategory | null,
    fullKey: string,
    reply: (found: Lookup) => R = sameLookup as (found: Lookup) => R,
    timed?: TimedOperation,
    started = 0,
  ): Promise<R> {
    if (!this.gateway.client) {
      if (timed) this.instrumentation.finish(timed, started);
      return Promise.resolve(reply(MISS));
    }
    const mark = this.changes.mark();
    return this.gateway.attemptThen('get', (client) => client.get(fullKey), READ, (read): R => {
      try {
        if (!read.ok) {
          if (category) this.instrumentation.count(category, 'redis_miss');
          // An error reply (a wrong-type key) is an answer: a miss, which a later write may repair.
          return reply(isReplyErrorReason(read.reason) ? MISS : { kind: 'unanswered', reason: read.reason });
        }
        const value = this.acceptFromRedis(category, fullKey, read.value, mark);
        return reply(value === undefined ? MISS : { kind: 'redis', value });
      } finally {
        if (timed) this.instrumentation.finish(timed, started);
      }
    });
  }

  /** Adds to `found` what Redis holds for `fullKeys`; keys Redis lacks, or did not answer for, stay out. */
  private async readManyFromRedis(category: CacheCategory, fullKeys: string[], found: Map<string, unknown>): Promise<void> {
    const client = this.gateway.client;
    if (!client) return;
    // A single server takes every key in one MGET; a Cluster needs one per hash slot.
    const groups = isCluster(client) ? groupBySlot(fullKeys) : new Map([[0, fullKeys]]);
    const commands = [...groups].map(([slot, group]) => ({
      slot,
      group,
      add: (pipeline: ChainableCommander) => pipeline.mget(...group),
    }));
    const mark = this.changes.mark();
    const { replies } = await runPerNode(this.gateway, 'mget', commands);
    for (const command of commands) {
      const texts = replies.get(command) as Array<string | null> | undefined;
      command.group.forEach((fullKey, index) => {
        const value = this.acceptFromRedis(category, fullKey, texts?.[index] ?? null, mark);
        if (value !== undefined) found.set(fullKey, value);
      });
    }
  }

  /** A Redis reply for one key: decoded, counted, and kept in memory for its remaining TTL. Never throws a decode error. */
  private acceptFromRedis(category: CacheCategory | null, fullKey: string, text: string | null, mark: number): unknown {
    if (text === null) {
      if (category) this.instrumentation.count(category, 'redis_miss');
      return undefined;
    }
    let decoded;
    try {
      decoded = decodeValue(text);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      if (category) this.instrumentation.count(category, 'redis_undecodable');
      this.logger.debug(`ignored an unreadable value in Redis: ${error.message}`);
      return undefined;
    }
    if (category) this.instrumentation.count(category, 'redis_hit');
    const remainingMs = decoded.expiresAt - Date.now();
    // Clocks of different hosts disagree a little; an entry Redis still holds but our clock calls expired is served, not kept.
    // A change made since the read started is newer than this answer: serve the answer, but do not keep it.
    if (remainingMs > 0 && this.changes.unchangedSince(fullKey, mark)) this.memory.set(fullKey, decoded.value, remainingMs, text.length);
    return decoded.value;
  }

  private async loadThrough<T>(category: CacheCategory, fullKey: string, plan: LoadPlan<T>, span: Span | undefined): Promise<T> {
    const { factory, ttlMs, waitAcrossWorkersMs, isFresh } = plan;
    const usable = (value: unknown) => value !== undefined && (isFresh === undefined || isFresh(value));
    let since = this.changes.mark();
    const fromRedis = await this.lookupRedis(category, fullKey);
    const hit = usable(valueOf(fromRedis));
    span?.setAttribute('cache.hit', hit);
    if (hit) return valueOf(fromRedis) as T;

    const computeAndStore = async (): Promise<T> => {
      const value = await factory();
      if (value === undefined) throw new RepriseInputError(`the getOrSet factory for ${category} returned undefined; return null to cache "nothing"`);
      // Set, deleted or invalidated while the factory ran: that change is newer than this value, which is not cached.
      if (!this.changes.unchangedSince(fullKey, since)) return value;
      // Redis just failed this call: do not make the caller wait on it a second time, keep the value in memory.
      await this.write(category, fullKey, value, ttlMs, { memoryOnly: fromRedis.kind === 'unanswered' });
      return value;
    };
    if (waitAcrossWorkersMs === null || fromRedis.kind === 'unanswered' || !this.gateway.client) return computeAndStore();
    // Each look at Redis restarts what counts as a newer change: a computation starts after the last look.
    const lookup = async (): Promise<Found<T>> => {
      since = this.changes.mark();
      const found = await this.lookupRedis(null, fullKey);
      if (found.kind === 'unanswered') return { found: false, answered: false };
      const value = valueOf(found);
      return usable(value) ? { found: true, value: value as T } : { found: false, answered: true };
    };
    return this.acrossWorkers.run(fullKey, lookup, computeAndStore, waitAcrossWorkersMs);
  }

  private tellInvalidated(prefixes: readonly string[]): void {
    for (const participant of this.participants) {
      if (prefixes.includes(categoryPrefix(this.keyPrefix, participant.category))) participant.invalidated();
    }
  }

  private dropFromMemory(invalidation: Invalidation): void {
    for (const key of invalidation.keys ?? []) {
      this.changes.changed(key);
      this.memory.delete(key);
    }
    if (invalidation.keys) this.acrossWorkers.announced(invalidation.keys);
    if (invalidation.prefixes) {
      this.changes.changedMany();
      this.memory.deleteByPrefix(invalidation.prefixes);
      this.tellInvalidated(invalidation.prefixes);
      this.acrossWorkers.announced('all');
    }
  }
}

/** The longest wait for another process's computation, or null for a computation in this process alone. */
function acrossWorkersWait(option: GetOrSetOptions['acrossWorkers']): number | null {
  if (option === undefined || option === false) return null;
  if (option === true) return DEFAULT_ACROSS_WORKERS_WAIT_MS;
  knownKeys(option, ACROSS_WORKERS_OPTIONS, 'acrossWorkers');
  return positiveNumber(option.waitMs ?? DEFAULT_ACROSS_WORKERS_WAIT_MS, 'acrossWorkers.waitMs');
}

const GET: LookupHow = Object.freeze({ counted: true, operation: 'get' });
const READ = Object.freeze({ write: false });
const UNCOUNTED: LookupHow = Object.freeze({ counted: false });
const MEMORY_COUNTED: LookupHow = Object.freeze({ counted: true, memoryOnly: true });
const GET_OR_SET_MEMORY: LookupHow = Object.freeze({ counted: true, operation: 'get_or_set', memoryOnly: true });
