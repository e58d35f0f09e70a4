/**
 * The in-process tier: lru-cache bounded by entry count and optionally by bytes, each entry with its own TTL.
 * Values are kept as live objects so a hit costs one map lookup; callers treat cached values as read-only.
 */
import { LRUCache } from 'lru-cache';
import { knownKeys, optionNames, wholeNumber } from '../validate.js';

export interface MemoryTierOptions {
  /** Most entries kept (default 1000). */
  maxEntries?: number;
  /** Most bytes kept, counting each entry's key and serialized value (default 64 MiB). */
  maxBytes?: number;
  /** How often expired entries are swept out even if nobody reads them (default 60 s). */
  purgeIntervalMs?: number;
}

const MEMORY_OPTIONS = optionNames<MemoryTierOptions>({ maxEntries: true, maxBytes: true, purgeIntervalMs: true });

/**
 * What the tier holds per key, built once when the value is stored: a hit hands out this very object (it is the
 * engine's answer for a memory hit), so reading allocates nothing. An object, so null is a value like any other.
 */
export interface MemoryEntry {
  readonly kind: 'memory';
  readonly value: unknown;
  /** The value as a settled promise, made by the first read that answers with one and kept for the next ones. */
  settled?: Promise<unknown>;
}

/**
 * A class rather than an object literal: V8 may decide that everything made at a literal's site lives long (after
 * a large memory tier was filled there) and then put every later entry straight into the old generation, where a
 * small, churning tier turns them into frequent full collections.
 */
class Entry implements MemoryEntry {
  readonly kind = 'memory' as const;
  settled: Promise<unknown> | undefined = undefined;

  constructor(readonly value: unknown) {}
}

export const DEFAULT_MEMORY_MAX_BYTES = 64 * 1024 * 1024;

export class MemoryTier {
  readonly maxEntries: number;
  readonly maxBytes: number;
  private readonly lru: LRUCache<string, MemoryEntry>;
  private readonly purgeTimer: NodeJS.Timeout;

  constructor(options: MemoryTierOptions = {}) {
    knownKeys(options, MEMORY_OPTIONS, 'memory');
    this.maxEntries = wholeNumber(options.maxEntries ?? 1_000, 'memory.maxEntries');
    this.maxBytes = wholeNumber(options.maxBytes ?? DEFAULT_MEMORY_MAX_BYTES, 'memory.maxBytes');
    this.lru = new LRUCache<string, MemoryEntry>({
      max: this.maxEntries,
      maxSize: this.maxBytes,
      ttlAutopurge: false,
      updateAgeOnGet: false,
      allowStale: false,
    });
    this.purgeTimer = setInterval(() => this.lru.purgeStale(), wholeNumber(options.purgeIntervalMs ?? 60_000, 'memory.purgeIntervalMs'));
    this.purgeTimer.unref();
  }

  /** The value, or undefined when absent or expired. */
  get(key: string): unknown {
    return this.lru.get(key)?.value;
  }

  /** The entry holding the value, or undefined when absent or expired. */
  entry(key: string): MemoryEntry | undefined {
    return this.lru.get(key);
  }

  /** `valueBytes`: the serialized size of the value; the key's length is added (keys are ASCII once encoded). */
  set(key: string, value: unknown, ttlMs: number, valueBytes: number): void {
    const sizeBytes = key.length + valueBytes;
    if (sizeBytes > this.maxBytes) {
      // Too big to keep at all: make sure no older copy is served instead.
      this.lru.delete(key);
      return;
    }
    const entry: MemoryEntry = new Entry(value);
    const ttl = Math.max(1, Math.floor(ttlMs));
    this.lru.set(key, entry, { ttl, size: Math.max(1, sizeBytes) });
  }

  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  /** Deletes every entry whose key starts with one of `prefixes`; returns the keys removed. */
  deleteByPrefix(prefixes: readonly string[]): string[] {
    const removed: string[] = [];
    for (const key of this.lru.keys()) {
      if (prefixes.some((prefix) => key.startsWith(prefix))) removed.push(key);
    }
    for (const key of removed) this.lru.delete(key);
    return removed;
  }

  clear(): void {
    this.lru.clear();
  }

  get entries(): number {
    return this.lru.size;
  }

  /** Bytes held: keys plus the serialized size of the values. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  close(): void {
    clearInterval(this.purgeTimer);
  }
}
