/**
 * The Spotify <-> ReccoBeats ID registry: validated mappings both ways and Spotify IDs known to be missing from
 * ReccoBeats, each with its own TTL, so the ReccoBeats client asks only about IDs nobody has asked about lately.
 *
 * Redis (standalone or Cluster) is the shared store: entries packed into small listpack hashes, bulk calls one
 * round trip per node (see layout.ts). An in-process store always holds what this process wrote or read and
 * answers whenever Redis does not (memory-only mode, Redis down, one Cluster node failing); no call rejects
 * because of Redis. When Redis answers, its answer wins, except over what this process wrote while Redis could not
 * take it: that keeps answering from memory and is written to Redis at the next chance (see tiered-store.ts).
 *
 * Input: mark* calls check every ID and throw InvalidIdError before writing anything. Bulk reads skip what cannot
 * be a Spotify track ID (it appears in neither result; counted in stats().ignoredIds) and look duplicates up once,
 * keeping first-seen order. Single reads answer false/null for such strings.
 */
import type { Span } from '@opentelemetry/api';
import { DEFAULT_TTLS, parseTtl } from '../cache/categories.js';
import { validateKeyPrefix } from '../cache/keys.js';
import { forEachSlice, mapInSlices } from '../slices.js';
import { consoleLogger, type Logger } from '../logger.js';
import type { RedisGateway } from '../redis/gateway.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { RegistryActivity, type ActivitySnapshot, type LookupResult } from './activity.js';
import { expiryFor, missingReasonOf, relativeSeconds, type ForwardEntry, type MissingReason } from './entries.js';
import { assertReccobeatsId, assertSpotifyId, canonicalReccobeatsId, isReccobeatsId, isSpotifyId } from './ids.js';
import { SHARD_COUNT, type Shard } from './layout.js';
import { MemoryRegistryStore, type MemoryCounts } from './memory-store.js';
import { MissingFilterPlan, bloomSettingsOf, missingMarkModeOf, type BloomOptions, type MissingFilterStats, type MissingMarkMode } from './missing-filters.js';
import { RedisRegistryStore, type ShardMeta } from './redis-store.js';
import { sweepRedisStore } from './sweeper.js';
import { TieredRegistryStore } from './tiered-store.js';
import { RepriseInputError } from '../errors.js';
import { knownKeys, optionNames, RepriseOptionsError, wholeNumber } from '../validate.js';

export { BULK_CHUNK_IDS } from './tiered-store.js';
const DEFAULT_SWEEP_INTERVAL_MS = 5 * 60_000;
/** A sweep run stops after this long; the next run resumes where it stopped. */
export const DEFAULT_SWEEP_MAX_RUN_MS = 2_000;
/** close() waits at most this long for a sweep step still in flight (the run itself stops before its next step). */
const CLOSE_WAIT_MS = 250;
/** Repairs of damaged Redis data are logged at most this often. */
const REPAIR_LOG_INTERVAL_MS = 60_000;
const DEFAULT_MEMORY_MAX_ENTRIES = 50_000;

export interface IdRegistryOptions {
  gateway: RedisGateway;
  keyPrefix: string;
  /** Seconds; defaults DEFAULT_TTLS.id_registry (30 days) and DEFAULT_TTLS.id_registry_missing (7 days). */
  ttls?: { validatedSeconds?: number; missingSeconds?: number };
  telemetry?: Telemetry;
  logger?: Logger;
  /** How often expired entries are removed and counts corrected (default 5 min; 0 turns the timer off). */
  sweepIntervalMs?: number;
  /**
   * How long one sweep run may go on (default 2 s). A run that reaches it stops between two steps, leaving each
   * shard's cursor where it was; the next run resumes from there.
   */
  sweepMaxRunMs?: number;
  /** Entries of each kind the in-process store keeps (default 50 000). */
  memoryMaxEntries?: number;
  /**
   * Where known-missing marks with the reason `not_found` live in Redis: 'bloom' (default), Bloom filters in plain
   * Redis strings, a few bytes per ID, or 'exact', one packed entry per ID. Other reasons are always exact. Either
   * mode still answers for marks the other made, until they expire.
   */
  missing?: MissingMarkMode;
  /** The Bloom filters' capacity per generation and target false-positive rate (see missing-filters.ts). */
  bloom?: BloomOptions;
  /** Clock in ms since the Unix epoch (default Date.now); tests move time with it. */
  now?: () => number;
}

