/** What the reprise bench case takes from reprise, as one entry for bench/lib/compiled-reprise.ts to compile. */
export { createCacheParts, waitForRedis } from '../../src/cache/create-cache.js';
export { silentLogger } from '../../src/logger.js';
