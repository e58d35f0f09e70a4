/**
 * Redis and process memory as one store. Writes go to both; reads ask Redis and fall back to memory for whatever
 * Redis does not answer. When Redis answers, its answer wins, with one exception: an entry this process wrote while
 * Redis could not take it ("unsynced") keeps answering from memory and is written to Redis again at the next
 * chance (flushUnsynced), so an outage or a slot move loses nothing this process learned. A write given up on that
 * reaches Redis later is synced when it lands: "unsynced" means Redis does not have it, never "we did not wait".
 */
import {
  decodeForward,
  decodeReverse,
  encodeForward,
  encodeReverse,
  isLive,
  relativeSeconds,
  DEFAULT_MISSING_REASON,
  type ForwardEntry,
  type ReverseEntry,
} from './entries.js';
import { packReccobeatsId, packSpotifyId } from './ids.js';
import type { MemoryRegistryStore } from './memory-store.js';
import type { RedisGateway } from '../redis/gateway.js';
import { forEachSlice } from '../slices.js';
import type { RedisRegistryStore, UnlinkItem, WriteItem, WriteReport } from './redis-store.js';

/** IDs per script call: a bulk call of up to this many IDs costs one round trip per node. */
export const BULK_CHUNK_IDS = 1_000;

export interface ValidatedWrite {
  spotifyId: string;
  reccobeatsId: string;
  expiresAtMs: number;
}

export interface MissingWrite {
  spotifyId: string;
  entry: Extract<ForwardEntry, { kind: 'missing' }>;
}

export class TieredRegistryStore {
  /** Values found in Redis that the registry did not write; treated as absent. */
  undecodable = 0;
  /** Spotify IDs whose last write reached memory but not Redis, oldest first. */
  private readonly unsynced = new Set<string>();

  constructor(
    readonly redis: RedisRegistryStore,
    readonly memory: MemoryRegistryStore,
    private readonly gateway: RedisGateway,
    private readonly maxUnsynced: number,
  ) {}

  /** Forgets this process's copy, writes Redis has not taken included: the registry was invalidated. */
  forgetLocal(): void {
    this.memory.clear();
    this.unsynced.clear();
  }

  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  /** Live forward entries (null: none) for unique, valid Spotify IDs, and the round trips spent. */
  async lookupForward(ids: string[], now: number): Promise<{ entries: (ForwardEntry | null)[]; roundTrips: number }> {
    const entries: (ForwardEntry | null)[] = new Array(ids.length);
    let roundTrips = 0;
    // One chunk at a time, read and answered, so the event loop turns between chunks (SPEC: no call over 50 ms).
    await forEachSlice(ids, async (chunk, start) => {
      let values: (Buffer | null | undefined)[] = [];
      let generations: (number | null)[] = [];
      if (this.redis.configured) {
        const read = await this.redis.readForward(chunk.map(packSpotifyId), relativeSeconds(now));
        values = read.values;
        generations = read.generations;
        roundTrips += read.roundTrips;
      }
      chunk.forEach((id, offset) => {
        entries[start + offset] = this.forwardAnswer(id, this.withFilterHit(values[offset], generations[offset] ?? null, now), now);
      });
    }, BULK_CHUNK_IDS);
    return { entries, roundTrips };
  }

  async lookupReverse(reccobeatsId: string, now: number): Promise<ReverseEntry | null> {
    const value = this.redis.configured ? (await this.redis.read('r', [packReccobeatsId(reccobeatsId)])).values[0] : undefined;
    return this.merged(value, this.memory.getReverse(reccobeatsId), now, {
      decode: decodeReverse,
      unsynced: (entry) => this.unsynced.has(entry.spotifyId),
      remember: (entry) => this.memory.rememberReverse(reccobeatsId, entry),
      forget: () => this.memory.forgetReverse(reccobeatsId),
    });
  }

  /** Records validated pairs (already one to one) in memory and Redis; returns the round trips spent. */
  async writeValidated(writes: ValidatedWrite[], now: number): Promise<number> {
    return this.pushValidated(writes, now, (chunk) => {
      for (const { spotifyId, reccobeatsId, expiresAtMs } of chunk) this.memory.markValidated(spotifyId, reccobeatsId, expiresAtMs);
    });
  }

