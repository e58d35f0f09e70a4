/**
 * SPEC "Every in-process table is bounded in bytes as well as entries": 1,500 writes and reads under keys close to the
 * longest allowed leave the heap within the configured memory bound plus the change log's fixed bound, not growing
 * with the keys. Heap sizes are compared after a full garbage collection, with a margin far below what unbounded
 * tables would keep (over 20 MB here).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createCache, MAX_KEY_PART_LENGTH } from '../../src/index.js';
import { closeAfterEachTest, useRedisServer } from '../harness/lifecycle.js';
import { recordingLogger } from '../harness/logger.js';
import { hasRedisServer } from '../harness/redis-servers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** A key of 15 maximal parts: about 7.7 KB once encoded, unique per `i`. */
function longKey(i: number): string[] {
  return Array.from({ length: 15 }, (_, part) => `${i}-${part}-`.padEnd(MAX_KEY_PART_LENGTH, 'x'));
}

const MEMORY_MAX_BYTES = 1_000_000;
const CHANGE_LOG_BYTES = 2 * 1024 * 1024; // 1 Mi characters of key, two bytes each at most
const MARGIN_BYTES = 4 * 1024 * 1024;

describe.skipIf(!hasRedisServer)('memory bounds', () => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<{ close(): unknown }>();

  it('keeps the heap within the configured bound after 1,500 writes and 1,500 reads under long keys', async () => {
    const cache = await createCache({
      redisUrl: server().url, keyPrefix: 'bounds:', memory: { maxEntries: 100_000, maxBytes: MEMORY_MAX_BYTES }, logger: recordingLogger(),
      redisConnectTimeoutMs: 15_000, env: {},
    });
    opened.push(cache);
    const reader = await createCache({
      redisUrl: server().url, keyPrefix: 'bounds:', memory: { maxEntries: 100_000, maxBytes: MEMORY_MAX_BYTES }, logger: recordingLogger(),
      redisConnectTimeoutMs: 15_000, env: {},
    });
    opened.push(reader);
    await cache.set('recommendations', 'warm-up', 1);
    await reader.get('recommendations', 'warm-up');
    const before = heapAfterGc();

    for (let i = 0; i < 1_500; i++) await cache.set('recommendations', longKey(i), { i });
    for (let i = 0; i < 1_500; i++) expect(await reader.get('recommendations', longKey(i))).toEqual({ i });

    const grown = heapAfterGc() - before;
    for (const instance of [cache, reader]) {
      const memory = instance.stats().tiers.memory;
      expect(memory.bytes).toBeLessThanOrEqual(MEMORY_MAX_BYTES);
      expect(memory.entries).toBeLessThan(1_500);
    }
    // Two instances, each with its memory tier and change log at their bounds.
    expect(grown).toBeLessThan(2 * (MEMORY_MAX_BYTES + CHANGE_LOG_BYTES) + MARGIN_BYTES);
  });
});
