/**
 * The simulator's catalog: every track, artist and audio feature is derived from hashes of the Spotify ID, so it
 * needs no data files and is identical on every run. About `unknownFraction` of all Spotify IDs (a quarter by
 * default) are not in it, like the real ReccoBeats, which lacks many Spotify tracks.
 */
import type { FeatureTargets, ReccobeatsArtist, ReccobeatsAudioFeatures, ReccobeatsTrack } from '../types.js';
import { isSpotifyId } from '../spotify-ids.js';
import { RepriseOptionsError } from '../../validate.js';
import { base62Id, pick, spotifyTrackIds, unitInterval, uuidFrom } from './deterministic.js';
import { ARTIST_FIRST, ARTIST_SECOND, COUNTRIES, TITLE_FIRST, TITLE_SECOND } from './names.js';

export interface SimulatedCatalogOptions {
  /** Share of Spotify IDs the catalog lacks, 0 to 1 (default 0.25). */
  unknownFraction?: number;
  /** Changes every derived value; the same seed gives the same catalog (default "reccobeats-simulator"). */
  seed?: string;
  /** Spotify IDs scanned for recommendations and artist track lists (default 3000). */
  browsableTracks?: number;
}

export interface RecommendationRequest {
  seeds: string[];
  negativeSeeds: string[];
  size: number;
  targets: FeatureTargets;
}

const ARTIST_COUNT = 64;

export class SimulatedCatalog {
  readonly unknownFraction: number;
  readonly seed: string;
  /** Spotify IDs scanned for recommendations and artist track lists. */
  readonly browsableCount: number;
  readonly artists: readonly ReccobeatsArtist[];
  private readonly artistsById = new Map<string, ReccobeatsArtist>();
  private readonly spotifyIdByTrackId = new Map<string, string>();
  private browsable: ReccobeatsTrack[] | undefined;

  constructor(options: SimulatedCatalogOptions = {}) {
    this.unknownFraction = options.unknownFraction ?? 0.25;
    if (!(this.unknownFraction >= 0 && this.unknownFraction <= 1)) throw new RepriseOptionsError('out_of_range', 'unknownFraction', 'unknownFraction must be from 0 to 1');
    this.seed = options.seed ?? 'reccobeats-simulator';
    this.browsableCount = options.browsableTracks ?? 3_000;
    this.artists = Array.from({ length: ARTIST_COUNT }, (_, index) => this.makeArtist(index));
    for (const artist of this.artists) {
      this.artistsById.set(artist.id, artist);
      this.artistsById.set(artist.href.slice(artist.href.lastIndexOf('/') + 1), artist);
    }
  }

  /** Whether ReccoBeats (as simulated) knows this Spotify track ID. */
  knows(spotifyId: string): boolean {
    return isSpotifyId(spotifyId) && unitInterval(this.key('known', spotifyId)) >= this.unknownFraction;
  }

  /** The track for a Spotify ID or a ReccoBeats track ID, or null when unknown. */
  track(id: string): ReccobeatsTrack | null {
    const spotifyId = isSpotifyId(id) ? id : this.spotifyIdByTrackId.get(id);
    if (spotifyId === undefined || !this.knows(spotifyId)) return null;
    const track = this.makeTrack(spotifyId);
    this.spotifyIdByTrackId.set(track.id, spotifyId);
    return track;
  }

  audioFeatures(id: string): ReccobeatsAudioFeatures | null {
    const track = this.track(id);
    if (!track) return null;
    const spotifyId = this.spotifyIdByTrackId.get(track.id)!;
    const unit = (name: string) => Math.round(unitInterval(this.key(`feature-${name}`, spotifyId)) * 1000) / 1000;
    return {
      id: track.id,
      href: track.href,
      acousticness: unit('acousticness'),
      danceability: unit('danceability'),
      energy: unit('energy'),
      instrumentalness: unit('instrumentalness'),
      key: pick(this.key('feature-key', spotifyId), 12),
      liveness: unit('liveness'),
      loudness: Math.round((-30 + unit('loudness') * 30) * 10) / 10,
      mode: pick(this.key('feature-mode', spotifyId), 2),
      speechiness: Math.round(unit('speechiness') * 500) / 1000,
      tempo: Math.round(60 + unit('tempo') * 130),
      valence: unit('valence'),
    };
  }

  /** An artist by ReccoBeats ID or Spotify artist ID. */
  artist(id: string): ReccobeatsArtist | null {
    return this.artistsById.get(id) ?? null;
  }

  searchArtists(text: string): ReccobeatsArtist[] {
    const needle = text.trim().toLowerCase();
    return this.artists.filter((artist) => artist.name.toLowerCase().includes(needle));
  }

