/**
 * The registry and scenario sections measure what they say: counts of round trips, commands and upstream calls
 * (never times) from real redis-servers, the demo back end and the ReccoBeats simulator.
 */
import { describe, expect, it } from 'vitest';
import { benchBulkCheck } from '../../bench/sections/registry.js';
import { BASELINE, COLD, POPULAR, RETURNING, RETURNING_ELSEWHERE, TWEAKED, WARM_SYSTEM, benchScenarios } from '../../bench/sections/scenarios.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { hasRedisServer } from '../harness/redis-servers.js';

describe.skipIf(!hasRedisServer).each(BACKEND_NAMES)('registry bulk check bench on %s Redis', (backendName) => {
  it('finds the same known-missing IDs both ways; the bulk check costs one round trip per node, the loop one per ID', async () => {
    const [loop, bulk] = await benchBulkCheck(backendName, 2);
    expect(loop!.method).toBe('per-ID loop');
    expect(bulk!.method).toBe('bulkCheckMissing');
    expect(loop!.knownMissing).toBe(400);
    expect(bulk!.knownMissing).toBe(400);
    expect(bulk!.roundTripsPerNode).toBe(1);
    expect(bulk!.nodes).toBe(backendName === 'cluster' ? 3 : 1);
    if (backendName === 'standalone') expect(loop!.roundTripsPerNode).toBe(1_000);
    expect(bulk!.commandsPerCheck).toBeLessThan(loop!.commandsPerCheck / 10);
    expect(bulk!.redisErrors).toBe(0);
  });
});

describe.skipIf(!hasRedisServer)('latency scenarios bench', () => {
  it('answers each scenario from where it claims, with the upstream calls that implies', async () => {
    // Upstream waits at 0: this checks what each scenario does, not how long it takes.
    const { rows, markdown } = await benchScenarios({ requests: 2, latencyScale: 0 }, () => {});
    const byName = new Map(rows.map((row) => [row.name, row]));
    expect([...byName.keys()]).toEqual([BASELINE, COLD, WARM_SYSTEM, RETURNING, RETURNING_ELSEWHERE, POPULAR, TWEAKED]);
    for (const row of rows) expect(row.unexpectedSources).toBe(0);

    const baseline = byName.get(BASELINE)!;
    expect(baseline.reccobeatsRequests).toBeGreaterThan(2);
    expect(baseline).toMatchObject({ moodAnalysisCalls: 1, topTracksCalls: 1 });
    // A cold cache has nothing to reuse yet: the same upstream work as no cache at all.
    expect(byName.get(COLD)).toMatchObject({ reccobeatsRequests: baseline.reccobeatsRequests, moodAnalysisCalls: 1, topTracksCalls: 1 });
    // A new user on a system others warmed: their own mood and top tracks are fetched, most tracks are known already.
    const warm = byName.get(WARM_SYSTEM)!;
    expect(warm).toMatchObject({ moodAnalysisCalls: 1, topTracksCalls: 1 });
    expect(warm.reccobeatsRequests).toBeGreaterThan(0);
    expect(warm.reccobeatsRequests).toBeLessThan(baseline.reccobeatsRequests);
    expect(warm.reccobeatsAvoided).toBeGreaterThan(warm.reccobeatsRequests);
    for (const sample of warm.samples) expect(sample.reccobeatsRequests + sample.reccobeatsAvoided!).toBeGreaterThan(baseline.reccobeatsRequests / 2);
    expect(markdown.split('\n').find((line) => line.includes(WARM_SYSTEM))).toContain('| 0.75 |');
    for (const name of [RETURNING, RETURNING_ELSEWHERE, POPULAR]) {
      expect(byName.get(name)).toMatchObject({ reccobeatsRequests: 0, moodAnalysisCalls: 0, topTracksCalls: 0 });
    }
    // The tweaked prompt is a new mood (one analysis) but reuses seeds and recommendations.
    expect(byName.get(TWEAKED)).toMatchObject({ reccobeatsRequests: 0, moodAnalysisCalls: 1, topTracksCalls: 0 });
  });
});
