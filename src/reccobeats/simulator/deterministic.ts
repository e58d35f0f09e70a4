/**
 * Pure functions of a text: the simulator derives every ID, title and number from hashes, so the same input always
 * yields the same catalog, on every machine and every run.
 */
import { createHash } from 'node:crypto';
import { RepriseInputError } from '../../errors.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A number in [0, 1) decided by `text`. */
export function unitInterval(text: string): number {
  return digest(text).readUIntBE(0, 6) / 2 ** 48;
}

/** A whole number in [0, bound) decided by `text`. */
export function pick(text: string, bound: number): number {
  return Math.floor(unitInterval(text) * bound);
}

/** `length` base62 characters decided by `text` (a Spotify-shaped ID for length 22). */
export function base62Id(text: string, length = 22): string {
  let out = '';
  for (let round = 0; out.length < length; round++) {
    for (const byte of digest(`${text}#${round}`)) {
      // 248 = 4 * 62: rejecting the top bytes keeps every character equally likely.
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A version-4-shaped UUID decided by `text` (the shape of ReccoBeats IDs). */
export function uuidFrom(text: string): string {
  const bytes = digest(`uuid:${text}`).subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `count` realistic Spotify track IDs (22 base62 characters), the same for the same seed. */
export function spotifyTrackIds(count: number, seed = 'reprise'): string[] {
  if (!Number.isInteger(count) || count < 0) throw new RepriseInputError(`count must be a whole number >= 0, got ${count}`);
  return Array.from({ length: count }, (_, index) => base62Id(`spotify-track:${seed}:${index}`));
}
