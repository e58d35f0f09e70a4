/**
 * convertSpotifyTracksToReccobeat against the simulator and the real ID registry, in memory and on real Redis
 * (standalone and a 3-master Cluster): the registry spares requests, batches stay within 40, tracks map by href only,
 * and only successful answers mark IDs missing. Every assertion counts requests or registry entries.
 */
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCacheParts } from '../../src/cache/create-cache.js';
import { ReccobeatsClient, type ReccobeatsClientOptions, type RetryEvent } from '../../src/reccobeats/client.js';
import { convertSpotifyTracks } from '../../src/reccobeats/convert.js';
import { startReccobeatsSimulator, spotifyTrackIds, type ReccobeatsSimulator } from '../../src/reccobeats/simulator/index.js';
import { RedisGateway } from '../../src/redis/gateway.js';
import { IdRegistry } from '../../src/registry/id-registry.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { BACKEND_NAMES, startBackend, type Backend } from '../harness/backends.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';
import { sample } from '../harness/prometheus.js';
import { hasRedisServer } from '../harness/redis-servers.js';
import { recordSpans } from '../harness/tracing.js';

const backends = ['memory', ...(hasRedisServer ? BACKEND_NAMES : [])] as const;

describe.each(backends)('Spotify -> ReccoBeats conversion (%s registry)', (backendName) => {
  let simulator: ReccobeatsSimulator;
  let backend: Backend | undefined;
  let registry: IdRegistry;
  let metrics: Registry;
  let logger: RecordingLogger;
  let retries: RetryEvent[];
  let closeStore: () => Promise<void>;
  let prefixCounter = 0;
  let idSeed = 0;

  beforeAll(async () => {
    simulator = await startReccobeatsSimulator({ logger: recordingLogger() });
    if (backendName !== 'memory') backend = await startBackend(backendName);
  });
  afterEach(async () => {
    simulator.reset();
    simulator.setQuirks({});
    simulator.setLatency(0);
    await registry?.close();
    await closeStore?.();
  });
  afterAll(async () => {
    await simulator?.close();
    await backend?.destroy();
  });

  /** A fresh registry (its own key prefix) and a client that converts through it. */
  async function open(options: ReccobeatsClientOptions = {}): Promise<ReccobeatsClient> {
    metrics = new Registry();
    logger = recordingLogger();
    retries = [];
    const telemetry = new Telemetry({ registry: metrics });
    const keyPrefix = `rb${++prefixCounter}:`;
    let gateway: RedisGateway;
    if (backend) {
      const parts = createCacheParts({ redisUrl: backend.url, env: {}, keyPrefix, logger, redisCommandTimeoutMs: 2_000, redisConnectTimeoutMs: 15_000 });
      expect(await parts.gateway.waitUntilReady(10_000)).toBe(true);
      gateway = parts.gateway;
      closeStore = () => parts.cache.close();
    } else {
      gateway = new RedisGateway({ client: null, owned: true, commandTimeoutMs: 50, logger });
      closeStore = () => gateway.close();
    }
    registry = new IdRegistry({ gateway, keyPrefix, telemetry, logger, sweepIntervalMs: 0 });
    return new ReccobeatsClient({
      baseUrl: simulator.url,
      env: {},
      idRegistry: registry,
      telemetry,
      logger,
      retryBaseDelayMs: 1,
      onRetry: (event) => retries.push(event),
      ...options,
    });
  }

  const freshIds = (count: number) => spotifyTrackIds(count, `convert-${backendName}-${++idSeed}`);
  const expectedMapping = (ids: string[]) =>
    new Map(ids.filter((id) => simulator.catalog.knows(id)).map((id) => [id, simulator.catalog.track(id)!.id]));
  const avoided = async (reason: string) => sample(await metrics.metrics(), 'reprise_upstream_calls_avoided_total', { reason });

  it('converting the same 200 IDs twice makes no request the second time', async () => {
    const reccobeats = await open();
    const ids = freshIds(200);
    const first = await reccobeats.convertSpotifyTracksToReccobeat(ids);
    expect(first).toEqual(expectedMapping(ids));
    expect(first.size).toBeGreaterThan(120);
    expect(first.size).toBeLessThan(180);
    expect(simulator.requests.count('track')).toBe(5);
    expect(simulator.requests.trackBatches.every((batch) => batch.length <= 40)).toBe(true);
    expect(simulator.requests.idsRequested.sort()).toEqual([...ids].sort());

    simulator.reset();
    const second = await reccobeats.convertSpotifyTracksToReccobeat(ids);
    expect(simulator.requests.total).toBe(0);
    expect(second).toEqual(first);
    expect([...second.keys()]).toEqual(ids.filter((id) => first.has(id)));
    expect(await avoided('validated_id')).toBe(first.size);
    expect(await avoided('known_missing')).toBe(200 - first.size);
    // Outcomes per ID, and the marks behind them, for the registry-pattern alerts.
    const text = await metrics.metrics();
    expect(sample(text, 'reprise_id_conversions_total', { outcome: 'found' })).toBe(first.size);
    expect(sample(text, 'reprise_id_conversions_total', { outcome: 'not_found' })).toBe(200 - first.size);
    expect(sample(text, 'reprise_id_conversions_total', { outcome: 'registry_validated' })).toBe(first.size);
    expect(sample(text, 'reprise_id_conversions_total', { outcome: 'registry_missing' })).toBe(200 - first.size);
    expect(sample(text, 'reprise_id_conversions_total', { outcome: 'unresolved' })).toBe(0);
    expect(sample(text, 'reprise_id_registry_validations_total')).toBe(first.size);
    expect(sample(text, 'reprise_id_registry_missing_marks_total', { reason: 'not_found' })).toBe(200 - first.size);
    expect(sample(text, 'reprise_id_registry_missing_marks_total', { reason: 'invalid' })).toBe(0);
    expect((await registry.stats()).marks).toEqual({ validated: first.size, missing: { not_found: 200 - first.size } });
  });

  it('with half of the IDs new, requests only the new ones', async () => {
    const reccobeats = await open();
    const old = freshIds(200);
    await reccobeats.convertSpotifyTracksToReccobeat(old);
    simulator.reset();

    const added = freshIds(100);
    const mixed = [...old.slice(0, 100), ...added];
    const result = await reccobeats.convertSpotifyTracksToReccobeat(mixed);
    expect(new Set(simulator.requests.idsRequested)).toEqual(new Set(added));
    expect(simulator.requests.idsRequested).toHaveLength(100);
    expect(simulator.requests.count('track')).toBe(3);
    expect(result).toEqual(expectedMapping(mixed));
  });

  it('waits out a 429 with Retry-After and converts', async () => {
    const reccobeats = await open();
    simulator.failNext({ status: 429, retryAfter: 1 });
    const ids = freshIds(30);
    const result = await reccobeats.convertSpotifyTracksToReccobeat(ids);
    expect(result).toEqual(expectedMapping(ids));
    expect(simulator.requests.byStatus).toEqual({ 429: 1, 200: 1 });
    expect(retries).toEqual([{ endpoint: 'track', retry: 1, delayMs: 1_000, cause: '429' }]);
  });

  it('asks about each duplicate once', async () => {
    const reccobeats = await open();
    const ids = freshIds(10);
    const result = await reccobeats.convertSpotifyTracksToReccobeat([...ids, ...ids, ids[0]!]);
    expect(simulator.requests.idsRequested.sort()).toEqual([...ids].sort());
    expect(result).toEqual(expectedMapping(ids));
    expect(await avoided('duplicate')).toBe(11);
  });

  it('splits into batches of batchSize under the concurrency bound', async () => {
    const reccobeats = await open({ batchSize: 10, maxConcurrency: 2 });
    simulator.setLatency(200);
    const ids = freshIds(75);
    const result = await reccobeats.convertSpotifyTracksToReccobeat(ids);
    expect(simulator.requests.trackBatches.map((batch) => batch.length).sort((a, b) => a - b)).toEqual([5, 10, 10, 10, 10, 10, 10, 10]);
    expect(simulator.requests.maxInFlight).toBe(2);
    expect(result).toEqual(expectedMapping(ids));
  });

  it('marks IDs absent from a successful answer as missing, and skips them next time', async () => {
    const reccobeats = await open();
    const ids = freshIds(40);
    const unknown = ids.filter((id) => !simulator.catalog.knows(id));
    expect(unknown.length).toBeGreaterThan(0);
    const report = await convertSpotifyTracks(ids, { client: reccobeats, registry, logger });
    expect(report.newlyMissing.sort()).toEqual([...unknown].sort());
    for (const id of unknown) expect(await registry.isKnownMissing(id)).toBe(true);
    for (const [spotifyId, reccobeatsId] of report.mapped) expect(await registry.getSpotifyId(reccobeatsId)).toBe(spotifyId);

    simulator.reset();
    const again = await convertSpotifyTracks(unknown, { client: reccobeats, registry, logger });
    expect(simulator.requests.total).toBe(0);
    expect(again.knownMissing.sort()).toEqual([...unknown].sort());
    expect(again.mapped.size).toBe(0);
  });

  it('maps by the Spotify link in href, never by position', async () => {
    const reccobeats = await open();
    const ids = freshIds(40);
    const known = ids.filter((id) => simulator.catalog.knows(id));
    simulator.setQuirks({ shuffleContent: true });
    const result = await reccobeats.convertSpotifyTracksToReccobeat(ids);
    expect(result).toEqual(expectedMapping(ids));
    // The answer really was out of order: position would have mapped wrongly.
    const answeredOrder = known.map((id) => simulator.catalog.track(id)!.id).sort();
    expect(answeredOrder).not.toEqual(known.map((id) => simulator.catalog.track(id)!.id));
  });

  it('leaves an ID whose track lacks href neither mapped nor marked, and does not guess at the others', async () => {
    const reccobeats = await open();
    const ids = freshIds(40);
    const known = ids.filter((id) => simulator.catalog.knows(id));
    const unknown = ids.filter((id) => !simulator.catalog.knows(id));
    const hidden = known[3]!;
    simulator.setQuirks({ shuffleContent: true, omitHrefFor: [hidden] });

    const report = await convertSpotifyTracks(ids, { client: reccobeats, registry, logger });
    expect(report.mapped).toEqual(expectedMapping(ids.filter((id) => id !== hidden)));
    expect(report.newlyMissing).toEqual([]);
    expect(report.unresolved.sort()).toEqual([hidden, ...unknown].sort());
    expect(await registry.isKnownMissing(hidden)).toBe(false);
    expect(await registry.getValidatedId(hidden)).toBeNull();
    for (const id of unknown) expect(await registry.isKnownMissing(id)).toBe(false);

    // Next time, only the unresolved IDs are asked about again.
    simulator.reset();
    simulator.setQuirks({});
    await reccobeats.convertSpotifyTracksToReccobeat(ids);
    expect(simulator.requests.idsRequested.sort()).toEqual([hidden, ...unknown].sort());
  });

  it.each([
    ['a 500 after retries', { status: 500, count: 2 }],
    ['a 404', { status: 404, count: 1 }],
  ])('marks nothing when a batch fails with %s, and asks again next time', async (_, fault) => {
    const reccobeats = await open({ maxRetries: 1 });
    const ids = freshIds(40);
    simulator.failNext(fault);
    const report = await convertSpotifyTracks(ids, { client: reccobeats, registry, logger });
    expect(report).toMatchObject({ batches: 1, failedBatches: 1, newlyMissing: [] });
    expect(report.mapped.size).toBe(0);
    expect(report.unresolved.sort()).toEqual([...ids].sort());
    const lookup = await registry.bulkLookup(ids);
    expect(lookup.validated.size).toBe(0);
    expect(lookup.missing).toEqual([]);
    expect(logger.lines.some((line) => line.startsWith('warn') && line.includes('failed'))).toBe(true);

    simulator.reset();
    expect(await reccobeats.convertSpotifyTracksToReccobeat(ids)).toEqual(expectedMapping(ids));
    expect(simulator.requests.idsRequested).toHaveLength(40);
  });

  it('keeps the batches that succeeded when another fails', async () => {
    const reccobeats = await open({ maxRetries: 0, maxConcurrency: 1 });
    const ids = freshIds(80);
    simulator.failNext({ status: 503 });
    const report = await convertSpotifyTracks(ids, { client: reccobeats, registry, logger });
    expect(report).toMatchObject({ batches: 2, failedBatches: 1 });
    const [failed, succeeded] = simulator.requests.trackBatches as [string[], string[]];
    expect(report.mapped).toEqual(expectedMapping(succeeded));
    expect(report.unresolved.sort()).toEqual([...failed].sort());
    expect((await registry.bulkLookup(failed)).unknown).toHaveLength(40);
    expect(sample(await metrics.metrics(), 'reprise_id_conversions_total', { outcome: 'unresolved' })).toBe(40);
  });

  it('refuses anything that is not a Spotify track ID before any request', async () => {
    const reccobeats = await open();
    await expect(reccobeats.convertSpotifyTracksToReccobeat([...freshIds(3), 'spotify:track:nope'])).rejects.toThrow(/invalid: "spotify:track:nope"/);
    await expect(reccobeats.convertSpotifyTracksToReccobeat('4uLU6hMCjMI75M1A2tKUQC' as unknown as string[])).rejects.toThrow(TypeError);
    expect(await reccobeats.convertSpotifyTracksToReccobeat([])).toEqual(new Map());
    expect(simulator.requests.total).toBe(0);
  });
});

