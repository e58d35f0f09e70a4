/**
 * The filter plan without Redis: geometry within its target rate, generations that cover the missing TTL, the rate
 * shared out so the whole window stays within the target, and option checks (on IdRegistry and createReprise).
 */
import { describe, expect, it } from 'vitest';
import { createReprise } from '../../src/reprise.js';
import { silentLogger } from '../../src/logger.js';
import { RepriseOptionsError } from '../../src/errors.js';
import { blockedFalsePositiveRate, expectedFalsePositiveRate, geometryFor } from '../../src/registry/bloom-geometry.js';
import { REGISTRY_EPOCH_SECONDS } from '../../src/registry/entries.js';
import { SHARD_COUNT } from '../../src/registry/layout.js';
import {
  DEFAULT_BLOOM_CAPACITY,
  DEFAULT_BLOOM_FALSE_POSITIVE_RATE,
  GENERATIONS_PER_TTL,
  MissingFilterPlan,
  bloomSettingsOf,
} from '../../src/registry/missing-filters.js';
import { memoryRegistry } from './helpers.js';

const WEEK = 7 * 24 * 60 * 60;

function plan(settings: { capacity?: number; falsePositiveRate?: number } = {}, ttlSeconds = WEEK): MissingFilterPlan {
  return new MissingFilterPlan('bloom', bloomSettingsOf(settings, 'bloom'), ttlSeconds);
}

describe('Bloom filter geometry', () => {
  it('holds its capacity within the target rate, and the rate rises with the load', () => {
    for (const [capacity, rate] of [[6_250, 6.25e-5], [100_000, 1e-3], [400, 1e-2], [1_000_000, 1e-6]] as const) {
      const geometry = geometryFor(capacity, rate);
      expect(expectedFalsePositiveRate(geometry, capacity)).toBeLessThanOrEqual(rate);
      // Not wastefully large either: a fifth fewer blocks would miss the target.
      expect(expectedFalsePositiveRate({ ...geometry, blocks: Math.floor(geometry.blocks * 0.8) }, capacity)).toBeGreaterThan(rate);
      expect(expectedFalsePositiveRate(geometry, 2 * capacity)).toBeGreaterThan(rate);
    }
    expect(blockedFalsePositiveRate(0, 12)).toBe(0);
  });

  it('keeps the whole window within the target: each filter gets half the share of the one before', () => {
    const defaults = plan();
    expect(defaults.capacity).toBe(DEFAULT_BLOOM_CAPACITY);
    expect(defaults.falsePositiveRate).toBe(DEFAULT_BLOOM_FALSE_POSITIVE_RATE);
    expect(defaults.generationSeconds).toBe(24 * 60 * 60);
    expect(defaults.liveGenerations).toBe(GENERATIONS_PER_TTL + 1);
    // Every filter of every live generation full to capacity: the sum of their rates stays under the target.
    const perGeneration = defaults.filters.reduce((sum, filter) => sum + expectedFalsePositiveRate(filter, filter.capacity), 0);
    expect(perGeneration * defaults.liveGenerations).toBeLessThan(DEFAULT_BLOOM_FALSE_POSITIVE_RATE);
    expect(defaults.filters[0]!.capacity).toBe(DEFAULT_BLOOM_CAPACITY / SHARD_COUNT);
    expect(defaults.filters[1]!.capacity).toBe(2 * defaults.filters[0]!.capacity);
    expect(defaults.geometryArgs).toHaveLength(3 * defaults.filters.length);
  });

  it('cuts time into generations that cover the TTL: a mark lives at least its TTL and at most one generation more', () => {
    const short = plan({}, 60);
    expect(short.generationSeconds).toBe(Math.ceil(60 / GENERATIONS_PER_TTL));
    for (const markedAt of [0, 1, 8, 9, 100, 12_345]) {
      const generation = short.generationAt(markedAt);
      const end = short.endOf(generation);
      expect(end).toBeGreaterThanOrEqual(markedAt + 60);
      expect(end).toBeLessThanOrEqual(markedAt + 60 + short.generationSeconds);
      // Live exactly while its end is ahead.
      const { first, last } = short.window(end - 1);
      expect(generation).toBeGreaterThanOrEqual(first);
      expect(generation).toBeLessThanOrEqual(last);
      expect(short.window(end).first).toBeGreaterThan(generation);
      expect(last - first + 1).toBeLessThanOrEqual(short.liveGenerations);
      // A mark's expiry leads back to its generation.
      expect(short.generationOfExpiry((markedAt + 60 + REGISTRY_EPOCH_SECONDS) * 1_000)).toBe(generation);
    }
  });

  it('reports per generation from shard figures: counts, fill, expected rate', () => {
    const small = plan({ capacity: 1_600 });
    const filter = small.filters[0]!;
    const stats = small.summarize(
      Array.from({ length: SHARD_COUNT }, () => [
        { generation: 20_000, filters: [{ count: filter.capacity, capacity: filter.capacity, blocks: filter.blocks, hashes: filter.hashes, bitsSet: filter.blocks * 128 }] },
      ]),
    );
    expect(stats.generations).toHaveLength(1);
    expect(stats.generations[0]).toMatchObject({ generation: 20_000, filters: SHARD_COUNT, estimatedCount: 1_600, capacity: 1_600, fillRatio: 0.25 });
    expect(stats.generations[0]!.expectedFalsePositiveRate).toBeCloseTo(expectedFalsePositiveRate(filter, filter.capacity), 12);
    expect(stats.expectedFalsePositiveRate).toBe(stats.generations[0]!.expectedFalsePositiveRate);
    expect(stats.bytes).toBe(SHARD_COUNT * filter.blocks * 64);
  });
});

