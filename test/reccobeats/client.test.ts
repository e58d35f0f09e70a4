/**
 * ReccobeatsClient against the simulator (a real HTTP server): typed calls, limits, retries on 5xx and timeouts,
 * 429 with Retry-After, concurrency bound, in-flight sharing, metrics and spans. Assertions count requests, never time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReccobeatsClient, type ReccobeatsClientOptions, type RetryEvent } from '../../src/reccobeats/client.js';
import { ReccobeatsError } from '../../src/reccobeats/errors.js';
import { RepriseInputError, RepriseOptionsError } from '../../src/errors.js';
import { startReccobeatsSimulator, spotifyTrackIds, type ReccobeatsSimulator } from '../../src/reccobeats/simulator/index.js';
import { spotifyTrackIdFromHref } from '../../src/reccobeats/spotify-ids.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';
import { pollUntil } from '../harness/redis-servers.js';
import { sample } from '../harness/prometheus.js';
import { recordSpans, type SpanRecorder } from '../harness/tracing.js';

let simulator: ReccobeatsSimulator;
let registry: Registry;
let logger: RecordingLogger;
let retries: RetryEvent[];

beforeAll(async () => {
  simulator = await startReccobeatsSimulator({ logger: recordingLogger() });
});
afterEach(() => {
  simulator.reset();
  simulator.setLatency(0);
});
afterAll(async () => {
  await simulator.close();
});

function client(options: ReccobeatsClientOptions = {}): ReccobeatsClient {
  registry = new Registry();
  logger = recordingLogger();
  retries = [];
  return new ReccobeatsClient({
    baseUrl: simulator.url,
    env: {},
    telemetry: new Telemetry({ registry }),
    logger,
    retryBaseDelayMs: 5,
    onRetry: (event) => retries.push(event),
    ...options,
  });
}

const upstream = async (endpoint: string, outcome: string) =>
  sample(await registry.metrics(), 'reprise_upstream_requests_total', { service: 'reccobeats', endpoint, outcome });

describe('typed calls', () => {
  it('gets the tracks ReccoBeats knows, mapped by their Spotify link', async () => {
    const reccobeats = client();
    const ids = spotifyTrackIds(40, 'typed');
    const tracks = await reccobeats.getTracks(ids);
    expect(tracks.map((track) => spotifyTrackIdFromHref(track.href))).toEqual(ids.filter((id) => simulator.catalog.knows(id)));
    expect(simulator.requests.trackBatches).toEqual([ids]);
  });

  it('gets recommendations, audio features, artists, artist search and artist tracks', async () => {
    const reccobeats = client();
    const seeds = simulator.catalog.knownSpotifyIds(2, 'typed-seeds');
    const recommended = await reccobeats.getRecommendations({ seeds, size: 7, energy: 0.8, valence: 0.6 });
    expect(recommended).toHaveLength(7);

    const features = await reccobeats.getAudioFeatures(recommended[0]!.id);
    expect(features).toEqual(simulator.catalog.audioFeatures(recommended[0]!.id));
    expect(await reccobeats.getAudioFeatures('00000000-0000-4000-8000-000000000000')).toBeNull();

    const artist = simulator.catalog.artists[9]!;
    expect(await reccobeats.getArtists([artist.id])).toEqual([artist]);
    const found = await reccobeats.searchArtists({ searchText: artist.name, size: 5 });
    expect(found.content).toContainEqual(artist);
    const page = await reccobeats.getArtistTracks(artist.id, { page: 0, size: 3 });
    expect(page?.content).toHaveLength(3);
    expect(await reccobeats.getArtistTracks('00000000-0000-4000-8000-000000000000')).toBeNull();

    expect(simulator.requests.byEndpoint).toEqual({
      track_recommendation: 1, track_audio_features: 2, artist: 1, artist_search: 1, artist_track: 2,
    });
  });

  it('refuses bad arguments before sending anything', async () => {
    const reccobeats = client();
    await expect(reccobeats.getTracks(spotifyTrackIds(41, 'too-many'))).rejects.toThrow(RepriseInputError);
    await expect(reccobeats.getTracks([])).rejects.toThrow(RepriseInputError);
    await expect(reccobeats.getTracks(['../v1/artist'])).rejects.toThrow(RepriseInputError);
    await expect(reccobeats.getAudioFeatures('a/b')).rejects.toThrow(RepriseInputError);
    await expect(reccobeats.getRecommendations({ seeds: [] })).rejects.toThrow(RepriseInputError);
    await expect(reccobeats.getRecommendations({ seeds: spotifyTrackIds(6, 's') })).rejects.toThrow(RepriseInputError);
    await expect(reccobeats.getRecommendations({ seeds: spotifyTrackIds(1, 's'), size: 101 })).rejects.toThrow(RepriseInputError);
    await expect(reccobeats.getRecommendations({ seeds: spotifyTrackIds(1, 's'), energy: Number.NaN })).rejects.toThrow(RepriseInputError);
    await expect(reccobeats.searchArtists({ searchText: ' ' })).rejects.toThrow(RepriseInputError);
    await expect(reccobeats.getArtistTracks(simulator.catalog.artists[0]!.id, { size: 51 })).rejects.toThrow(RepriseInputError);
    expect(simulator.requests.total).toBe(0);
  });

  it('reads its options and RECCOBEATS_BASE_URL, the option winning', () => {
    expect(new ReccobeatsClient({ env: {} }).baseUrl).toBe('https://api.reccobeats.com');
    expect(new ReccobeatsClient({ env: { RECCOBEATS_BASE_URL: 'http://127.0.0.1:9/api/' } }).baseUrl).toBe('http://127.0.0.1:9/api');
    expect(new ReccobeatsClient({ baseUrl: 'http://a.test', env: { RECCOBEATS_BASE_URL: 'http://b.test' } }).baseUrl).toBe('http://a.test');
    expect(new ReccobeatsClient({ env: {} }).batchSize).toBe(40);
    expect(() => new ReccobeatsClient({ batchSize: 41, env: {} })).toThrow(expect.objectContaining({ code: 'out_of_range', option: 'reccobeats.batchSize' }));
    expect(() => new ReccobeatsClient({ maxConcurrency: 0, env: {} })).toThrow(RepriseOptionsError);
    expect(() => new ReccobeatsClient({ baseUrl: 'ftp://x', env: {} })).toThrow(expect.objectContaining({ code: 'invalid_url', option: 'reccobeats.baseUrl' }));
    // A bare client checks its option names as createReprise does, with the closest name suggested.
    expect(() => new ReccobeatsClient({ timeotMs: 1, env: {} } as never)).toThrow(/unknown option "timeotMs"; did you mean timeoutMs\?/);
    expect(() => new ReccobeatsClient({ timeotMs: 1, env: {} } as never)).toThrow(expect.objectContaining({ code: 'unknown_option', option: 'timeotMs' }));
    expect(() => new ReccobeatsClient({ baseUrl: 'https://user:secret@x.test', env: {} })).toThrow(/credentials/);
    try {
      new ReccobeatsClient({ baseUrl: 'https://user:secret@x.test', env: {} });
    } catch (error) {
      expect(String(error)).not.toContain('secret');
    }
  });

  it('keeps a base path, as behind a proxy', async () => {
    const proxy = http.createServer((request, response) => {
      const upstreamUrl = `${simulator.url}${request.url!.replace(/^\/reccobeats/, '')}`;
      void fetch(upstreamUrl).then(async (answer) => {
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(await answer.text());
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const reccobeats = client({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/reccobeats/` });
      const ids = simulator.catalog.knownSpotifyIds(2);
      expect(await reccobeats.getTracks(ids)).toHaveLength(2);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('warns once that it is talking to the simulator', async () => {
    const reccobeats = client();
    await reccobeats.getTracks(spotifyTrackIds(2, 'notice-a'));
    await reccobeats.getTracks(spotifyTrackIds(2, 'notice-b'));
    expect(logger.lines.filter((line) => line.startsWith('warn') && line.includes('SIMULATOR'))).toHaveLength(1);
  });
});

describe('retries', () => {
  it('retries a 500 and succeeds', async () => {
    const reccobeats = client();
    simulator.failNext({ status: 500, count: 2 });
    const ids = simulator.catalog.knownSpotifyIds(3);
    expect(await reccobeats.getTracks(ids)).toHaveLength(3);
    expect(simulator.requests.count('track')).toBe(3);
    expect(retries.map((event) => event.cause)).toEqual(['500', '500']);
    expect(await upstream('track', 'server_error')).toBe(2);
    expect(await upstream('track', 'success')).toBe(1);
  });

  it('gives up after maxRetries with a typed error that names the route, not the URL', async () => {
    const reccobeats = client({ maxRetries: 1 });
    simulator.failNext({ status: 503, count: 5 });
    const error = await reccobeats.getTracks(simulator.catalog.knownSpotifyIds(1)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReccobeatsError);
    expect(error).toMatchObject({ kind: 'http', status: 503, endpoint: 'track', attempts: 2 });
    expect((error as Error).message).not.toContain(simulator.url);
    expect(simulator.requests.count('track')).toBe(2);
  });

  it('does not retry a 4xx other than 429', async () => {
    const reccobeats = client();
    simulator.failNext({ status: 404 });
    await expect(reccobeats.getTracks(simulator.catalog.knownSpotifyIds(1))).rejects.toMatchObject({ kind: 'http', status: 404, attempts: 1 });
    expect(simulator.requests.count('track')).toBe(1);
    expect(await upstream('track', 'client_error')).toBe(1);
  });

  it('times out a hung request and retries it', async () => {
    const reccobeats = client({ timeoutMs: 1_000 });
    simulator.hangNext(1, 'track');
    const ids = simulator.catalog.knownSpotifyIds(2);
    expect(await reccobeats.getTracks(ids)).toHaveLength(2);
    expect(simulator.requests).toMatchObject({ hung: 1 });
    expect(simulator.requests.count('track')).toBe(2);
    expect(retries.map((event) => event.cause)).toEqual(['timeout']);
    expect(await upstream('track', 'timeout')).toBe(1);
  });

  it('reports a timeout as such once retries run out', async () => {
    const reccobeats = client({ timeoutMs: 200, maxRetries: 1 });
    simulator.hangNext(2);
    await expect(reccobeats.getTracks(simulator.catalog.knownSpotifyIds(1))).rejects.toMatchObject({ kind: 'timeout', attempts: 2 });
  });

  it('waits out a 429 for the Retry-After it names, then succeeds', async () => {
    const reccobeats = client();
    simulator.failNext({ status: 429, retryAfter: 1 });
    const ids = simulator.catalog.knownSpotifyIds(4);
    expect(await reccobeats.getTracks(ids)).toHaveLength(4);
    expect(simulator.requests.byStatus).toEqual({ 429: 1, 200: 1 });
    expect(simulator.requests.trackBatches).toEqual([ids, ids]);
    expect(retries).toEqual([{ endpoint: 'track', retry: 1, delayMs: 1_000, cause: '429' }]);
    expect(await upstream('track', 'rate_limited')).toBe(1);
  });

  it('holds back every other call of the client until a 429\'s Retry-After has passed', async () => {
    const reccobeats = client({ maxConcurrency: 4 });
    simulator.failNext({ status: 429, retryAfter: 1 });
    const first = reccobeats.getTracks(simulator.catalog.knownSpotifyIds(2));
    await pollUntil(() => retries.length === 1, 'the client to take in the 429 and plan its retry');
    const second = reccobeats.getAudioFeatures(simulator.catalog.knownSpotifyIds(3)[2]!);
    // The second call is waiting for the pause, and nothing but the rate-limited request reached the API.
    await pollUntil(() => reccobeats.stats().waitingForRateLimit >= 1, 'the second call to wait for the pause');
    expect(simulator.requests.total).toBe(1);
    await Promise.all([first, second]);
    expect(simulator.requests.byStatus).toEqual({ 429: 1, 200: 2 });
    expect(reccobeats.stats().waitingForRateLimit).toBe(0);
  });

  it('fails at once when a 429 asks for longer than maxRetryAfterMs', async () => {
    const reccobeats = client({ maxRetryAfterMs: 2_000 });
    simulator.failNext({ status: 429, retryAfter: 120 });
    const error = await reccobeats.getTracks(simulator.catalog.knownSpotifyIds(1)).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 120_000, attempts: 1 });
    expect(simulator.requests.count('track')).toBe(1);
  });

  it('backs off on a 429 without Retry-After', async () => {
    const reccobeats = client({ random: () => 0.5, retryBaseDelayMs: 40 });
    simulator.failNext({ status: 429, count: 2 });
    await reccobeats.getTracks(simulator.catalog.knownSpotifyIds(1));
    expect(retries.map((event) => event.delayMs)).toEqual([20, 40]);
  });

  it('stops retrying when closed: a call waiting out a Retry-After rejects at once, later calls too', async () => {
    const reccobeats = client();
    simulator.failNext({ status: 429, retryAfter: 25 });
    const waiting = reccobeats.getTracks(simulator.catalog.knownSpotifyIds(1)).catch((caught: unknown) => caught);
    await pollUntil(() => retries.length === 1, 'the 429 retry to be scheduled');
    reccobeats.close();
    expect(await waiting).toMatchObject({ kind: 'closed', attempts: 1 });
    await expect(reccobeats.getTracks(simulator.catalog.knownSpotifyIds(1))).rejects.toMatchObject({ kind: 'closed', attempts: 0 });
    expect(simulator.requests.count('track')).toBe(1);
  });

  it('retries a refused connection and then reports a network error', async () => {
    const gone = await startReccobeatsSimulator({ logger: recordingLogger() });
    await gone.close();
    const reccobeats = client({ baseUrl: gone.url, maxRetries: 2 });
    await expect(reccobeats.getTracks(spotifyTrackIds(1, 'gone'))).rejects.toMatchObject({ kind: 'network', attempts: 3 });
    expect(await upstream('track', 'network_error')).toBe(3);
  });

  it('reports an answer that is not the expected JSON without retrying it', async () => {
    let served = 0;
    const broken = http.createServer((_, response) => {
      served += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(served === 1 ? '<html>oops' : '{"content": 7}');
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    try {
      const reccobeats = client({ baseUrl: `http://127.0.0.1:${(broken.address() as AddressInfo).port}` });
      await expect(reccobeats.getTracks(spotifyTrackIds(1, 'broken'))).rejects.toMatchObject({ kind: 'invalid_response', attempts: 1 });
      await expect(reccobeats.getTracks(spotifyTrackIds(1, 'broken'))).rejects.toMatchObject({ kind: 'invalid_response', attempts: 1 });
      expect(served).toBe(2);
      expect(await upstream('track', 'invalid_response')).toBe(1);
    } finally {
      broken.closeAllConnections();
      await new Promise((resolve) => broken.close(resolve));
    }
  });
});

describe('concurrency and sharing', () => {
  it('never has more than maxConcurrency requests in flight', async () => {
    const reccobeats = client({ maxConcurrency: 3 });
    simulator.setLatency(250);
    const batches = Array.from({ length: 10 }, (_, index) => spotifyTrackIds(5, `concurrency-${index}`));
    await Promise.all(batches.map((ids) => reccobeats.getTracks(ids)));
    expect(simulator.requests.count('track')).toBe(10);
    expect(simulator.requests.maxInFlight).toBe(3);
    expect(reccobeats.stats()).toEqual({ inFlight: 0, active: 0, queued: 0, waitingForRateLimit: 0 });
  });

  it('shares one request between identical concurrent calls, but not between later ones', async () => {
    const reccobeats = client();
    simulator.setLatency(50);
    const ids = simulator.catalog.knownSpotifyIds(5, 'shared');
    const [first, second, third] = await Promise.all([reccobeats.getTracks(ids), reccobeats.getTracks(ids), reccobeats.getTracks(ids)]);
    expect(first).toHaveLength(5);
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(simulator.requests.count('track')).toBe(1);
    expect(sample(await registry.metrics(), 'reprise_upstream_calls_avoided_total', { reason: 'shared_in_flight' })).toBe(2);

    await reccobeats.getTracks(ids);
    expect(simulator.requests.count('track')).toBe(2);
  });
});

describe('telemetry', () => {
  let spans: SpanRecorder;
  beforeAll(() => {
    spans = recordSpans();
  });

  it('records a CLIENT span per attempt with route, status and resend count, and no IDs', async () => {
    registry = new Registry();
    const reccobeats = new ReccobeatsClient({
      baseUrl: simulator.url,
      env: {},
      telemetry: new Telemetry({ registry, tracerProvider: spans.provider }),
      logger: recordingLogger(),
      retryBaseDelayMs: 1,
    });
    simulator.failNext({ status: 500 });
    const ids = simulator.catalog.knownSpotifyIds(3, 'spans');
    const { traceId } = await spans.inRequest(() => reccobeats.getTracks(ids));

    const attempts = spans.named('GET /v1/track').filter((span) => span.spanContext().traceId === traceId);
    expect(attempts).toHaveLength(2);
    for (const span of attempts) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.attributes).toMatchObject({ 'http.request.method': 'GET', 'url.template': '/v1/track' });
      const values = JSON.stringify(span.attributes);
      for (const id of ids) expect(values).not.toContain(id);
    }
    expect(attempts[0]!.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': '500' });
    expect(attempts[0]!.attributes['http.request.resend_count']).toBeUndefined();
    expect(attempts[1]!.attributes).toMatchObject({ 'http.response.status_code': 200, 'http.request.resend_count': 1 });

    const text = await registry.metrics();
    expect(sample(text, 'reprise_upstream_request_duration_seconds_count', { service: 'reccobeats', endpoint: 'track' })).toBe(2);
    expect(text).not.toContain(ids[0]!);
    expect(text).not.toContain(simulator.url);
  });
});