  async writeMissing(writes: MissingWrite[], now: number): Promise<number> {
    return this.pushMissing(writes, now, (chunk) => {
      for (const { spotifyId, entry } of chunk) this.memory.markMissing(spotifyId, entry, now);
    });
  }

  /** Writes what Redis missed earlier, once it answers again; returns the round trips spent. */
  async flushUnsynced(now: number): Promise<number> {
    if (this.unsynced.size === 0 || !this.gateway.available) return 0;
    const validated: ValidatedWrite[] = [];
    const missing: MissingWrite[] = [];
    for (const spotifyId of [...this.unsynced]) {
      const entry = this.memory.peekForward(spotifyId);
      if (!entry || !isLive(entry, now)) this.unsynced.delete(spotifyId);
      else if (entry.kind === 'validated') validated.push({ spotifyId, reccobeatsId: entry.reccobeatsId, expiresAtMs: entry.expiresAtMs });
      else missing.push({ spotifyId, entry });
    }
    return (await this.pushValidated(validated, now)) + (await this.pushMissing(missing, now));
  }

  /**
   * Redis's exact answer, or a missing mark when a live filter generation holds the ID and no live exact entry says
   * otherwise: a validated mapping (or an exact mark with its reason) always wins over a filter hit.
   */
  private withFilterHit(value: Buffer | null | undefined, generation: number | null, now: number): Buffer | null | undefined {
    if (generation === null || value === undefined) return value;
    const exact = value === null ? null : decodeForward(value);
    if (exact && isLive(exact, now)) return value;
    return encodeForward({ kind: 'missing', reason: DEFAULT_MISSING_REASON, expiresAtMs: this.redis.filters.expiryOf(generation) });
  }

  private forwardAnswer(id: string, value: Buffer | null | undefined, now: number): ForwardEntry | null {
    return this.merged(value, this.memory.getForward(id), now, {
      decode: decodeForward,
      unsynced: () => this.unsynced.has(id),
      remember: (entry) => this.memory.rememberForward(id, entry),
      forget: () => this.memory.forgetForward(id),
    });
  }

  /**
   * Redis's answer for one entry (undefined: Redis did not answer), merged with this process's copy. What this
   * process wrote but Redis has not seen yet is newer than anything Redis can say; otherwise Redis wins, and a copy
   * here that Redis calls dead is forgotten so it cannot answer later, when Redis is down.
   */
  private merged<E extends ForwardEntry | ReverseEntry>(
    value: Buffer | null | undefined,
    remembered: E | undefined,
    now: number,
    side: { decode: (value: Buffer) => E | null; unsynced: (entry: E) => boolean; remember: (entry: E) => void; forget: () => void },
  ): E | null {
    const fromMemory = remembered && isLive(remembered, now) ? remembered : null;
    if (value === undefined || (fromMemory && side.unsynced(fromMemory))) return fromMemory;
    const entry = value === null ? null : side.decode(value);
    if (value !== null && !entry) this.undecodable += 1;
    if (entry && isLive(entry, now)) {
      side.remember(entry);
      return entry;
    }
    side.forget();
    return null;
  }

  private pushValidated(writes: ValidatedWrite[], now: number, remember?: (chunk: readonly ValidatedWrite[]) => void): Promise<number> {
    return this.inChunks(writes, remember, async (chunk) => {
      const items: WriteItem[] = chunk.flatMap(({ spotifyId, reccobeatsId, expiresAtMs }) => [
        { op: 'v' as const, field: packSpotifyId(spotifyId), value: encodeForward({ kind: 'validated', reccobeatsId, expiresAtMs }) },
        { op: 'r' as const, field: packReccobeatsId(reccobeatsId), value: encodeReverse({ spotifyId, expiresAtMs }) },
      ]);
      const settle = async ({ written, replaced }: Pick<WriteReport, 'written' | 'replaced'>, late: boolean) => {
        chunk.forEach((write, index) => {
          const landed = written[2 * index]! && written[2 * index + 1]!;
          // A write that landed late only counts if memory still holds what it wrote (no newer write since).
          if (!late || (landed && this.stillHolds(write.spotifyId, { kind: 'validated', reccobeatsId: write.reccobeatsId, expiresAtMs: write.expiresAtMs }))) {
            this.noteSynced(write.spotifyId, landed);
          }
        });
        // A pair replaced an older one: the older pair's other direction goes too, if it still points here.
        const stale: UnlinkItem[] = replaced.map(({ item, oldPartner }) => {
          const written = items[item]!;
          return { space: written.op === 'v' ? 'r' : 's', field: oldPartner, partner: written.field };
        });
        if (stale.length === 0) return 0;
        await this.redis.unlink(stale);
        return 1;
      };
      const report = await this.redis.write(items, relativeSeconds(now));
      void report.late?.then((late) => settle(late, true));
      return report.roundTrips + (await settle(report, false));
    });
  }