describe('conversion telemetry', () => {
  it('wraps a conversion in one span with counts and no IDs, parent of the HTTP spans', async () => {
    const spans = recordSpans();
    const simulator = await startReccobeatsSimulator({ logger: recordingLogger() });
    const logger = recordingLogger();
    const telemetry = new Telemetry({ registry: new Registry(), tracerProvider: spans.provider });
    const gateway = new RedisGateway({ client: null, owned: true, commandTimeoutMs: 50, logger });
    const registry = new IdRegistry({ gateway, keyPrefix: 'spans:', telemetry, logger, sweepIntervalMs: 0 });
    try {
      const reccobeats = new ReccobeatsClient({ baseUrl: simulator.url, env: {}, idRegistry: registry, telemetry, logger });
      const ids = spotifyTrackIds(50, 'convert-spans');
      await spans.inRequest(() => reccobeats.convertSpotifyTracksToReccobeat([...ids, ids[0]!]));
      const [convert] = spans.named('reccobeats.convert');
      expect(convert!.attributes).toMatchObject({ 'reprise.ids.requested': 51, 'reprise.ids.unique': 50, 'reprise.batches': 2 });
      const http = spans.named('GET /v1/track');
      expect(http).toHaveLength(2);
      for (const span of http) expect(span.parentSpanContext?.spanId).toBe(convert!.spanContext().spanId);
      const everything = JSON.stringify(spans.spans().map((span) => span.attributes));
      for (const id of ids) expect(everything).not.toContain(id);
    } finally {
      await registry.close();
      await simulator.close();
    }
  });
});