export interface IdRegistryTtls {
  validatedSeconds: number;
  missingSeconds: number;
}

export interface RegistrySweepReport {
  backend: 'redis' | 'memory';
  removed: MemoryCounts;
  /** Miscounted entries found and corrected by finished Redis passes. */
  drift: number;
  /** False when the run stopped part way: Redis stopped answering, the run reached sweepMaxRunMs, or close() was
   * called. The pass resumes from its cursor next time. */
  complete: boolean;
}

export interface MissingMarkStats {
  mode: MissingMarkMode;
  /** Exact marks (any reason; in bloom mode, reasons other than not_found and marks made before a switch). */
  exact: number;
  /** Marks added to the live filters (an estimate: an ID marked in two generations counts twice). */
  inFilters: number;
  /** The live filter generations (Redis only; null in memory). */
  filters: MissingFilterStats | null;
}

export interface IdRegistryStats extends ActivitySnapshot {
  /** Where the counts come from now. */
  backend: 'redis' | 'memory';
  /**
   * Validated mappings (Spotify -> ReccoBeats) and known-missing marks, across all processes when on Redis. With
   * filters, `missing` adds their estimated count to the exact marks (see missingMarks).
   */
  validated: number;
  missing: number;
  missingMarks: MissingMarkStats;
  ttls: IdRegistryTtls;
  redis: { shards: number; reverse: number; forwardBuckets: number; reverseBuckets: number } | null;
  memory: MemoryCounts & { maxEntries: number };
  sweep: { intervalMs: number; runs: number; lastRunAt: string | null; removed: MemoryCounts; drift: number };
  /** Bulk-read inputs that could not be Spotify track IDs and were skipped. */
  ignoredIds: number;
  /** Values found in Redis that the registry did not write; treated as absent. */
  undecodable: number;
  /** Entries written while Redis could not take them, to be written again when it can. */
  unsynced: number;
  /**
   * Damaged registry data found in Redis and repaired by this process (a count that was not a number, a bucket key
   * of the wrong type, an impossible geometry...). Each repair also recounts the shard it was found in.
   */
  repaired: number;
}

const ID_REGISTRY_OPTIONS = optionNames<IdRegistryOptions>({
  gateway: true, keyPrefix: true, ttls: true, telemetry: true, logger: true, sweepIntervalMs: true, sweepMaxRunMs: true,
  memoryMaxEntries: true, now: true, missing: true, bloom: true,
});
const ID_REGISTRY_TTLS = optionNames<NonNullable<IdRegistryOptions['ttls']>>({ validatedSeconds: true, missingSeconds: true });

export class IdRegistry {
  readonly ttls: IdRegistryTtls;
  private readonly telemetry: Telemetry;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly store: TieredRegistryStore;
  private readonly activity: RegistryActivity;
  private readonly gateway: RedisGateway;
  private readonly sweepIntervalMs: number;
  private readonly sweepMaxRunMs: number;
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> = Promise.resolve();
  /** The shard space the last incomplete run stopped at: the next one begins there. */
  private sweepResumeAt = 0;
  private repaired = 0;
  private repairsUnlogged = 0;
  private repairLoggedAt = -Infinity;
  /** Shards where damage was repaired, to be recounted by a sweep pass queued at once. */
  private readonly toRecount = new Set<Shard>();
  private recountQueued = false;
  private sweepTotals = { runs: 0, lastRunAt: null as string | null, removed: { validated: 0, missing: 0, reverse: 0 }, drift: 0 };
  private ignoredIds = 0;
  private closed = false;
  private readonly detachMetrics: () => void;

