import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTier } from '../../src/cache/memory-tier.js';

describe('memory tier', () => {
  const tiers: MemoryTier[] = [];
  const tier = (options: ConstructorParameters<typeof MemoryTier>[0]) => {
    const created = new MemoryTier(options);
    tiers.push(created);
    return created;
  };
  afterEach(() => tiers.splice(0).forEach((created) => created.close()));

  it('evicts least recently used entries past maxEntries', () => {
    const memory = tier({ maxEntries: 2 });
    memory.set('a', 1, 60_000, 1);
    memory.set('b', 2, 60_000, 1);
    memory.get('a');
    memory.set('c', 3, 60_000, 1);
    expect(memory.get('b')).toBeUndefined();
    expect(memory.get('a')).toBe(1);
    expect(memory.entries).toBe(2);
  });

  it('keeps within maxBytes and refuses a value larger than the whole bound', () => {
    const memory = tier({ maxBytes: 100 });
    memory.set('a', 'x', 60_000, 60);
    memory.set('b', 'y', 60_000, 60);
    expect(memory.bytes).toBeLessThanOrEqual(100);
    expect(memory.get('a')).toBeUndefined();
    memory.set('b', 'old', 60_000, 10);
    memory.set('b', 'huge', 60_000, 1_000);
    expect(memory.get('b')).toBeUndefined();
  });

  it('holds null as a value and drops expired entries', async () => {
    const memory = tier({});
    memory.set('n', null, 60_000, 4);
    expect(memory.get('n')).toBeNull();
    memory.set('short', 1, 5, 1);
    await expect.poll(() => memory.get('short'), { interval: 5 }).toBeUndefined();
    expect(memory.get('n')).toBeNull();
  });

  it('validates its bounds', () => {
    expect(() => new MemoryTier({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => new MemoryTier({ maxBytes: -1 })).toThrow(/maxBytes/);
  });
});
