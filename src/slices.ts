/**
 * Large inputs in slices: SPEC "no single call keeps the event loop busy for more than 50 ms". Work on a slice runs
 * synchronously; between slices the event loop gets a turn (setImmediate), so requests, timers and Redis replies
 * are served while a bulk call of hundreds of thousands of IDs is under way. Small inputs (one slice) never wait.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Items per slice: a few milliseconds of work for the cheapest per-item steps (validation, map lookups). */
export const SLICE_SIZE = 2_000;

/** Runs `work` on consecutive slices of `items`, yielding to the event loop between slices. */
export async function forEachSlice<T>(items: readonly T[], work: (slice: readonly T[], start: number) => void | Promise<void>, size = SLICE_SIZE): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    if (start > 0) await nextTurn();
    await work(items.slice(start, start + size), start);
  }
}

/** `items` mapped into an array, yielding to the event loop every `size` items (for Maps and Sets as well). */
export async function mapInSlices<T, U>(items: Iterable<T>, map: (item: T) => U, size = SLICE_SIZE): Promise<U[]> {
  const mapped: U[] = [];
  for (const item of items) {
    if (mapped.length > 0 && mapped.length % size === 0) await nextTurn();
    mapped.push(map(item));
  }
  return mapped;
}
