/**
 * The registry in process memory: used alone without Redis, and as the answer whenever Redis does not answer.
 * Bounded (least recently used entries go first) with the same rules as the Redis store: entries carry their own
 * expiry and count until a sweep removes them, a missing mark never replaces a live validated mapping, and a
 * mapping is one to one (a new pair replaces any pair sharing either ID).
 */
import { LRUCache } from 'lru-cache';
import { isLive, type ForwardEntry, type ReverseEntry } from './entries.js';

export interface MemoryCounts {
  validated: number;
  missing: number;
  reverse: number;
}

export class MemoryRegistryStore {
  readonly maxEntries: number;
  private readonly forward: LRUCache<string, ForwardEntry>;
  private readonly reverse: LRUCache<string, ReverseEntry>;
  private readonly counted: MemoryCounts = { validated: 0, missing: 0, reverse: 0 };

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
    // dispose runs for every entry that leaves (evicted, replaced, deleted), so the counts stay exact.
    this.forward = new LRUCache<string, ForwardEntry>({
      max: maxEntries,
      dispose: (entry) => {
        this.counted[entry.kind] -= 1;
      },
    });
    this.reverse = new LRUCache<string, ReverseEntry>({
      max: maxEntries,
      dispose: () => {
        this.counted.reverse -= 1;
      },
    });
  }

  /** Forgets everything (dispose keeps the counts right). */
  clear(): void {
    this.forward.clear();
    this.reverse.clear();
  }

  /** The entry, expired or not: the caller decides by its clock. Undefined when absent. */
  getForward(spotifyId: string): ForwardEntry | undefined {
    return this.forward.get(spotifyId);
  }

  /** Like getForward, without counting as a use. */
  peekForward(spotifyId: string): ForwardEntry | undefined {
    return this.forward.peek(spotifyId);
  }

  getReverse(reccobeatsId: string): ReverseEntry | undefined {
    return this.reverse.get(reccobeatsId);
  }

  markValidated(spotifyId: string, reccobeatsId: string, expiresAtMs: number): void {
    const previous = this.forward.peek(spotifyId);
    if (previous?.kind === 'validated' && previous.reccobeatsId !== reccobeatsId) {
      if (this.reverse.peek(previous.reccobeatsId)?.spotifyId === spotifyId) this.reverse.delete(previous.reccobeatsId);
    }
    const previousPartner = this.reverse.peek(reccobeatsId);
    if (previousPartner && previousPartner.spotifyId !== spotifyId) {
      const stale = this.forward.peek(previousPartner.spotifyId);
      if (stale?.kind === 'validated' && stale.reccobeatsId === reccobeatsId) this.forward.delete(previousPartner.spotifyId);
    }
    this.setForward(spotifyId, { kind: 'validated', reccobeatsId, expiresAtMs });
    this.setReverse(reccobeatsId, { spotifyId, expiresAtMs });
  }

  markMissing(spotifyId: string, entry: Extract<ForwardEntry, { kind: 'missing' }>, nowMs: number): void {
    const previous = this.forward.peek(spotifyId);
    if (previous?.kind === 'validated' && isLive(previous, nowMs)) return;
    this.setForward(spotifyId, entry);
  }

  /** Keeps a copy of what Redis answered, for when Redis stops answering. */
  rememberForward(spotifyId: string, entry: ForwardEntry): void {
    this.setForward(spotifyId, entry);
  }

  rememberReverse(reccobeatsId: string, entry: ReverseEntry): void {
    this.setReverse(reccobeatsId, entry);
  }

  forgetForward(spotifyId: string): void {
    this.forward.delete(spotifyId);
  }

  forgetReverse(reccobeatsId: string): void {
    this.reverse.delete(reccobeatsId);
  }

  counts(): MemoryCounts {
    return { ...this.counted };
  }

  /** Removes expired entries; returns how many of each kind. */
  sweep(nowMs: number): MemoryCounts {
    const removed: MemoryCounts = { validated: 0, missing: 0, reverse: 0 };
    // Collected first: deleting while lru-cache iterates would skip entries.
    const expiredForward = [...this.forward.entries()].filter(([, entry]) => !isLive(entry, nowMs));
    for (const [key, entry] of expiredForward) {
      this.forward.delete(key);
      removed[entry.kind] += 1;
    }
    const expiredReverse = [...this.reverse.entries()].filter(([, entry]) => !isLive(entry, nowMs));
    for (const [key] of expiredReverse) this.reverse.delete(key);
    removed.reverse = expiredReverse.length;
    return removed;
  }

  private setForward(spotifyId: string, entry: ForwardEntry): void {
    this.counted[entry.kind] += 1;
    this.forward.set(spotifyId, entry);
  }

  private setReverse(reccobeatsId: string, entry: ReverseEntry): void {
    this.counted.reverse += 1;
    this.reverse.set(reccobeatsId, entry);
  }
}
