/**
 * What one registry entry holds, in its stored binary form (its field is a digest of its ID: scripts.ts). Every
 * value starts with its expiry (4 bytes, whole seconds since REGISTRY_EPOCH_SECONDS, big-endian) because Redis 7.0
 * has no per-field TTL; the rest says what the entry is. The length tells the kinds apart, so the Lua scripts can
 * count them without decoding:
 *   forward, validated   expiry + ReccoBeats ID (16)   20 bytes
 *   forward, missing     expiry + reason code (1)        5 bytes
 *   reverse              expiry + Spotify ID (17)       21 bytes
 */
import { RepriseInputError } from '../errors.js';
import {
  RECCOBEATS_ID_BYTES,
  SPOTIFY_ID_BYTES,
  packReccobeatsId,
  packSpotifyId,
  unpackReccobeatsId,
  unpackSpotifyId,
} from './ids.js';

/** 2024-01-01T00:00:00Z: expiries fit 4 bytes until 2160. */
export const REGISTRY_EPOCH_SECONDS = 1_704_067_200;
const MAX_RELATIVE_SECONDS = 0xffff_ffff;

export const VALIDATED_VALUE_BYTES = 4 + RECCOBEATS_ID_BYTES;
export const MISSING_VALUE_BYTES = 4 + 1;
export const REVERSE_VALUE_BYTES = 4 + SPOTIFY_ID_BYTES;

/**
 * Why an ID is known to be missing. Stored as one byte, so the vocabulary is fixed; a reason outside it is kept
 * as "other". Codes are persisted: append only.
 */
export const MISSING_REASONS = ['not_found', 'invalid', 'unavailable', 'manual', 'other'] as const;
export type MissingReason = (typeof MISSING_REASONS)[number];
export const DEFAULT_MISSING_REASON: MissingReason = 'not_found';

export function missingReasonOf(reason: string | undefined): MissingReason {
  if (reason === undefined) return DEFAULT_MISSING_REASON;
  if (typeof reason !== 'string') throw new RepriseInputError(`a missing reason is a string, got ${typeof reason}`);
  return (MISSING_REASONS as readonly string[]).includes(reason) ? (reason as MissingReason) : 'other';
}

export type ForwardEntry =
  | { kind: 'validated'; reccobeatsId: string; expiresAtMs: number }
  | { kind: 'missing'; reason: MissingReason; expiresAtMs: number };

export interface ReverseEntry {
  spotifyId: string;
  expiresAtMs: number;
}

/** Expiry in whole seconds, rounded up: an entry lives at least its TTL. */
export function expiryFor(nowMs: number, ttlSeconds: number): number {
  return Math.ceil((nowMs + ttlSeconds * 1_000) / 1_000) * 1_000;
}

export function isLive(entry: { expiresAtMs: number }, nowMs: number): boolean {
  return nowMs < entry.expiresAtMs;
}

/** `now` as the scripts see it: whole seconds since the registry epoch. */
export function relativeSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1_000) - REGISTRY_EPOCH_SECONDS;
}

function writeExpiry(value: Buffer, expiresAtMs: number): void {
  const relative = Math.round(expiresAtMs / 1_000) - REGISTRY_EPOCH_SECONDS;
  value.writeUInt32BE(Math.min(Math.max(relative, 0), MAX_RELATIVE_SECONDS), 0);
}

function readExpiry(value: Buffer): number {
  return (value.readUInt32BE(0) + REGISTRY_EPOCH_SECONDS) * 1_000;
}

export function encodeForward(entry: ForwardEntry): Buffer {
  if (entry.kind === 'validated') {
    const value = Buffer.alloc(VALIDATED_VALUE_BYTES);
    writeExpiry(value, entry.expiresAtMs);
    packReccobeatsId(entry.reccobeatsId).copy(value, 4);
    return value;
  }
  const value = Buffer.alloc(MISSING_VALUE_BYTES);
  writeExpiry(value, entry.expiresAtMs);
  value[4] = MISSING_REASONS.indexOf(entry.reason) + 1;
  return value;
}

/** The entry, or null for bytes the registry did not write (treated as absent). */
export function decodeForward(value: Buffer): ForwardEntry | null {
  if (value.length === VALIDATED_VALUE_BYTES) {
    return { kind: 'validated', reccobeatsId: unpackReccobeatsId(value.subarray(4)), expiresAtMs: readExpiry(value) };
  }
  if (value.length === MISSING_VALUE_BYTES) {
    const reason = MISSING_REASONS[value[4]! - 1];
    if (reason === undefined) return null;
    return { kind: 'missing', reason, expiresAtMs: readExpiry(value) };
  }
  return null;
}

export function encodeReverse(entry: ReverseEntry): Buffer {
  const value = Buffer.alloc(REVERSE_VALUE_BYTES);
  writeExpiry(value, entry.expiresAtMs);
  packSpotifyId(entry.spotifyId).copy(value, 4);
  return value;
}

export function decodeReverse(value: Buffer): ReverseEntry | null {
  if (value.length !== REVERSE_VALUE_BYTES) return null;
  return { spotifyId: unpackSpotifyId(value.subarray(4)), expiresAtMs: readExpiry(value) };
}
