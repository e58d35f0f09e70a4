/**
 * The demo's stand-in for Spotify's "top tracks of a user": deterministic Spotify IDs per user, drawn from the same
 * generator as the ReccoBeats simulator's catalog, after a wait that stands for the real call. As with real
 * listeners, most of a user's top tracks are songs many others play too (a chart of SHARED_TRACKS, its head picked
 * most often) and the rest are the user's own: a system other users have warmed already knows most of a new user's
 * tracks (registry, track details), never the user's own ones.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { spotifyTrackIds, unitInterval } from '../../src/reccobeats/simulator/deterministic.js';

export const TOP_TRACKS_PER_USER = 30;
/** Of a user's top tracks, how many come from the shared chart. */
export const FROM_SHARED_CHART = 20;
export const SHARED_TRACKS = 300;

let chart: string[] | undefined;

/** A user's top tracks: FROM_SHARED_CHART distinct chart picks (the square of a uniform draw favours the head), then their own. */
export function topTrackIdsOf(userId: string): string[] {
  chart ??= spotifyTrackIds(SHARED_TRACKS, 'shared-chart');
  const picked = new Set<string>();
  for (let draw = 0; picked.size < FROM_SHARED_CHART; draw++) {
    picked.add(chart[Math.floor(SHARED_TRACKS * unitInterval(`chart-pick:${userId}:${draw}`) ** 2)]!);
  }
  return [...picked, ...spotifyTrackIds(TOP_TRACKS_PER_USER - FROM_SHARED_CHART, `user:${userId}`)];
}

export async function topTracksOf(userId: string, latencyMs: number, signal?: AbortSignal): Promise<string[]> {
  if (latencyMs > 0) await delay(latencyMs, undefined, signal ? { signal } : {});
  return topTrackIdsOf(userId);
}
