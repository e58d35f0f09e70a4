/**
 * The mood-to-playlist workflow of the demo back end, step by step as the original did it, with reprise at each step:
 *   1. mood analysis (an LLM in production)          -> cache `mood_analysis`, per normalised mood
 *   2. the user's top tracks (Spotify)               -> cache `top_tracks`, per user
 *   3. Spotify -> ReccoBeats IDs                     -> the ID registry (known and known-missing IDs cost nothing)
 *   4. audio features of the candidates              -> cache `track_details`, per track
 *   5. seeds that fit the mood                       -> `validated_seeds` and the workflow artifacts, per user and mood
 *   6. recommendations from the seeds                -> cache `recommendations`, per seeds and mood
 * A returning user with a similar prompt reuses steps 2-5 (artifact reuse); a popular mood is served precomputed.
 */
import { normalizeMoodPrompt } from '../../src/cache/keys.js';
import type { Reprise } from '../../src/reprise.js';
import type { CacheCategory } from '../../src/cache/categories.js';
import type { CacheKey } from '../../src/cache/keys.js';
import type { ReccobeatsAudioFeatures, ReccobeatsTrack } from '../../src/reccobeats/types.js';
import { analyseMood, type MoodAnalysis } from './mood-analysis.js';
import { topTracksOf } from './listening-history.js';

/** Waits that stand for the real calls the simulator does not cover (ms). */
export interface WorkflowLatencies {
  moodAnalysisMs: number;
  topTracksMs: number;
}

export interface PlaylistTrack {
  title: string;
  artists: string[];
  spotifyUrl: string;
  reccobeatsId: string;
}

export interface Playlist {
  moodPrompt: string;
  /** Where the answer came from: computed now, the user's own cached work, another prompt's work, or precomputed. */
  source: 'precomputed' | 'computed' | 'cached' | 'reused-artifacts';
  /** The prompt whose artifacts were reused, when source is reused-artifacts. */
  reusedFrom?: string;
  moodAnalysis: MoodAnalysis;
  tracks: PlaylistTrack[];
}

interface WorkflowArtifacts {
  seeds: string[];
  analysis: MoodAnalysis;
}

const SEEDS = 5;
const PLAYLIST_SIZE = 20;
/** Whose "top tracks" seed a popular mood's shared playlist: a chart, not a person. */
const CHART_USER = 'global-chart';

export class PlaylistWorkflow {
  /** Calls made to the stand-ins for the LLM and Spotify (the simulator counts ReccoBeats requests itself). */
  readonly upstreamCalls = { moodAnalysis: 0, topTracks: 0 };

  constructor(
    private readonly reprise: Reprise,
    private readonly latencies: WorkflowLatencies,
    /** Baseline mode for benchmarks: every step calls upstream, nothing is read from or written to the cache. */
    private readonly useCache = true,
  ) {}

  async playlistFor(userId: string, moodPrompt: string): Promise<Playlist> {
    const mood = normalizeMoodPrompt(moodPrompt);
    if (this.useCache && this.reprise.popularMoods.isPopular(mood)) {
      const shared = await this.reprise.popularMoods.getOrCompute(mood, this.computeRecommendations);
      return {
        moodPrompt: mood,
        source: shared.source === 'precomputed' ? 'precomputed' : 'computed',
        moodAnalysis: shared.moodAnalysis as MoodAnalysis,
        tracks: shared.recommendations as PlaylistTrack[],
      };
    }
    return this.personalPlaylist(userId, mood);
  }

  /** The host's computeRecommendations for reprise: a shared playlist for a popular mood, seeded by the chart. */
  readonly computeRecommendations = async (moodPrompt: string, ctx: { signal: AbortSignal }) => {
    const playlist = await this.computeForMood(normalizeMoodPrompt(moodPrompt), ctx.signal);
    return { recommendations: playlist.tracks, moodAnalysis: playlist.moodAnalysis };
  };

  private computeForMood(mood: string, signal?: AbortSignal): Promise<Playlist> {
    return this.personalPlaylist(CHART_USER, mood, signal);
  }

