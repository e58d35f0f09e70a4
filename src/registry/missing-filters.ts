/**
 * How known-missing marks live in Bloom filters (the `missing: 'bloom'` mode, the default): the plan every process
 * shares and the options that shape it. The Lua side is filter-scripts.ts; the arithmetic is bloom-geometry.ts.
 *
 * Time is cut into generations of GENERATION_SECONDS = missing TTL / GENERATIONS_PER_TTL (a day at the default 7-day
 * TTL). A mark goes into the generation of the moment it is made, and a generation answers until its last mark's
 * TTL has run out: a mark lives at least its TTL and at most one generation longer. So GENERATIONS_PER_TTL + 1
 * generations are live at any time, and the target false-positive rate is shared out among them.
 *
 * Each generation of each shard starts with one filter sized for `capacity / SHARD_COUNT` IDs. When it is full the
 * generation grows another filter twice as large at half the rate (a scalable Bloom filter, Almeida et al. 2007),
 * so a generation's rate stays within its share however many IDs it takes: the sum of the halves never reaches it.
 *
 * A filter cannot say why an ID is missing nor forget one ID: only the `not_found` reason (what ReccoBeats answers
 * by leaving an ID out) goes into the filters. Other reasons stay exact marks, which keep their reason, and a
 * validated mapping always wins over a filter hit.
 */
import { RepriseOptionsError } from '../errors.js';
import { knownKeys, optionNames, positiveNumber, wholeNumber } from '../validate.js';
import { BLOCK_BITS, BLOCK_BYTES, expectedFalsePositiveRate, geometryFor, type FilterGeometry } from './bloom-geometry.js';
import { REGISTRY_EPOCH_SECONDS } from './entries.js';
import { SHARD_COUNT } from './layout.js';

export const MISSING_MARK_MODES = ['bloom', 'exact'] as const;
export type MissingMarkMode = (typeof MISSING_MARK_MODES)[number];
export const DEFAULT_MISSING_MARK_MODE: MissingMarkMode = 'bloom';

/** Known-missing IDs one generation takes before its filters grow (a day's worth at the default TTL). */
export const DEFAULT_BLOOM_CAPACITY = 100_000;
/** Chance that an ID never marked is reported missing, over all live generations together. */
export const DEFAULT_BLOOM_FALSE_POSITIVE_RATE = 0.001;

export const GENERATIONS_PER_TTL = 7;
/** Filters one generation of one shard may grow to; past them the last filter takes every further ID. */
export const MAX_FILTERS_PER_GENERATION = 12;
/** A filter is one Redis string; Redis refuses strings over 512 MB. */
const MAX_FILTER_BYTES = 256 * 1024 * 1024;

export interface BloomOptions {
  /** Known-missing IDs one generation holds before its filters grow (default 100 000). */
  capacity?: number;
  /** Target false-positive rate over all live generations (default 0.001: one ID in a thousand never marked). */
  falsePositiveRate?: number;
}

export const BLOOM_OPTIONS = optionNames<BloomOptions>({ capacity: true, falsePositiveRate: true });

/** The settings that shape the filters, checked (`option` names where they were given, e.g. `idRegistry.bloom`). */
export function bloomSettingsOf(options: unknown, option: string): Required<BloomOptions> {
  knownKeys(options, BLOOM_OPTIONS, option);
  const given = options as BloomOptions | undefined;
  const capacity = wholeNumber(given?.capacity ?? DEFAULT_BLOOM_CAPACITY, `${option}.capacity`, SHARD_COUNT, 1_000_000_000);
  const falsePositiveRate = positiveNumber(given?.falsePositiveRate ?? DEFAULT_BLOOM_FALSE_POSITIVE_RATE, `${option}.falsePositiveRate`);
  if (falsePositiveRate > 0.1 || falsePositiveRate < 1e-9) {
    throw new RepriseOptionsError('out_of_range', `${option}.falsePositiveRate`, `${option}.falsePositiveRate must be from 1e-9 to 0.1, got ${falsePositiveRate}`);
  }
  return { capacity, falsePositiveRate };
}

export function missingMarkModeOf(value: unknown, option: string): MissingMarkMode {
  if (value === undefined) return DEFAULT_MISSING_MARK_MODE;
  if (typeof value !== 'string' || !(MISSING_MARK_MODES as readonly string[]).includes(value)) {
    throw new RepriseOptionsError('invalid_value', option, `${option} must be 'bloom' or 'exact', got ${JSON.stringify(value)}`);
  }
  return value as MissingMarkMode;
}

/** The filters of one generation of one shard, as a stats script reports them. */
export interface ShardGenerationFilters {
  generation: number;
  filters: { count: number; capacity: number; blocks: number; hashes: number; bitsSet: number | null }[];
}

export interface GenerationStats {
  generation: number;
  /** When marks started going into it, and when it stops answering. */
  startsAt: string;
  expiresAt: string;
  /** Filters across all shards. */
  filters: number;
  /** IDs added (a repeated ID within a generation counts once; a false positive on adding is not counted). */
  estimatedCount: number;
  capacity: number;
  /** Share of the generation's bits set. */
  fillRatio: number;
  /** Chance that an ID never marked is found in this generation, from its counts. */
  expectedFalsePositiveRate: number;
  bytes: number;
}

export interface MissingFilterStats {
  capacity: number;
  falsePositiveRate: number;
  generationSeconds: number;
  /** Chance that an ID never marked is reported missing now, over every live generation (their sum, an upper bound). */
  expectedFalsePositiveRate: number;
  estimatedCount: number;
  bytes: number;
  generations: GenerationStats[];
}

