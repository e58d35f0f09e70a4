import { describe, expect, it } from 'vitest';
import { assertSpotifyIds, isSpotifyId, spotifyTrackIdFromHref } from '../../src/reccobeats/spotify-ids.js';
import { spotifyTrackIds } from '../../src/reccobeats/simulator/deterministic.js';

const ID = '4uLU6hMCjMI75M1A2tKUQC';

describe('Spotify track IDs', () => {
  it('accepts 22 base62 characters and nothing else', () => {
    expect(isSpotifyId(ID)).toBe(true);
    expect(isSpotifyId(ID.slice(1))).toBe(false);
    expect(isSpotifyId(`${ID}x`)).toBe(false);
    expect(isSpotifyId('4uLU6hMCjMI75M1A2tKU-C')).toBe(false);
    expect(isSpotifyId(42)).toBe(false);
  });

  it('reads the ID from open.spotify.com links and spotify:track URIs', () => {
    expect(spotifyTrackIdFromHref(`https://open.spotify.com/track/${ID}`)).toBe(ID);
    expect(spotifyTrackIdFromHref(`https://open.spotify.com/track/${ID}?si=abc123`)).toBe(ID);
    expect(spotifyTrackIdFromHref(`https://open.spotify.com/intl-de/track/${ID}`)).toBe(ID);
    expect(spotifyTrackIdFromHref(`spotify:track:${ID}`)).toBe(ID);
  });

  it('reads nothing from other links, other kinds or malformed IDs', () => {
    expect(spotifyTrackIdFromHref(`https://open.spotify.com/album/${ID}`)).toBeNull();
    expect(spotifyTrackIdFromHref(`https://open.spotify.com/track/${ID}/extra`)).toBeNull();
    expect(spotifyTrackIdFromHref(`https://evil.example/track/${ID}`)).toBeNull();
    expect(spotifyTrackIdFromHref(`https://open.spotify.com.evil.example/track/${ID}`)).toBeNull();
    expect(spotifyTrackIdFromHref(`spotify:artist:${ID}`)).toBeNull();
    expect(spotifyTrackIdFromHref('https://open.spotify.com/track/short')).toBeNull();
    expect(spotifyTrackIdFromHref('not a url')).toBeNull();
    expect(spotifyTrackIdFromHref(undefined)).toBeNull();
    expect(spotifyTrackIdFromHref({ href: ID })).toBeNull();
  });

  it('names the invalid IDs in a clear error', () => {
    expect(() => assertSpotifyIds([ID, 'bad', 7])).toThrow(/invalid: "bad", 7/);
    expect(() => assertSpotifyIds([ID])).not.toThrow();
  });

  it('generates realistic, repeatable, distinct IDs', () => {
    const ids = spotifyTrackIds(500, 'seed-a');
    expect(ids.every(isSpotifyId)).toBe(true);
    expect(new Set(ids).size).toBe(500);
    expect(spotifyTrackIds(500, 'seed-a')).toEqual(ids);
    expect(spotifyTrackIds(5, 'seed-b')).not.toEqual(ids.slice(0, 5));
  });
});
