/**
 * The simulator's routes: the paths, parameters, limits and JSON shapes of the ReccoBeats web API, answered from
 * the simulated catalog. Pure request -> answer; the server adds latency, faults and counting around it.
 */
import { FEATURE_TARGET_NAMES, MAX_IDS_PER_REQUEST, type FeatureTargets, type ReccobeatsEndpoint, type ReccobeatsTrack } from '../types.js';
import { spotifyTrackIdFromHref } from '../spotify-ids.js';
import type { SimulatedCatalog } from './catalog.js';

export type SimulatorEndpoint = ReccobeatsEndpoint | 'root' | 'unknown';

/** Deviations from a tidy answer, to test that clients do not rely on order or on every field being there. */
export interface SimulatorQuirks {
  /** Answer `GET /v1/track` in an order unrelated to the requested one. */
  shuffleContent?: boolean;
  /** Spotify IDs whose tracks come back without `href`. */
  omitHrefFor?: Iterable<string>;
}

export interface Answer {
  status: number;
  body: unknown;
}

export interface RoutedRequest {
  endpoint: SimulatorEndpoint;
  /** The IDs of a `GET /v1/track` request. */
  trackIds?: string[];
  answer: () => Answer;
}

export const SIMULATOR_NOTICE = 'ReccoBeats API SIMULATOR: a synthetic catalog for tests, demos and benchmarks, not the real ReccoBeats API';

const AUDIO_FEATURES_PATH = /^\/v1\/track\/([^/]+)\/audio-features$/;
const ARTIST_TRACKS_PATH = /^\/v1\/artist\/([^/]+)\/track$/;

class BadRequest extends Error {}

export function routeRequest(method: string, url: URL, catalog: SimulatedCatalog, quirks: SimulatorQuirks): RoutedRequest {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const query = url.searchParams;
  const guarded = (endpoint: SimulatorEndpoint, answer: () => Answer, extra: Partial<RoutedRequest> = {}): RoutedRequest => ({
    endpoint,
    ...extra,
    answer: () => {
      if (method !== 'GET') return { status: 405, body: { error: 'only GET is supported' } };
      try {
        return answer();
      } catch (error) {
        if (error instanceof BadRequest) return { status: 400, body: { error: error.message } };
        throw error;
      }
    },
  });

  if (path === '/') {
    return guarded('root', () => ({ status: 200, body: { simulator: true, notice: SIMULATOR_NOTICE, unknownFraction: catalog.unknownFraction } }));
  }
  if (path === '/v1/track') {
    const ids = idList(query.get('ids'));
    return guarded('track', () => ({ status: 200, body: { content: trackAnswer(ids, catalog, quirks) } }), { trackIds: ids });
  }
  if (path === '/v1/track/recommendation') {
    return guarded('track_recommendation', () => ({ status: 200, body: { content: catalog.recommend(recommendationRequest(query)) } }));
  }
  const audioFeatures = AUDIO_FEATURES_PATH.exec(path);
  if (audioFeatures) {
    return guarded('track_audio_features', () => {
      const features = catalog.audioFeatures(decodeSegment(audioFeatures[1]!));
      return features ? { status: 200, body: features } : notFound('track');
    });
  }
  if (path === '/v1/artist') {
    return guarded('artist', () => {
      const ids = limitedIds(idList(query.get('ids')));
      return { status: 200, body: { content: ids.map((id) => catalog.artist(id)).filter((artist) => artist !== null) } };
    });
  }
  if (path === '/v1/artist/search') {
    return guarded('artist_search', () => {
      const text = query.get('searchText')?.trim();
      if (!text) throw new BadRequest('searchText is required');
      return { status: 200, body: paged(catalog.searchArtists(text), query) };
    });
  }
  const artistTracks = ARTIST_TRACKS_PATH.exec(path);
  if (artistTracks) {
    return guarded('artist_track', () => {
      const tracks = catalog.artistTracks(decodeSegment(artistTracks[1]!));
      return tracks ? { status: 200, body: paged(tracks, query) } : notFound('artist');
    });
  }
  return guarded('unknown', () => ({ status: 404, body: { error: `no route ${path}` } }));
}

function trackAnswer(ids: string[], catalog: SimulatedCatalog, quirks: SimulatorQuirks): ReccobeatsTrack[] {
  const tracks = limitedIds(ids).map((id) => catalog.track(id)).filter((track) => track !== null);
  const omit = new Set(quirks.omitHrefFor ?? []);
  const answered = tracks.map((track) => {
    if (!omit.has(spotifyTrackIdFromHref(track.href) ?? '')) return track;
    const { href: _omitted, ...withoutHref } = track;
    return withoutHref as ReccobeatsTrack;
  });
  return quirks.shuffleContent ? answered.sort((a, b) => a.id.localeCompare(b.id)) : answered;
}

function recommendationRequest(query: URLSearchParams) {
  const seeds = idList(query.get('seeds'));
  if (seeds.length < 1 || seeds.length > 5) throw new BadRequest('seeds takes 1 to 5 IDs');
  const targets: FeatureTargets = {};
  for (const name of FEATURE_TARGET_NAMES) {
    const value = query.get(name);
    if (value !== null) targets[name] = finiteNumber(value, name);
  }
  return {
    seeds,
    negativeSeeds: idList(query.get('negativeSeeds')),
    size: wholeParam(query.get('size'), 10, 1, 100, 'size'),
    targets,
  };
}

function paged<T>(items: T[], query: URLSearchParams) {
  const page = wholeParam(query.get('page'), 0, 0, 1_000_000, 'page');
  const size = wholeParam(query.get('size'), 25, 1, 50, 'size');
  return {
    content: items.slice(page * size, page * size + size),
    page,
    size,
    totalElements: items.length,
    totalPages: Math.ceil(items.length / size),
  };
}

function idList(text: string | null): string[] {
  if (text === null) return [];
  return text.split(',').map((id) => id.trim()).filter((id) => id !== '');
}

function limitedIds(ids: string[]): string[] {
  if (ids.length === 0) throw new BadRequest('ids is required');
  if (ids.length > MAX_IDS_PER_REQUEST) throw new BadRequest(`at most ${MAX_IDS_PER_REQUEST} ids per request`);
  return ids;
}

function wholeParam(text: string | null, fallback: number, minimum: number, maximum: number, name: string): number {
  if (text === null) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum || value > maximum) throw new BadRequest(`${name} must be a whole number from ${minimum} to ${maximum}`);
  return value;
}

function finiteNumber(text: string, name: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new BadRequest(`${name} must be a number`);
  return value;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequest('malformed path');
  }
}

function notFound(what: string): Answer {
  return { status: 404, body: { error: `${what} not found` } };
}
