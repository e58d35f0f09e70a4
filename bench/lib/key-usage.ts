/**
 * What each of reprise's keys costs in Redis: every key under a prefix (SCAN, fine in a bench or a test), its
 * MEMORY USAGE (SAMPLES 0: every element counted) and its PTTL, grouped by what the key holds.
 */
import type { Redis } from 'ioredis';
import { CACHE_CATEGORIES } from '../../src/cache/categories.js';

export interface KeyUsage {
  key: string;
  group: string;
  bytes: number;
  /** Milliseconds left; -1 means the key has no TTL. */
  ttlMs: number;
}

export interface GroupUsage {
  group: string;
  keys: number;
  bytes: number;
  meanBytes: number;
  medianBytes: number;
  maxBytes: number;
  keysWithoutTtl: number;
}

/**
 * The group of a key: its cache category (`recommendations`), a finer name for reprise's own keys inside one
 * (`workflow_artifacts (recent prompts)`, `id_registry (meta)`, `id_registry (buckets)`), or, for keys outside the
 * categories, the name after `@` (`@compute`, `@mood-usage`, `@<prefix>warm-popular-moods`).
 */
export function groupOf(key: string, keyPrefix: string): string {
  const rest = key.slice(keyPrefix.length);
  if (rest.startsWith('@')) return rest.slice(0, rest.indexOf(':') === -1 ? undefined : rest.indexOf(':'));
  const category = CACHE_CATEGORIES.find((name) => rest.startsWith(`${name}:`));
  if (!category) return 'other';
  const part = rest.slice(category.length + 1);
  if (category === 'id_registry') return part.endsWith('meta') ? 'id_registry (meta)' : 'id_registry (buckets)';
  if (part.startsWith('@recent:')) return `${category} (recent prompts)`;
  if (part.startsWith('@set:')) return `${category} (artist sets)`;
  return category;
}

export async function keyUsage(client: Redis, keyPrefix: string): Promise<KeyUsage[]> {
  const usages: KeyUsage[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1_000);
    cursor = next;
    const pipeline = client.pipeline();
    for (const key of keys) {
      pipeline.memory('USAGE', key, 'SAMPLES', 0);
      pipeline.pttl(key);
    }
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, index) => {
      const [usageError, bytes] = replies[2 * index]!;
      const [, ttlMs] = replies[2 * index + 1]!;
      // A key that expired between SCAN and MEMORY USAGE is gone: nothing to count.
      if (usageError || bytes === null) return;
      usages.push({ key, group: groupOf(key, keyPrefix), bytes: Number(bytes), ttlMs: Number(ttlMs) });
    });
  } while (cursor !== '0');
  return usages;
}

export function byGroup(usages: readonly KeyUsage[]): GroupUsage[] {
  const groups = new Map<string, KeyUsage[]>();
  for (const usage of usages) {
    const list = groups.get(usage.group) ?? [];
    list.push(usage);
    groups.set(usage.group, list);
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([group, list]) => {
    const sizes = list.map((usage) => usage.bytes).sort((a, b) => a - b);
    const bytes = sizes.reduce((sum, size) => sum + size, 0);
    return {
      group,
      keys: list.length,
      bytes,
      meanBytes: bytes / list.length,
      medianBytes: sizes[Math.floor((sizes.length - 1) / 2)]!,
      maxBytes: sizes[sizes.length - 1]!,
      keysWithoutTtl: list.filter((usage) => usage.ttlMs === -1).length,
    };
  });
}

/** INFO memory used_memory, the figure maxmemory is compared with. */
export async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error('INFO memory has no used_memory');
  return Number(match[1]);
}