  private pushMissing(writes: MissingWrite[], now: number, remember?: (chunk: readonly MissingWrite[]) => void): Promise<number> {
    const filters = this.redis.filters;
    return this.inChunks(writes, remember, async (chunk) => {
      // Marks the filters take go there (bloom mode, reason not_found); the others stay exact entries.
      const filtered = chunk.filter(({ entry }) => filters.takes(entry.reason));
      const exact = filtered.length === chunk.length ? [] : chunk.filter(({ entry }) => !filters.takes(entry.reason));
      const settle = (part: readonly MissingWrite[], { written }: Pick<WriteReport, 'written'>, late: boolean) => {
        part.forEach(({ spotifyId, entry }, index) => {
          if (!late || (written[index] && this.stillHolds(spotifyId, entry))) this.noteSynced(spotifyId, written[index]!);
        });
      };
      const send = async (part: readonly MissingWrite[], write: () => Promise<WriteReport>) => {
        if (part.length === 0) return 0;
        const report = await write();
        settle(part, report, false);
        void report.late?.then((late) => settle(part, late, true));
        return report.roundTrips;
      };
      const nowSeconds = relativeSeconds(now);
      const roundTrips = await Promise.all([
        send(exact, () => this.redis.write(exact.map(({ spotifyId, entry }) => ({ op: 'm', field: packSpotifyId(spotifyId), value: encodeForward(entry) })), nowSeconds)),
        send(filtered, () => this.redis.addToFilters(
          filtered.map(({ spotifyId, entry }) => ({ field: packSpotifyId(spotifyId), generation: filters.generationOfExpiry(entry.expiresAtMs) })),
          nowSeconds,
        )),
      ]);
      return roundTrips[0]! + roundTrips[1]!;
    });
  }

  /** Whether this process's copy of `spotifyId` is still the entry a write carried. */
  private stillHolds(spotifyId: string, written: ForwardEntry): boolean {
    const held = this.memory.peekForward(spotifyId);
    if (!held || held.kind !== written.kind || held.expiresAtMs !== written.expiresAtMs) return false;
    return held.kind === 'missing' || held.reccobeatsId === (written as Extract<ForwardEntry, { kind: 'validated' }>).reccobeatsId;
  }

  /**
   * Writes in chunks of BULK_CHUNK_IDS, each remembered in memory and sent to Redis before the next (the event loop
   * turns between chunks); returns the round trips spent.
   */
  private async inChunks<W>(writes: W[], remember: ((chunk: readonly W[]) => void) | undefined, push: (chunk: readonly W[]) => Promise<number>): Promise<number> {
    let roundTrips = 0;
    await forEachSlice(writes, async (chunk) => {
      remember?.(chunk);
      if (this.redis.configured) roundTrips += await push(chunk);
    }, BULK_CHUNK_IDS);
    return roundTrips;
  }

  private noteSynced(spotifyId: string, synced: boolean): void {
    this.unsynced.delete(spotifyId);
    if (synced) return;
    this.unsynced.add(spotifyId);
    // Bounded like memory: past the bound the oldest pending writes are given up (they still answer from memory
    // until Redis says otherwise).
    if (this.unsynced.size > this.maxUnsynced) this.unsynced.delete(this.unsynced.values().next().value!);
  }
}