describe('missing-mark options', () => {
  it('refuses settings whose first filter could not be one Redis string, instead of storing no mark at all', () => {
    const make = () => new MissingFilterPlan('bloom', { capacity: 500_000_000, falsePositiveRate: 1e-9 }, 7 * 86_400);
    expect(make).toThrow(RepriseOptionsError);
    expect(make).toThrow(/lower the capacity or raise the rate/);
  });

  it('refuses a wrong mode, capacity or rate with a coded RepriseOptionsError', () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ missing: 'fuzzy' }, 'invalid_value', 'missing'],
      [{ bloom: { capacity: 0 } }, 'out_of_range', 'bloom.capacity'],
      [{ bloom: { capacity: 1.5 } }, 'out_of_range', 'bloom.capacity'],
      [{ bloom: { falsePositiveRate: 0.5 } }, 'out_of_range', 'bloom.falsePositiveRate'],
      [{ bloom: { falsePositiveRate: '0.01' } }, 'invalid_type', 'bloom.falsePositiveRate'],
      [{ bloom: { capacty: 10 } }, 'unknown_option', 'bloom.capacty'],
    ];
    for (const [options, code, option] of cases) {
      let caught: unknown;
      try {
        memoryRegistry(options as never);
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(options)).toBeInstanceOf(RepriseOptionsError);
      expect(caught).toMatchObject({ code, option });
    }
  });

  it('takes idRegistry.missing and idRegistry.bloom in createReprise, checked before anything opens', async () => {
    await expect(createReprise({ logger: silentLogger, idRegistry: { missing: 'exactly' as never } })).rejects.toMatchObject({
      code: 'invalid_value',
      option: 'idRegistry.missing',
    });
    await expect(createReprise({ logger: silentLogger, idRegistry: { bloom: { capacity: -1 } } })).rejects.toMatchObject({
      code: 'out_of_range',
      option: 'idRegistry.bloom.capacity',
    });
    const reprise = await createReprise({ logger: silentLogger, warmSchedule: false, idRegistry: { missing: 'exact' } });
    try {
      expect((await reprise.idRegistry.stats()).missingMarks).toEqual({ mode: 'exact', exact: 0, inFilters: 0, filters: null });
    } finally {
      await reprise.close();
    }
  });

  it('defaults to bloom mode; in memory, marks of every reason stay exact', async () => {
    const registry = memoryRegistry();
    await registry.bulkMarkMissing(['4uLU6hMCjMI75M1A2tKUQC', '7ouMYWpwJ422jRcDASZB7P']);
    expect((await registry.stats()).missingMarks).toEqual({ mode: 'bloom', exact: 2, inFilters: 0, filters: null });
    expect(await registry.isKnownMissing('4uLU6hMCjMI75M1A2tKUQC')).toBe(true);
    await registry.close();
  });
});
