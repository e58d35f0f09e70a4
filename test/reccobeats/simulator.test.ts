/** The ReccoBeats simulator as a plain HTTP server: shapes, a deterministic catalog, faults, counters, and its label. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedCatalog, spotifyTrackIds, startReccobeatsSimulator, type ReccobeatsSimulator } from '../../src/reccobeats/simulator/index.js';
import { isSpotifyId, spotifyTrackIdFromHref } from '../../src/reccobeats/spotify-ids.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('simulated catalog', () => {
  it('lacks about a quarter of Spotify IDs, the same ones every time', () => {
    const ids = spotifyTrackIds(2_000, 'share');
    const catalog = new SimulatedCatalog();
    const unknown = ids.filter((id) => !catalog.knows(id));
    expect(unknown.length / ids.length).toBeGreaterThan(0.2);
    expect(unknown.length / ids.length).toBeLessThan(0.3);
    expect(ids.filter((id) => !new SimulatedCatalog().knows(id))).toEqual(unknown);
    expect(ids.filter((id) => !new SimulatedCatalog({ unknownFraction: 0 }).knows(id))).toEqual([]);
  });

  it('derives the same track, with a UUID and the Spotify link, from a Spotify ID', () => {
    const [id] = new SimulatedCatalog().knownSpotifyIds(1);
    const track = new SimulatedCatalog().track(id!)!;
    expect(new SimulatedCatalog().track(id!)).toEqual(track);
    expect(track.id).toMatch(UUID);
    expect(track.href).toBe(`https://open.spotify.com/track/${id}`);
    expect(track.trackTitle).toMatch(/^\w+ \w+$/);
    expect(track.artists.length).toBeGreaterThanOrEqual(1);
    expect(track.popularity).toBeGreaterThanOrEqual(0);
    expect(track.popularity).toBeLessThanOrEqual(100);
    expect(new SimulatedCatalog({ seed: 'other' }).track(id!)?.id).not.toBe(track.id);
  });
});

describe('ReccoBeats simulator over HTTP', () => {
  let simulator: ReccobeatsSimulator;
  let logger: RecordingLogger;

  beforeAll(async () => {
    logger = recordingLogger();
    simulator = await startReccobeatsSimulator({ logger });
  });
  afterEach(() => {
    simulator.reset();
    simulator.setLatency(0);
    simulator.setQuirks({});
  });
  afterAll(async () => {
    await simulator.close();
  });

  const get = async (path: string) => {
    const response = await fetch(`${simulator.url}${path}`);
    return { status: response.status, headers: response.headers, body: (await response.json()) as any };
  };

  it('says it is a simulator at startup, at its root and on every answer', async () => {
    expect(logger.lines.some((line) => line.startsWith('warn') && line.includes('SIMULATOR') && line.includes(simulator.url))).toBe(true);
    const root = await get('/');
    expect(root.body).toMatchObject({ simulator: true });
    expect(root.body.notice).toMatch(/not the real ReccoBeats API/);
    for (const path of ['/', '/v1/track?ids=x', '/v1/nowhere']) {
      expect((await get(path)).headers.get('x-reccobeats-simulator')).toBe('true');
    }
  });

  it('answers GET /v1/track with the known tracks among at most 40 IDs, by Spotify or ReccoBeats ID', async () => {
    const ids = spotifyTrackIds(40, 'http-track');
    const { status, body } = await get(`/v1/track?ids=${ids.join(',')}`);
    expect(status).toBe(200);
    const known = ids.filter((id) => simulator.catalog.knows(id));
    expect(body.content.map((track: any) => spotifyTrackIdFromHref(track.href))).toEqual(known);
    expect(Object.keys(body.content[0]).sort()).toEqual(
      ['artists', 'availableCountries', 'durationMs', 'ean', 'href', 'id', 'isrc', 'popularity', 'trackTitle', 'upc'],
    );
    const byUuid = await get(`/v1/track?ids=${body.content[0].id}`);
    expect(byUuid.body.content).toEqual([body.content[0]]);

    expect((await get(`/v1/track?ids=${spotifyTrackIds(41, 'x').join(',')}`)).status).toBe(400);
    expect((await get('/v1/track')).status).toBe(400);
    expect(simulator.requests.trackBatches[0]).toEqual(ids);
  });

  it('answers audio features for known tracks and 404 for unknown ones', async () => {
    const [id] = simulator.catalog.knownSpotifyIds(1);
    const track = simulator.catalog.track(id!)!;
    const { status, body } = await get(`/v1/track/${track.id}/audio-features`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: track.id, href: track.href });
    for (const name of ['acousticness', 'danceability', 'energy', 'valence']) {
      expect(body[name]).toBeGreaterThanOrEqual(0);
      expect(body[name]).toBeLessThanOrEqual(1);
    }
    expect((await get('/v1/track/00000000-0000-4000-8000-000000000000/audio-features')).status).toBe(404);
  });

  it('recommends real catalog tracks for known seeds, leaning towards feature targets', async () => {
    const seeds = simulator.catalog.knownSpotifyIds(2, 'seeds');
    const { body } = await get(`/v1/track/recommendation?seeds=${seeds.join(',')}&size=15`);
    expect(body.content).toHaveLength(15);
    for (const track of body.content) {
      expect(simulator.catalog.track(spotifyTrackIdFromHref(track.href)!)).toEqual(track);
      expect(seeds).not.toContain(spotifyTrackIdFromHref(track.href));
    }
    expect((await get(`/v1/track/recommendation?seeds=${seeds.join(',')}&size=15`)).body).toEqual(body);

    const energetic = await get(`/v1/track/recommendation?seeds=${seeds.join(',')}&size=10&energy=0.95`);
    const calm = await get(`/v1/track/recommendation?seeds=${seeds.join(',')}&size=10&energy=0.05`);
    const meanEnergy = async (tracks: any[]) => {
      const values = tracks.map((track) => simulator.catalog.audioFeatures(track.id)!.energy);
      return values.reduce((sum, value) => sum + value, 0) / values.length;
    };
    expect(await meanEnergy(energetic.body.content)).toBeGreaterThan(await meanEnergy(calm.body.content));

    expect((await get('/v1/track/recommendation')).status).toBe(400);
    expect((await get(`/v1/track/recommendation?seeds=${seeds[0]}&size=101`)).status).toBe(400);
  });

  it('serves artists by ID, by search and with their tracks, a page at a time', async () => {
    const artist = simulator.catalog.artists[5]!;
    expect((await get(`/v1/artist?ids=${artist.id}`)).body.content).toEqual([artist]);

    const search = await get(`/v1/artist/search?searchText=${encodeURIComponent(artist.name.toUpperCase())}`);
    expect(search.body.content).toContainEqual(artist);
    expect(search.body).toMatchObject({ page: 0, totalPages: 1 });

    const firstPage = await get(`/v1/artist/${artist.id}/track?page=0&size=5`);
    expect(firstPage.body.content).toHaveLength(5);
    expect(firstPage.body.totalElements).toBeGreaterThan(5);
    for (const track of firstPage.body.content) expect(track.artists.map((credit: any) => credit.id)).toContain(artist.id);
    const secondPage = await get(`/v1/artist/${artist.id}/track?page=1&size=5`);
    expect(secondPage.body.content[0].id).not.toBe(firstPage.body.content[0].id);
    expect((await get(`/v1/artist/${artist.id}/track?size=51`)).status).toBe(400);
    expect((await get('/v1/artist/unknown/track')).status).toBe(404);
  });

  it('injects statuses with Retry-After and hangs, per endpoint, and counts what it saw', async () => {
    const id = simulator.catalog.knownSpotifyIds(1)[0]!;
    simulator.failNext({ status: 429, retryAfter: 3, endpoint: 'track' });
    simulator.failNext({ status: 503, count: 2 });

    const artist = await get('/v1/artist/search?searchText=velvet');
    expect(artist.status).toBe(503);
    const limited = await fetch(`${simulator.url}/v1/track?ids=${id}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    await limited.body?.cancel();
    expect((await get(`/v1/track?ids=${id}`)).status).toBe(503);
    expect((await get(`/v1/track?ids=${id}`)).status).toBe(200);

    simulator.hangNext(1);
    const hung = fetch(`${simulator.url}/v1/track?ids=${id}`, { signal: AbortSignal.timeout(200) });
    await expect(hung).rejects.toThrow();
    expect(simulator.requests).toMatchObject({ total: 5, hung: 1, byStatus: { 200: 1, 429: 1, 503: 2 } });
    expect(simulator.requests.byEndpoint).toEqual({ artist_search: 1, track: 4 });
    expect(simulator.requests.idsRequested).toEqual([id, id, id, id]);
  });

  it('switches its catalogue from the next request on, as when ReccoBeats changes what it holds', async () => {
    const ids = spotifyTrackIds(400, 'switch');
    const before = (await get(`/v1/track?ids=${ids.slice(0, 40).join(',')}`)).body.content;
    const seed = simulator.catalog.seed;
    try {
      const switched = simulator.switchCatalog({ unknownFraction: 0.9 });
      expect(simulator.catalog).toBe(switched);
      expect(switched).toMatchObject({ seed, unknownFraction: 0.9 });
      expect(logger.lines.some((line) => line.startsWith('warn') && line.includes('catalog switched'))).toBe(true);
      // Only a tenth is known now; what is still known keeps its ReccoBeats ID (same seed).
      const known = ids.filter((id) => simulator.catalog.knows(id));
      expect(known.length / ids.length).toBeLessThan(0.15);
      const after = (await get(`/v1/track?ids=${ids.slice(0, 40).join(',')}`)).body.content;
      expect(after.length).toBeLessThan(before.length);
      for (const track of after) expect(before).toContainEqual(track);
      // Another seed: every track gets another ID.
      simulator.switchCatalog({ seed: 'another', unknownFraction: 0 });
      const reseeded = (await get(`/v1/track?ids=${ids.slice(0, 40).join(',')}`)).body.content;
      expect(reseeded).toHaveLength(40);
      expect(reseeded.map((track: any) => track.id)).not.toContain(before[0].id);
      expect(() => simulator.switchCatalog({ unknownFraction: 2 })).toThrow(/unknownFraction/);
      expect(() => simulator.switchCatalog({ unknown: 0.5 } as never)).toThrow(/unknown option/);
    } finally {
      simulator.switchCatalog({ seed, unknownFraction: 0.25 });
    }
  });

  it('can answer out of order and without href, to catch clients that rely on either', async () => {
    const ids = simulator.catalog.knownSpotifyIds(6, 'quirks');
    simulator.setQuirks({ shuffleContent: true, omitHrefFor: [ids[2]!] });
    const { body } = await get(`/v1/track?ids=${ids.join(',')}`);
    expect(body.content).toHaveLength(6);
    const answered = body.content.map((track: any) => spotifyTrackIdFromHref(track.href));
    expect(answered.filter((id: string | null) => id === null)).toHaveLength(1);
    expect(answered).not.toEqual(ids.filter((id) => id !== ids[2]));
    expect(answered.filter(isSpotifyId).sort()).toEqual(ids.filter((id) => id !== ids[2]).sort());
  });
});