  constructor(options: IdRegistryOptions) {
    knownKeys(options, ID_REGISTRY_OPTIONS, '');
    if (!options?.gateway) {
      throw new RepriseOptionsError('missing_option', 'gateway', 'IdRegistry needs the Redis gateway (memory-only mode: a gateway without a client)');
    }
    knownKeys(options.ttls, ID_REGISTRY_TTLS, 'ttls');
    this.gateway = options.gateway;
    this.ttls = {
      validatedSeconds: parseTtl(options.ttls?.validatedSeconds ?? DEFAULT_TTLS.id_registry, 'ttls.validatedSeconds'),
      missingSeconds: parseTtl(options.ttls?.missingSeconds ?? DEFAULT_TTLS.id_registry_missing, 'ttls.missingSeconds'),
    };
    this.telemetry = options.telemetry ?? new Telemetry();
    this.logger = options.logger ?? consoleLogger;
    this.now = options.now ?? Date.now;
    const memoryMaxEntries = wholeNumber(options.memoryMaxEntries ?? DEFAULT_MEMORY_MAX_ENTRIES, 'memoryMaxEntries');
    const filters = new MissingFilterPlan(missingMarkModeOf(options.missing, 'missing'), bloomSettingsOf(options.bloom, 'bloom'), this.ttls.missingSeconds);
    this.store = new TieredRegistryStore(
      new RedisRegistryStore(options.gateway, validateKeyPrefix(options.keyPrefix), filters, (shard, repairs) => this.noteRepairs(shard, repairs)),
      new MemoryRegistryStore(memoryMaxEntries),
      options.gateway,
      memoryMaxEntries,
    );
    this.activity = new RegistryActivity(this.telemetry);
    // Live counts at each scrape: a handful of reads of the per-shard counters, never a scan.
    this.detachMetrics = this.telemetry.metrics.collectInto(this.telemetry.metrics.idRegistryEntries, async (gauge) => {
      const { validated, missing } = await this.counts();
      gauge.set({ kind: 'validated' }, validated);
      gauge.set({ kind: 'missing' }, missing);
    });
    this.sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (!Number.isFinite(this.sweepIntervalMs) || this.sweepIntervalMs < 0) {
      throw new RepriseOptionsError('out_of_range', 'sweepIntervalMs', `sweepIntervalMs must be a number of milliseconds >= 0, got ${this.sweepIntervalMs}`);
    }
    this.sweepMaxRunMs = options.sweepMaxRunMs ?? DEFAULT_SWEEP_MAX_RUN_MS;
    if (!Number.isFinite(this.sweepMaxRunMs) || this.sweepMaxRunMs <= 0) {
      throw new RepriseOptionsError('out_of_range', 'sweepMaxRunMs', `sweepMaxRunMs must be a number of milliseconds > 0, got ${this.sweepMaxRunMs}`);
    }
    if (this.sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => void this.sweepOnSchedule(), this.sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  // ---- reads ------------------------------------------------------------------------------------------------

  async isKnownMissing(spotifyId: string): Promise<boolean> {
    const entry = await this.lookupOne(spotifyId);
    return entry?.kind === 'missing';
  }

  async getValidatedId(spotifyId: string): Promise<string | null> {
    const entry = await this.lookupOne(spotifyId);
    return entry?.kind === 'validated' ? entry.reccobeatsId : null;
  }

  async getSpotifyId(reccobeatsId: string): Promise<string | null> {
    requireString(reccobeatsId, 'reccobeatsId');
    if (!isReccobeatsId(reccobeatsId)) return null;
    const id = canonicalReccobeatsId(reccobeatsId);
    return this.telemetry.profiler.time('registry.get_spotify_id', async () => {
      const entry = await this.store.lookupReverse(id, this.now());
      this.activity.recordLookups({ validated: entry ? 1 : 0, missing: 0, unknown: entry ? 0 : 1 });
      return entry?.spotifyId ?? null;
    });
  }

  /** Splits IDs into those to ask ReccoBeats about and those known to be missing (validated IDs are "to check"). */
  async bulkCheckMissing(ids: Iterable<string>): Promise<[idsToCheck: string[], knownMissing: string[]]> {
    const unique = await this.uniqueSpotifyIds(ids);
    return this.traced('registry.bulk_check_missing', unique.length, async (span) => {
      const { entries, roundTrips } = await this.lookupForward(unique);
      const idsToCheck: string[] = [];
      const knownMissing: string[] = [];
      unique.forEach((id, index) => (entries[index]?.kind === 'missing' ? knownMissing : idsToCheck).push(id));
      span.setAttributes({ 'registry.hits': knownMissing.length, 'registry.round_trips': roundTrips });
      return [idsToCheck, knownMissing];
    });
  }

  /** The validated ReccoBeats ID of each given Spotify ID that has one, in first-seen order. */
  async bulkGetValidated(ids: Iterable<string>): Promise<Map<string, string>> {
    const unique = await this.uniqueSpotifyIds(ids);
    return this.traced('registry.bulk_get_validated', unique.length, async (span) => {
      const { entries, roundTrips } = await this.lookupForward(unique);
      const validated = new Map<string, string>();
      unique.forEach((id, index) => {
        const entry = entries[index];
        if (entry?.kind === 'validated') validated.set(id, entry.reccobeatsId);
      });
      span.setAttributes({ 'registry.hits': validated.size, 'registry.round_trips': roundTrips });
      return validated;
    });
  }

  /**
   * Both answers of one read: validated mappings, known-missing IDs and the rest, for a caller that needs all
   * three (one round trip per node instead of two calls).
   */
  async bulkLookup(ids: Iterable<string>): Promise<{ validated: Map<string, string>; missing: string[]; unknown: string[] }> {
    const unique = await this.uniqueSpotifyIds(ids);
    return this.traced('registry.bulk_lookup', unique.length, async (span) => {
      const { entries, roundTrips } = await this.lookupForward(unique);
      const result = { validated: new Map<string, string>(), missing: [] as string[], unknown: [] as string[] };
      unique.forEach((id, index) => {
        const entry = entries[index];
        if (entry?.kind === 'validated') result.validated.set(id, entry.reccobeatsId);
        else if (entry?.kind === 'missing') result.missing.push(id);
        else result.unknown.push(id);
      });
      span.setAttributes({ 'registry.hits': result.validated.size + result.missing.length, 'registry.round_trips': roundTrips });
      return result;
    });
  }

  /** Why an ID is known to be missing, or null when it is not. */
  async getMissingReason(spotifyId: string): Promise<MissingReason | null> {
    const entry = await this.lookupOne(spotifyId);
    return entry?.kind === 'missing' ? entry.reason : null;
  }

  // ---- writes -----------------------------------------------------------------------------------------------

  async markValidated(spotifyId: string, reccobeatsId: string): Promise<void> {
    await this.writeValidated(await this.checkedPairs([[spotifyId, reccobeatsId]]));
  }

  async markMissing(spotifyId: string, reason?: string): Promise<void> {
    await this.writeMissing(await this.checkedSpotifyIds([spotifyId]), missingReasonOf(reason));
  }

  /** Records validated pairs; a pair sharing either ID with an earlier one (here or in the store) replaces it. */
  async bulkMarkValidated(pairs: Iterable<[spotifyId: string, reccobeatsId: string]>): Promise<void> {
    const checked = await this.checkedPairs(pairs);
    await this.traced('registry.bulk_mark_validated', checked.size, async (span) => {
      span.setAttribute('registry.round_trips', await this.writeValidated(checked));
    });
  }

  /** Records IDs as missing; an ID with a live validated mapping keeps it. */
  async bulkMarkMissing(spotifyIds: Iterable<string>, reason?: string): Promise<void> {
    const checked = await this.checkedSpotifyIds(spotifyIds);
    const why = missingReasonOf(reason);
    await this.traced('registry.bulk_mark_missing', checked.length, async (span) => {
      span.setAttribute('registry.round_trips', await this.writeMissing(checked, why));
    });
  }

  /**
   * Forgets what this process holds: `cache.invalidate('id_registry')` (here or on another instance) removed the
   * registry from Redis, and this copy must not answer for it later, when Redis is down.
   */
  forgetLocal(): void {
    this.store.forgetLocal();
  }

  /**
   * Forgets every known-missing mark kept in filters, on Redis (every process sees it at its next read): the way to
   * clear a false positive when its mapping is not known (a known mapping: markValidated wins over any filter hit).
   * Exact marks and mappings stay; filtered IDs are asked about again and marked again when still missing. Returns
   * the Redis keys deleted, or null when Redis (or one of its nodes) did not answer.
   */
  async clearMissingFilters(): Promise<number | null> {
    if (!this.store.redis.configured) return 0;
    return this.traced('registry.clear_missing_filters', 0, () => this.store.redis.clearFilters(relativeSeconds(this.now())));
  }

  /** The ReccoBeats client reports lookups it did not make (reason: validated_id, known_missing, duplicate, ...). */
  recordApiCallsAvoided(reason: string, count: number): void {
    this.activity.recordApiCallsAvoided(reason, count);
  }

  // ---- counts and housekeeping ------------------------------------------------------------------------------

  async stats(): Promise<IdRegistryStats> {
    const memory = this.store.memory.counts();
    const shards = await this.shardMeta(true);
    const redis = shards && {
      shards: SHARD_COUNT,
      validated: sum(shards, 'validated'),
      missing: sum(shards, 'missing'),
      reverse: sum(shards, 'reverse'),
      forwardBuckets: sum(shards, 'forwardBuckets'),
      reverseBuckets: sum(shards, 'reverseBuckets'),
    };
    const filters = shards && this.store.redis.filters.summarize(shards.map((shard) => shard.filters));
    const exactMissing = redis ? redis.missing : memory.missing;
    const inFilters = filters?.estimatedCount ?? 0;
    return {
      backend: redis ? 'redis' : 'memory',
      validated: redis ? redis.validated : memory.validated,
      missing: exactMissing + inFilters,
      missingMarks: { mode: this.store.redis.filters.mode, exact: exactMissing, inFilters, filters },
      ...this.activity.snapshot(),
      ttls: { ...this.ttls },
      redis: redis && { shards: redis.shards, reverse: redis.reverse, forwardBuckets: redis.forwardBuckets, reverseBuckets: redis.reverseBuckets },
      memory: { ...memory, maxEntries: this.store.memory.maxEntries },
      sweep: { intervalMs: this.sweepIntervalMs, ...this.sweepTotals, removed: { ...this.sweepTotals.removed } },
      ignoredIds: this.ignoredIds,
      undecodable: this.store.undecodable,
      unsynced: this.store.unsyncedCount,
      repaired: this.repaired,
    };
  }

  /** Validated mappings and known-missing marks as stats() counts them, without counting filter bits (for scrapes). */
  async counts(): Promise<{ validated: number; missing: number }> {
    const shards = await this.shardMeta(false);
    if (!shards) {
      const memory = this.store.memory.counts();
      return { validated: memory.validated, missing: memory.missing };
    }
    const filtered = shards.reduce((total, shard) => total + shard.filters.reduce((n, generation) => n + generation.filters.reduce((m, filter) => m + filter.count, 0), 0), 0);
    return { validated: sum(shards, 'validated'), missing: sum(shards, 'missing') + filtered };
  }

  private async shardMeta(countBits: boolean): Promise<ShardMeta[] | null> {
    return this.store.redis.configured ? this.store.redis.meta(relativeSeconds(this.now()), { countBits }) : null;
  }

  /** Removes expired entries now (memory and a full Redis pass) and corrects the counts. */
  sweep(): Promise<RegistrySweepReport> {
    return this.queueSweep(0);
  }

  /**
   * Stops the sweep timer and any sweep in progress: a run stops before its next step, and a step still in flight
   * is waited for at most CLOSE_WAIT_MS, so close() returns promptly whatever Redis is doing. The gateway (shared)
   * stays open.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.detachMetrics();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
    });
    await Promise.race([this.sweeping.catch(() => undefined), waited]);
    clearTimeout(timer);
  }

  // ---- internals --------------------------------------------------------------------------------------------

  private async lookupOne(spotifyId: string): Promise<ForwardEntry | null> {
    requireString(spotifyId, 'spotifyId');
    if (!isSpotifyId(spotifyId)) return null;
    return this.telemetry.profiler.time('registry.lookup', async () => (await this.lookupForward([spotifyId])).entries[0] ?? null);
  }

  /** Live forward entries for valid, unique IDs (Redis first, memory for the rest), counted as lookups. */
  private async lookupForward(ids: string[]): Promise<{ entries: (ForwardEntry | null)[]; roundTrips: number }> {
    const found = await this.store.lookupForward(ids, this.now());
    const counts: Record<LookupResult, number> = { validated: 0, missing: 0, unknown: 0 };
    for (const entry of found.entries) counts[entry ? entry.kind : 'unknown'] += 1;
    this.activity.recordLookups(counts);
    return found;
  }

  /** Returns the round trips used, including any replay of writes Redis missed earlier. */
  private async writeValidated(pairs: Map<string, string>): Promise<number> {
    const now = this.now();
    const expiresAtMs = expiryFor(now, this.ttls.validatedSeconds);
    const replayed = await this.store.flushUnsynced(now);
    const writes = await mapInSlices(pairs, ([spotifyId, reccobeatsId]) => ({ spotifyId, reccobeatsId, expiresAtMs }));
    this.activity.recordValidations(writes.length);
    return replayed + (await this.store.writeValidated(writes, now));
  }

  private async writeMissing(spotifyIds: string[], reason: MissingReason): Promise<number> {
    const now = this.now();
    const entry = { kind: 'missing' as const, reason, expiresAtMs: expiryFor(now, this.ttls.missingSeconds) };
    const replayed = await this.store.flushUnsynced(now);
    this.activity.recordMissingMarks(reason, spotifyIds.length);
    return replayed + (await this.store.writeMissing(await mapInSlices(spotifyIds, (spotifyId) => ({ spotifyId, entry })), now));
  }

  private async checkedSpotifyIds(spotifyIds: Iterable<string>): Promise<string[]> {
    const unique = new Set<string>();
    await forEachSlice(listOf(spotifyIds, 'spotifyIds'), (slice) => {
      for (const id of slice) {
        assertSpotifyId(id);
        unique.add(id);
      }
    });
    return [...unique];
  }

  /** Validates every pair, then keeps a one-to-one set: a later pair sharing either ID replaces the earlier. */
  private async checkedPairs(pairs: Iterable<[string, string]>): Promise<Map<string, string>> {
    const bySpotify = new Map<string, string>();
    const byReccobeats = new Map<string, string>();
    await forEachSlice(listOf(pairs, 'pairs'), (slice) => {
      for (const pair of slice) this.keepPair(pair, bySpotify, byReccobeats);
    });
    return bySpotify;
  }

  /** Adds a checked pair; a pair sharing either ID with an earlier one replaces it. */
  private keepPair(pair: unknown, bySpotify: Map<string, string>, byReccobeats: Map<string, string>): void {
    if (!Array.isArray(pair) || pair.length !== 2) throw new RepriseInputError('each pair is [spotifyId, reccobeatsId]');
    const [spotifyId, rawReccobeatsId] = pair as [unknown, unknown];
    assertSpotifyId(spotifyId);
    assertReccobeatsId(rawReccobeatsId);
    const reccobeatsId = canonicalReccobeatsId(rawReccobeatsId);
    const previousReccobeats = bySpotify.get(spotifyId);
    if (previousReccobeats !== undefined) byReccobeats.delete(previousReccobeats);
    const previousSpotify = byReccobeats.get(reccobeatsId);
    if (previousSpotify !== undefined) bySpotify.delete(previousSpotify);
    bySpotify.set(spotifyId, reccobeatsId);
    byReccobeats.set(reccobeatsId, spotifyId);
  }

  private async uniqueSpotifyIds(ids: Iterable<string>): Promise<string[]> {
    const unique = new Set<string>();
    await forEachSlice(listOf(ids, 'ids'), (slice) => {
      for (const id of slice) {
        if (isSpotifyId(id)) unique.add(id);
        else this.ignoredIds += 1;
      }
    });
    return [...unique];
  }

  private async traced<T>(name: string, ids: number, run: (span: Span) => Promise<T>): Promise<T> {
    return this.telemetry.profiler.time(name, () =>
      this.telemetry.span(name, run, {
        attributes: { 'registry.ids': ids, 'registry.backend': this.gateway.backend },
      }),
    );
  }

  private sweepOnSchedule(): Promise<unknown> {
    if (this.closed) return Promise.resolve();
    // Another process may have swept moments ago: skip shards whose pass finished within half an interval.
    return this.queueSweep(Math.floor(this.sweepIntervalMs / 2_000)).catch((error: unknown) => {
      this.logger.warn(`id registry sweep failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /**
   * A script found damaged data in a shard and repaired it: counted, logged (at most once a minute), and the
   * shard's counts recounted by a sweep pass queued now rather than at the next scheduled sweep.
   */
  private noteRepairs(shard: Shard, repairs: number): void {
    this.repaired += repairs;
    this.repairsUnlogged += repairs;
    const at = performance.now();
    if (at - this.repairLoggedAt >= REPAIR_LOG_INTERVAL_MS) {
      this.logger.warn(
        `id registry: repaired ${this.repairsUnlogged} damaged key(s) or field(s) in Redis (latest in shard ${shard.index}); recounting`,
      );
      this.repairLoggedAt = at;
      this.repairsUnlogged = 0;
    }
    if (this.closed) return;
    this.toRecount.add(shard);
    if (this.recountQueued) return;
    this.recountQueued = true;
    const recount = this.queueSweep(0, () => {
      const shards = [...this.toRecount];
      this.toRecount.clear();
      this.recountQueued = false;
      return shards;
    });
    recount.catch((error: unknown) => {
      this.logger.warn(`id registry recount failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /** Queues a sweep run after the one in progress; `shardsOf` (read when the run starts) limits it to some shards. */
  private queueSweep(minGapSeconds: number, shardsOf?: () => Shard[]): Promise<RegistrySweepReport> {
    const run = this.sweeping.catch(() => undefined).then(() => this.sweepNow(minGapSeconds, shardsOf?.()));
    this.sweeping = run;
    return run;
  }

  private async sweepNow(minGapSeconds: number, shards?: Shard[]): Promise<RegistrySweepReport> {
    if (this.closed) return { backend: 'memory', removed: { validated: 0, missing: 0, reverse: 0 }, drift: 0, complete: false };
    return this.telemetry.profiler.time('registry.sweep', () =>
      this.telemetry.span(
        'registry.sweep',
        async (span) => {
          const deadline = performance.now() + this.sweepMaxRunMs;
          const now = this.now();
          await this.store.flushUnsynced(now);
          const removed = this.store.memory.sweep(now);
          let backend: RegistrySweepReport['backend'] = 'memory';
          let drift = 0;
          let complete = true;
          if (this.store.redis.configured) {
            const report = await sweepRedisStore(this.store.redis, relativeSeconds(now), minGapSeconds, {
              deadline,
              shouldStop: () => this.closed,
              ...(shards ? { shards } : { start: this.sweepResumeAt }),
            });
            if (!shards) this.sweepResumeAt = report.resumeAt;
            complete = report.complete;
            drift = report.drift;
            // Redis is the shared truth: once it answered, its removals are the ones to report.
            if (report.answered) {
              backend = 'redis';
              Object.assign(removed, report.removed);
            }
          }
          this.sweepTotals.runs += 1;
          this.sweepTotals.lastRunAt = new Date(now).toISOString();
          this.sweepTotals.removed.validated += removed.validated;
          this.sweepTotals.removed.missing += removed.missing;
          this.sweepTotals.removed.reverse += removed.reverse;
          this.sweepTotals.drift += drift;
          span.setAttributes({
            'registry.backend': backend,
            'registry.removed.validated': removed.validated,
            'registry.removed.missing': removed.missing,
            'registry.drift': drift,
            'registry.complete': complete,
            ...(shards ? { 'registry.recount_shards': shards.length } : {}),
          });
          return { backend, removed, drift, complete };
        },
        { root: true },
      ),
    );
  }
}

function requireString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw new RepriseInputError(`${name} must be a string, got ${value === null ? 'null' : typeof value}`);
}

/** The input as an array (sliced later), after checking it is an iterable of IDs and not one string. */
function listOf<T>(input: Iterable<T>, name: string): readonly T[] {
  if (typeof input === 'string' || input === null || typeof (input as Iterable<T>)?.[Symbol.iterator] !== 'function') {
    throw new RepriseInputError(`${name} must be an iterable (array, Set, ...) of IDs, not ${typeof input === 'string' ? 'a string' : String(input)}`);
  }
  return Array.isArray(input) ? input : [...input];
}


function sum(rows: readonly ShardMeta[], key: 'validated' | 'missing' | 'reverse' | 'forwardBuckets' | 'reverseBuckets'): number {
  return rows.reduce((total, row) => total + row[key], 0);
}
