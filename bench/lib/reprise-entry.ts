/** What the bench takes from reprise, as one entry for bench/lib/compiled-reprise.ts to compile. */
export { createCacheParts, waitForRedis } from '../../src/cache/create-cache.js';
export { silentLogger } from '../../src/logger.js';
// The steps of a Redis hit, for bench/redis-hit-steps.ts.
export { decodeValue, encodeValue } from '../../src/cache/serializer.js';
export { MemoryTier } from '../../src/cache/memory-tier.js';
export { categoryPrefix, encodeKey } from '../../src/cache/keys.js';
