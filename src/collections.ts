/** Small helpers over collections, shared by the Redis plumbing and the stores built on it. */

/**
 * `items` grouped by `keyOf(item, index)`: one list per key, in first-seen order of the keys, each list in the
 * order of `items`.
 */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T, index: number) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  let index = 0;
  for (const item of items) {
    const key = keyOf(item, index++);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
