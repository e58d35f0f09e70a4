/** The registry without Redis: same semantics as on Redis (expiry, counts, one-to-one pairs), bounded memory. */
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { InvalidIdError } from '../../src/registry/ids.js';
import type { IdRegistry } from '../../src/registry/id-registry.js';
import { pollUntil } from '../harness/redis-servers.js';
import { recordSpans } from '../harness/tracing.js';
import { TestClock, freshPairs, freshSpotifyIds, memoryRegistry, type RegistryOverrides } from './helpers.js';

const opened: IdRegistry[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((registry) => registry.close()));
});

function open(options: RegistryOverrides = {}): IdRegistry {
  const registry = memoryRegistry(options);
  opened.push(registry);
  return registry;
}

async function metricValue(metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, label: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  return values.find((v) => Object.entries(label).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe('ID registry in memory mode', () => {
  it('maps validated IDs both ways and remembers missing IDs with their reason', async () => {
    const registry = open();
    const [[spotifyId, reccobeatsId], [other]] = freshPairs(2) as [[string, string], [string, string]];
    await registry.markValidated(spotifyId, reccobeatsId.toUpperCase());
    await registry.markMissing(other, 'unavailable');

    expect(await registry.getValidatedId(spotifyId)).toBe(reccobeatsId);
    expect(await registry.getSpotifyId(reccobeatsId)).toBe(spotifyId);
    expect(await registry.getSpotifyId(reccobeatsId.toUpperCase())).toBe(spotifyId);
    expect(await registry.isKnownMissing(other)).toBe(true);
    expect(await registry.getMissingReason(other)).toBe('unavailable');
    expect(await registry.isKnownMissing(spotifyId)).toBe(false);
    expect(await registry.getValidatedId(other)).toBeNull();

    const stats = await registry.stats();
    expect(stats).toMatchObject({ backend: 'memory', validated: 1, missing: 1, redis: null });
    expect(stats.ttls).toEqual({ validatedSeconds: 30 * 86_400, missingSeconds: 7 * 86_400 });
  });

  it('expires entries by their own TTL, counts them until a sweep, and the sweep removes and recounts', async () => {
    const clock = new TestClock();
    const registry = open({ now: clock.now, ttls: { validatedSeconds: 100, missingSeconds: 10 } });
    const pairs = freshPairs(3);
    const missing = freshSpotifyIds(4);
    await registry.bulkMarkValidated(pairs);
    await registry.bulkMarkMissing(missing);

    clock.advance(10);
    expect(await registry.isKnownMissing(missing[0]!)).toBe(false);
    expect(await registry.getValidatedId(pairs[0]![0])).toBe(pairs[0]![1]);
    // Expired but not yet swept: reads ignore them, counts still include them.
    expect((await registry.stats()).missing).toBe(4);

    const sweep = await registry.sweep();
    expect(sweep).toMatchObject({ backend: 'memory', removed: { validated: 0, missing: 4, reverse: 0 }, complete: true });
    expect(await registry.stats()).toMatchObject({ validated: 3, missing: 0 });

    clock.advance(90);
    expect(await registry.bulkGetValidated(pairs.map(([id]) => id))).toEqual(new Map());
    expect(await registry.getSpotifyId(pairs[1]![1])).toBeNull();
    expect((await registry.sweep()).removed).toEqual({ validated: 3, missing: 0, reverse: 3 });
    expect(await registry.stats()).toMatchObject({ validated: 0, missing: 0 });
  });

  it('sweeps on its timer', async () => {
    const clock = new TestClock();
    const registry = open({ now: clock.now, ttls: { missingSeconds: 5 }, sweepIntervalMs: 20 });
    await registry.bulkMarkMissing(freshSpotifyIds(3));
    expect((await registry.stats()).missing).toBe(3);
    clock.advance(5);
    await pollUntil(async () => (await registry.stats()).missing === 0, 'the sweep timer to remove expired entries');
    expect((await registry.stats()).sweep.runs).toBeGreaterThan(0);
  });

  it('never lets a missing mark replace a live validated mapping; a validated pair replaces a missing mark', async () => {
    const clock = new TestClock();
    const registry = open({ now: clock.now, ttls: { validatedSeconds: 60, missingSeconds: 600 } });
    const [[validated, reccobeatsId], [laterFound, laterReccobeatsId]] = freshPairs(2) as [[string, string], [string, string]];
    await registry.markValidated(validated, reccobeatsId);
    await registry.markMissing(validated);
    expect(await registry.getValidatedId(validated)).toBe(reccobeatsId);
    expect(await registry.isKnownMissing(validated)).toBe(false);

    await registry.markMissing(laterFound);
    await registry.markValidated(laterFound, laterReccobeatsId);
    expect(await registry.isKnownMissing(laterFound)).toBe(false);
    expect(await registry.getValidatedId(laterFound)).toBe(laterReccobeatsId);
    expect(await registry.stats()).toMatchObject({ validated: 2, missing: 0 });

    clock.advance(60);
    await registry.markMissing(validated);
    expect(await registry.isKnownMissing(validated)).toBe(true);
  });

  it('keeps mappings one to one: a new pair replaces any pair sharing either ID, in both directions', async () => {
    const registry = open();
    const [[s1, u1], [s2, u2]] = freshPairs(2) as [[string, string], [string, string]];
    await registry.markValidated(s1, u1);
    await registry.markValidated(s1, u2); // s1 now maps to u2: u1 no longer maps back to s1
    expect(await registry.getValidatedId(s1)).toBe(u2);
    expect(await registry.getSpotifyId(u1)).toBeNull();
    await registry.markValidated(s2, u2); // u2 now belongs to s2: s1 loses its mapping
    expect(await registry.getSpotifyId(u2)).toBe(s2);
    expect(await registry.getValidatedId(s1)).toBeNull();
    expect((await registry.stats()).memory).toMatchObject({ validated: 1, reverse: 1 });

    // Within one call the later pair wins the same way.
    await registry.bulkMarkValidated([[s1, u1], [s2, u1]]);
    expect(await registry.getValidatedId(s2)).toBe(u1);
    expect(await registry.getValidatedId(s1)).toBeNull();
  });

  it('bulk reads skip junk and duplicates, keep first-seen order, accept any iterable and reject a bare string', async () => {
    const registry = open();
    const pairs = freshPairs(3);
    const [missingA, missingB, unknown] = freshSpotifyIds(3) as [string, string, string];
    await registry.bulkMarkValidated(pairs);
    await registry.bulkMarkMissing([missingA, missingB]);

    const ids = [unknown, missingB, 'not-an-id', pairs[2]![0], missingB, 42 as never, missingA, pairs[0]![0], unknown];
    const [toCheck, knownMissing] = await registry.bulkCheckMissing(ids);
    expect(toCheck).toEqual([unknown, pairs[2]![0], pairs[0]![0]]);
    expect(knownMissing).toEqual([missingB, missingA]);
    expect([...(await registry.bulkGetValidated(new Set(ids)))]).toEqual([[pairs[2]![0], pairs[2]![1]], [pairs[0]![0], pairs[0]![1]]]);
    function* generated() {
      yield missingA;
      yield unknown;
    }
    expect(await registry.bulkLookup(generated())).toEqual({ validated: new Map(), missing: [missingA], unknown: [unknown] });
    expect((await registry.stats()).ignoredIds).toBe(4);

    await expect(registry.bulkCheckMissing(missingA as never)).rejects.toThrow(/iterable .* not a string/);
    expect(await registry.isKnownMissing('junk')).toBe(false);
    expect(await registry.getSpotifyId('junk')).toBeNull();
    await expect(registry.getValidatedId(undefined as never)).rejects.toThrow(/spotifyId must be a string/);
  });

  it('rejects bad input to mark calls before writing anything', async () => {
    const registry = open();
    const [[good, goodReccobeats]] = freshPairs(1) as [[string, string]];
    await expect(registry.bulkMarkValidated([[good, goodReccobeats], [good.slice(1), goodReccobeats]])).rejects.toThrow(InvalidIdError);
    await expect(registry.bulkMarkValidated([[good, 'not-a-uuid']])).rejects.toThrow(/not a ReccoBeats ID/);
    await expect(registry.bulkMarkValidated([[good] as never])).rejects.toThrow(/each pair is \[spotifyId, reccobeatsId\]/);
    await expect(registry.bulkMarkMissing([good, 'spotify:track:x'])).rejects.toThrow(/not a Spotify track ID/);
    await expect(registry.markMissing(good, 5 as never)).rejects.toThrow(/reason is a string/);
    expect(await registry.stats()).toMatchObject({ validated: 0, missing: 0 });
    expect(await registry.getValidatedId(good)).toBeNull();
  });

  it('stays within its bound, evicting the least recently used entries and keeping counts exact', async () => {
    const registry = open({ memoryMaxEntries: 100 });
    const missing = freshSpotifyIds(150);
    await registry.bulkMarkMissing(missing);
    const stats = await registry.stats();
    expect(stats.missing).toBe(100);
    const [, known] = await registry.bulkCheckMissing(missing);
    expect(known).toEqual(missing.slice(50));
  });

  it('counts lookups and hits, records avoided upstream calls, and exports both as metrics', async () => {
    const telemetry = new Telemetry({ registry: new Registry() });
    const registry = open({ telemetry });
    const pairs = freshPairs(2);
    const missing = freshSpotifyIds(3);
    await registry.bulkMarkValidated(pairs);
    await registry.bulkMarkMissing(missing);
    await registry.bulkCheckMissing([...missing, ...pairs.map(([id]) => id), ...freshSpotifyIds(5)]);
    registry.recordApiCallsAvoided('known_missing', 3);
    registry.recordApiCallsAvoided('validated_id', 2);
    registry.recordApiCallsAvoided('validated_id', 0);

    const stats = await registry.stats();
    expect(stats.lookups).toEqual({ total: 10, validated: 2, missing: 3, unknown: 5 });
    expect(stats.hits).toEqual({ total: 5, validated: 2, missing: 3, rate: 0.5 });
    expect(stats.apiCallsAvoided).toBe(5);
    expect(stats.apiCallsAvoidedByReason).toEqual({ known_missing: 3, validated_id: 2 });

    const metrics = telemetry.metrics;
    expect(await metricValue(metrics.idRegistryLookups, { result: 'unknown' })).toBe(5);
    expect(await metricValue(metrics.idRegistryLookups, { result: 'missing' })).toBe(3);
    expect(await metricValue(metrics.upstreamCallsAvoided, { reason: 'validated_id' })).toBe(2);
    expect(await metricValue(metrics.idRegistryEntries, { kind: 'validated' })).toBe(2);
    expect(await metricValue(metrics.idRegistryEntries, { kind: 'missing' })).toBe(3);

    expect(() => registry.recordApiCallsAvoided('Known Missing', 1)).toThrow(/reason is 1-40 characters/);
    expect(() => registry.recordApiCallsAvoided('duplicate', -1)).toThrow(/whole number >= 0/);
    // Reasons become labels: past 20 distinct ones they are folded into "other".
    for (let i = 0; i < 25; i++) registry.recordApiCallsAvoided(`reason_${i}`, 1);
    expect(Object.keys((await registry.stats()).apiCallsAvoidedByReason)).toHaveLength(21);
    expect((await registry.stats()).apiCallsAvoidedByReason.other).toBe(7);
  });

  it('traces bulk operations with counts and never an ID in a span', async () => {
    const spans = recordSpans();
    const registry = open({ telemetry: new Telemetry({ registry: new Registry(), tracerProvider: spans.provider }) });
    const pairs = freshPairs(4);
    const missing = freshSpotifyIds(2);
    await registry.bulkMarkValidated(pairs);
    await registry.bulkMarkMissing(missing, 'not_found');
    await spans.inRequest(() => registry.bulkCheckMissing([...missing, pairs[0]![0]]));
    await registry.bulkGetValidated(pairs.map(([id]) => id));

    const [check] = spans.named('registry.bulk_check_missing');
    expect(check?.attributes).toMatchObject({ 'registry.ids': 3, 'registry.hits': 2, 'registry.backend': 'memory' });
    expect(check?.parentSpanContext?.spanId).toBeDefined();
    expect(spans.named('registry.bulk_get_validated')[0]?.attributes).toMatchObject({ 'registry.ids': 4, 'registry.hits': 4 });
    expect(spans.named('registry.bulk_mark_validated')[0]?.attributes).toMatchObject({ 'registry.ids': 4 });
    expect(spans.named('registry.bulk_mark_missing')[0]?.attributes).toMatchObject({ 'registry.ids': 2 });

    const everything = JSON.stringify(spans.spans().map((span) => [span.name, span.attributes, span.events]));
    for (const id of [...pairs.flat(), ...missing]) expect(everything).not.toContain(id);
  });
});
