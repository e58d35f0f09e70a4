/**
 * Redis memory per registry entry on a 20 000-ID sample (bytes are counts, not time): within the bars of the
 * 100 000-ID script `npx tsx bench/registry-memory.ts`, with every bucket still listpack-encoded.
 */
import { describe, expect, it } from 'vitest';
import { BAR_BYTES_PER_MAPPING, BAR_BYTES_PER_MISSING, measureFootprint } from '../../bench/registry-footprint.js';
import { useRedisServer } from '../harness/lifecycle.js';
import { hasRedisServer } from '../harness/redis-servers.js';

describe.skipIf(!hasRedisServer)('ID registry memory footprint', () => {
  const server = useRedisServer();

  it(`costs at most ${BAR_BYTES_PER_MAPPING} bytes per mapping and ${BAR_BYTES_PER_MISSING} per missing ID, a fraction of one key per ID`, async () => {
    const footprint = await measureFootprint(server(), 20_000);
    expect(footprint.registry.mapping).toBeLessThanOrEqual(BAR_BYTES_PER_MAPPING);
    expect(footprint.registry.missing).toBeLessThanOrEqual(BAR_BYTES_PER_MISSING);
    expect(footprint.registry.hashtableBuckets).toBe(0);
    expect(footprint.registry.buckets).toBeGreaterThan(0);
    // The baseline is measured the same way, so the comparison shows the measurement itself is sound.
    expect(footprint.oneKeyPerId.mapping).toBeGreaterThan(3 * footprint.registry.mapping);
    expect(footprint.oneKeyPerId.missing).toBeGreaterThan(3 * footprint.registry.missing);
  }, 120_000);
});
