/**
 * What a Redis node's `maxmemory` and `maxmemory-policy` mean for reprise, in one sentence an operator can act on.
 *
 * Every key reprise writes carries a TTL (cache entries, registry buckets and meta hashes, locks and leases, warm
 * records, mood usage), so the volatile-* policies can evict any of them just as the allkeys-* ones can; what tells
 * policies apart for reprise is whether they evict by use and whether they refuse writes. The invalidation channel
 * is pub/sub, not a key: no policy touches it. See README "Sizing Redis".
 */

/** The policies Redis and Valkey know; anything else a node reports is `unknown` (a bounded label set). */
export const MEMORY_POLICIES = [
  'noeviction',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
  'unknown',
] as const;
export type MemoryPolicy = (typeof MEMORY_POLICIES)[number];

export function memoryPolicyOf(text: string): MemoryPolicy {
  return (MEMORY_POLICIES as readonly string[]).includes(text) ? (text as MemoryPolicy) : 'unknown';
}

/**
 * - `unbounded`: no maxmemory; Redis grows until the host runs out of memory.
 * - `by_use`: evicts the least recently or least frequently used keys; what reprise keeps using (held locks, which
 *   are renewed, and the registry's meta hashes, read by every registry call) goes last, and what goes is recreated.
 * - `blind`: evicts without regard to use (at random, or nearest expiry first: the 5-30 s locks before any cache
 *   entry), so a lock in use can go and a second worker run the same computation or warm.
 * - `refuses_writes`: noeviction, full: writes are refused with OOM.
 * - `unknown`: a policy reprise does not know.
 */
export type PolicyVerdict = 'unbounded' | 'by_use' | 'blind' | 'refuses_writes' | 'unknown';

export function judgePolicy(policy: MemoryPolicy, maxBytes: number): PolicyVerdict {
  if (maxBytes === 0) return 'unbounded';
  switch (policy) {
    case 'allkeys-lru':
    case 'allkeys-lfu':
    case 'volatile-lru':
    case 'volatile-lfu':
      return 'by_use';
    case 'allkeys-random':
    case 'volatile-random':
    case 'volatile-ttl':
      return 'blind';
    case 'noeviction':
      return 'refuses_writes';
    default:
      return 'unknown';
  }
}

/** The log line for a node's settings: a warning when reprise will suffer from them, else information. */
export function describePolicy(node: string, policy: MemoryPolicy, maxBytes: number): { level: 'info' | 'warn'; message: string } {
  const settings = `Redis ${node}: maxmemory ${maxBytes === 0 ? '0 (no limit)' : `${maxBytes} bytes`}, maxmemory-policy ${policy}`;
  const advice = 'volatile-lru suits reprise (README "Sizing Redis")';
  switch (judgePolicy(policy, maxBytes)) {
    case 'unbounded':
      return { level: 'info', message: `${settings}: nothing is evicted before entries expire; Redis grows with the traffic until they do. Set maxmemory with ${advice}` };
    case 'by_use':
      return {
        level: 'info',
        message: `${settings}: when full, Redis evicts the least used keys; reprise recreates what it loses (lost entries are computed again, registry counts are corrected by the next sweep, a lost lock is taken anew)`,
      };
    case 'blind':
      return {
        level: 'warn',
        message: `${settings}: when full, Redis evicts keys whatever their use${policy === 'volatile-ttl' ? ', nearest expiry first: reprise\'s short locks and leases go before any cache entry' : ''}, so a lock still held can go and another worker then runs the same computation or warm. ${advice}`,
      };
    case 'refuses_writes':
      return {
        level: 'warn',
        message: `${settings}: when full, Redis refuses writes (OOM). reprise then still reads from Redis, keeps new entries in each process's memory only (stats().tiers.redis.refusedWrites), keeps ID registry marks in memory to write later, and holds locks in this process only (another worker may warm at the same time). ${advice}`,
      };
    default:
      return { level: 'warn', message: `${settings}: a policy reprise does not know; ${advice}` };
  }
}
