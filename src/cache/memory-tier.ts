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

/** lru-cache cannot hold null, a value callers may legitimately cache. */
const CACHED_NULL = Symbol('reprise.cached-null');

type Stored = NonNullable<unknown> | typeof CACHED_NULL;

export const DEFAULT_MEMORY_MAX_BYTES = 64 * 1024 * 1024;

export class MemoryTier {
  readonly maxEntries: number;
  readonly maxBytes: number;
  private readonly lru: LRUCache<string, Stored>;
  private readonly purgeTimer: NodeJS.Timeout;

  constructor(options: MemoryTierOptions = {}) {
    knownKeys(options, MEMORY_OPTIONS, 'memory');
    this.maxEntries = wholeNumber(options.maxEntries ?? 1_000, 'memory.maxEntries');
    this.maxBytes = wholeNumber(options.maxBytes ?? DEFAULT_MEMORY_MAX_BYTES, 'memory.maxBytes');
    this.lru = new LRUCache<string, Stored>({
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
    const stored = this.lru.get(key);
    return stored === CACHED_NULL ? null : stored;
  }

  /** `valueBytes`: the serialized size of the value; the key's length is added (keys are ASCII once encoded). */
  set(key: string, value: unknown, ttlMs: number, valueBytes: number): void {
    const sizeBytes = key.length + valueBytes;
    if (sizeBytes > this.maxBytes) {
      // Too big to keep at all: make sure no older copy is served instead.
      this.lru.delete(key);
      return;
    }
    const stored = value === null ? CACHED_NULL : (value as Stored);
    const ttl = Math.max(1, Math.floor(ttlMs));
    this.lru.set(key, stored, { ttl, size: Math.max(1, sizeBytes) });
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
