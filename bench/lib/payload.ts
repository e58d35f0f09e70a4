/**
 * The value every contender stores: about 1 KB of JSON holding a Date, shaped like a cached recommendation list.
 * The same object, key count and TTL for every library, so the figures compare like with like.
 */

export const KEY_COUNT = 1024;
export const TTL_SECONDS = 15 * 60;

export interface BenchValue {
  mood: string;
  computedAt: Date;
  tracks: { id: string; title: string; energy: number; valence: number }[];
}

export function benchValue(seed = 0): BenchValue {
  return {
    mood: 'happy and energetic',
    computedAt: new Date(Date.UTC(2025, 0, 1) + seed * 1_000),
    tracks: Array.from({ length: 10 }, (_, i) => ({
      id: `4uLU6hMCjMI75M1A2tKUQ${String((seed + i) % 10)}`,
      title: `Track number ${i} of the bench`,
      energy: ((seed + i) % 10) / 10,
      valence: ((seed + 3 * i) % 10) / 10,
    })),
  };
}

/** Key `i` of the working set; `i` may grow without bound (it wraps). */
export function benchKey(i: number): string {
  return `k${i & (KEY_COUNT - 1)}`;
}