export class MissingFilterPlan {
  readonly mode: MissingMarkMode;
  readonly capacity: number;
  readonly falsePositiveRate: number;
  readonly ttlSeconds: number;
  readonly generationSeconds: number;
  /** Filter i of a shard's generation, i = 0 .. MAX_FILTERS_PER_GENERATION - 1 (fewer when one would be too large). */
  readonly filters: readonly FilterGeometry[];
  /** The geometries as script arguments: blocks, hashes and capacity of each filter in turn. */
  readonly geometryArgs: readonly number[];

  constructor(mode: MissingMarkMode, settings: Required<BloomOptions>, ttlSeconds: number) {
    this.mode = mode;
    this.capacity = settings.capacity;
    this.falsePositiveRate = settings.falsePositiveRate;
    this.ttlSeconds = ttlSeconds;
    this.generationSeconds = Math.max(1, Math.ceil(ttlSeconds / GENERATIONS_PER_TTL));
    // Each live generation gets an equal share of the rate; filter i of a generation gets half of what filter i-1 got.
    const generationRate = this.falsePositiveRate / this.liveGenerations;
    const perShard = Math.ceil(this.capacity / SHARD_COUNT);
    const filters: FilterGeometry[] = [];
    for (let index = 0; index < MAX_FILTERS_PER_GENERATION; index++) {
      const geometry = geometryFor(perShard * 2 ** index, generationRate / 2 ** (index + 1));
      if (geometry.blocks * BLOCK_BYTES > MAX_FILTER_BYTES) break;
      filters.push(geometry);
    }
    if (filters.length === 0) {
      throw new RepriseOptionsError(
        'out_of_range',
        'bloom',
        `bloom: a capacity of ${this.capacity} IDs at a false-positive rate of ${this.falsePositiveRate} needs filters larger than one Redis string may be; lower the capacity or raise the rate`,
      );
    }
    this.filters = filters;
    this.geometryArgs = filters.flatMap((filter) => [filter.blocks, filter.hashes, filter.capacity]);
  }

  /** Generations that may hold live marks: the current one and GENERATIONS_PER_TTL before it (or so). */
  get liveGenerations(): number {
    return Math.ceil(this.ttlSeconds / this.generationSeconds) + 1;
  }

  /** Whether a mark with this reason goes into the filters (in bloom mode, `not_found` marks only). */
  takes(reason: string): boolean {
    return this.mode === 'bloom' && reason === 'not_found';
  }

  /** The generation of a mark made at `relativeSeconds` (registry seconds, see entries.ts). */
  generationAt(relativeSeconds: number): number {
    return Math.floor(relativeSeconds / this.generationSeconds);
  }

  /** The generation a mark expiring at `expiresAtMs` was made in. */
  generationOfExpiry(expiresAtMs: number): number {
    return this.generationAt(Math.round(expiresAtMs / 1_000) - REGISTRY_EPOCH_SECONDS - this.ttlSeconds);
  }

  /** Registry seconds at which a generation stops answering: its last possible mark's TTL has run out. */
  endOf(generation: number): number {
    return (generation + 1) * this.generationSeconds + this.ttlSeconds;
  }

  /** When a mark found in `generation` expires, in ms since the Unix epoch. */
  expiryOf(generation: number): number {
    return (this.endOf(generation) + REGISTRY_EPOCH_SECONDS) * 1_000;
  }

  /** First and last live generation at `relativeSeconds`. */
  window(relativeSeconds: number): { first: number; last: number } {
    return { first: Math.floor((relativeSeconds - this.ttlSeconds) / this.generationSeconds), last: this.generationAt(relativeSeconds) };
  }

  /** Per-generation figures from every shard's report (IDs spread evenly over the shards). */
  summarize(shards: readonly ShardGenerationFilters[][]): MissingFilterStats {
    const byGeneration = new Map<number, { filters: number; count: number; capacity: number; bits: number; bitsSet: number; rateSum: number }>();
    for (const shard of shards) {
      for (const { generation, filters } of shard) {
        const figures = byGeneration.get(generation) ?? { filters: 0, count: 0, capacity: 0, bits: 0, bitsSet: 0, rateSum: 0 };
        for (const filter of filters) {
          figures.filters += 1;
          figures.count += filter.count;
          figures.capacity += filter.capacity;
          figures.bits += filter.blocks * BLOCK_BITS;
          figures.bitsSet += filter.bitsSet ?? 0;
          // A sum (an upper bound, and exact enough at these rates) rather than 1 - product, which rounds to 0.
          figures.rateSum += expectedFalsePositiveRate(filter, filter.count);
        }
        byGeneration.set(generation, figures);
      }
    }
    const generations = [...byGeneration]
      .sort(([a], [b]) => b - a)
      .map(([generation, figures]): GenerationStats => ({
        generation,
        startsAt: new Date((generation * this.generationSeconds + REGISTRY_EPOCH_SECONDS) * 1_000).toISOString(),
        expiresAt: new Date(this.expiryOf(generation)).toISOString(),
        filters: figures.filters,
        estimatedCount: figures.count,
        capacity: figures.capacity,
        fillRatio: figures.bits === 0 ? 0 : figures.bitsSet / figures.bits,
        // An ID belongs to one shard of SHARD_COUNT: the generation's rate is the shards' average.
        expectedFalsePositiveRate: figures.rateSum / SHARD_COUNT,
        bytes: figures.bits / 8,
      }));
    return {
      capacity: this.capacity,
      falsePositiveRate: this.falsePositiveRate,
      generationSeconds: this.generationSeconds,
      expectedFalsePositiveRate: generations.reduce((sum, generation) => sum + generation.expectedFalsePositiveRate, 0),
      estimatedCount: generations.reduce((sum, generation) => sum + generation.estimatedCount, 0),
      bytes: generations.reduce((sum, generation) => sum + generation.bytes, 0),
      generations,
    };
  }
}
