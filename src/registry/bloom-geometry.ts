/**
 * The arithmetic of the registry's Bloom filters: how many bits a filter needs to hold `capacity` IDs at a target
 * false-positive rate, and what rate a filter holding `n` IDs has.
 *
 * The filters are blocked (Putze, Sanders, Singler: "Cache-, Hash- and Space-Efficient Bloom Filters"): an ID sets
 * all its k bits inside one block of BLOCK_BITS bits, so testing an ID in a filter reads one 64-byte range of one
 * Redis string (GETRANGE) instead of k scattered bits. Blocks fill unevenly (the number of IDs per block is Poisson
 * distributed), which costs about a fifth more bits than a classic Bloom filter at the same rate; the rate below
 * takes that spread into account.
 */

export const BLOCK_BYTES = 64;
export const BLOCK_BITS = BLOCK_BYTES * 8;
/** Hashes per ID are kept within what one block and the Lua scripts handle comfortably. */
export const MAX_HASHES = 32;

export interface FilterGeometry {
  /** IDs the filter takes before its generation grows by another filter. */
  capacity: number;
  blocks: number;
  /** Bits set per ID. */
  hashes: number;
}

/**
 * The false-positive rate of a blocked filter whose blocks hold `perBlock` IDs on average, each setting `hashes`
 * distinct bits of its block: the chance that the `hashes` bits of an absent ID are all set, over the Poisson
 * spread of IDs per block.
 */
export function blockedFalsePositiveRate(perBlock: number, hashes: number): number {
  if (perBlock <= 0) return 0;
  if (!Number.isFinite(perBlock)) return 1;
  const stayClear = 1 - hashes / BLOCK_BITS;
  const last = Math.ceil(perBlock + 12 * Math.sqrt(perBlock) + 20);
  let probability = Math.exp(-perBlock);
  let clear = 1;
  let rate = 0;
  for (let ids = 1; ids <= last; ids++) {
    probability *= perBlock / ids;
    clear *= stayClear;
    rate += probability * (1 - clear) ** hashes;
  }
  return rate;
}

/** Per target rate: the hash count that allows the most IDs per block, and that many IDs. Computed once per rate. */
const densest = new Map<number, { hashes: number; perBlock: number }>();
const MAX_REMEMBERED_RATES = 64;

function densestFor(rate: number): { hashes: number; perBlock: number } {
  const known = densest.get(rate);
  if (known) return known;
  let best = { hashes: 1, perBlock: 0 };
  // A classic filter's best hash count is log2(1/rate); blocked ones want about the same, give or take a few.
  const around = Math.round(Math.log2(1 / rate));
  for (let hashes = Math.max(1, around - 4); hashes <= Math.min(MAX_HASHES, around + 6); hashes++) {
    // The rate grows with the load, so the largest load within the target is found by bisection.
    let low = 0;
    let high = BLOCK_BITS;
    for (let step = 0; step < 32; step++) {
      const middle = (low + high) / 2;
      if (blockedFalsePositiveRate(middle, hashes) <= rate) low = middle;
      else high = middle;
    }
    if (low > best.perBlock) best = { hashes, perBlock: low };
  }
  if (densest.size >= MAX_REMEMBERED_RATES) densest.delete(densest.keys().next().value!);
  densest.set(rate, best);
  return best;
}

/** The smallest blocked filter holding `capacity` IDs at no more than `rate`. */
export function geometryFor(capacity: number, rate: number): FilterGeometry {
  const { hashes, perBlock } = densestFor(rate);
  return { capacity, blocks: Math.max(1, Math.ceil(capacity / perBlock)), hashes };
}

/** The rate of a filter of this geometry holding `ids` IDs. */
export function expectedFalsePositiveRate(geometry: Pick<FilterGeometry, 'blocks' | 'hashes'>, ids: number): number {
  return blockedFalsePositiveRate(ids / geometry.blocks, geometry.hashes);
}
