/**
 * The demo's stand-in for Spotify's "top tracks of a user": deterministic Spotify IDs per user, drawn from the same
 * generator as the ReccoBeats simulator's catalog, after a wait that stands for the real call.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { spotifyTrackIds } from '../../src/reccobeats/simulator/deterministic.js';

export const TOP_TRACKS_PER_USER = 30;

export async function topTracksOf(userId: string, latencyMs: number, signal?: AbortSignal): Promise<string[]> {
  if (latencyMs > 0) await delay(latencyMs, undefined, signal ? { signal } : {});
  return spotifyTrackIds(TOP_TRACKS_PER_USER, `user:${userId}`);
}
