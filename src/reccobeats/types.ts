/** The JSON shapes of the ReccoBeats web API (https://api.reccobeats.com) that reprise reads. */

export interface ReccobeatsArtist {
  /** ReccoBeats UUID. */
  id: string;
  name: string;
  /** Spotify link of the artist. */
  href: string;
}

export interface ReccobeatsTrack {
  /** ReccoBeats UUID. */
  id: string;
  trackTitle: string;
  artists: ReccobeatsArtist[];
  durationMs: number;
  isrc?: string;
  ean?: string;
  upc?: string;
  /** Spotify link of the track (`https://open.spotify.com/track/<spotifyId>`): the only key to the Spotify ID. */
  href: string;
  availableCountries?: string[];
  popularity: number;
}

export interface ReccobeatsAudioFeatures {
  id: string;
  href: string;
  acousticness: number;
  danceability: number;
  energy: number;
  instrumentalness: number;
  key: number;
  liveness: number;
  loudness: number;
  mode: number;
  speechiness: number;
  tempo: number;
  valence: number;
}

/** `{ content: [...] }`, the envelope of list answers. */
export interface ReccobeatsContent<T> {
  content: T[];
}

/** A page of a paginated answer; `page` counts from 0. */
export interface ReccobeatsPage<T> extends ReccobeatsContent<T> {
  page: number;
  size: number;
  totalElements: number;
  totalPages: number;
}

/** Target audio features a recommendation should lean towards. */
export interface FeatureTargets {
  acousticness?: number;
  danceability?: number;
  energy?: number;
  instrumentalness?: number;
  liveness?: number;
  loudness?: number;
  speechiness?: number;
  tempo?: number;
  valence?: number;
  popularity?: number;
}

export const FEATURE_TARGET_NAMES = [
  'acousticness', 'danceability', 'energy', 'instrumentalness', 'liveness',
  'loudness', 'speechiness', 'tempo', 'valence', 'popularity',
] as const satisfies readonly (keyof FeatureTargets)[];

export interface RecommendationQuery extends FeatureTargets {
  /** 1 to 5 track IDs (Spotify or ReccoBeats). */
  seeds: readonly string[];
  /** 1 to 100 tracks (default: the API's). */
  size?: number;
  /** Tracks to steer away from. */
  negativeSeeds?: readonly string[];
  /** How much the feature targets weigh against the seeds. */
  featureWeight?: number;
}

export interface ArtistSearchQuery {
  searchText: string;
  /** From 0. */
  page?: number;
  /** 1 to 50. */
  size?: number;
}

export interface PageQuery {
  page?: number;
  /** 1 to 50. */
  size?: number;
}

/** Fixed route names: the `endpoint` label of metrics and errors (never a raw URL or an ID). */
export const RECCOBEATS_ENDPOINTS = {
  track: { method: 'GET', template: '/v1/track' },
  track_recommendation: { method: 'GET', template: '/v1/track/recommendation' },
  track_audio_features: { method: 'GET', template: '/v1/track/{id}/audio-features' },
  artist: { method: 'GET', template: '/v1/artist' },
  artist_search: { method: 'GET', template: '/v1/artist/search' },
  artist_track: { method: 'GET', template: '/v1/artist/{id}/track' },
} as const;

export type ReccobeatsEndpoint = keyof typeof RECCOBEATS_ENDPOINTS;

/** At most this many IDs per `GET /v1/track?ids=` or `GET /v1/artist?ids=`. */
export const MAX_IDS_PER_REQUEST = 40;
