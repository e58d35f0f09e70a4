/**
 * The two kinds of ID the registry maps, their validation and their compact binary forms:
 * a Spotify track ID (22 base62 characters, a 131-bit number) packs into 17 bytes, a ReccoBeats ID (a UUID) into 16.
 */

export const SPOTIFY_ID_BYTES = 17;
export const RECCOBEATS_ID_BYTES = 16;

import { RepriseInputError } from '../errors.js';

const SPOTIFY_ID = /^[0-9A-Za-z]{22}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGIT_OF = new Map([...BASE62].map((char, digit) => [char, BigInt(digit)]));
const SIXTY_TWO = 62n;

export class InvalidIdError extends RepriseInputError {
  override name = 'InvalidIdError';
  constructor(
    readonly kind: 'spotify' | 'reccobeats',
    readonly value: unknown,
  ) {
    super(
      kind === 'spotify'
        ? `not a Spotify track ID (22 characters of 0-9, a-z, A-Z): ${describe(value)}`
        : `not a ReccoBeats ID (a UUID such as 3f2b8c1e-9a4d-4e6f-8b1a-2c3d4e5f6a7b): ${describe(value)}`,
    );
  }
}

export function isSpotifyId(value: unknown): value is string {
  return typeof value === 'string' && SPOTIFY_ID.test(value);
}

export function isReccobeatsId(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function assertSpotifyId(value: unknown): asserts value is string {
  if (!isSpotifyId(value)) throw new InvalidIdError('spotify', value);
}

export function assertReccobeatsId(value: unknown): asserts value is string {
  if (!isReccobeatsId(value)) throw new InvalidIdError('reccobeats', value);
}

/** 17 bytes, big-endian: the base62 number the ID spells. */
export function packSpotifyId(id: string): Buffer {
  let number = 0n;
  for (const char of id) number = number * SIXTY_TWO + DIGIT_OF.get(char)!;
  const bytes = Buffer.alloc(SPOTIFY_ID_BYTES);
  for (let index = SPOTIFY_ID_BYTES - 1; index >= 0; index--) {
    bytes[index] = Number(number & 0xffn);
    number >>= 8n;
  }
  return bytes;
}

export function unpackSpotifyId(bytes: Buffer): string {
  let number = 0n;
  for (const byte of bytes) number = (number << 8n) | BigInt(byte);
  let id = '';
  for (let index = 0; index < 22; index++) {
    id = BASE62[Number(number % SIXTY_TWO)]! + id;
    number /= SIXTY_TWO;
  }
  return id;
}

/** 16 bytes; the canonical text form is lower case. */
export function packReccobeatsId(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

export function unpackReccobeatsId(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function canonicalReccobeatsId(id: string): string {
  return id.toLowerCase();
}

/** Short, safe text for error messages: never more than 60 characters of the caller's input. */
function describe(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value;
  const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return JSON.stringify(shown);
}
