/**
 * Walking and clearing a key space: SCAN on every master (never KEYS), UNLINK grouped by hash slot so a Cluster
 * never answers CROSSSLOT, one pipeline per node per batch.
 */
import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { groupBy } from '../collections.js';
import { isCluster, type RedisClient } from './connection.js';
import type { RedisGateway } from './gateway.js';

const SCAN_BATCH = 1_000;

/** Escapes SCAN MATCH glob characters so a prefix matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** The connections that hold data: the client itself, or every master of a Cluster. */
export function masterConnections(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/** Groups keys by hash slot: each group may share one multi-key command on a Cluster. */
export function groupBySlot<T extends string>(keys: readonly T[]): Map<number, T[]> {
  return groupBy(keys, (key) => calculateSlot(key));
}

export interface UnlinkReport {
  /** Keys that matched and were sent to UNLINK. */
  matched: Set<string>;
  /** What UNLINK reported as removed. */
  removed: number;
  /** False when Redis failed part way: some matching keys may remain. */
  complete: boolean;
}

/** Removes every key matching `pattern` (a SCAN MATCH glob) and accepted by `accept`, on every master. */
export async function unlinkMatching(
  gateway: RedisGateway,
  pattern: string,
  accept: (key: string) => boolean = () => true,
): Promise<UnlinkReport> {
  const report: UnlinkReport = { matched: new Set(), removed: 0, complete: true };
  const client = gateway.client;
  if (!client || !gateway.available) return { ...report, complete: client === null };

  // Masters are walked side by side, each one page at a time; a master that stops answering ends its own walk only.
  const walk = async (node: Redis): Promise<boolean> => {
    let cursor = '0';
    do {
      const page = await gateway.attempt('scan', () => node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH));
      if (!page.ok) return false;
      const [next, scanned] = page.value;
      cursor = next;
      const keys = scanned.filter(accept);
      if (keys.length === 0) continue;
      for (const key of keys) report.matched.add(key);
      const removed = await gateway.attempt('unlink', () => unlinkOnNode(node, keys), { write: true });
      if (!removed.ok) return false;
      report.removed += removed.value;
    } while (cursor !== '0');
    return true;
  };
  const walked = await Promise.all(masterConnections(client).map(walk));
  return { ...report, complete: walked.every(Boolean) };
}

/** UNLINK keys that all live on `node`, one command per slot, all in one round trip. */
async function unlinkOnNode(node: Redis, keys: string[]): Promise<number> {
  const pipeline = node.pipeline();
  for (const group of groupBySlot(keys).values()) pipeline.unlink(...group);
  const results = (await pipeline.exec()) ?? [];
  let removed = 0;
  for (const [error, count] of results) {
    if (error) throw error;
    removed += Number(count);
  }
  return removed;
}
