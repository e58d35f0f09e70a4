/**
 * Spotify track IDs: 22 base62 characters. ReccoBeats names the Spotify track of each result only through its
 * `href` (`https://open.spotify.com/track/<id>` or `spotify:track:<id>`), so that link is the one trustworthy key
 * between the two catalogs.
 */

import { isSpotifyId } from '../registry/ids.js';
import { RepriseInputError } from '../errors.js';

export { isSpotifyId };

const SPOTIFY_TRACK_URI = /^spotify:track:([0-9A-Za-z]{22})$/;
/** open.spotify.com links may carry a locale segment: /intl-de/track/<id>. */
const LOCALE_SEGMENT = /^intl-[a-z]{2}(?:-[a-z0-9]+)?$/i;

/**
 * The Spotify track ID named by a link or URI, or null when `href` names no Spotify track
 * (another host, an album or artist link, a malformed ID).
 */
export function spotifyTrackIdFromHref(href: unknown): string | null {
  if (typeof href !== 'string') return null;
  const uri = SPOTIFY_TRACK_URI.exec(href.trim());
  if (uri) return uri[1]!;
  let url: URL;
  try {
    url = new URL(href.trim());
  } catch {
    return null;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.hostname !== 'open.spotify.com') return null;
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  if (segments.length > 0 && LOCALE_SEGMENT.test(segments[0]!)) segments.shift();
  if (segments.length !== 2 || segments[0] !== 'track') return null;
  return isSpotifyId(segments[1]) ? segments[1] : null;
}

/** Throws a RepriseInputError naming (a few of) the values that are not Spotify track IDs. */
export function assertSpotifyIds(ids: readonly unknown[]): asserts ids is readonly string[] {
  const invalid = ids.filter((id) => !isSpotifyId(id));
  if (invalid.length === 0) return;
  const shown = invalid.slice(0, 3).map(describe).join(', ');
  const more = invalid.length > 3 ? ` and ${invalid.length - 3} more` : '';
  throw new RepriseInputError(`Spotify track IDs are 22 letters and digits; invalid: ${shown}${more}`);
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