  private async personalPlaylist(userId: string, mood: string, signal?: AbortSignal): Promise<Playlist> {
    const analysis = await this.cachedAcrossWorkers('mood_analysis', mood, () => {
      this.upstreamCalls.moodAnalysis += 1;
      return analyseMood(mood, this.latencies.moodAnalysisMs, signal);
    });
    const reused = this.useCache
      ? await this.reprise.cache.findWorkflowArtifacts<WorkflowArtifacts>({ userId, moodPrompt: mood, similar: true })
      : undefined;
    const seeds = reused?.artifacts.seeds ?? (await this.chooseSeeds(userId, mood, analysis, signal));
    // Keyed by what the request depends on, not by the prompt's wording: a tweaked prompt with the same targets reuses it.
    const targetsKey = Object.values(analysis.targets).join(',');
    const tracks = await this.cachedAcrossWorkers('recommendations', [targetsKey, ...seeds], () =>
      this.reprise.reccobeats.getRecommendations({ seeds, size: PLAYLIST_SIZE, ...analysis.targets }),
    );
    const reusedFrom = reused && reused.moodPrompt !== mood ? reused.moodPrompt : undefined;
    return {
      moodPrompt: mood,
      source: reusedFrom ? 'reused-artifacts' : reused ? 'cached' : 'computed',
      ...(reusedFrom ? { reusedFrom } : {}),
      moodAnalysis: analysis,
      tracks: tracks.map(toPlaylistTrack),
    };
  }

  /** Steps 2-5: the user's tracks that ReccoBeats knows, ranked by how well their audio features fit the mood. */
  private async chooseSeeds(userId: string, mood: string, analysis: MoodAnalysis, signal?: AbortSignal): Promise<string[]> {
    const topTracks = await this.cachedAcrossWorkers('top_tracks', userId, () => {
      this.upstreamCalls.topTracks += 1;
      return topTracksOf(userId, this.latencies.topTracksMs, signal);
    });
    const converted = this.useCache
      ? await this.reprise.reccobeats.convertSpotifyTracksToReccobeat(topTracks)
      : await this.convertWithoutRegistry(topTracks);
    const candidates = [...converted.values()];
    const features = await Promise.all(
      candidates.map((id) => this.cached('track_details', ['audio-features', id], () => this.reprise.reccobeats.getAudioFeatures(id))),
    );
    const seeds = candidates
      .map((id, index) => ({ id, distance: distanceToMood(features[index] ?? null, analysis) }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, SEEDS)
      .map((candidate) => candidate.id);
    if (this.useCache) {
      await this.reprise.cache.setValidatedSeeds({ userId, moodPrompt: mood, seeds });
      await this.reprise.cache.setWorkflowArtifacts<WorkflowArtifacts>({ userId, moodPrompt: mood, artifacts: { seeds, analysis } });
    }
    return seeds;
  }

  /** The baseline's conversion: the original's lookups, every time, without the registry. */
  private async convertWithoutRegistry(spotifyIds: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let i = 0; i < spotifyIds.length; i += 40) {
      for (const track of await this.reprise.reccobeats.getTracks(spotifyIds.slice(i, i + 40))) {
        const spotifyId = /open\.spotify\.com\/track\/([A-Za-z0-9]{22})/.exec(track.href)?.[1];
        if (spotifyId) found.set(spotifyId, track.id);
      }
    }
    return found;
  }

  private cached<T>(category: CacheCategory, key: CacheKey, load: () => Promise<T>): Promise<T> {
    return this.useCache ? this.reprise.cache.getOrSet(category, key, load) : load();
  }

  /** For the slow stages (an LLM, Spotify, ReccoBeats recommendations): one call across every worker, not one each. */
  private cachedAcrossWorkers<T>(category: CacheCategory, key: CacheKey, load: () => Promise<T>): Promise<T> {
    return this.useCache ? this.reprise.cache.getOrSet(category, key, load, { acrossWorkers: true }) : load();
  }
}

function toPlaylistTrack(track: ReccobeatsTrack): PlaylistTrack {
  return { title: track.trackTitle, artists: track.artists.map((artist) => artist.name), spotifyUrl: track.href, reccobeatsId: track.id };
}

/** Euclidean distance between a track's features and the mood's targets; unknown features rank last. */
function distanceToMood(features: ReccobeatsAudioFeatures | null, analysis: MoodAnalysis): number {
  if (!features) return Number.POSITIVE_INFINITY;
  const { targets } = analysis;
  return Math.hypot(
    features.energy - targets.energy,
    features.valence - targets.valence,
    features.danceability - targets.danceability,
    features.acousticness - targets.acousticness,
    features.instrumentalness - targets.instrumentalness,
    (features.tempo - targets.tempo) / 100,
  );
}