  /** The browsable tracks with this artist on them, or null for an unknown artist. */
  artistTracks(artistId: string): ReccobeatsTrack[] | null {
    const artist = this.artist(artistId);
    if (!artist) return null;
    return this.browsableTracks().filter((track) => track.artists.some((credit) => credit.id === artist.id));
  }

  /**
   * Tracks for known seeds: a window of the browsable catalog chosen by the seeds, closest first to the feature
   * targets when there are any. Unknown seeds are ignored; with none known the answer is empty.
   */
  recommend(request: RecommendationRequest): ReccobeatsTrack[] {
    const seeds = request.seeds.map((id) => this.track(id)).filter((track) => track !== null);
    if (seeds.length === 0) return [];
    const excluded = new Set<string>();
    for (const id of [...request.seeds, ...request.negativeSeeds]) {
      const track = this.track(id);
      if (track) excluded.add(track.id);
    }
    const pool = this.browsableTracks();
    const start = pick(this.key('recommend', seeds.map((track) => track.id).sort().join(',')), pool.length);
    const window: ReccobeatsTrack[] = [];
    for (let offset = 0; offset < pool.length && window.length < Math.max(request.size * 4, 80); offset++) {
      const candidate = pool[(start + offset) % pool.length]!;
      if (!excluded.has(candidate.id)) window.push(candidate);
    }
    const targets = Object.entries(request.targets).filter(([, value]) => value !== undefined) as [keyof FeatureTargets, number][];
    if (targets.length > 0) {
      const distance = (track: ReccobeatsTrack) => this.distance(track, targets);
      window.sort((a, b) => distance(a) - distance(b));
    }
    return window.slice(0, request.size);
  }

  /** The first `count` Spotify IDs the catalog knows, for demos and tests. */
  knownSpotifyIds(count: number, seed = 'known'): string[] {
    const known: string[] = [];
    for (let batch = 0; known.length < count; batch++) {
      for (const id of spotifyTrackIds(256, `${this.seed}:${seed}:${batch}`)) {
        if (this.knows(id) && known.length < count) known.push(id);
      }
    }
    return known;
  }

  private browsableTracks(): ReccobeatsTrack[] {
    this.browsable ??= spotifyTrackIds(this.browsableCount, `${this.seed}:browsable`)
      .map((id) => this.track(id))
      .filter((track) => track !== null);
    return this.browsable;
  }

  private distance(track: ReccobeatsTrack, targets: [keyof FeatureTargets, number][]): number {
    const features = this.audioFeatures(track.id)!;
    let sum = 0;
    for (const [name, target] of targets) {
      const scale = name === 'tempo' ? 200 : name === 'loudness' ? 60 : name === 'popularity' ? 100 : 1;
      const value = name === 'popularity' ? track.popularity : features[name];
      sum += ((value - target) / scale) ** 2;
    }
    return sum;
  }

  private makeArtist(index: number): ReccobeatsArtist {
    const first = ARTIST_FIRST[index % ARTIST_FIRST.length]!;
    // index = first + 16k: the second word differs for every k, so all 64 names are distinct.
    const second = ARTIST_SECOND[(7 * index + Math.floor(index / ARTIST_FIRST.length)) % ARTIST_SECOND.length]!;
    return {
      id: uuidFrom(this.key('artist', String(index))),
      name: `${first} ${second}`,
      href: `https://open.spotify.com/artist/${base62Id(this.key('artist-spotify', String(index)))}`,
    };
  }

  private makeTrack(spotifyId: string): ReccobeatsTrack {
    const key = (name: string) => this.key(name, spotifyId);
    const primary = pick(key('artist'), ARTIST_COUNT);
    const artists = [this.artists[primary]!];
    if (unitInterval(key('featuring')) < 0.25) {
      artists.push(this.artists[(primary + 1 + pick(key('featured'), ARTIST_COUNT - 1)) % ARTIST_COUNT]!);
    }
    const digits = (name: string, length: number) => String(pick(key(name), 10 ** length)).padStart(length, '0');
    return {
      id: uuidFrom(key('track')),
      trackTitle: `${TITLE_FIRST[pick(key('title-1'), TITLE_FIRST.length)]} ${TITLE_SECOND[pick(key('title-2'), TITLE_SECOND.length)]}`,
      artists,
      durationMs: 120_000 + pick(key('duration'), 240_000),
      isrc: `QZSIM${digits('isrc-year', 2)}${digits('isrc', 5)}`,
      ean: digits('ean', 13),
      upc: digits('upc', 12),
      href: `https://open.spotify.com/track/${spotifyId}`,
      availableCountries: COUNTRIES.filter((country) => unitInterval(key(`country-${country}`)) < 0.8),
      popularity: pick(key('popularity'), 101),
    };
  }

  private key(name: string, id: string): string {
    return `${this.seed}:${name}:${id}`;
  }
}
